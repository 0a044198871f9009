/* tests/unit/test_h2sess.c: the HTTP/2 session: a request in, its response out, cut at every byte; windows; errors and floods. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/h2sess.h"

/* A caller: streams from a fixed pool, fields counted, a body of body_len bytes per response. */
typedef struct {
    h2s_stream st;
    bool used, closed;
    uint32_t code;
    int fields, ends, data_bytes;
    size_t sent;
} tstream;

typedef struct {
    tstream pool[8];
    size_t body_len;
    bool defer;
    int errors, pings;
    uint32_t last_error;
    h2s s;
} tctx;

static h2s_stream *t_open(void *ud, uint32_t id)
{
    (void)id;
    tctx *t = ud;
    for (int i = 0; i < 8; i++)
        if (!t->pool[i].used) {
            memset(&t->pool[i], 0, sizeof t->pool[i]);
            t->pool[i].used = true;
            return &t->pool[i].st;
        }
    return NULL;
}

static void t_field(void *ud, h2s_stream *st, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl, bool tr)
{
    (void)ud, (void)n, (void)nl, (void)v, (void)vl, (void)tr;
    ((tstream *)st)->fields++;
}

static void t_end(void *ud, h2s_stream *st, bool trailer, bool end)
{
    (void)trailer, (void)end;
    tctx *t = ud;
    ((tstream *)st)->ends++;
    static const resp_nv nv[] = { { ":status", 7, "200", 3 } };
    h2s_respond(&t->s, st, nv, 1, t->body_len > 0);
}

static void t_data(void *ud, h2s_stream *st, size_t len, bool end)
{
    (void)ud, (void)end;
    ((tstream *)st)->data_bytes += (int)len;
}

static void t_close(void *ud, h2s_stream *st, uint32_t code)
{
    (void)ud;
    tstream *ts = (tstream *)st;
    ts->closed = true;
    ts->used = false;
    ts->code = code;
}

static ssize_t t_pull(void *ud, h2s_stream *st, uint8_t *buf, size_t len, bool *eof)
{
    tctx *t = ud;
    tstream *ts = (tstream *)st;
    if (t->defer)
        return H2S_DEFER;
    size_t k = t->body_len - ts->sent < len ? t->body_len - ts->sent : len;
    memset(buf, 'x', k);
    ts->sent += k;
    *eof = ts->sent == t->body_len;
    return (ssize_t)k;
}

static void t_ping(void *ud)
{
    ((tctx *)ud)->pings++;
}

static void t_error(void *ud, uint32_t code, const char *why)
{
    (void)why;
    tctx *t = ud;
    t->errors++;
    t->last_error = code;
}

static const h2s_cbs CBS = { t_open, t_field, t_end, t_data, t_close, t_pull, t_ping, t_error };

static void start(tctx *t, size_t body_len)
{
    memset(t, 0, sizeof *t);
    t->body_len = body_len;
    h2s_settings local = { 4, 8192, 65535, 65535 };
    assert_int_equal(h2s_init(&t->s, &CBS, t, &local, NULL), 0);
}

/* The client's bytes: frames appended to a buffer. */
typedef struct {
    uint8_t b[70000];
    size_t n;
} wire;

static void frame(wire *w, uint8_t type, uint8_t flags, uint32_t id, const void *p, size_t len)
{
    h2fr_hd_write(w->b + w->n, (uint32_t)len, type, flags, id);
    memcpy(w->b + w->n + H2FR_HEAD, p, len);
    w->n += H2FR_HEAD + len;
}

