/* tests/unit/test_parser.c: cmocka tests for hp_parse_request, hp_analyze and hp_chunked_skip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"

/* A string literal with its length, for inputs that may hold NUL bytes. */
#define RAW(s) s, sizeof(s) - 1

static hp_request req; /* ~3 KiB; static keeps test stack frames small */

/* Copy n bytes into an allocation of exactly n bytes so ASan flags any
 * read past the length we pass in. */
static char *exact_copy(const char *src, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    if (n)
        memcpy(p, src, n);
    return p;
}

static int parse_exact(const char *src, size_t n)
{
    char *copy = exact_copy(src, n);
    int r = hp_parse_request(copy, n, &req);
    free(copy);
    return r;
}

static bool str_is(ep_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

/* ---- valid heads ---- */

typedef struct {
    const char *name, *value;
} kv;

typedef struct {
    const char *what;
    const char *head; /* the whole head, terminating empty line included */
    const char *tail; /* bytes after the head (body, next request) */
    const char *method, *target;
    int minor;
    size_t nh;
    kv h[10];
} valid_case;

static const valid_case valid_cases[] = {
    { "simple GET", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "", "GET", "/", 1, 1,
      { { "Host", "example.com" } } },
    { "HEAD", "HEAD /a/b.txt?x=1 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n", "", "HEAD",
      "/a/b.txt?x=1", 1, 2, { { "Host", "h" }, { "Accept", "*/*" } } },
    { "absolute-form", "GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
      "", "GET", "http://example.com:8080/p?q=1", 1, 1, { { "Host", "example.com:8080" } } },
    { "HTTP/1.0 no headers", "GET /index.html HTTP/1.0\r\n\r\n", "", "GET", "/index.html", 0, 0, { { 0 } } },
    { "bare LF", "GET / HTTP/1.1\nHost: a\nX-Y: z\n\n", "", "GET", "/", 1, 2,
      { { "Host", "a" }, { "X-Y", "z" } } },
    { "mixed line ends", "GET / HTTP/1.1\nHost: a\r\nB: c\n\r\n", "", "GET", "/", 1, 2,
      { { "Host", "a" }, { "B", "c" } } },
    { "leading empty lines", "\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "", "GET", "/", 1, 1,
      { { "Host", "a" } } },
    { "8 leading empty lines", "\n\n\n\n\r\n\r\n\r\n\nGET / HTTP/1.0\r\n\r\n", "", "GET", "/", 0, 0, { { 0 } } },
    { "obs-text value", "GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9 \x80\xff\r\n\r\n", "", "GET", "/", 1, 1,
      { { "X-Name", "caf\xc3\xa9 \x80\xff" } } },
    { "OWS trimming", "GET / HTTP/1.1\r\nA:  \t a b \t \r\nB:c\r\nC:\td\te\t\r\n\r\n", "", "GET", "/", 1, 3,
      { { "A", "a b" }, { "B", "c" }, { "C", "d\te" } } },
    { "empty values", "GET / HTTP/1.1\r\nA:\r\nB:   \r\nC: \t\n\r\n", "", "GET", "/", 1, 3,
      { { "A", "" }, { "B", "" }, { "C", "" } } },
    { "body follows", "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", "hello", "POST", "/up", 1, 2,
      { { "Host", "a" }, { "Content-Length", "5" } } },
    { "pipelined", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/1", 1, 1,
      { { "Host", "a" } } },
    { "long values with tabs",
      "GET / HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (X11;\tLinux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
      "Cookie: a=0123456789abcdef0123456789abcdef; b=\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89xyz\r\n\r\n",
      "", "GET", "/", 1, 2,
      { { "User-Agent", "Mozilla/5.0 (X11;\tLinux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0" },
        { "Cookie", "a=0123456789abcdef0123456789abcdef; b=\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89xyz" } } },
    { "odd tchars", "!#$%&'*+-.^_`|~09azAZ * HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", "",
      "!#$%&'*+-.^_`|~09azAZ", "*", 1, 1, { { "!#$%&'*+-.^_`|~09azAZ", "v" } } },
    { "all visible target chars", "OPTIONS /!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~ HTTP/1.1\r\n\r\n", "",
      "OPTIONS", "/!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", 1, 0, { { 0 } } },
    { "lowercase method is a token", "get / HTTP/1.1\r\nHost: a\r\n\r\n", "", "get", "/", 1, 1, { { "Host", "a" } } },
    { "colon in value", "GET / HTTP/1.1\r\nHost: a:80\r\nX: ::\r\n\r\n", "", "GET", "/", 1, 2,
      { { "Host", "a:80" }, { "X", "::" } } },
    { "browser-like",
      "GET /static/app.js?v=3 HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: curl/8.4.0\r\n"
      "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
      "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nReferer: https://www.example.org/\r\n"
      "If-None-Match: \"abc\"\r\nIf-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\nCache-Control: max-age=0\r\n\r\n",
      "", "GET", "/static/app.js?v=3", 1, 10,
      { { "Host", "www.example.org" }, { "User-Agent", "curl/8.4.0" },
        { "Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8" }, { "Accept-Language", "en-US,en;q=0.5" },
        { "Accept-Encoding", "gzip, deflate, br" }, { "Connection", "keep-alive" },
        { "Referer", "https://www.example.org/" }, { "If-None-Match", "\"abc\"" },
        { "If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT" }, { "Cache-Control", "max-age=0" } } },
};

/* Slice offsets of the last successful parse, to compare two parses. */
typedef struct {
    size_t off[2 + 2 * HP_MAX_HEADERS], len[2 + 2 * HP_MAX_HEADERS], n;
} slice_map;

static void map_slices(const char *base, slice_map *m)
{
    ep_str all[2 + 2 * HP_MAX_HEADERS];
    m->n = 0;
    all[m->n++] = req.method;
    all[m->n++] = req.target;
    for (size_t i = 0; i < req.nheaders; i++) {
        all[m->n++] = req.headers[i].name;
        all[m->n++] = req.headers[i].value;
    }
    for (size_t i = 0; i < m->n; i++) {
        m->off[i] = (size_t)(all[i].p - base);
        m->len[i] = all[i].len;
    }
}

static void check_valid(const valid_case *c)
{
    size_t hl = strlen(c->head), tl = strlen(c->tail), total = hl + tl;
    char *buf = malloc(total + 1);
    assert_non_null(buf);
    memcpy(buf, c->head, hl);
    memcpy(buf + hl, c->tail, tl);

    int r = hp_parse_request(buf, total, &req);
    if (r != (int)hl)
        fail_msg("%s: got %d want %zu", c->what, r, hl);
    assert_true(str_is(req.method, c->method));
    assert_true(str_is(req.target, c->target));
    assert_int_equal(req.minor, c->minor);
    assert_int_equal(req.nheaders, c->nh);
    for (size_t i = 0; i < c->nh; i++) {
        if (!str_is(req.headers[i].name, c->h[i].name) || !str_is(req.headers[i].value, c->h[i].value))
            fail_msg("%s: header %zu mismatch", c->what, i);
    }
    slice_map want, got;
    map_slices(buf, &want);
    for (size_t i = 0; i < want.n; i++)
        assert_true(want.off[i] + want.len[i] <= hl); /* zero-copy, inside the head */

    /* Every prefix of the head is INCOMPLETE; every longer one gives the head. */
    for (size_t k = 0; k <= total; k++) {
        char *copy = exact_copy(buf, k);
        r = hp_parse_request(copy, k, &req);
        if (k < hl && r != HP_INCOMPLETE)
            fail_msg("%s: prefix %zu gave %d", c->what, k, r);
        if (k >= hl) {
            if (r != (int)hl)
                fail_msg("%s: length %zu gave %d", c->what, k, r);
            map_slices(copy, &got);
            assert_int_equal(got.n, want.n);
            assert_memory_equal(got.off, want.off, want.n * sizeof want.off[0]);
            assert_memory_equal(got.len, want.len, want.n * sizeof want.len[0]);
        }
        free(copy);
    }
    free(buf);
}

static void test_valid_requests(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(valid_cases); i++)
        check_valid(&valid_cases[i]);
}

