/* tests/unit/test_hpack.c: our HPACK encoder, decoded by nghttp2's: every block gives back its fields, tables stay in step, size updates, compression. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>

#include "http/hpack.h"

/* Decodes out[0..len) with inf; checks the fields against nv. */
static void decode(nghttp2_hd_inflater *inf, const uint8_t *out, size_t len, const resp_nv *nv, size_t n)
{
    size_t i = 0;
    for (;;) {
        nghttp2_nv f;
        int flags = 0;
        ssize_t k = nghttp2_hd_inflate_hd2(inf, &f, &flags, out, len, 1);
        assert_true(k >= 0);
        out += k;
        len -= (size_t)k;
        if (flags & NGHTTP2_HD_INFLATE_EMIT) {
            assert_true(i < n);
            assert_int_equal(f.namelen, nv[i].nlen);
            assert_memory_equal(f.name, nv[i].name, f.namelen);
            assert_int_equal(f.valuelen, nv[i].vlen);
            if (f.valuelen)
                assert_memory_equal(f.value, nv[i].value, f.valuelen);
            i++;
        }
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(inf);
            break;
        }
        assert_true(k > 0 || (flags & NGHTTP2_HD_INFLATE_EMIT));
    }
    assert_int_equal(i, n);
}

static size_t block(hpk_enc *e, nghttp2_hd_inflater *inf, const resp_nv *nv, size_t n)
{
    static uint8_t out[80000];
    assert_true(hpk_bound(nv, n) <= sizeof out);
    size_t len = hpk_encode(e, out, nv, n);
    assert_true(len <= hpk_bound(nv, n));
    decode(inf, out, len, nv, n);
    /* the tables agree: the decoder's dynamic table is the size ours says */
    assert_int_equal(nghttp2_hd_inflate_get_dynamic_table_size(inf), e->size);
    return len;
}

#define NV(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static void test_repeats_compress(void **state)
{
    (void)state;
    hpk_enc e;
    hpk_init(&e);
    nghttp2_hd_inflater *inf;
    assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
    resp_nv nv[] = { NV(":status", "200"), NV("server", "ephttpd"), NV("date", "Sat, 28 Nov 2026 19:00:00 GMT"),
                     NV("content-type", "text/html"), NV("content-length", "38"), NV("etag", "\"5f3a-26\""),
                     NV("accept-ranges", "bytes"), NV("x-custom", "a value") };
    size_t first = block(&e, inf, nv, 8);
    assert_true(first > 80);
    assert_int_equal(block(&e, inf, nv, 8), 8); /* a byte a field */
    nv[2] = (resp_nv)NV("date", "Sat, 28 Nov 2026 19:00:01 GMT"); /* the next second: one field new */
    assert_int_equal(block(&e, inf, nv, 8), 7 + 2 + 29);
    assert_int_equal(block(&e, inf, nv, 8), 8);
    nv[1] = (resp_nv)NV(":status", "304"); /* in another position: found in the static table */
    nv[0] = (resp_nv)NV("server", "ephttpd");
    assert_int_equal(block(&e, inf, nv, 8), 8);
    resp_nv status[] = { NV(":status", "416") }; /* a status the static table lacks: indexed by name */
    assert_int_equal(block(&e, inf, status, 1), 1 + 1 + 3);
    assert_int_equal(block(&e, inf, status, 1), 1);
    nghttp2_hd_inflate_del(inf);
    hpk_free(&e);
}

static void test_eviction_and_long_values(void **state)
{
    (void)state;
    hpk_enc e;
    hpk_init(&e);
    nghttp2_hd_inflater *inf;
    assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
    char names[300][16], values[300][64];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 300; i++) { /* 300 distinct fields of ~80 bytes each: the table turns over */
            snprintf(names[i], sizeof names[i], "x-f%d", i);
            snprintf(values[i], sizeof values[i], "value %d of round %d, padded to some length", i, round % 2);
            resp_nv nv[2] = { { names[i], strlen(names[i]), values[i], strlen(values[i]) },
                              NV("server", "ephttpd") };
            block(&e, inf, nv, 2);
            assert_true(e.size <= HPK_TABLE);
        }
    static char big[60000]; /* (nghttp2 decodes fields up to 64 KiB) */
    memset(big, 'b', sizeof big);
    resp_nv nv[] = { { "x-big", 5, big, sizeof big }, NV("server", "ephttpd") }; /* never indexed */
    uint32_t before = e.size;
    block(&e, inf, nv, 2);
    assert_int_equal(e.size, before);
    nghttp2_hd_inflate_del(inf);
    hpk_free(&e);
}

static void test_table_size_updates(void **state)
{
    (void)state;
    hpk_enc e;
    hpk_init(&e);
    nghttp2_hd_inflater *inf;
    assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
    resp_nv nv[] = { NV("server", "ephttpd"), NV("content-type", "text/plain") };
    block(&e, inf, nv, 2);
    /* the client says 0: the next block starts with an update to 0 and indexes nothing */
    hpk_set_limit(&e, 0);
    assert_int_equal(nghttp2_hd_inflate_change_table_size(inf, 0), 0);
    block(&e, inf, nv, 2);
    assert_int_equal(e.size, 0);
    /* 0, then 4096 again before a block: both updates, the smaller first */
    hpk_set_limit(&e, 100);
    hpk_set_limit(&e, 40);
    hpk_set_limit(&e, 8192);
    assert_int_equal(nghttp2_hd_inflate_change_table_size(inf, 40), 0);
    assert_int_equal(nghttp2_hd_inflate_change_table_size(inf, 8192), 0);
    block(&e, inf, nv, 2);
    assert_int_equal(e.max, HPK_TABLE);
    assert_int_equal(block(&e, inf, nv, 2), 2);
    nghttp2_hd_inflate_del(inf);
    hpk_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeats_compress),
        cmocka_unit_test(test_eviction_and_long_values),
        cmocka_unit_test(test_table_size_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
