/* tests/unit/test_proxyproto.c: PROXY protocol v1 and v2 headers, valid, split at every byte, and refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "http/proxyproto.h"

static const uint8_t SIG[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

static char *addr_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, cap, "%s %u", a, port);
    return out;
}

/* buf (len bytes, of which hlen are the header) parses whole, and every
 * shorter prefix of the header asks for more. */
static pp_header parse_whole(const uint8_t *buf, size_t len, size_t hlen)
{
    pp_header h;
    for (size_t k = 0; k < hlen; k++)
        if (pp_parse(buf, k, &h) != PP_INCOMPLETE)
            fail_msg("prefix of %zu bytes (of %zu): not incomplete", k, hlen);
    assert_int_equal(pp_parse(buf, len, &h), (int)hlen);
    return h;
}

static void test_v1(void **state)
{
    (void)state;
    char a[64];
    static const char t4[] = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n";
    size_t h4 = strlen("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n");
    pp_header h = parse_whole((const uint8_t *)t4, strlen(t4), h4);
    assert_false(h.local);
    assert_string_equal(addr_text(&h.src, a, sizeof a), "192.0.2.7 56324");
    assert_string_equal(addr_text(&h.dst, a, sizeof a), "198.51.100.1 443");
    static const char t6[] = "PROXY TCP6 2001:db8::1 ::1 0 65535\r\n\x16\x03";
    h = parse_whole((const uint8_t *)t6, strlen(t6), strlen(t6) - 2);
    assert_string_equal(addr_text(&h.src, a, sizeof a), "2001:db8::1 0");
    assert_string_equal(addr_text(&h.dst, a, sizeof a), "::1 65535");
    static const char un[] = "PROXY UNKNOWN ffff::1 ::2 1 2\r\nX";
    h = parse_whole((const uint8_t *)un, strlen(un), strlen(un) - 1);
    assert_true(h.local);
    h = parse_whole((const uint8_t *)"PROXY UNKNOWN\r\n", 15, 15);
    assert_true(h.local);
}

static void test_v1_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\n\r\n",
        "PROXY\r\n",
        "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n",            /* a field missing */
        "PROXY TCP4 1.2.3.4 5.6.7.8 80 443 9\r\n",      /* one too many */
        "PROXY TCP4 1.2.3.4  5.6.7.8 80 443\r\n",       /* two spaces */
        "PROXY TCP4 1.2.3.4 5.6.7.8 080 443\r\n",       /* a leading zero */
        "PROXY TCP4 1.2.3.4 5.6.7.8 80 65536\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 443\r\n",
        "PROXY TCP4 1.2.3 5.6.7.8 80 443\r\n",
        "PROXY TCP4 ::1 ::2 80 443\r\n",                /* IPv6 in TCP4 */
        "PROXY TCP6 1.2.3.4 5.6.7.8 80 443\r\n",
        "PROXY TCP5 1.2.3.4 5.6.7.8 80 443\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 80 443\rX",         /* CR without LF */
        "PROXY TCP4 1.2.3.4 5.6.7.8 80 443\n",          /* LF without CR: incomplete until the limit */
    };
    pp_header h;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = pp_parse((const uint8_t *)bad[i], strlen(bad[i]), &h);
        if (i == sizeof bad / sizeof bad[0] - 1) {
            assert_int_equal(rc, PP_INCOMPLETE);
            continue;
        }
        if (rc != PP_INVALID)
            fail_msg("accepted (%d): %s", rc, bad[i]);
    }
    /* No CRLF within v1's 107 bytes: refused, however much more comes. */
    char longline[200] = "PROXY TCP4 ";
    memset(longline + 11, '1', sizeof longline - 12);
    longline[sizeof longline - 1] = '\0';
    assert_int_equal(pp_parse((const uint8_t *)longline, PP_V1_MAX - 1, &h), PP_INCOMPLETE);
    assert_int_equal(pp_parse((const uint8_t *)longline, PP_V1_MAX, &h), PP_INVALID);
    /* A TLS ClientHello or an HTTP/2 preface is no header. */
    assert_int_equal(pp_parse((const uint8_t *)"\x16\x03\x01", 3, &h), PP_INVALID);
    assert_int_equal(pp_parse((const uint8_t *)"PRI * HTTP/2.0", 14, &h), PP_INVALID);
}