/* ---- invalid heads ---- */

typedef struct {
    const char *what;
    const char *pre;      /* longest prefix that is still INCOMPLETE */
    const char *bad;      /* first byte proves the head invalid */
    size_t bad_len;
} invalid_case;

static const invalid_case invalid_cases[] = {
    { "control char in method", "GE", RAW("\x01 / HTTP/1.1\r\n\r\n") },
    { "NUL in method", "G", RAW("\0T / HTTP/1.1\r\n\r\n") },
    { "non-token char in method", "G", RAW("(T / HTTP/1.1\r\n\r\n") },
    { "leading space", "", RAW(" GET / HTTP/1.1\r\n\r\n") },
    { "tab after method", "GET", RAW("\t/ HTTP/1.1\r\n\r\n") },
    { "two spaces after method", "GET ", RAW(" / HTTP/1.1\r\n\r\n") },
    { "tab in target", "GET /a", RAW("\tb HTTP/1.1\r\n\r\n") },
    { "NUL in target", "GET /a", RAW("\0b HTTP/1.1\r\n\r\n") },
    { "DEL in target", "GET /a", RAW("\x7f HTTP/1.1\r\n\r\n") },
    { "obs-text in target", "GET /a", RAW("\xc3\xa9 HTTP/1.1\r\n\r\n") },
    { "two spaces after target", "GET / ", RAW(" HTTP/1.1\r\n\r\n") },
    { "lowercase version", "GET / ", RAW("http/1.1\r\n\r\n") },
    { "HTTP/2.0", "GET / HTTP/", RAW("2.0\r\n\r\n") },
    { "HTTP/1.2", "GET / HTTP/1.", RAW("2\r\n\r\n") },
    { "HTTP/1.10", "GET / HTTP/1.1", RAW("0\r\n\r\n") },
    { "HTTP/1.1 trailing space", "GET / HTTP/1.1", RAW(" \r\n\r\n") },
    { "missing version", "GET /", RAW("\r\n\r\n") },
    { "missing version after SP", "GET / ", RAW("\r\n\r\n") },
    { "missing target", "GET", RAW("\r\n\r\n") },
    { "HTTP/1 only", "GET / HTTP/1", RAW("\r\n\r\n") },
    { "bare CR in request line", "GET / HTTP/1.1\r", RAW("Host: a\r\n\r\n") },
    { "CR CR LF", "GET / HTTP/1.1\r", RAW("\r\n\r\n") },
    { "bare CR before request", "\r", RAW("GET / HTTP/1.1\r\n\r\n") },
    { "bare CR in value", "GET / HTTP/1.1\r\nX: a\r", RAW("b\r\n\r\n") },
    { "bare CR ending head", "GET / HTTP/1.1\r\nHost: a\r\n\r", RAW("X") },
    { "obs-fold SP", "GET / HTTP/1.1\r\nX: a\r\n", RAW(" b\r\n\r\n") },
    { "obs-fold HTAB", "GET / HTTP/1.1\r\nX: a\r\n", RAW("\tb\r\n\r\n") },
    { "obs-fold as first line", "GET / HTTP/1.1\r\n", RAW(" X: a\r\n\r\n") },
    { "space before colon", "GET / HTTP/1.1\r\nHost", RAW(" : a\r\n\r\n") },
    { "tab before colon", "GET / HTTP/1.1\r\nHost", RAW("\t: a\r\n\r\n") },
    { "space in name", "GET /x HTTP/1.1\r\nBad", RAW(" Name: x\r\n\r\n") },
    { "empty field name", "GET / HTTP/1.1\r\n", RAW(": x\r\n\r\n") },
    { "non-token in name", "GET / HTTP/1.1\r\nX", RAW("@Y: a\r\n\r\n") },
    { "NUL in name", "GET / HTTP/1.1\r\nX", RAW("\0: a\r\n\r\n") },
    { "DEL in name", "GET / HTTP/1.1\r\nX", RAW("\x7f: a\r\n\r\n") },
    { "no colon", "GET / HTTP/1.1\r\nHost", RAW("\r\n\r\n") },
    { "no colon bare LF", "GET / HTTP/1.1\nHost", RAW("\n\n") },
    { "control char in value", "GET / HTTP/1.1\r\nX: a", RAW("\x01\r\n\r\n") },
    { "NUL in value", "GET / HTTP/1.1\r\nX: a", RAW("\0b\r\n\r\n") },
    { "DEL in value", "GET / HTTP/1.1\r\nX: a", RAW("\x7f\r\n\r\n") },
    { "ESC in value", "GET / HTTP/1.1\r\nX: ", RAW("\x1b[0m\r\n\r\n") },
    { "VT in leading OWS", "GET / HTTP/1.1\r\nX:", RAW("\v a\r\n\r\n") },
    { "control char after long value", "GET / HTTP/1.1\r\nX: 0123456789abcdef", RAW("\x1f\r\n\r\n") },
    { "9 leading empty lines", "\r\n\r\n\r\n\r\n\n\n\n\n", RAW("\nGET / HTTP/1.1\r\n\r\n") },
};

