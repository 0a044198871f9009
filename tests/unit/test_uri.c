/* tests/unit/test_uri.c: table tests for uri_split, uri_origin, uri_host and uri_decode_path. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/uri.h"

typedef struct {
    const char *in;
    size_t inlen; /* 0: strlen(in); set for inputs with an embedded NUL */
    int status;
    const char *out; /* when status == 0 */
} decode_case;

static const decode_case decode_cases[] = {
    /* plain and trailing-slash rules */
    { "/", 0, 0, "/" },
    { "//", 0, 0, "/" },
    { "///", 0, 0, "/" },
    { "/a", 0, 0, "/a" },
    { "/a/", 0, 0, "/a/" },
    { "/a/.", 0, 0, "/a/" },
    { "/a/./", 0, 0, "/a/" },
    { "/a/b/..", 0, 0, "/a/" },
    { "/a/b/../", 0, 0, "/a/" },
    { "/a/b/../c", 0, 0, "/a/c" },
    { "/a//b///c", 0, 0, "/a/b/c" },
    { "/./a/./b/.", 0, 0, "/a/b/" },
    { "/.", 0, 0, "/" },
    { "/./", 0, 0, "/" },
    { "/a/..", 0, 0, "/" },
    { "/a/../", 0, 0, "/" },
    { "/index.html", 0, 0, "/index.html" },
    { "/dir.d/file.tar.gz", 0, 0, "/dir.d/file.tar.gz" },
    /* dots that are names, not "." or ".." */
    { "/...", 0, 0, "/..." },
    { "/.../", 0, 0, "/.../" },
    { "/.hidden", 0, 0, "/.hidden" },
    { "/..a", 0, 0, "/..a" },
    { "/a..", 0, 0, "/a.." },
    { "/a/.b/..c/", 0, 0, "/a/.b/..c/" },
    /* climbing above the root */
    { "/..", 0, 400, NULL },
    { "/../", 0, 400, NULL },
    { "/../a", 0, 400, NULL },
    { "/a/../..", 0, 400, NULL },
    { "/a/b/../../..", 0, 400, NULL },
    { "/a/b/../../../c", 0, 400, NULL },
    { "/./..", 0, 400, NULL },
    { "//..", 0, 400, NULL },
    /* percent-encoded dots and slashes take part in normalisation */
    { "/%2e%2e", 0, 400, NULL },
    { "/%2E%2e/", 0, 400, NULL },
    { "/%2e", 0, 0, "/" },
    { "/a/%2e%2e", 0, 0, "/" },
    { "/a/%2E", 0, 0, "/a/" },
    { "/a/%2e%2e/%2e%2e/b", 0, 400, NULL },
    { "/a/b/%2e%2e/%2e%2e/c", 0, 0, "/c" },
    { "/..%2f", 0, 400, NULL },
    { "/..%2F", 0, 400, NULL },
    { "/%2e%2e%2fetc", 0, 400, NULL },
    { "/%2e%2e%2Fetc/passwd", 0, 400, NULL },
    { "/a/..%2f..%2fetc/passwd", 0, 400, NULL },
    { "/a/b/..%2f..%2fetc/passwd", 0, 0, "/etc/passwd" },
    { "/a%2fb", 0, 0, "/a/b" },
    { "/a%2f%2fb", 0, 0, "/a/b" },
    { "/a%2f", 0, 0, "/a/" },
    { "/%2f", 0, 0, "/" },
    { "/a%2f.", 0, 0, "/a/" },
    { "/a%2f%2e%2e", 0, 0, "/" },
    { "/.%2e", 0, 400, NULL },
    { "/%2e.", 0, 400, NULL },
    /* escapes */
    { "/space%20in%20name.txt", 0, 0, "/space in name.txt" },
    { "/%41%42c", 0, 0, "/ABc" },
    { "/%4a%4A", 0, 0, "/JJ" },
    { "/%25", 0, 0, "/%" },
    { "/%2541", 0, 0, "/%41" },
    { "/%252e%252e", 0, 0, "/%2e%2e" },
    { "/%252e%252e/", 0, 0, "/%2e%2e/" },
    { "/%D0%BF%D1%80.txt", 0, 0, "/\xD0\xBF\xD1\x80.txt" },
    { "/\xD0\xBF.txt", 0, 0, "/\xD0\xBF.txt" },
    { "/\xff\x80", 0, 0, "/\xff\x80" },
    { "/%ff", 0, 0, "/\xff" },
    { "/a\\..\\b", 0, 0, "/a\\..\\b" },
    { "/..\\", 0, 0, "/..\\" },
    { "/%5c..%5c", 0, 0, "/\\..\\" },
    { "/a?b", 0, 0, "/a?b" }, /* after uri_split, '?' here is data */
    /* malformed escapes and control bytes */
    { "/%", 0, 400, NULL },
    { "/a%", 0, 400, NULL },
    { "/%4", 0, 400, NULL },
    { "/a%4", 0, 400, NULL },
    { "/%zz", 0, 400, NULL },
    { "/%g0", 0, 400, NULL },
    { "/%0g", 0, 400, NULL },
    { "/% 1", 0, 400, NULL },
    { "/%%41", 0, 400, NULL },
    { "/a%00b", 0, 400, NULL },
    { "/%00", 0, 400, NULL },
    { "/%0a", 0, 400, NULL },
    { "/%0D%0A", 0, 400, NULL },
    { "/%1f", 0, 400, NULL },
    { "/%7f", 0, 400, NULL },
    { "/%7F", 0, 400, NULL },
    { "/a\x01", 0, 400, NULL },
    { "/a\x7f", 0, 400, NULL },
    { "/a\tb", 0, 400, NULL },
    { "/a\0b", 4, 400, NULL },
    { "/%20", 0, 0, "/ " },
    { "/%7e", 0, 0, "/~" },
    /* not starting with '/' */
    { "", 0, 400, NULL },
    { "a", 0, 400, NULL },
    { "a/b", 0, 400, NULL },
    { "%2f", 0, 400, NULL },
    { ".", 0, 400, NULL },
    /* escapes and dots at segment and input boundaries */
    { "/.%", 0, 400, NULL },
    { "/..%2", 0, 400, NULL },
    { "/a/..%2f%2e", 0, 0, "/" },
    { "/%2e%2f%2e%2e", 0, 400, NULL },
};