/* A v2 header: 16 bytes, then body (addresses, TLVs). */
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *body, size_t n)
{
    memcpy(out, SIG, 12);
    out[12] = ver_cmd, out[13] = fam, out[14] = (uint8_t)(n >> 8), out[15] = (uint8_t)n;
    memcpy(out + 16, body, n);
    return 16 + n;
}

static void test_v2(void **state)
{
    (void)state;
    uint8_t buf[512], body[300];
    char a[64];
    /* TCP over IPv4, then the client's TLS bytes */
    memset(body, 0, sizeof body);
    static const uint8_t b4[12] = { 192, 0, 2, 7, 198, 51, 100, 1, 0xDC, 0x04, 0x01, 0xBB };
    memcpy(body, b4, sizeof b4);
    size_t n = v2(buf, 0x21, 0x11, body, sizeof b4);
    memcpy(buf + n, "\x16\x03\x01", 3);
    pp_header h = parse_whole(buf, n + 3, n);
    assert_false(h.local);
    assert_string_equal(addr_text(&h.src, a, sizeof a), "192.0.2.7 56324");
    assert_string_equal(addr_text(&h.dst, a, sizeof a), "198.51.100.1 443");
    /* TCP over IPv6 with TLVs after the addresses (HAProxy's SSL, unique id) */
    memset(body, 0, sizeof body);
    body[0] = 0x20, body[1] = 0x01, body[2] = 0x0d, body[3] = 0xb8, body[15] = 1; /* 2001:db8::1 */
    body[31] = 1;                                                              /* ::1 */
    body[32] = 0x30, body[33] = 0x39, body[34] = 0, body[35] = 80;
    static const uint8_t tlvs[16] = { 0x05, 0x00, 0x04, 'a', 'b', 'c', 'd', 0x20, 0x00, 0x05, 0x01, 0, 0, 0, 0, 0 };
    memcpy(body + 36, tlvs, sizeof tlvs);
    n = v2(buf, 0x21, 0x21, body, 52);
    h = parse_whole(buf, n, n);
    assert_string_equal(addr_text(&h.src, a, sizeof a), "2001:db8::1 12345");
    assert_string_equal(addr_text(&h.dst, a, sizeof a), "::1 80");
    /* LOCAL (HAProxy's health checks), UNSPEC, UDP, unix: the connection's own address */
    static const uint8_t fams[] = { 0x00, 0x12, 0x31, 0x11 };
    static const uint8_t cmds[] = { 0x21, 0x21, 0x21, 0x20 };
    for (size_t i = 0; i < sizeof fams; i++) {
        n = v2(buf, cmds[i], fams[i], body, fams[i] == 0x31 ? 216 : 12);
        h = parse_whole(buf, n, n);
        assert_true(h.local);
    }
}

static void test_v2_refused(void **state)
{
    (void)state;
    uint8_t buf[PP_V2_MAX + 64], body[PP_V2_MAX] = { 0 };
    pp_header h;
    assert_int_equal(pp_parse(buf, v2(buf, 0x11, 0x11, body, 12), &h), PP_INVALID); /* version 1 */
    assert_int_equal(pp_parse(buf, v2(buf, 0x22, 0x11, body, 12), &h), PP_INVALID); /* command 2 */
    assert_int_equal(pp_parse(buf, v2(buf, 0x21, 0x11, body, 11), &h), PP_INVALID); /* IPv4 needs 12 */
    assert_int_equal(pp_parse(buf, v2(buf, 0x21, 0x21, body, 35), &h), PP_INVALID); /* IPv6 needs 36 */
    /* Longer than PP_V2_MAX: refused at its 16th byte, before the rest comes. */
    v2(buf, 0x21, 0x11, body, PP_V2_MAX - 15);
    assert_int_equal(pp_parse(buf, 16, &h), PP_INVALID);
    assert_int_equal(pp_parse(buf, v2(buf, 0x21, 0x11, body, PP_V2_MAX - 16), &h), PP_V2_MAX);
    /* A signature off by one byte */
    v2(buf, 0x21, 0x11, body, 12);
    buf[5] = 0x0E;
    assert_int_equal(pp_parse(buf, 6, &h), PP_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1),
        cmocka_unit_test(test_v1_refused),
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_v2_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