static void check_invalid(const invalid_case *c)
{
    size_t pl = strlen(c->pre), total = pl + c->bad_len;
    char *buf = malloc(total);
    assert_non_null(buf);
    memcpy(buf, c->pre, pl);
    memcpy(buf + pl, c->bad, c->bad_len);
    /* INCOMPLETE exactly up to the offending byte, INVALID from there on. */
    for (size_t k = 0; k <= total; k++) {
        int r = parse_exact(buf, k), want = k <= pl ? HP_INCOMPLETE : HP_INVALID;
        if (r != want)
            fail_msg("%s: prefix %zu gave %d want %d", c->what, k, r, want);
    }
    free(buf);
}

static void test_invalid_requests(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(invalid_cases); i++)
        check_invalid(&invalid_cases[i]);
}

/* ---- header count limit ---- */

/* A request with n "Xi: v" fields; *colon gets the offset of the last colon. */
static size_t build_many(char *buf, size_t cap, size_t n, size_t *colon)
{
    size_t len = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\n");
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "X%zu", i);
        *colon = len;
        len += (size_t)snprintf(buf + len, cap - len, ": value %zu\r\n", i);
    }
    len += (size_t)snprintf(buf + len, cap - len, "\r\n");
    assert_true(len < cap);
    return len;
}

static void test_max_headers(void **state)
{
    (void)state;
    static char buf[8192];
    size_t colon = 0, len = build_many(buf, sizeof buf, HP_MAX_HEADERS, &colon);
    for (size_t k = 0; k < len; k++)
        assert_int_equal(parse_exact(buf, k), HP_INCOMPLETE);
    assert_int_equal(hp_parse_request(buf, len, &req), (int)len);
    assert_int_equal(req.nheaders, HP_MAX_HEADERS);
    assert_true(str_is(req.headers[HP_MAX_HEADERS - 1].name, "X99"));
    assert_true(str_is(req.headers[HP_MAX_HEADERS - 1].value, "value 99"));

    /* One more: 431 as soon as the extra field's name is complete. */
    len = build_many(buf, sizeof buf, HP_MAX_HEADERS + 1, &colon);
    for (size_t k = 0; k <= len; k++) {
        int r = parse_exact(buf, k);
        assert_int_equal(r, k <= colon ? HP_INCOMPLETE : HP_TOO_MANY_HEADERS);
    }
}

