/* tests/unit/test_h2fields.c: HTTP/2 request field rules (RFC 9113 8.2-8.3), each accepted and refused case. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "http/h2fields.h"

/* A request's fields as "name", "value" pairs, then NULL: the first
 * field refused (its index), -1 when all pass and the block is complete,
 * or -2 when they pass and h2f_request refuses the block. */
static int run(const char *first, ...)
{
    h2f_state s;
    h2f_begin(&s);
    va_list ap;
    va_start(ap, first);
    int i = 0;
    for (const char *n = first; n; n = va_arg(ap, const char *), i++) {
        const char *v = va_arg(ap, const char *);
        if (h2f_field(&s, (const uint8_t *)n, strlen(n), (const uint8_t *)v, strlen(v), false) < 0) {
            va_end(ap);
            return i;
        }
    }
    va_end(ap);
    return h2f_request(&s) < 0 ? -2 : -1;
}

#define GET ":method", "GET", ":scheme", "https", ":authority", "a.test", ":path", "/x"

static void test_a_plain_request(void **state)
{
    (void)state;
    assert_int_equal(run(GET, NULL), -1);
    assert_int_equal(run(GET, "accept", "*/*", "te", "trailers", "te", "Trailers", NULL), -1);
    /* host instead of :authority; an obs-text value; an empty regular value */
    assert_int_equal(run(":method", "GET", ":scheme", "http", ":path", "/", "host", "a.test:8080", NULL), -1);
    assert_int_equal(run(GET, "x-a", "caf\xc3\xa9", "x-empty", "", "x-tab", "a\tb", NULL), -1);
    assert_int_equal(run(":method", "OPTIONS", ":scheme", "https", ":authority", "a", ":path", "*", NULL), -1);
    assert_int_equal(run(":method", "CONNECT", ":authority", "tunnel.test:443", NULL), -1);
    /* a scheme other than http(s) need not have a path that starts with '/' */
    assert_int_equal(run(":method", "GET", ":scheme", "foo+bar.1", ":authority", "a", ":path", "x", NULL), -1);
}

static void test_pseudo_headers(void **state)
{
    (void)state;
    assert_int_equal(run(":method", "GET", ":scheme", "https", ":authority", "a", NULL), -2);   /* no :path */
    assert_int_equal(run(":scheme", "https", ":authority", "a", ":path", "/", NULL), -2);      /* no :method */
    assert_int_equal(run(":method", "GET", ":authority", "a", ":path", "/", NULL), -2);        /* no :scheme */
    assert_int_equal(run(":method", "GET", ":scheme", "https", ":path", "/", NULL), -2);       /* no authority, no host */
    assert_int_equal(run(GET, ":foo", "bar", NULL), 4);
    assert_int_equal(run(GET, ":protocol", "websocket", NULL), 4);
    assert_int_equal(run(":method", "GET", "accept", "*/*", ":path", "/", NULL), 2);           /* after a regular one */
    assert_int_equal(run(GET, ":method", "GET", NULL), 4);                                     /* twice */
    assert_int_equal(run(":method", "GET", ":scheme", "https", ":authority", "a", ":path", "", NULL), 3);
    assert_int_equal(run(":method", "", NULL), 0);
    assert_int_equal(run(":method", "G T", NULL), 0);
    assert_int_equal(run(":method", "GET", ":scheme", "1http", NULL), 1);
    assert_int_equal(run(":method", "GET", ":scheme", "", NULL), 1);
    assert_int_equal(run(":method", "GET", ":scheme", "https", ":authority", "a b", NULL), 2);
    assert_int_equal(run(":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/a b", NULL), 3);
    assert_int_equal(run(":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/\x7f", NULL), 3);
    assert_int_equal(run(":", "x", NULL), 0);
    assert_int_equal(run(":Method", "GET", NULL), 0);
    /* an http(s) target is a path; "*" only for OPTIONS */
    assert_int_equal(run(":method", "GET", ":scheme", "https", ":authority", "a", ":path", "x", NULL), -2);
    assert_int_equal(run(":method", "GET", ":scheme", "https", ":authority", "a", ":path", "*", NULL), -2);
    /* CONNECT: the authority only */
    assert_int_equal(run(":method", "CONNECT", ":authority", "t:443", ":path", "/", NULL), -2);
    assert_int_equal(run(":method", "CONNECT", ":scheme", "https", ":authority", "t:443", NULL), -2);
    assert_int_equal(run(":method", "CONNECT", NULL), -2);
}