static void test_decode_table(void **state)
{
    (void)state;
    int failures = 0;

    for (size_t k = 0; k < sizeof decode_cases / sizeof decode_cases[0]; k++) {
        const decode_case *c = &decode_cases[k];
        size_t len = c->inlen ? c->inlen : strlen(c->in);
        char out[256];
        size_t outlen = 9999;

        memset(out, 'X', sizeof out);
        int r = uri_decode_path(c->in, len, out, len + 1, &outlen);
        if (r != c->status) {
            printf("case %zu \"%s\": status %d, want %d\n", k, c->in, r, c->status);
            failures++;
            continue;
        }
        if (r != 0)
            continue;
        if (outlen != strlen(c->out) || memcmp(out, c->out, outlen + 1) != 0) {
            printf("case %zu \"%s\": got \"%.*s\" (%zu), want \"%s\"\n", k, c->in,
                   (int)outlen, out, outlen, c->out);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_decode_cap(void **state)
{
    (void)state;
    char out[16];
    size_t outlen;

    memset(out, 'X', sizeof out);
    /* exactly len + 1 is enough */
    assert_int_equal(uri_decode_path("/abc", 4, out, 5, &outlen), 0);
    assert_string_equal(out, "/abc");
    assert_int_equal(outlen, 4);
    /* anything less is 414, and nothing is written past cap */
    memset(out, 'X', sizeof out);
    assert_int_equal(uri_decode_path("/abc", 4, out, 4, &outlen), 414);
    assert_int_equal(out[4], 'X');
    assert_int_equal(uri_decode_path("/abc", 4, out, 1, &outlen), 414);
    assert_int_equal(uri_decode_path("/abc", 4, out, 0, &outlen), 414);
    assert_int_equal(uri_decode_path("/", 1, out, 1, &outlen), 414);
    assert_int_equal(uri_decode_path("/", 1, out, 2, &outlen), 0);
    assert_string_equal(out, "/");
    /* a long path with a big enough buffer */
    char in[4096], big[4097];
    memset(in, 'a', sizeof in);
    in[0] = '/';
    assert_int_equal(uri_decode_path(in, sizeof in, big, sizeof big, &outlen), 0);
    assert_int_equal(outlen, sizeof in);
    assert_int_equal(uri_decode_path(in, sizeof in, big, sizeof big - 1, &outlen), 414);
}

/* Only the first len bytes are read: the slice is not NUL-terminated. */
static void test_decode_slice(void **state)
{
    (void)state;
    char out[16];
    size_t outlen;

    assert_int_equal(uri_decode_path("/a/b?x=%zz", 4, out, sizeof out, &outlen), 0);
    assert_string_equal(out, "/a/b");
    assert_int_equal(uri_decode_path("/a/%41", 5, out, sizeof out, &outlen), 400);
    assert_int_equal(uri_decode_path("/a/..", 4, out, sizeof out, &outlen), 0);
    assert_string_equal(out, "/a/");
}

typedef struct {
    const char *target;
    int status;
    const char *host, *path, *query; /* NULL query: absent (len 0) */
} split_case;

static const split_case split_cases[] = {
    { "/", 0, "", "/", NULL },
    { "/a/b.html", 0, "", "/a/b.html", NULL },
    { "/a?b=c&d", 0, "", "/a", "b=c&d" },
    { "/a?", 0, "", "/a", "" },
    { "/?x", 0, "", "/", "x" },
    { "/a?b?c", 0, "", "/a", "b?c" },
    { "/a%3Fb?c", 0, "", "/a%3Fb", "c" },
    { "/a#frag", 0, "", "/a", NULL },
    { "/a?q#frag", 0, "", "/a", "q" },
    { "//a", 0, "", "//a", NULL },
    { "http://example.com/a?b", 0, "example.com", "/a", "b" },
    { "http://example.com/", 0, "example.com", "/", NULL },
    { "http://example.com", 0, "example.com", "/", NULL },
    { "http://example.com?q=1", 0, "example.com", "/", "q=1" },
    { "http://example.com:8080/x/y", 0, "example.com:8080", "/x/y", NULL },
    { "http://example.com:8080", 0, "example.com:8080", "/", NULL },
    { "https://example.com/s", 0, "example.com", "/s", NULL },
    { "https://example.com:443", 0, "example.com:443", "/", NULL },
    { "HTTP://Example.COM/A", 0, "Example.COM", "/A", NULL },
    { "HtTpS://h/", 0, "h", "/", NULL },
    { "http://[::1]:80/p", 0, "[::1]:80", "/p", NULL },
    { "http://[::1]/p", 0, "[::1]", "/p", NULL },
    { "http://127.0.0.1/p", 0, "127.0.0.1", "/p", NULL },
    { "http://h#f", 0, "h", "/", NULL },
    { "*", 400, NULL, NULL, NULL },
    { "", 400, NULL, NULL, NULL },
    { "relative", 400, NULL, NULL, NULL },
    { "relative/path", 400, NULL, NULL, NULL },
    { "host:80", 400, NULL, NULL, NULL },
    { "example.com:443", 400, NULL, NULL, NULL },
    { "?q", 400, NULL, NULL, NULL },
    { "ftp://example.com/", 400, NULL, NULL, NULL },
    { "http:/example.com/", 400, NULL, NULL, NULL },
    { "http://", 400, NULL, NULL, NULL },
    { "https://", 400, NULL, NULL, NULL },
    { "http:///path", 400, NULL, NULL, NULL },
    { "http://user@host/", 400, NULL, NULL, NULL },
    { "http://user:pw@host/", 400, NULL, NULL, NULL },
    { "http://:80/", 400, NULL, NULL, NULL },
    { "http://host:8x/", 400, NULL, NULL, NULL },
    { "http://[]/", 400, NULL, NULL, NULL },
    { "http://[::1/", 400, NULL, NULL, NULL },
    { "http://[::1]x/", 400, NULL, NULL, NULL },
    { "httpx://h/", 400, NULL, NULL, NULL },
    /* the authority passes the same check as a Host header (uri_host) */
    { "http://h:/p", 0, "h:", "/p", NULL },
    { "http://h./p", 0, "h.", "/p", NULL },
    { "http://ev\\il/p", 400, NULL, NULL, NULL },
    { "http://a..b/p", 400, NULL, NULL, NULL },
    { "http://h:65536/p", 400, NULL, NULL, NULL },
    { "http://h\x01/p", 400, NULL, NULL, NULL },
    { "http://h\xc3\xa9/p", 400, NULL, NULL, NULL },
    { "http://main@evil/p", 400, NULL, NULL, NULL },
    { "gopher://h/p", 400, NULL, NULL, NULL },
    { "Https://H/p", 0, "H", "/p", NULL },
};

static void test_split_table(void **state)
{
    (void)state;
    int failures = 0;

    for (size_t k = 0; k < sizeof split_cases / sizeof split_cases[0]; k++) {
        const split_case *c = &split_cases[k];
        ep_str host, path, query;
        int r = uri_split(ep_str_make(c->target, strlen(c->target)), &host, &path, &query);

        if (r != c->status) {
            printf("split \"%s\": status %d, want %d\n", c->target, r, c->status);
            failures++;
            continue;
        }
        if (r != 0)
            continue;
        if (!ep_str_eq(host, c->host) || !ep_str_eq(path, c->path) ||
            !ep_str_eq(query, c->query ? c->query : "")) {
            printf("split \"%s\": host \"%.*s\" path \"%.*s\" query \"%.*s\"\n", c->target,
                   (int)host.len, host.p, (int)path.len, path.p, (int)query.len, query.p);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* The slices point into the caller's buffer, and the input need not be NUL-terminated. */
static void test_split_slices(void **state)
{
    (void)state;
    const char buf[] = "/p?q=1XXXX";
    ep_str host, path, query;

    assert_int_equal(uri_split(ep_str_make(buf, 6), &host, &path, &query), 0);
    assert_ptr_equal(path.p, buf);
    assert_int_equal(path.len, 2);
    assert_ptr_equal(query.p, buf + 3);
    assert_int_equal(query.len, 3);
    assert_int_equal(host.len, 0);
}

/* uri_split then uri_decode_path, as the request path does. */
static void test_split_then_decode(void **state)
{
    (void)state;
    const char *t = "http://h:8/a/b/%2e%2e/c%20d?x=/../";
    ep_str host, path, query;
    char out[64];
    size_t outlen;

    assert_int_equal(uri_split(ep_str_make(t, strlen(t)), &host, &path, &query), 0);
    assert_int_equal(uri_decode_path(path.p, path.len, out, sizeof out, &outlen), 0);
    assert_string_equal(out, "/a/c d");
    assert_true(ep_str_eq(query, "x=/../"));
}

/* ---- uri_host ---- */

typedef struct {
    const char *raw;
    int status;
    const char *name; /* when status == 0 */
} host_case;

static const host_case host_cases[] = {
    { "example.org", 0, "example.org" },
    { "Example.ORG", 0, "Example.ORG" },
    { "example.org:8080", 0, "example.org" },
    { "example.org.", 0, "example.org" },
    { "example.org.:80", 0, "example.org" },
    { "example.org:", 0, "example.org" },
    { "example.org:0", 0, "example.org" },
    { "example.org:65535", 0, "example.org" },
    { "example.org:000080", 0, "example.org" },
    { "127.0.0.1", 0, "127.0.0.1" },
    { "127.0.0.1:8080", 0, "127.0.0.1" },
    { "[::1]", 0, "[::1]" },
    { "[::1]:8080", 0, "[::1]" },
    { "[2001:db8::a:1]:443", 0, "[2001:db8::a:1]" },
    { "[::ffff:127.0.0.1]", 0, "[::ffff:127.0.0.1]" },
    { "[v1.fe80::a+en1]", 0, "[v1.fe80::a+en1]" },
    { "a-b_c~d", 0, "a-b_c~d" },
    { "x!$&'()*+,;=y", 0, "x!$&'()*+,;=y" },
    { "host%41", 0, "host%41" },
    { "localhost", 0, "localhost" },
    { "h", 0, "h" },
    { ".example.org", 0, ".example.org" },
    { "a.b.c.d.e", 0, "a.b.c.d.e" },
    /* refused */
    { "", 400, NULL },
    { ".", 400, NULL },
    { ".:80", 400, NULL },
    { ":80", 400, NULL },
    { "..", 400, NULL },
    { "a..b", 400, NULL },
    { "..example.org", 400, NULL },
    { "example.org..", 400, NULL },
    { "main@evil", 400, NULL },
    { "user:pw@host", 400, NULL },
    { "ma in", 400, NULL },
    { "main\tx", 400, NULL },
    { "a/b", 400, NULL },
    { "a\\b", 400, NULL },
    { "a?b", 400, NULL },
    { "a#b", 400, NULL },
    { "a\"b", 400, NULL },
    { "a<b>", 400, NULL },
    { "a\x01", 400, NULL },
    { "a\x7f", 400, NULL },
    { "caf\xc3\xa9.example", 400, NULL },
    { "a\rb", 400, NULL },
    { "example.org:8x", 400, NULL },
    { "example.org:65536", 400, NULL },
    { "example.org:99999999999999999999", 400, NULL },
    { "example.org:80:80", 400, NULL },
    { "example.org: 80", 400, NULL },
    { "[]", 400, NULL },
    { "[]:80", 400, NULL },
    { "[::1", 400, NULL },
    { "[::1]x", 400, NULL },
    { "[::1]:", 0, "[::1]" },
    { "[::1]:8x", 400, NULL },
    { "[::1]]", 400, NULL },
    { "[::1%25eth0]", 400, NULL },
    { "[::1/64]", 400, NULL },
    { "[a..b]", 400, NULL },
    { "x[::1]", 400, NULL },
};

static void test_host_table(void **state)
{
    (void)state;
    int failures = 0;

    for (size_t k = 0; k < sizeof host_cases / sizeof host_cases[0]; k++) {
        const host_case *c = &host_cases[k];
        size_t len = strlen(c->raw);
        char *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
        assert_non_null(copy);
        memcpy(copy, c->raw, len);
        ep_str name = { 0 };
        int r = uri_host(ep_str_make(copy, len), &name);
        if (r != c->status) {
            printf("host \"%s\": status %d, want %d\n", c->raw, r, c->status);
            failures++;
        } else if (r == 0 && (!ep_str_eq(name, c->name) || name.p != copy)) {
            printf("host \"%s\": name \"%.*s\", want \"%s\"\n", c->raw, (int)name.len, name.p, c->name);
            failures++;
        }
        free(copy);
    }
    assert_int_equal(failures, 0);
}

/* A NUL inside the value is a control byte like any other. */
static void test_host_nul(void **state)
{
    (void)state;
    ep_str name;
    assert_int_equal(uri_host(ep_str_make("a\0b", 3), &name), 400);
}

/* ---- uri_origin ---- */

static void test_origin(void **state)
{
    (void)state;
    static const struct {
        const char *target, *origin;
    } cases[] = {
        { "/", "/" },
        { "/a/b?c=d", "/a/b?c=d" },
        { "/a#f", "/a#f" },
        { "http://h/a?q", "/a?q" },
        { "http://h:8080/a/b", "/a/b" },
        { "HTTPS://[::1]:8/x", "/x" },
        { "http://h", "" },
        { "http://h?q=1", "?q=1" },
        { "http://h#f", "#f" },
        { "https://h/", "/" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ep_str t = ep_str_make(cases[k].target, strlen(cases[k].target));
        ep_str o = uri_origin(t);
        if (!ep_str_eq(o, cases[k].origin))
            printf("origin \"%s\": \"%.*s\"\n", cases[k].target, (int)o.len, o.p);
        assert_true(ep_str_eq(o, cases[k].origin));
        /* a slice of the target, ending where it ends */
        assert_ptr_equal(o.p + o.len, t.p + t.len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_table),
        cmocka_unit_test(test_decode_cap),
        cmocka_unit_test(test_decode_slice),
        cmocka_unit_test(test_split_table),
        cmocka_unit_test(test_split_slices),
        cmocka_unit_test(test_split_then_decode),
        cmocka_unit_test(test_host_table),
        cmocka_unit_test(test_host_nul),
        cmocka_unit_test(test_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