/* ---- every byte value in every position ---- */

static bool ref_tchar(int b)
{
    return b > 0 && strchr("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ", b) != NULL;
}

static int parse_with_byte(const char *fmt, size_t at, int b)
{
    char buf[64];
    size_t n = strlen(fmt);
    memcpy(buf, fmt, n);
    buf[at] = (char)b;
    return hp_parse_request(buf, n, &req);
}

static void test_byte_classes(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        bool value_ok = b == '\t' || b == ' ' || (b >= 0x21 && b != 0x7f);
        int r = parse_with_byte("G?T / HTTP/1.1\r\n\r\n", 1, b);
        if ((r > 0) != ref_tchar(b))
            fail_msg("method byte 0x%02x gave %d", b, r);
        r = parse_with_byte("GET /a?b HTTP/1.1\r\n\r\n", 6, b);
        if ((r > 0) != (b >= 0x21 && b <= 0x7e))
            fail_msg("target byte 0x%02x gave %d", b, r);
        r = parse_with_byte("GET / HTTP/1.1\r\nX?Y: v\r\n\r\n", 17, b);
        if ((r > 0) != (ref_tchar(b) || b == ':')) /* "X:Y: v" is a fine field */
            fail_msg("name byte 0x%02x gave %d", b, r);
        r = parse_with_byte("GET / HTTP/1.1\r\nX: a?b\r\n\r\n", 20, b);
        if ((r > 0) != value_ok)
            fail_msg("value byte 0x%02x gave %d", b, r);
        if (r > 0)
            assert_int_equal(req.headers[0].value.len, 3);
        /* Past the 8-byte word loop too. */
        r = parse_with_byte("GET / HTTP/1.1\r\nX: 0123456789abcdef?0123456789\r\n\r\n", 35, b);
        if ((r > 0) != value_ok)
            fail_msg("late value byte 0x%02x gave %d", b, r);
        r = parse_with_byte("GET /0123456789abcdef?0123456789 HTTP/1.1\r\n\r\n", 21, b);
        if ((r > 0) != (b >= 0x21 && b <= 0x7e))
            fail_msg("late target byte 0x%02x gave %d", b, r);
    }
}

static void test_hand_cases(void **state)
{
    (void)state;
    /* Early rejection named in the spec. */
    assert_int_equal(hp_parse_request("GE\x01", 3, &req), HP_INVALID);
    const char *s = "GET /x HTTP/1.1\r\nBad Name: x";
    assert_int_equal(hp_parse_request(s, strlen(s), &req), HP_INVALID);
    assert_int_equal(hp_parse_request(s, 20, &req), HP_INCOMPLETE);
    assert_int_equal(hp_parse_request(s, 21, &req), HP_INVALID);
    assert_int_equal(hp_parse_request("", 0, &req), HP_INCOMPLETE);
    assert_int_equal(hp_parse_request(NULL, 0, &req), HP_INCOMPLETE);
    /* nheaders is reset on every call. */
    s = "GET / HTTP/1.1\r\nA: b\r\n\r\n";
    assert_int_equal(hp_parse_request(s, strlen(s), &req), (int)strlen(s));
    assert_int_equal(hp_parse_request(s, strlen(s), &req), (int)strlen(s));
    assert_int_equal(req.nheaders, 1);
}

/* ---- hp_analyze ---- */

typedef struct {
    const char *fields; /* field lines after "GET / HTTP/1.<minor>\r\n" */
    int minor;
    int status;
    int64_t cl;
    bool chunked, keep_alive, expect;
} analyze_case;

