/* tests/unit/test_h2frame.c: HTTP/2 frames read, checked (every rule of RFC 9113 section 6 a frame carries by itself) and written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "http/h2frame.h"

enum { CONN = 1, STREAM = 2 };

/* Checks the frame (header fields, then its payload bytes): 0 when it
 * passes, else its error code, plus CONN << 8 or STREAM << 8 for the scope. */
static unsigned check(uint8_t type, uint8_t flags, uint32_t id, const char *payload, size_t len, h2fr_frame *f)
{
    static uint8_t buf[H2FR_HEAD + 64]; /* f->data points into it after the return */
    h2fr_hd_write(buf, (uint32_t)len, type, flags, id);
    memcpy(buf + H2FR_HEAD, payload, len);
    h2fr_hd hd;
    h2fr_hd_read(buf, &hd);
    h2fr_verdict v = h2fr_check(&hd, buf + H2FR_HEAD, H2FR_DEFAULT_MAX, f);
    return v.code ? v.code | (v.stream ? STREAM : CONN) << 8 : 0;
}

#define C(code) ((code) | CONN << 8)
#define S(code) ((code) | STREAM << 8)

static void test_header_round_trip(void **state)
{
    (void)state;
    uint8_t b[H2FR_HEAD];
    assert_ptr_equal(h2fr_hd_write(b, 0x123456, H2FR_HEADERS, 0x25, 0x80000007u), b + H2FR_HEAD);
    static const uint8_t want[] = { 0x12, 0x34, 0x56, 1, 0x25, 0, 0, 0, 7 };
    assert_memory_equal(b, want, sizeof want); /* the reserved bit is never sent */
    b[5] |= 0x80;                              /* and ignored when received */
    h2fr_hd hd;
    h2fr_hd_read(b, &hd);
    assert_int_equal(hd.len, 0x123456);
    assert_int_equal(hd.type, H2FR_HEADERS);
    assert_int_equal(hd.flags, 0x25);
    assert_int_equal(hd.id, 7);
}

static void test_data_and_padding(void **state)
{
    (void)state;
    h2fr_frame f;
    assert_int_equal(check(H2FR_DATA, H2FR_END_STREAM, 1, "hello", 5, &f), 0);
    assert_int_equal(f.dlen, 5);
    assert_memory_equal(f.data, "hello", 5);
    assert_int_equal(check(H2FR_DATA, H2FR_PADDED, 1, "\x02hi\0\0", 5, &f), 0);
    assert_int_equal(f.dlen, 2);
    assert_memory_equal(f.data, "hi", 2);
    assert_int_equal(check(H2FR_DATA, H2FR_PADDED, 1, "\x04\0\0\0\0", 5, &f), 0); /* all padding */
    assert_int_equal(f.dlen, 0);
    assert_int_equal(check(H2FR_DATA, H2FR_PADDED, 1, "\x05\0\0\0\0", 5, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_DATA, H2FR_PADDED, 1, "", 0, &f), C(H2E_FRAME_SIZE_ERROR));
    assert_int_equal(check(H2FR_DATA, 0, 0, "x", 1, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_DATA, 0, 3, "", 0, &f), 0);
}

static void test_headers(void **state)
{
    (void)state;
    h2fr_frame f;
    assert_int_equal(check(H2FR_HEADERS, H2FR_END_HEADERS, 1, "\x82\x84", 2, &f), 0);
    assert_int_equal(f.dlen, 2);
    /* padded and with a priority: pad length, 5 bytes of priority, the block, the padding */
    assert_int_equal(check(H2FR_HEADERS, H2FR_PADDED | H2FR_PRIORITY_FLAG, 3, "\x01\x80\0\0\x01\x10\x82\0", 8, &f), 0);
    assert_int_equal(f.dlen, 1);
    assert_int_equal(f.data[0], 0x82);
    assert_int_equal(f.value, 1);
    assert_int_equal(check(H2FR_HEADERS, H2FR_PRIORITY_FLAG, 3, "\0\0\0\x03\x10\x82", 6, &f), S(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_HEADERS, H2FR_PRIORITY_FLAG, 3, "\0\0\0", 3, &f), C(H2E_FRAME_SIZE_ERROR));
    assert_int_equal(check(H2FR_HEADERS, H2FR_PADDED | H2FR_PRIORITY_FLAG, 3, "\x03\0\0\0\x01\x10\x82\0", 8, &f),
                     C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_HEADERS, H2FR_PADDED | H2FR_PRIORITY_FLAG, 3, "\x02\0\0\0\x01\x10\x82\0", 8, &f), 0);
    assert_int_equal(f.dlen, 0);
    assert_int_equal(check(H2FR_HEADERS, H2FR_END_HEADERS, 0, "\x82", 1, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_CONTINUATION, H2FR_END_HEADERS, 0, "\x82", 1, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_CONTINUATION, H2FR_END_HEADERS | H2FR_PADDED, 1, "\x82", 1, &f), 0);
    assert_int_equal(f.dlen, 1); /* CONTINUATION has no padding: the flag means nothing there */
}

