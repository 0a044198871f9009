/* tests/unit/test_request.c: http_req_make over heads parsed by hp_parse_request: the status a head earns, and for a good one the host, path, query and method routing gets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "http/parser.h"
#include "http/request.h"

static hp_request head; /* ~3 KiB: static keeps the test's stack small */

typedef struct {
    const char *what;
    const char *raw;   /* the whole head, its empty line included */
    size_t max_uri;    /* max_uri_len; 0: the default */
    int64_t max_body;  /* max_body_size; 0: the default */
    int status;        /* what http_req_make returns */
    unsigned method;   /* M_* bit, 0: a method no configuration can name */
    bool head_only;
    bool asterisk;
    /* for status 0 only */
    const char *host;  /* the host routed by; NULL: none was sent */
    const char *path;  /* decoded and normalised */
    const char *query; /* as sent; NULL: no '?' at all */
} req_case;

#define H11(line, fields) line " HTTP/1.1\r\n" fields "\r\n"

static const req_case cases[] = {
    /* ---- the host (RFC 9112 3.2, 3.2.2) -------------------------------- */
    { "origin-form with Host", H11("GET /", "Host: a.example\r\n"), 0, 0, 0, M_GET, false, false,
      "a.example", "/", NULL },
    { "Host's port and one trailing dot go, its case stays (loc_server compares without case)",
      H11("GET /x", "Host: WWW.A.Example.:8080\r\n"), 0, 0, 0, M_GET, false, false, "WWW.A.Example", "/x", NULL },
    { "an empty port is allowed (RFC 3986 3.2.3)", H11("GET /", "Host: a.example:\r\n"), 0, 0, 0, M_GET, false,
      false, "a.example", "/", NULL },
    { "an IPv6 literal keeps its brackets, loses its port", H11("GET /", "Host: [::1]:81\r\n"), 0, 0, 0, M_GET,
      false, false, "[::1]", "/", NULL },
    { "the absolute-form authority wins over Host",
      H11("GET http://B.example.:81/p?x=1", "Host: a.example\r\n"), 0, 0, 0, M_GET, false, false, "B.example",
      "/p", "x=1" },
    { "an absolute-form target's empty path is /", H11("GET http://b.example", "Host: a.example\r\n"), 0, 0, 0,
      M_GET, false, false, "b.example", "/", NULL },
    { "HTTPS scheme in any case", H11("GET HtTpS://b.example/q", "Host: a.example\r\n"), 0, 0, 0, M_GET, false,
      false, "b.example", "/q", NULL },
    { "HTTP/1.0 without Host: no host", "GET /x HTTP/1.0\r\n\r\n", 0, 0, 0, M_GET, false, false, NULL, "/x", NULL },
    { "HTTP/1.0 with an absolute-form target", "GET http://b.example/ HTTP/1.0\r\n\r\n", 0, 0, 0, M_GET, false,
      false, "b.example", "/", NULL },
    { "HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 0, 0, 400, M_GET, false, false, NULL, NULL, NULL },
    { "two Host fields", H11("GET /", "Host: a.example\r\nHost: a.example\r\n"), 0, 0, 400, M_GET, false, false,
      NULL, NULL, NULL },
    { "an empty Host", H11("GET /", "Host:\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL, NULL },
    { "an empty Host in HTTP/1.0 too", "GET / HTTP/1.0\r\nHost: \r\n\r\n", 0, 0, 400, M_GET, false, false, NULL,
      NULL, NULL },
    { "a Host with '..'", H11("GET /", "Host: a..example\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL, NULL },
    { "a Host with '/'", H11("GET /", "Host: a.example/x\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL, NULL },
    { "a Host with a space", H11("GET /", "Host: a example\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL, NULL },
    { "a port over 65535", H11("GET /", "Host: a.example:65536\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL,
      NULL },
    { "a bad Host fails even when the target names the host",
      H11("GET http://b.example/", "Host: a..example\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL, NULL },
    { "a bad authority fails even with a good Host", H11("GET http://b..example/", "Host: a.example\r\n"), 0, 0,
      400, M_GET, false, false, NULL, NULL, NULL },
    { "userinfo in the authority", H11("GET http://u@b.example/", "Host: a.example\r\n"), 0, 0, 400, M_GET, false,
      false, NULL, NULL, NULL },
    /* ---- the target and the path --------------------------------------- */
    { "percent-decoding and dot segments", H11("GET /a%20b/./c/../d", "Host: a\r\n"), 0, 0, 0, M_GET, false,
      false, "a", "/a b/d", NULL },
    { "runs of '/' collapse, a trailing '/' stays", H11("GET //dir///sub/", "Host: a\r\n"), 0, 0, 0, M_GET, false,
      false, "a", "/dir/sub/", NULL },
    { "a path ending in /.. names the parent folder", H11("GET /a/b/..", "Host: a\r\n"), 0, 0, 0, M_GET, false,
      false, "a", "/a/", NULL },
    { "the query stays encoded, the path is decoded", H11("GET /%7euser?q=%41&b", "Host: a\r\n"), 0, 0, 0, M_GET,
      false, false, "a", "/~user", "q=%41&b" },
    { "an empty query", H11("GET /p?", "Host: a\r\n"), 0, 0, 0, M_GET, false, false, "a", "/p", "" },
    { "an encoded '?' is part of the path", H11("GET /a%3Fb", "Host: a\r\n"), 0, 0, 0, M_GET, false, false, "a",
      "/a?b", NULL },
    { "climbing above the root", H11("GET /a/../../etc", "Host: a\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL,
      NULL },
    { "climbing by encoded dots", H11("GET /%2e%2e/etc", "Host: a\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL,
      NULL },
    { "an encoded NUL", H11("GET /a%00b", "Host: a\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL, NULL },
    { "a malformed escape", H11("GET /a%zz", "Host: a\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL, NULL },
    { "a relative target", H11("GET a/b", "Host: a\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL, NULL },
    { "the authority-form is for CONNECT, which a file server does not do",
      H11("CONNECT a.example:443", "Host: a.example\r\n"), 0, 0, 400, 0, false, false, NULL, NULL, NULL },
    { "another scheme", H11("GET ftp://b.example/", "Host: a\r\n"), 0, 0, 400, M_GET, false, false, NULL, NULL,
      NULL },
    /* ---- "*" (RFC 9112 3.2.4) ------------------------------------------ */
    { "OPTIONS *", H11("OPTIONS *", "Host: a\r\n"), 0, 0, 0, M_OPTIONS, false, true, NULL, NULL, NULL },
    { "GET *", H11("GET *", "Host: a\r\n"), 0, 0, 400, M_GET, false, true, NULL, NULL, NULL },
    { "HEAD *", H11("HEAD *", "Host: a\r\n"), 0, 0, 400, M_HEAD, true, true, NULL, NULL, NULL },
    /* ---- methods ------------------------------------------------------- */
    { "HEAD: the head of what GET would get", H11("HEAD /x", "Host: a\r\n"), 0, 0, 0, M_HEAD, true, false, "a",
      "/x", NULL },
    { "POST with a body within the limit", H11("POST /f", "Host: a\r\nContent-Length: 5\r\n"), 0, 0, 0, M_POST,
      false, false, "a", "/f", NULL },
    { "DELETE", H11("DELETE /f", "Host: a\r\n"), 0, 0, 0, M_DELETE, false, false, "a", "/f", NULL },
    { "a method is case-sensitive (RFC 9110 9.1)", H11("get /", "Host: a\r\n"), 0, 0, 0, 0, false, false, "a", "/",
      NULL },
    { "an unknown method is routing's to refuse (405), not a malformed head", H11("BREW /pot", "Host: a\r\n"), 0, 0,
      0, 0, false, false, "a", "/pot", NULL },
    /* ---- framing and limits -------------------------------------------- */
    { "Expect other than 100-continue", H11("GET /", "Host: a\r\nExpect: tea\r\n"), 0, 0, 417, M_GET, false, false,
      NULL, NULL, NULL },
    { "HEAD refused by hp_analyze is still HEAD", H11("HEAD /", "Host: a\r\nExpect: tea\r\n"), 0, 0, 417, M_HEAD,
      true, false, NULL, NULL, NULL },
    { "Expect: 100-continue is fine", H11("PUT /f", "Host: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n"), 0,
      0, 0, M_PUT, false, false, "a", "/f", NULL },
    { "a transfer coding other than chunked", H11("POST /", "Host: a\r\nTransfer-Encoding: gzip\r\n"), 0, 0, 501,
      M_POST, false, false, NULL, NULL, NULL },
    { "chunked together with Content-Length", H11("POST /", "Host: a\r\nTransfer-Encoding: chunked\r\n"
      "Content-Length: 3\r\n"), 0, 0, 400, M_POST, false, false, NULL, NULL, NULL },
    { "two different Content-Lengths", H11("POST /", "Host: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n"), 0,
      0, 400, M_POST, false, false, NULL, NULL, NULL },
    { "a body at the limit", H11("POST /", "Host: a\r\nContent-Length: 100\r\n"), 0, 100, 0, M_POST, false, false,
      "a", "/", NULL },
    { "a body over the limit", H11("POST /", "Host: a\r\nContent-Length: 101\r\n"), 0, 100, 413, M_POST, false,
      false, NULL, NULL, NULL },
    { "HEAD over the body limit is still HEAD: its error has no body", H11("HEAD /", "Host: a\r\nContent-Length: 101\r\n"),
      0, 100, 413, M_HEAD, true, false, NULL, NULL, NULL },
    { "a target at the limit", H11("GET /123456789abcdef", "Host: a\r\n"), 16, 0, 0, M_GET, false, false, "a",
      "/123456789abcdef", NULL },
    { "a target one byte over the limit", H11("GET /123456789abcdefg", "Host: a\r\n"), 16, 0, 414, M_GET, false,
      false, NULL, NULL, NULL },
    { "the limit counts the target as sent, query included", H11("GET /a?123456789abcde", "Host: a\r\n"), 16, 0,
      414, M_GET, false, false, NULL, NULL, NULL },
    { "an absolute-form target's authority counts too", H11("GET http://b.example/12345", "Host: a\r\n"), 16, 0,
      414, M_GET, false, false, NULL, NULL, NULL },
};

static void assert_slice(ep_str s, const char *want, const char *what)
{
    if (!want) {
        if (s.len != 0)
            fail_msg("%s: expected none, got \"%.*s\"", what, (int)s.len, s.p);
        return;
    }
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("%s: expected \"%s\", got \"%.*s\"", what, want, (int)s.len, s.p ? s.p : "");
}

static void run_case(const req_case *c)
{
    cfg *cf = cfg_new();
    assert_non_null(cf);
    if (c->max_uri)
        cf->max_uri_len = c->max_uri;
    if (c->max_body)
        cf->max_body_size = c->max_body;
    /* Both buffers exactly as large as promised, so that ASan sees any
     * read past the head or write past max_uri_len + 1. */
    size_t n = strlen(c->raw);
    char *raw = malloc(n), *path = malloc(cf->max_uri_len + 1);
    assert_non_null(raw);
    assert_non_null(path);
    memcpy(raw, c->raw, n);
    if (hp_parse_request(raw, n, &head) != (int)n)
        fail_msg("%s: the head does not parse whole", c->what);
    http_req rq;
    int st = http_req_make(&rq, &head, cf, path);
    if (st != c->status)
        fail_msg("%s: status %d, expected %d", c->what, st, c->status);
    /* Known whatever the status: an error's response is still a HEAD's. */
    assert_int_equal(rq.method, c->method);
    assert_int_equal(rq.head_only, c->head_only);
    assert_ptr_equal(rq.head, &head);
    if (st == 0 || c->asterisk)
        assert_int_equal(rq.asterisk, c->asterisk);
    if (st == 0 && !c->asterisk) {
        assert_slice(rq.info.host, c->host, c->what);
        if (strcmp(rq.path, c->path) != 0)
            fail_msg("%s: path \"%s\", expected \"%s\"", c->what, rq.path, c->path);
        assert_ptr_equal(rq.path, path);
        assert_int_equal(rq.path_len, strlen(c->path));
        assert_slice(rq.query, c->query, c->what);
        assert_true(rq.raw_path.len > 0 && rq.raw_path.p[0] == '/');
    }
    free(raw);
    free(path);
    cfg_free(cf);
}

static void test_request_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* The slices point into the head as sent: routing quotes the raw path and
 * query ($request_uri, $args), never a copy. */
static void test_slices_point_into_the_head(void **state)
{
    (void)state;
    static const char text[] = "GET http://B.example:81/a%2Fb?x=%20 HTTP/1.1\r\nHost: a.example\r\n\r\n";
    size_t n = sizeof text - 1;
    char *raw = malloc(n);
    assert_non_null(raw);
    memcpy(raw, text, n);
    cfg *cf = cfg_new();
    assert_non_null(cf);
    char *path = malloc(cf->max_uri_len + 1);
    assert_non_null(path);
    assert_int_equal(hp_parse_request(raw, n, &head), (int)n);
    http_req rq;
    assert_int_equal(http_req_make(&rq, &head, cf, path), 0);
    assert_ptr_equal(rq.info.host.p, strstr(raw, "B.example"));
    assert_ptr_equal(rq.raw_path.p, strstr(raw, "/a%2F"));
    assert_int_equal(rq.raw_path.len, strlen("/a%2Fb"));
    assert_ptr_equal(rq.query.p, strstr(raw, "x=%20"));
    assert_int_equal(rq.query.len, strlen("x=%20"));
    assert_string_equal(rq.path, "/a/b"); /* an encoded '/' is a '/' once decoded */
    free(raw);
    free(path);
    cfg_free(cf);
}

/* A refused head still tells the access log what it could read. */
static void test_refused_head_keeps_its_host_for_the_log(void **state)
{
    (void)state;
    static const char text[] = "GET /a%00 HTTP/1.1\r\nHost: a.example:80\r\nUser-Agent: t\r\n\r\n";
    cfg *cf = cfg_new();
    assert_non_null(cf);
    char *path = malloc(cf->max_uri_len + 1);
    assert_non_null(path);
    assert_int_equal(hp_parse_request(text, sizeof text - 1, &head), (int)(sizeof text - 1));
    http_req rq;
    assert_int_equal(http_req_make(&rq, &head, cf, path), 400);
    assert_slice(rq.info.host, "a.example", "host");
    assert_slice(rq.info.user_agent, "t", "user agent");
    free(path);
    cfg_free(cf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_table),
        cmocka_unit_test(test_slices_point_into_the_head),
        cmocka_unit_test(test_refused_head_keeps_its_host_for_the_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