static const analyze_case analyze_cases[] = {
    { "Host: a\r\n", 1, 0, -1, false, true, false },
    { "", 1, 400, 0, false, false, false },
    { "Host:\r\n", 1, 0, -1, false, true, false },
    { "Host: a\r\nHost: a\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nhOST: b\r\n", 1, 400, 0, false, false, false },
    { "", 0, 0, -1, false, false, false },
    { "Host: a\r\nHost: b\r\n", 0, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 5\r\n", 1, 0, 5, false, true, false },
    { "Host: a\r\ncontent-length: 0\r\n", 1, 0, 0, false, true, false },
    { "Host: a\r\nContent-Length: 0005\r\n", 1, 0, 5, false, true, false },
    { "Host: a\r\nContent-Length: 5 \r\n", 1, 0, 5, false, true, false }, /* trailing OWS is not value */
    { "Host: a\r\nContent-Length: +5\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: -1\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 0x5\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 5 5\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 1e3\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length:\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 99999999999999999999\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 9223372036854775808\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 9223372036854775807\r\n", 1, 0, INT64_MAX, false, true, false },
    { "Host: a\r\nContent-Length: 5, 5\r\n", 1, 0, 5, false, true, false },
    { "Host: a\r\nContent-Length: 5,5 ,\t5\r\n", 1, 0, 5, false, true, false },
    { "Host: a\r\nContent-Length: 5, 6\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 5,\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 5,,5\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n", 1, 0, 5, false, true, false },
    { "Host: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 5\r\nContent-Length: x\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n", 1, 400, 0, false, false, false },
    { "Host: a\r\nTransfer-Encoding: chunked\r\n", 1, 0, -1, true, true, false },
    { "Host: a\r\ntransfer-encoding: Chunked\r\n", 1, 0, -1, true, true, false },
    { "Host: a\r\nTransfer-Encoding: gzip\r\n", 1, 501, 0, false, false, false },
    { "Host: a\r\nTransfer-Encoding: gzip, chunked\r\n", 1, 501, 0, false, false, false },
    { "Host: a\r\nTransfer-Encoding: identity\r\n", 1, 501, 0, false, false, false },
    { "Host: a\r\nTransfer-Encoding:\r\n", 1, 501, 0, false, false, false },
    { "Host: a\r\nTransfer-Encoding: chunked, chunked\r\n", 1, 501, 0, false, false, false },
    { "Host: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 1, 501, 0, false, false, false },
    { "Transfer-Encoding: chunked\r\n", 0, 400, 0, false, false, false },
    { "Host: a\r\nConnection: close\r\n", 1, 0, -1, false, false, false },
    { "Host: a\r\nConnection: CLOSE\r\n", 1, 0, -1, false, false, false },
    { "Host: a\r\nConnection: foo, Close\r\n", 1, 0, -1, false, false, false },
    { "Host: a\r\nConnection: keep-alive\r\n", 1, 0, -1, false, true, false },
    { "Host: a\r\nConnection: closed, xclose\r\n", 1, 0, -1, false, true, false },
    { "Host: a\r\nConnection: ,, close ,\r\n", 1, 0, -1, false, false, false },
    { "Connection: Keep-Alive\r\n", 0, 0, -1, false, true, false },
    { "Connection: close, keep-alive\r\n", 0, 0, -1, false, false, false },
    { "Connection: keep-alive, close\r\n", 0, 0, -1, false, false, false },
    { "Connection: keep-alive\r\nConnection: close\r\n", 0, 0, -1, false, false, false },
    { "Connection: upgrade\r\n", 0, 0, -1, false, false, false },
    { "Connection: keep-alive , upgrade\r\n", 0, 0, -1, false, true, false },
    { "Host: a\r\nExpect: 100-continue\r\n", 1, 0, -1, false, true, true },
    { "Host: a\r\nexpect: 100-Continue\r\n", 1, 0, -1, false, true, true },
    { "Host: a\r\nExpect: 200-ok\r\n", 1, 417, -1, false, true, false }, /* RFC 9110 10.1.1 */
    { "Host: a\r\nExpect: 100-continue, x\r\n", 1, 417, -1, false, true, false },
    { "Expect: teapot\r\n", 0, 417, -1, false, false, false },
    { "Expect: 100-continue\r\n", 0, 0, -1, false, false, false }, /* RFC 9110 10.1.1 */
};

static int analyze_text(const char *fields, int minor, hp_info *info)
{
    static char buf[1024];
    int n = snprintf(buf, sizeof buf, "GET / HTTP/1.%d\r\n%s\r\n", minor, fields);
    int r = hp_parse_request(buf, (size_t)n, &req);
    if (r != n)
        fail_msg("parse of \"%s\" gave %d", fields, r);
    return hp_analyze(&req, info);
}

static void test_analyze_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(analyze_cases); i++) {
        const analyze_case *c = &analyze_cases[i];
        hp_info info;
        int st = analyze_text(c->fields, c->minor, &info);
        if (st != c->status)
            fail_msg("case %zu \"%s\": status %d want %d", i, c->fields, st, c->status);
        if (st != 0)
            continue;
        if (info.content_length != c->cl || info.chunked != c->chunked || info.keep_alive != c->keep_alive ||
            info.expect_continue != c->expect)
            fail_msg("case %zu \"%s\": cl %lld chunked %d keep %d expect %d", i, c->fields,
                     (long long)info.content_length, info.chunked, info.keep_alive, info.expect_continue);
    }
}

static void test_analyze_slices(void **state)
{
    (void)state;
    hp_info info;
    int st = analyze_text("hOsT: example.com:81\r\nREFERER: r1\r\nreferer: r2\r\nUser-Agent: ua\r\n"
                          "If-Modified-Since: ims\r\nIf-Unmodified-Since: ius\r\nIf-None-Match: \"e1\"\r\n"
                          "If-Match: \"e2\"\r\nRange: bytes=0-1\r\nIf-Range: \"e3\"\r\nAccept-Encoding: gzip\r\n"
                          "Range: bytes=5-\r\nX-Other: 1\r\n", 1, &info);
    assert_int_equal(st, 0);
    assert_true(str_is(info.host, "example.com:81"));
    assert_true(str_is(info.referer, "r1")); /* first occurrence wins */
    assert_true(str_is(info.user_agent, "ua"));
    assert_true(str_is(info.if_modified_since, "ims"));
    assert_true(str_is(info.if_unmodified_since, "ius"));
    assert_true(str_is(info.if_none_match, "\"e1\""));
    assert_true(str_is(info.if_match, "\"e2\""));
    assert_true(str_is(info.range, "bytes=0-1"));
    assert_true(str_is(info.if_range, "\"e3\""));
    assert_true(str_is(info.accept_encoding, "gzip"));
    assert_int_equal(info.content_length, -1);

    /* Absent fields stay empty; an empty present one is empty too. */
    assert_int_equal(analyze_text("Host: a\r\nRange:\r\n", 1, &info), 0);
    assert_int_equal(info.range.len, 0);
    assert_int_equal(info.referer.len, 0);
    assert_int_equal(info.if_none_match.len, 0);
    assert_int_equal(analyze_text("", 0, &info), 0);
    assert_int_equal(info.host.len, 0);
}