static void test_fixed_frames(void **state)
{
    (void)state;
    h2fr_frame f;
    assert_int_equal(check(H2FR_PRIORITY, 0, 3, "\0\0\0\x01\x10", 5, &f), 0);
    assert_int_equal(check(H2FR_PRIORITY, 0, 3, "\0\0\0\x03\x10", 5, &f), S(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_PRIORITY, 0, 3, "\0\0\0\x01", 4, &f), S(H2E_FRAME_SIZE_ERROR));
    assert_int_equal(check(H2FR_PRIORITY, 0, 0, "\0\0\0\x01\x10", 5, &f), C(H2E_PROTOCOL_ERROR));

    assert_int_equal(check(H2FR_RST_STREAM, 0, 1, "\0\0\0\x08", 4, &f), 0);
    assert_int_equal(f.value, H2E_CANCEL);
    assert_int_equal(check(H2FR_RST_STREAM, 0, 1, "\0\0\0\x08\0", 5, &f), C(H2E_FRAME_SIZE_ERROR));
    assert_int_equal(check(H2FR_RST_STREAM, 0, 0, "\0\0\0\x08", 4, &f), C(H2E_PROTOCOL_ERROR));

    assert_int_equal(check(H2FR_PING, 0, 0, "12345678", 8, &f), 0);
    assert_memory_equal(f.data, "12345678", 8);
    assert_int_equal(check(H2FR_PING, 0, 0, "1234567", 7, &f), C(H2E_FRAME_SIZE_ERROR));
    assert_int_equal(check(H2FR_PING, 0, 1, "12345678", 8, &f), C(H2E_PROTOCOL_ERROR));

    assert_int_equal(check(H2FR_GOAWAY, 0, 0, "\x80\0\0\x05\0\0\0\x02why", 11, &f), 0);
    assert_int_equal(f.last_id, 5);
    assert_int_equal(f.value, H2E_INTERNAL_ERROR);
    assert_int_equal(f.dlen, 3);
    assert_int_equal(check(H2FR_GOAWAY, 0, 0, "\0\0\0\x05\0\0\0", 7, &f), C(H2E_FRAME_SIZE_ERROR));
    assert_int_equal(check(H2FR_GOAWAY, 0, 1, "\0\0\0\x05\0\0\0\0", 8, &f), C(H2E_PROTOCOL_ERROR));

    assert_int_equal(check(H2FR_WINDOW_UPDATE, 0, 0, "\x80\0\x10\0", 4, &f), 0);
    assert_int_equal(f.value, 0x1000);
    assert_int_equal(check(H2FR_WINDOW_UPDATE, 0, 1, "\0\0\0\0", 4, &f), S(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_WINDOW_UPDATE, 0, 0, "\0\0\0\0", 4, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_WINDOW_UPDATE, 0, 1, "\0\0\x01", 3, &f), C(H2E_FRAME_SIZE_ERROR));

    assert_int_equal(check(H2FR_PUSH_PROMISE, H2FR_END_HEADERS, 1, "\0\0\0\x02\x82", 5, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(0xfa, 0xff, 0, "whatever", 8, &f), 0); /* an extension's frame passes, to be ignored */
}

static void test_settings(void **state)
{
    (void)state;
    h2fr_frame f;
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x03\0\0\0\x64\0\x04\0\x01\0\0", 12, &f), 0);
    assert_int_equal(h2fr_settings(&f), 2);
    uint16_t id;
    uint32_t v;
    h2fr_setting(&f, 1, &id, &v);
    assert_int_equal(id, H2S_INITIAL_WINDOW_SIZE);
    assert_int_equal(v, 65536);
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "", 0, &f), 0);
    assert_int_equal(check(H2FR_SETTINGS, H2FR_ACK, 0, "", 0, &f), 0);
    assert_int_equal(check(H2FR_SETTINGS, H2FR_ACK, 0, "\0\x03\0\0\0\x64", 6, &f), C(H2E_FRAME_SIZE_ERROR));
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x03\0\0\0", 5, &f), C(H2E_FRAME_SIZE_ERROR));
    assert_int_equal(check(H2FR_SETTINGS, 0, 1, "", 0, &f), C(H2E_PROTOCOL_ERROR));
    /* each setting's range (6.5.2); unknown identifiers take anything */
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x02\0\0\0\x01", 6, &f), 0);
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x02\0\0\0\x02", 6, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x04\x7f\xff\xff\xff", 6, &f), 0);
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x04\x80\0\0\0", 6, &f), C(H2E_FLOW_CONTROL_ERROR));
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x05\0\0\x40\0", 6, &f), 0);
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x05\0\0\x3f\xff", 6, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x05\0\xff\xff\xff", 6, &f), 0);
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x05\x01\0\0\0", 6, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x08\0\0\0\x02", 6, &f), C(H2E_PROTOCOL_ERROR));
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\0\x09\0\0\0\x01", 6, &f), 0);
    assert_int_equal(check(H2FR_SETTINGS, 0, 0, "\x7f\x7f\xff\xff\xff\xff", 6, &f), 0);
}