static void request(wire *w, nghttp2_hd_deflater *def, uint32_t id, uint8_t flags)
{
    static const nghttp2_nv nv[] = {
        { (uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0 },
        { (uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0 },
        { (uint8_t *)":path", (uint8_t *)"/a.txt", 5, 6, 0 },
        { (uint8_t *)":authority", (uint8_t *)"example.org", 10, 11, 0 },
    };
    uint8_t blk[256];
    ssize_t n = nghttp2_hd_deflate_hd(def, blk, sizeof blk, nv, 4);
    assert_true(n > 0);
    frame(w, H2FR_HEADERS, flags | H2FR_END_HEADERS, id, blk, (size_t)n);
}

static void preface(wire *w)
{
    memcpy(w->b + w->n, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    w->n += 24;
    frame(w, H2FR_SETTINGS, 0, 0, "", 0);
}

/* What the server sent: each frame's type, flags, stream and first 4 payload bytes. */
typedef struct {
    int n;
    h2fr_hd hd[64];
    uint32_t u32[64];
    size_t data;
} heard;

static void hear(tctx *t, heard *h)
{
    memset(h, 0, sizeof *h);
    static uint8_t out[65536];
    size_t len = 0, k;
    while ((k = h2s_send(&t->s, out + len, 16384 + 9)) > 0)
        len += k;
    for (size_t at = 0; at < len && h->n < 64; h->n++) {
        h2fr_hd_read(out + at, &h->hd[h->n]);
        const uint8_t *p = out + at + H2FR_HEAD;
        if (h->hd[h->n].len >= 4)
            h->u32[h->n] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (h->hd[h->n].type == H2FR_DATA)
            h->data += h->hd[h->n].len;
        if (h->hd[h->n].type == H2FR_GOAWAY) /* the error code, after the last stream id */
            h->u32[h->n] = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
        at += H2FR_HEAD + h->hd[h->n].len;
    }
}

static int count(const heard *h, uint8_t type)
{
    int c = 0;
    for (int i = 0; i < h->n; i++)
        c += h->hd[i].type == type;
    return c;
}

static int find_type(const heard *h, uint8_t type)
{
    for (int i = 0; i < h->n; i++)
        if (h->hd[i].type == type)
            return i;
    return -1;
}

static void test_request_response_at_every_cut(void **state)
{
    (void)state;
    nghttp2_hd_deflater *def;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    wire w = { .n = 0 };
    preface(&w);
    request(&w, def, 1, H2FR_END_STREAM);
    nghttp2_hd_deflate_del(def);
    for (size_t cut = 0; cut <= w.n; cut++) {
        tctx t;
        start(&t, 20000); /* two DATA frames */
        assert_int_equal(h2s_recv(&t.s, w.b, cut, 0), 0);
        assert_int_equal(h2s_recv(&t.s, w.b + cut, w.n - cut, 0), 0);
        assert_int_equal(t.pool[0].fields, 4);
        assert_int_equal(t.pool[0].ends, 1);
        heard h;
        hear(&t, &h);
        assert_int_equal(h.hd[0].type, H2FR_SETTINGS);
        assert_int_equal(h.hd[1].type, H2FR_SETTINGS);
        assert_int_equal(h.hd[1].flags, H2FR_ACK);
        assert_int_equal(h.hd[2].type, H2FR_HEADERS);
        assert_int_equal(h.hd[2].flags, H2FR_END_HEADERS);
        assert_int_equal(h.data, 20000);
        assert_int_equal(h.hd[h.n - 1].type, H2FR_DATA);
        assert_int_equal(h.hd[h.n - 1].flags, H2FR_END_STREAM);
        assert_true(t.pool[0].closed);
        assert_int_equal(t.pool[0].code, H2E_NO_ERROR);
        assert_false(h2s_want_write(&t.s));
        assert_null(t.s.part);
        assert_null(t.s.ctl); /* idle: no buffers */
        h2s_free(&t.s);
    }
}

static void test_flow_control(void **state)
{
    (void)state;
    nghttp2_hd_deflater *def;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    tctx t;
    start(&t, 100);
    wire w = { .n = 0 };
    memcpy(w.b, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    w.n = 24;
    frame(&w, H2FR_SETTINGS, 0, 0, "\0\x04\0\0\0\0", 6); /* INITIAL_WINDOW_SIZE 0 */
    request(&w, def, 1, H2FR_END_STREAM);
    assert_int_equal(h2s_recv(&t.s, w.b, w.n, 0), 0);
    heard h;
    hear(&t, &h);
    assert_int_equal(count(&h, H2FR_HEADERS), 1);
    assert_int_equal(count(&h, H2FR_DATA), 0); /* no window, no DATA */
    w.n = 0;
    frame(&w, H2FR_WINDOW_UPDATE, 0, 1, "\0\0\0\x28", 4); /* 40 bytes */
    assert_int_equal(h2s_recv(&t.s, w.b, w.n, 0), 0);
    hear(&t, &h);
    assert_int_equal(h.data, 40);
    assert_false(t.pool[0].closed);
    w.n = 0;
    frame(&w, H2FR_WINDOW_UPDATE, 0, 1, "\x7f\xff\xff\xff", 4); /* to 2^31-1 exactly, */
    frame(&w, H2FR_WINDOW_UPDATE, 0, 1, "\0\0\0\x01", 4);       /* then past it: the stream's error */
    assert_int_equal(h2s_recv(&t.s, w.b, w.n, 0), 0);
    hear(&t, &h);
    assert_int_equal(h.hd[0].type, H2FR_RST_STREAM);
    assert_int_equal(h.u32[0], H2E_FLOW_CONTROL_ERROR);
    assert_true(t.pool[0].closed);
    nghttp2_hd_deflate_del(def);
    h2s_free(&t.s);
}

/* A connection error: GOAWAY with code, after whatever was queued. */
static void expect_goaway(const char *what, const void *frames, size_t len, uint32_t code)
{
    tctx t;
    start(&t, 10);
    wire w = { .n = 0 };
    preface(&w);
    memcpy(w.b + w.n, frames, len);
    w.n += len;
    assert_int_equal(h2s_recv(&t.s, w.b, w.n, 0), -1);
    heard h;
    hear(&t, &h);
    int g = find_type(&h, H2FR_GOAWAY);
    if (g < 0 || h.u32[g] != code)
        fail_msg("%s: no GOAWAY %u", what, code);
    assert_int_equal(t.errors, 1);
    h2s_free(&t.s);
}

static void test_connection_errors(void **state)
{
    (void)state;
    wire w = { .n = 0 };
    frame(&w, H2FR_DATA, 0, 1, "x", 1);
    expect_goaway("DATA on an idle stream", w.b, w.n, H2E_PROTOCOL_ERROR);
    w.n = 0;
    frame(&w, H2FR_RST_STREAM, 0, 3, "\0\0\0\x08", 4);
    expect_goaway("RST_STREAM on an idle stream", w.b, w.n, H2E_PROTOCOL_ERROR);
    w.n = 0;
    frame(&w, H2FR_HEADERS, H2FR_END_HEADERS, 2, "\x82", 1);
    expect_goaway("an even stream", w.b, w.n, H2E_PROTOCOL_ERROR);
    w.n = 0;
    frame(&w, H2FR_CONTINUATION, H2FR_END_HEADERS, 1, "\x82", 1);
    expect_goaway("CONTINUATION alone", w.b, w.n, H2E_PROTOCOL_ERROR);
    w.n = 0;
    frame(&w, H2FR_HEADERS, H2FR_END_HEADERS, 1, "\xff\xff\xff\xff", 4);
    expect_goaway("HPACK garbage", w.b, w.n, H2E_COMPRESSION_ERROR);
    w.n = 0;
    frame(&w, H2FR_WINDOW_UPDATE, 0, 0, "\x7f\xff\xff\xff", 4);
    expect_goaway("the connection window past 2^31-1", w.b, w.n, H2E_FLOW_CONTROL_ERROR);
    w.n = 0;
    frame(&w, H2FR_HEADERS, 0, 1, "\x82", 1); /* a block left open */
    frame(&w, H2FR_PING, 0, 0, "12345678", 8);
    expect_goaway("PING inside a header block", w.b, w.n, H2E_PROTOCOL_ERROR);
    w.n = 0;
    h2fr_hd_write(w.b, 16385, H2FR_DATA, 0, 1); /* refused from its header alone */
    w.n = H2FR_HEAD;
    expect_goaway("a frame too long", w.b, w.n, H2E_FRAME_SIZE_ERROR);
    w.n = 0;
    uint8_t many[6 * 33] = { 0 };
    frame(&w, H2FR_SETTINGS, 0, 0, many, sizeof many);
    expect_goaway("SETTINGS of 33 entries", w.b, w.n, H2E_ENHANCE_YOUR_CALM);

    tctx t; /* the preface itself */
    start(&t, 0);
    assert_int_equal(h2s_recv(&t.s, (const uint8_t *)"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", 24, 0), -1);
    h2s_free(&t.s);
    start(&t, 0);
    wire p = { .n = 0 };
    memcpy(p.b, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    p.n = 24;
    frame(&p, H2FR_PING, 0, 0, "12345678", 8);
    assert_int_equal(h2s_recv(&t.s, p.b, p.n, 0), -1); /* not SETTINGS first */
    h2s_free(&t.s);
}

static void test_streams_limits_and_resets(void **state)
{
    (void)state;
    nghttp2_hd_deflater *def;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    tctx t;
    start(&t, 10);
    t.defer = true; /* responses wait: the streams stay open */
    wire w = { .n = 0 };
    preface(&w);
    for (uint32_t id = 1; id <= 11; id += 2)
        request(&w, def, id, H2FR_END_STREAM);
    assert_int_equal(h2s_recv(&t.s, w.b, w.n, 0), 0);
    heard h;
    hear(&t, &h);
    assert_int_equal(t.s.nstreams, 4); /* the limit; the client had not acknowledged it: refused */
    assert_int_equal(count(&h, H2FR_RST_STREAM), 2);
    assert_int_equal(h.u32[find_type(&h, H2FR_RST_STREAM)], H2E_REFUSED_STREAM);
    /* after the ACK, one too many is the connection's error (nghttp2's answer) */
    w.n = 0;
    frame(&w, H2FR_SETTINGS, H2FR_ACK, 0, "", 0);
    request(&w, def, 13, H2FR_END_STREAM);
    assert_int_equal(h2s_recv(&t.s, w.b, w.n, 0), -1);
    assert_int_equal(t.last_error, H2E_PROTOCOL_ERROR);
    h2s_free(&t.s);

    /* a burst of resets past the budget: GOAWAY INTERNAL_ERROR */
    nghttp2_hd_deflate_del(def); /* a new connection, a new HPACK state */
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    start(&t, 10);
    t.defer = true;
    w.n = 0;
    preface(&w);
    assert_int_equal(h2s_recv(&t.s, w.b, w.n, 0), 0);
    int rv = 0;
    uint32_t id = 1;
    for (int i = 0; i < 1100 && rv == 0; i++, id += 2) {
        w.n = 0;
        request(&w, def, id, H2FR_END_STREAM);
        frame(&w, H2FR_RST_STREAM, 0, id, "\0\0\0\x08", 4);
        rv = h2s_recv(&t.s, w.b, w.n, 1000);
        hear(&t, &h);
    }
    assert_int_equal(rv, -1);
    assert_int_equal(t.last_error, H2E_INTERNAL_ERROR);
    assert_in_range(id, 2 * 1000, 2 * 1002);

    /* MadeYouReset: the client makes us reset each stream (a WINDOW_UPDATE
     * of 0 on it, a stream error): the same budget, ENHANCE_YOUR_CALM */
    nghttp2_hd_deflate_del(def);
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    h2s_free(&t.s);
    start(&t, 10);
    t.defer = true;
    w.n = 0;
    preface(&w);
    assert_int_equal(h2s_recv(&t.s, w.b, w.n, 0), 0);
    rv = 0;
    id = 1;
    for (int i = 0; i < 1100 && rv == 0; i++, id += 2) {
        w.n = 0;
        request(&w, def, id, H2FR_END_STREAM);
        frame(&w, H2FR_WINDOW_UPDATE, 0, id, "\0\0\0\0", 4);
        rv = h2s_recv(&t.s, w.b, w.n, 1000);
        hear(&t, &h);
    }
    assert_int_equal(rv, -1);
    assert_int_equal(t.last_error, H2E_ENHANCE_YOUR_CALM);
    assert_in_range(id, 2 * 1000, 2 * 1002);
    nghttp2_hd_deflate_del(def);
    h2s_free(&t.s);
}

/* After stream 3: an even id is idle (we open none), a skipped odd one
 * below is closed (5.1.1): DATA there is the connection's error, here it
 * is dropped; a HEADERS on the skipped id cannot open it. */
static void test_idle_and_skipped_ids(void **state)
{
    (void)state;
    for (int c = 0; c < 3; c++) {
        nghttp2_hd_deflater *def;
        assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
        tctx t;
        start(&t, 10);
        wire w = { .n = 0 };
        preface(&w);
        request(&w, def, 3, H2FR_END_STREAM);
        if (c == 0)
            frame(&w, H2FR_DATA, 0, 2, "x", 1);
        else if (c == 1)
            frame(&w, H2FR_WINDOW_UPDATE, 0, 1, "\0\0\0\x01", 4);
        else
            request(&w, def, 1, H2FR_END_STREAM);
        int rv = h2s_recv(&t.s, w.b, w.n, 0);
        assert_int_equal(rv, c == 1 ? 0 : -1);
        assert_int_equal(t.errors, c == 1 ? 0 : 1);
        if (c != 1)
            assert_int_equal(t.last_error, H2E_PROTOCOL_ERROR);
        nghttp2_hd_deflate_del(def);
        h2s_free(&t.s);
    }
}

static void test_ping_and_goaway(void **state)
{
    (void)state;
    tctx t;
    start(&t, 10);
    wire w = { .n = 0 };
    preface(&w);
    frame(&w, H2FR_PING, 0, 0, "abcdefgh", 8);
    frame(&w, H2FR_PING, H2FR_ACK, 0, "\0\0\0\0\0\0\0\0", 8);
    assert_int_equal(h2s_recv(&t.s, w.b, w.n, 0), 0);
    assert_int_equal(t.pings, 1);
    heard h;
    hear(&t, &h);
    int p = find_type(&h, H2FR_PING);
    assert_true(p >= 0);
    assert_int_equal(h.hd[p].flags, H2FR_ACK);
    assert_int_equal(h.u32[p], 0x61626364);
    assert_false(h2s_done(&t.s));
    h2s_notice(&t.s);
    h2s_goaway(&t.s, H2E_NO_ERROR);
    hear(&t, &h);
    assert_int_equal(count(&h, H2FR_GOAWAY), 2);
    assert_true(h2s_done(&t.s));
    h2s_free(&t.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_response_at_every_cut),
        cmocka_unit_test(test_flow_control),
        cmocka_unit_test(test_connection_errors),
        cmocka_unit_test(test_streams_limits_and_resets),
        cmocka_unit_test(test_idle_and_skipped_ids),
        cmocka_unit_test(test_ping_and_goaway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