/* hp_analyze trusts the parser's OWS trimming: untrimmed Content-Length
 * values can only come from a hand-built request, and are refused. */
static void test_analyze_untrimmed(void **state)
{
    (void)state;
    static const char *bad[] = { "5 ", " 5", "5\t", "", "5, 5 " };
    hp_info info;
    for (size_t i = 0; i < EP_ARRAY_LEN(bad); i++) {
        memset(&req, 0, sizeof req);
        req.method = EP_STR_LIT("GET");
        req.target = EP_STR_LIT("/");
        req.minor = 1;
        req.nheaders = 2;
        req.headers[0] = (hp_header){ EP_STR_LIT("Host"), EP_STR_LIT("a") };
        req.headers[1] = (hp_header){ EP_STR_LIT("Content-Length"), ep_str_make(bad[i], strlen(bad[i])) };
        if (hp_analyze(&req, &info) != 400)
            fail_msg("Content-Length \"%s\" accepted", bad[i]);
    }
}

/* ---- hp_chunked_skip ---- */

/* Feed buf[0..n) through an exact-size copy. */
static ssize_t feed(hp_chunked *c, const char *buf, size_t n, bool *done)
{
    char *copy = exact_copy(buf, n);
    ssize_t r = hp_chunked_skip(c, copy, n, done);
    free(copy);
    return r;
}

typedef struct {
    const char *body; /* the complete chunked body */
    size_t len;       /* 0: strlen(body) */
} chunked_case;

static const char next_req[] = "GET /next HTTP/1.1\r\n\r\n";

static const chunked_case chunked_valid[] = {
    { "5\r\nhello\r\n0\r\n\r\n", 0 },
    { "0\r\n\r\n", 0 },
    { "0\n\n", 0 },
    { "5\nhello\n0\n\n", 0 },
    { "3\r\nabc\r\nA\r\n0123456789\r\nf\r\n0123456789abcde\r\nF\r\n0123456789ABCDE\r\n0\r\n\r\n", 0 },
    { "5;name=value\r\nhello\r\n0;x=\"q s\"\t;y\r\n\r\n", 0 },
    { "5 ;a=b\r\nhello\r\n0\t \t;z\r\n\r\n", 0 },
    { "5;\r\nhello\r\n0\r\n\r\n", 0 },
    { "0\r\nX-Sum: abc\r\nY: \r\nZ:\t\x80\xff\r\n\r\n", 0 },
    { "0\nX: y\n\n", 0 },
    { "0005\r\nhello\r\n0000\r\n\r\n", 0 },
    { "4\r\n\r\n\r\n\r\n0\r\n\r\n", 0 },
    { RAW("2\r\n\0\xff\r\n0\r\n\r\n") },
    { "000000000000000000000000000000000000000000000000000000000000001\r\nx\r\n0\r\n\r\n", 0 },
};

/* The body alone and followed by the next request, whole, one byte at a
 * time and in every 2-way split: always exactly the body is consumed. */
static void check_chunked_valid(const chunked_case *cc)
{
    size_t bl = cc->len ? cc->len : strlen(cc->body), total = bl + strlen(next_req);
    char *buf = malloc(total);
    assert_non_null(buf);
    memcpy(buf, cc->body, bl);
    memcpy(buf + bl, next_req, strlen(next_req));
    bool done;

    for (size_t n = bl; n <= total; n += total - bl) {
        hp_chunked c = { 0 };
        assert_int_equal(feed(&c, buf, n, &done), (ssize_t)bl);
        assert_true(done);
        assert_int_equal(feed(&c, buf + bl, n - bl, &done), 0); /* stays done */
        assert_true(done);
    }

    hp_chunked c = { 0 };
    for (size_t i = 0; i < total; i++) {
        ssize_t r = feed(&c, buf + i, 1, &done);
        if (r != (i < bl) || done != (i >= bl - 1))
            fail_msg("\"%s\": byte %zu gave %zd done %d", cc->body, i, r, done);
    }

    for (size_t k = 0; k <= total; k++) {
        memset(&c, 0, sizeof c);
        ssize_t r1 = feed(&c, buf, k, &done);
        if (r1 != (ssize_t)(k < bl ? k : bl) || done != (k >= bl))
            fail_msg("\"%s\": split %zu first part gave %zd", cc->body, k, r1);
        ssize_t r2 = feed(&c, buf + k, total - k, &done);
        assert_int_equal(r2, k < bl ? (ssize_t)(bl - k) : 0);
        assert_true(done);
    }
    free(buf);
}