static void test_regular_fields(void **state)
{
    (void)state;
    assert_int_equal(run(GET, "X-Upper", "1", NULL), 4);
    assert_int_equal(run(GET, "x y", "1", NULL), 4);
    assert_int_equal(run(GET, "", "1", NULL), 4);
    assert_int_equal(run(GET, "x-a", "a\rb", NULL), 4);
    assert_int_equal(run(GET, "x-a", "a\nb", NULL), 4);
    assert_int_equal(run(GET, "x-a", " lead", NULL), 4);
    assert_int_equal(run(GET, "x-a", "trail\t", NULL), 4);
    assert_int_equal(run(GET, "x-a", "a\x01", NULL), 4);
    static const char *const conn[] = { "connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                        "upgrade" };
    for (size_t i = 0; i < sizeof conn / sizeof conn[0]; i++)
        assert_int_equal(run(GET, conn[i], "x", NULL), 4);
    assert_int_equal(run(GET, "te", "gzip", NULL), 4);
    assert_int_equal(run(GET, "host", "a.test", "host", "b.test", NULL), 5);
    assert_int_equal(run(GET, "host", "", NULL), 4);
    assert_int_equal(run(GET, "host", "a/b", NULL), 4);
}

/* Every byte, in a name and in a value, against RFC 9110's classes. */
static void test_every_byte(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        bool tchar = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
        bool vbyte = c == '\t' || (c >= 0x20 && c != 0x7f);
        uint8_t name[2] = { 'x', (uint8_t)c }, value[3] = { 'a', (uint8_t)c, 'a' };
        h2f_state s;
        h2f_begin(&s);
        assert_int_equal(h2f_field(&s, name, 2, (const uint8_t *)"1", 1, false), tchar ? 0 : -1);
        h2f_begin(&s);
        assert_int_equal(h2f_field(&s, (const uint8_t *)"x-a", 3, value, 3, false), vbyte ? 0 : -1);
    }
}

static void test_content_length(void **state)
{
    (void)state;
    assert_int_equal(run(GET, "content-length", "x", NULL), 4);
    assert_int_equal(run(GET, "content-length", "", NULL), 4);
    assert_int_equal(run(GET, "content-length", "99999999999999999999", NULL), 4);
    assert_int_equal(run(GET, "content-length", "3", "content-length", "3", NULL), 5);

    h2f_state s;
    h2f_begin(&s);
    assert_int_equal(h2f_field(&s, (const uint8_t *)"content-length", 14, (const uint8_t *)"5", 1, false), 0);
    assert_int_equal(h2f_end(&s), -1); /* ended with none of the 5 */
    assert_int_equal(h2f_data(&s, 3), 0);
    assert_int_equal(h2f_end(&s), -1);
    assert_int_equal(h2f_data(&s, 2), 0);
    assert_int_equal(h2f_end(&s), 0);
    assert_int_equal(h2f_data(&s, 1), -1); /* past it */

    h2f_begin(&s); /* no content-length: any amount */
    assert_int_equal(h2f_data(&s, 100000), 0);
    assert_int_equal(h2f_end(&s), 0);
}

static void test_trailers(void **state)
{
    (void)state;
    h2f_state s;
    h2f_begin(&s);
    assert_int_equal(h2f_field(&s, (const uint8_t *)"x-sum", 5, (const uint8_t *)"1", 1, true), 0);
    assert_int_equal(h2f_field(&s, (const uint8_t *)":path", 5, (const uint8_t *)"/", 1, true), -1);
    assert_int_equal(h2f_field(&s, (const uint8_t *)"X-Sum", 5, (const uint8_t *)"1", 1, true), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_plain_request),
        cmocka_unit_test(test_pseudo_headers),
        cmocka_unit_test(test_regular_fields),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_trailers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
