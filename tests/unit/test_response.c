/* tests/unit/test_response.c: response heads: the size bound, Location encoding, add_header always, caching headers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/cond.h"
#include "http/response.h"
#include "util/time.h"

static const char DATE[] = "Sun, 06 Nov 1994 08:49:37 GMT";

static resp_fields plain(void)
{
    return (resp_fields){ .date = DATE, .content_length = -1, .last_modified = -1, .etag_size = -1,
                          .max_age = -1, .keep_alive = true };
}

/* The value of header name in head, NUL-terminated in out, or NULL. */
static const char *header(const char *head, const char *name, char *out, size_t cap)
{
    char key[128];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *p = strstr(head, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t n = (size_t)(strstr(p, "\r\n") - p);
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* Every field at its longest: the head must fit resp_head_max with room
 * left for the interim 100 Continue the worker may put ahead of it. */
static void test_head_max_fits(void **state)
{
    (void)state;
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    size_t ctype_len = 100, path_len = 3000, query_len = 2000;
    char *ctype = malloc(ctype_len + 1), *path = malloc(path_len), *query = malloc(query_len);
    assert_non_null(ctype && path && query);
    memset(ctype, 't', ctype_len);
    ctype[ctype_len] = '\0';
    memset(path, '"', path_len); /* every byte escaped: 3 bytes each */
    path[0] = '/';
    memset(query, 'q', query_len);
    cfg_header extra[3] = { { "X-One", "1", true }, { "X-Two", "twenty-two", false }, { "X-Three", "333", true } };
    char crange[COND_CONTENT_RANGE_MAX];
    cond_range r = { INT64_MAX - 2, INT64_MAX - 1 };
    resp_fields f = plain();
    f.content_type = ctype;
    f.content_length = INT64_MAX;
    f.last_modified = 253402300799; /* 9999-12-31 23:59:59 */
    f.etag_size = INT64_MAX;
    f.location = ep_str_make(path, path_len);
    f.location_encode = true;
    f.location_suffix = EP_STR_LIT("/");
    f.location_query = ep_str_make(query, query_len);
    f.content_range = ep_str_make(crange, cond_content_range(crange, &r, INT64_MAX));
    f.accept_ranges = true;
    f.allow = "GET, HEAD, OPTIONS, POST, PUT, DELETE, PATCH";
    f.content_encoding = "gzip";
    f.vary_encoding = true;
    f.max_age = 10LL * 31536000;
    f.now = 253402300799 - f.max_age;
    f.extra = extra;
    f.nextra = 3;
    size_t bound = resp_head_max(ctype_len, 3 * path_len + 2 + query_len, resp_extra_size(extra, 3));
    char *buf = malloc(bound);
    assert_non_null(buf);
    /* 431 has the longest reason phrase and takes the always headers only;
     * 206 takes all three. */
    int statuses[] = { 431, 206 };
    for (size_t i = 0; i < 2; i++) {
        size_t n = resp_head(buf, bound - (sizeof cont - 1), statuses[i], &f);
        assert_true(n > 0);
        assert_true(n + sizeof cont - 1 <= bound);
    }
    free(buf);
    free(ctype);
    free(path);
    free(query);
}

static void test_location_encoded(void **state)
{
    (void)state;
    char buf[1024], v[512];
    static const char path[] = "/a b/%/\\x?#\"\xc3\xa9:@!$&'()*+,;=-._~";
    resp_fields f = plain();
    f.location = ep_str_make(path, sizeof path - 1);
    f.location_encode = true;
    f.location_suffix = EP_STR_LIT("/");
    f.location_query = EP_STR_LIT("x=%41&y=/z");
    assert_true(resp_head(buf, sizeof buf, 301, &f) > 0);
    assert_non_null(header(buf, "Location", v, sizeof v));
    assert_string_equal(v, "/a%20b/%25/%5Cx%3F%23%22%C3%A9:@!$&'()*+,;=-._~/?x=%41&y=/z");
    /* A network-path reference can never come out, whatever the path. */
    f.location = EP_STR_LIT("//evil.example/x");
    f.location_query = (ep_str){ 0 };
    assert_true(resp_head(buf, sizeof buf, 301, &f) > 0);
    assert_string_equal(header(buf, "Location", v, sizeof v), "/%2Fevil.example/x/");
    /* Not encoded unless asked: a return URL is the configuration's own. */
    f.location_encode = false;
    f.location = EP_STR_LIT("https://example.org/a%20b");
    f.location_suffix = (ep_str){ 0 };
    assert_true(resp_head(buf, sizeof buf, 302, &f) > 0);
    assert_string_equal(header(buf, "Location", v, sizeof v), "https://example.org/a%20b");
    /* Too small a buffer: 0, not a cut Location. */
    f.location_encode = true;
    f.location = ep_str_make(path, sizeof path - 1);
    size_t need = resp_head(buf, sizeof buf, 301, &f);
    assert_int_equal(resp_head(buf, need - 1, 301, &f), 0);
}

static void test_add_header_always(void **state)
{
    (void)state;
    static const int with_plain[] = { 200, 201, 204, 206, 301, 302, 303, 304, 307, 308 };
    static const int always_only[] = { 100, 202, 400, 403, 404, 405, 408, 412, 413, 414, 416, 500, 503 };
    cfg_header extra[2] = { { "X-Plain", "p", false }, { "X-Always", "a", true } };
    resp_fields f = plain();
    f.extra = extra;
    f.nextra = 2;
    char buf[1024], v[16];
    for (size_t i = 0; i < sizeof with_plain / sizeof with_plain[0]; i++) {
        assert_true(resp_header_applies(&extra[0], with_plain[i]));
        assert_true(resp_head(buf, sizeof buf, with_plain[i], &f) > 0);
        assert_non_null(header(buf, "X-Plain", v, sizeof v));
        assert_non_null(header(buf, "X-Always", v, sizeof v));
    }
    for (size_t i = 0; i < sizeof always_only / sizeof always_only[0]; i++) {
        assert_false(resp_header_applies(&extra[0], always_only[i]));
        assert_true(resp_head(buf, sizeof buf, always_only[i], &f) > 0);
        assert_null(header(buf, "X-Plain", v, sizeof v));
        assert_string_equal(header(buf, "X-Always", v, sizeof v), "a");
    }
    assert_int_equal(resp_extra_size(extra, 2), strlen("\r\nX-Plain: p\r\nX-Always: a"));
}

static void test_caching_headers(void **state)
{
    (void)state;
    char buf[1024], v[64];
    resp_fields f = plain();
    assert_true(resp_head(buf, sizeof buf, 200, &f) > 0);
    assert_null(strstr(buf, "Expires"));
    assert_null(strstr(buf, "Cache-Control"));
    f.now = 784111777;
    f.max_age = 0;
    assert_true(resp_head(buf, sizeof buf, 304, &f) > 0);
    assert_string_equal(header(buf, "Cache-Control", v, sizeof v), "max-age=0");
    assert_string_equal(header(buf, "Expires", v, sizeof v), DATE);
    f.max_age = 3600;
    assert_true(resp_head(buf, sizeof buf, 200, &f) > 0);
    assert_string_equal(header(buf, "Cache-Control", v, sizeof v), "max-age=3600");
    assert_string_equal(header(buf, "Expires", v, sizeof v), "Sun, 06 Nov 1994 09:49:37 GMT");
}

/* Allow is written in one place, from the rules' method bits: GET brings
 * HEAD along, names in the table's order, and every method fits. */
static void test_allow(void **state)
{
    (void)state;
    char buf[RESP_ALLOW_MAX];
    assert_string_equal(resp_allow(M_GET, buf, sizeof buf), "GET, HEAD");
    assert_string_equal(resp_allow(M_GET | M_OPTIONS, buf, sizeof buf), "GET, HEAD, OPTIONS");
    assert_string_equal(resp_allow(M_HEAD, buf, sizeof buf), "HEAD");
    assert_string_equal(resp_allow(0, buf, sizeof buf), "");
    unsigned all = (1u << CFG_NMETHODS) - 1;
    resp_allow(all, buf, sizeof buf);
    for (size_t i = 0; i < CFG_NMETHODS; i++)
        assert_non_null(strstr(buf, cfg_method_names[i]));
    assert_true(strlen(buf) < sizeof buf - 1);
}

/* The HTTP/2 form carries the very fields of the text head, in the same
 * order: rebuild text from the entries (names lower case) and compare it
 * with the text head's lines after the status line, Connection dropped. */
static void test_h2_fields_match_the_text_head(void **state)
{
    (void)state;
    cfg_header extra[2] = { { "X-Frame-Options", "DENY", true }, { "X-Only-Ok", "yes", false } };
    char crange[COND_CONTENT_RANGE_MAX];
    cond_range r = { 10, 19 };
    resp_fields f = plain();
    f.content_type = "text/html";
    f.content_length = 10;
    f.last_modified = 784111777;
    f.etag_size = 1234;
    f.location = EP_STR_LIT("/a b/");
    f.location_encode = true;
    f.location_query = EP_STR_LIT("x=1");
    f.content_range = ep_str_make(crange, cond_content_range(crange, &r, 100));
    f.accept_ranges = true;
    f.allow = "GET, HEAD";
    f.content_encoding = "gzip";
    f.vary_encoding = true;
    f.max_age = 60;
    f.now = 784111777;
    f.extra = extra;
    f.nextra = 2;
    static const int statuses[] = { 206, 304, 404, 204 };
    for (size_t k = 0; k < sizeof statuses / sizeof statuses[0]; k++) {
        char text[2048], h2buf[2048], rebuilt[2048];
        resp_nv nv[RESP_NV_FIXED + 2];
        size_t n = resp_head(text, sizeof text, statuses[k], &f);
        assert_true(n > 0);
        text[n] = '\0';
        size_t m = resp_fields_h2(h2buf, sizeof h2buf, statuses[k], &f, nv, RESP_NV_FIXED + 2);
        assert_true(m > 3);
        char code[4];
        snprintf(code, sizeof code, "%d", statuses[k]);
        assert_true(nv[0].nlen == 7 && memcmp(nv[0].name, ":status", 7) == 0);
        assert_true(nv[0].vlen == 3 && memcmp(nv[0].value, code, 3) == 0);
        size_t at = 0;
        for (size_t i = 1; i < m; i++) {
            for (size_t j = 0; j < nv[i].nlen; j++)
                assert_false(nv[i].name[j] >= 'A' && nv[i].name[j] <= 'Z');
            at += (size_t)snprintf(rebuilt + at, sizeof rebuilt - at, "\r\n%.*s: %.*s", (int)nv[i].nlen,
                                   nv[i].name, (int)nv[i].vlen, nv[i].value);
        }
        /* the text head from its first field to Connection, names lower-cased */
        char *from = strstr(text, "\r\n"), *to = strstr(text, "\r\nConnection: ");
        assert_non_null(from && to);
        *to = '\0';
        for (char *q = from; *q; q++) {
            char *colon = strchr(q + 2, ':');
            for (char *c = q + 2; colon && c < colon; c++)
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            q = strstr(q + 2, "\r\n");
            if (!q)
                break;
            q--;
        }
        assert_string_equal(rebuilt, from);
        /* too small a buffer or too few entries: 0, never a cut head */
        assert_int_equal(resp_fields_h2(h2buf, 40, statuses[k], &f, nv, RESP_NV_FIXED + 2), 0);
        assert_int_equal(resp_fields_h2(h2buf, sizeof h2buf, statuses[k], &f, nv, m - 1), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_max_fits),
        cmocka_unit_test(test_location_encoded),
        cmocka_unit_test(test_add_header_always),
        cmocka_unit_test(test_caching_headers),
        cmocka_unit_test(test_allow),
        cmocka_unit_test(test_h2_fields_match_the_text_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