static void test_chunked_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(chunked_valid); i++)
        check_chunked_valid(&chunked_valid[i]);
}

typedef struct {
    const char *pre; /* accepted */
    const char *bad; /* its first byte is rejected */
    size_t bad_len;
} chunked_bad;

static const chunked_bad chunked_invalid[] = {
    { "", RAW("x\r\n") },
    { "", RAW("\r\n0\r\n\r\n") },
    { "", RAW(";a\r\n0\r\n\r\n") },
    { "", RAW("-5\r\nhello\r\n") },
    { "", RAW(" 5\r\nhello\r\n") },
    { "0", RAW("x5\r\nhello\r\n") },
    { "5\r\nhello", RAW("0\r\n\r\n") },
    { "5\r\nhello", RAW("X\r\n0\r\n\r\n") },
    { "5\r\nhello\r", RAW("X0\r\n\r\n") },
    { "5\r", RAW("Xhello\r\n") },
    { "5 ", RAW("\r\nhello\r\n0\r\n\r\n") },
    { "5 ", RAW("x;\r\nhello\r\n") },
    { "5;a", RAW("\x01\r\nhello\r\n") },
    { "5;a", RAW("\x80\r\nhello\r\n") },
    { "5;a", RAW("\x7f\r\nhello\r\n") },
    { "5;a", RAW("\0\r\nhello\r\n") },
    { "100000000000000", RAW("0\r\n") },          /* 2^60 */
    { "0000fffffffffffffff", RAW("f\r\n") },      /* 16 significant digits */
    { "0\r\nX: a\r\n", RAW(" b\r\n\r\n") },       /* obs-fold */
    { "0\r\nX: a\r\n", RAW("\tb\r\n\r\n") },
    { "0\r\nfoo", RAW("\r\n\r\n") },               /* no colon */
    { "0\r\nfoo", RAW(" : x\r\n\r\n") },
    { "0\r\n", RAW(": x\r\n\r\n") },
    { "0\r\nX: a", RAW("\x01\r\n\r\n") },
    { "0\r\nX: a", RAW("\x7f\r\n\r\n") },
    { "0\r\nX: a\r", RAW("X\r\n\r\n") },
    { "0\r\n\r", RAW("X") },
    { "0\r\n\r", RAW("\r\n") },
};

static void check_chunked_invalid(const char *buf, size_t pl, size_t total)
{
    bool done;
    hp_chunked c = { 0 };
    assert_int_equal(feed(&c, buf, total, &done), HP_INVALID);
    assert_false(done);
    assert_int_equal(feed(&c, "0\r\n\r\n", 5, &done), HP_INVALID); /* sticky */

    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < pl; i++) {
        ssize_t r = feed(&c, buf + i, 1, &done);
        if (r != 1 || done)
            fail_msg("byte %zu of \"%.*s\" gave %zd", i, (int)total, buf, r);
    }
    assert_int_equal(feed(&c, buf + pl, 1, &done), HP_INVALID);
    assert_false(done);

    for (size_t k = 0; k <= total; k++) {
        memset(&c, 0, sizeof c);
        ssize_t r = feed(&c, buf, k, &done);
        assert_int_equal(r, k <= pl ? (ssize_t)k : HP_INVALID);
        if (k <= pl)
            assert_int_equal(feed(&c, buf + k, total - k, &done), HP_INVALID);
    }
}

static void test_chunked_invalid(void **state)
{
    (void)state;
    char buf[256];
    for (size_t i = 0; i < EP_ARRAY_LEN(chunked_invalid); i++) {
        const chunked_bad *cb = &chunked_invalid[i];
        size_t pl = strlen(cb->pre);
        memcpy(buf, cb->pre, pl);
        memcpy(buf + pl, cb->bad, cb->bad_len);
        check_chunked_invalid(buf, pl, pl + cb->bad_len);
    }
}

static void test_chunked_limits(void **state)
{
    (void)state;
    bool done;
    hp_chunked c = { 0 };
    /* The largest allowed size, 2^60 - 1: accepted, data pending. */
    const char *big = "fffffffffffffff\r\n0123456789";
    assert_int_equal(feed(&c, big, strlen(big), &done), (ssize_t)strlen(big));
    assert_false(done);
    assert_int_equal(c.remaining, (UINT64_C(1) << 60) - 1 - 10);

    /* 64 leading zeros are fine, a 65th digit is not. */
    static char zeros[80];
    memset(zeros, '0', 65);
    memset(&c, 0, sizeof c);
    assert_int_equal(feed(&c, zeros, 64, &done), 64);
    assert_int_equal(feed(&c, zeros, 1, &done), HP_INVALID);

    /* Trailer section: 8192 bytes in total pass, 8193 do not. */
    static char tr[9000];
    for (size_t total = 8192; total <= 8193; total++) {
        /* Trailer bytes: "X: " + value + LF + final CRLF. */
        size_t vlen = total - 6, n = 0;
        memcpy(tr, "0\r\nX: ", 6), n = 6;
        memset(tr + n, 'v', vlen), n += vlen;
        memcpy(tr + n, "\n\r\n", 3), n += 3;
        assert_int_equal(n - 3 /* "0\r\n" */, total);
        memset(&c, 0, sizeof c);
        ssize_t r = feed(&c, tr, n, &done);
        if (total == 8192) {
            assert_int_equal(r, (ssize_t)n);
            assert_true(done);
        } else {
            assert_int_equal(r, HP_INVALID);
        }
    }

    /* A chunk-ext line is bounded the same way. */
    static char ext[9000];
    memset(ext, 'e', sizeof ext);
    ext[0] = '1', ext[1] = ';';
    memset(&c, 0, sizeof c);
    assert_int_equal(feed(&c, ext, 2 + 8192, &done), 2 + 8192);
    assert_int_equal(feed(&c, ext + 2, 1, &done), HP_INVALID);

    /* Feeding nothing is harmless. */
    memset(&c, 0, sizeof c);
    assert_int_equal(hp_chunked_skip(&c, "", 0, &done), 0);
    assert_false(done);
    assert_int_equal(hp_chunked_skip(&c, NULL, 0, &done), 0);
    assert_false(done);
}