static void test_frame_size(void **state)
{
    (void)state;
    static uint8_t payload[H2FR_DEFAULT_MAX + 1];
    h2fr_hd hd = { H2FR_DEFAULT_MAX, H2FR_DATA, 0, 1 };
    h2fr_frame f;
    assert_int_equal(h2fr_check(&hd, payload, H2FR_DEFAULT_MAX, &f).code, 0);
    assert_int_equal(f.dlen, H2FR_DEFAULT_MAX);
    hd.len++;
    h2fr_verdict v = h2fr_check(&hd, payload, H2FR_DEFAULT_MAX, &f);
    assert_int_equal(v.code, H2E_FRAME_SIZE_ERROR);
    assert_false(v.stream);
    assert_int_equal(h2fr_check(&hd, payload, hd.len, &f).code, 0); /* under a larger announced maximum */
}

static void test_writers(void **state)
{
    (void)state;
    uint8_t b[64], *e;
    const uint16_t ids[] = { H2S_MAX_CONCURRENT_STREAMS, H2S_INITIAL_WINDOW_SIZE };
    const uint32_t vals[] = { 128, 1u << 20 };
    e = h2fr_settings_write(b, ids, vals, 2);
    static const uint8_t settings[] = { 0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 128, 0, 4, 0, 0x10, 0, 0 };
    assert_int_equal(e - b, sizeof settings);
    assert_memory_equal(b, settings, sizeof settings);

    e = h2fr_u32_write(b, H2FR_WINDOW_UPDATE, 5, 0x10000);
    static const uint8_t wu[] = { 0, 0, 4, 8, 0, 0, 0, 0, 5, 0, 1, 0, 0 };
    assert_int_equal(e - b, sizeof wu);
    assert_memory_equal(b, wu, sizeof wu);

    e = h2fr_ping_ack_write(b, (const uint8_t *)"abcdefgh");
    static const uint8_t ping[] = { 0, 0, 8, 6, 1, 0, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' };
    assert_int_equal(e - b, sizeof ping);
    assert_memory_equal(b, ping, sizeof ping);

    e = h2fr_goaway_write(b, 7, H2E_ENHANCE_YOUR_CALM);
    static const uint8_t goaway[] = { 0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 11 };
    assert_int_equal(e - b, sizeof goaway);
    assert_memory_equal(b, goaway, sizeof goaway);

    /* what is written reads back as a frame that passes */
    h2fr_hd hd;
    h2fr_frame f;
    h2fr_hd_read(b, &hd);
    assert_int_equal(h2fr_check(&hd, b + H2FR_HEAD, H2FR_DEFAULT_MAX, &f).code, 0);
    assert_int_equal(f.last_id, 7);
    assert_int_equal(f.value, H2E_ENHANCE_YOUR_CALM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip), cmocka_unit_test(test_data_and_padding),
        cmocka_unit_test(test_headers),           cmocka_unit_test(test_fixed_frames),
        cmocka_unit_test(test_settings),          cmocka_unit_test(test_frame_size),
        cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