/* Pseudo-random multi-way splits of a long multi-chunk body. */
static void test_chunked_random_splits(void **state)
{
    (void)state;
    static char body[4096];
    size_t n = 0;
    for (int i = 1; i <= 40; i++) {
        n += (size_t)snprintf(body + n, sizeof body - n, "%x;i=%d\r\n", i * 3, i);
        memset(body + n, 'a' + i % 26, (size_t)i * 3);
        n += (size_t)i * 3;
        memcpy(body + n, i % 2 ? "\r\n" : "\n", i % 2 ? 2 : 1);
        n += i % 2 ? 2 : 1;
    }
    n += (size_t)snprintf(body + n, sizeof body - n, "0\r\nT: 1\r\n\r\n");
    size_t bl = n;
    memcpy(body + n, next_req, strlen(next_req));
    n += strlen(next_req);

    uint32_t seed = 12345;
    for (int round = 0; round < 500; round++) {
        hp_chunked c = { 0 };
        bool done = false;
        size_t pos = 0, consumed = 0;
        while (pos < n && !done) {
            seed = seed * 1103515245u + 12345u;
            size_t step = 1 + (seed >> 16) % 97;
            if (step > n - pos)
                step = n - pos;
            ssize_t r = feed(&c, body + pos, step, &done);
            assert_true(r >= 0);
            assert_true(done || (size_t)r == step);
            consumed += (size_t)r;
            pos += step;
        }
        assert_true(done);
        assert_int_equal(consumed, bl);
    }
}

/* ---- hp_request_line ---- */

static void test_request_line(void **state)
{
    (void)state;
    static const struct {
        const char *buf;
        size_t len;
        const char *want;
    } cases[] = {
        { RAW("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"), "GET /x HTTP/1.1" },
        { RAW("GET /x HTTP/1.1\nHost: a\n\n"), "GET /x HTTP/1.1" },
        { RAW("\r\n\nGET /x HTTP/1.0\r\n\r\n"), "GET /x HTTP/1.0" },
        { RAW("GET http://h/x?q HTTP/1.1\r\n"), "GET http://h/x?q HTTP/1.1" },
        /* cut short: as far as it arrived */
        { RAW("GET /partial"), "GET /partial" },
        { RAW("GET /x HTTP/1.1\r"), "GET /x HTTP/1.1" },
        /* malformed: the bytes as sent, up to the first line end */
        { RAW("GE\x01T /x HTTP/1.1\r\n\r\n"), "GE\x01T /x HTTP/1.1" },
        { RAW("GET /a\"b\\c\x7f\xff HTTP/9.9\r\n"), "GET /a\"b\\c\x7f\xff HTTP/9.9" },
        { RAW("GET /a\0b HTTP/1.1\r\n"), NULL }, /* checked by length below */
        { RAW("GET /a\rX HTTP/1.1\r\n"), "GET /a" },
        /* nothing but line ends, or nothing */
        { RAW("\r\n\r\n"), "" },
        { RAW(""), "" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *copy = exact_copy(cases[k].buf, cases[k].len);
        ep_str l = hp_request_line(copy, cases[k].len);
        if (cases[k].want) {
            if (!str_is(l, cases[k].want))
                printf("request line %zu: \"%.*s\"\n", k, (int)l.len, l.p);
            assert_true(str_is(l, cases[k].want));
        } else {
            assert_int_equal(l.len, sizeof "GET /a\0b HTTP/1.1" - 1);
        }
        if (l.len)
            assert_true(l.p >= copy && l.p + l.len <= copy + cases[k].len);
        free(copy);
    }
    assert_int_equal(hp_request_line(NULL, 0).len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_requests),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_max_headers),
        cmocka_unit_test(test_byte_classes),
        cmocka_unit_test(test_hand_cases),
        cmocka_unit_test(test_analyze_table),
        cmocka_unit_test(test_analyze_slices),
        cmocka_unit_test(test_analyze_untrimmed),
        cmocka_unit_test(test_chunked_valid),
        cmocka_unit_test(test_chunked_invalid),
        cmocka_unit_test(test_chunked_limits),
        cmocka_unit_test(test_chunked_random_splits),
        cmocka_unit_test(test_request_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
