/* tests/unit/test_route.c: the routing table: requests through http_req_make, route_request and real lookups on a fixture tree, to the plan (status, head, segments) each must get. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fds.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/model.h"
#include "http/cond.h"
#include "http/file.h"
#include "http/loc.h"
#include "http/parser.h"
#include "http/plan.h"
#include "http/request.h"
#include "http/response.h"
#include "http/route.h"
#include "http/static.h"
#include "util/time.h"

#include "conf_fixture.h"

/* ---- the fixture: a document root, an alias folder, a configuration ---- */

#define BIG_SIZE 5000 /* beyond BODY_BUF: sent from the file even with a buffer */
#define BODY_BUF 64   /* route_env.body: what a lookup may read into memory */

static const struct {
    const char *path, *text;
} files[] = {
    { "site/index.html", "<h1>home</h1>\n" },
    { "site/a.txt", "abcdefghijklmnopqrstuvwxyz" },
    { "site/empty.txt", "" },
    { "site/.secret", "s3cret\n" },
    { "site/.errors/404.html", "<p>not here</p>\n" },
    { "site/.well-known/x.txt", "wk\n" },
    { "site/errors/403.html", "<p>go away</p>\n" },
    { "site/sub/x.txt", "x\n" },
    { "site/list/one.txt", "1\n" },
    { "site/js/app.js", "console.log(1);\n" },
    { "site/js/app.js.gz", "GZ\n" },
    { "site/spa/index.html", "<spa/>\n" },
    { "site/spa/sub/index.html", "<sub/>\n" },
    { "site/private/x.txt", "private\n" },
    { "site/strict/y.txt", "y\n" },
    { "site/ro/r.txt", "r\n" },
    { "site/nolm/n.txt", "0123456789" },
    { "site/ch/c.txt", "content!" },
    { "assets/logo.txt", "LOGO\n" },
    { "assets/lib.js", "lib();\n" },
    { "assets/lib.js.gz", "LIBGZ\n" },
};

static const char *const dirs[] = { "site", "site/nolm", "site/ch", "site/.errors", "site/.well-known", "site/errors", "site/sub",
                                    "site/list", "site/js", "site/spa", "site/spa/sub", "site/private",
                                    "site/strict", "site/ro", "site/q\"d", "assets" };

/* a.example is the first listener's default (first) server: error pages,
 * add_header (one "always"), every kind of location. b.example, the second
 * listener's default, has none of that, so its errors are the built-in
 * pages. */
static const char site_conf[] =
    "mime_types = \"@D/rt.types\";\n"
    "default_type = \"application/octet-stream\";\n"
    "listen = ( { address = \"127.0.0.1\"; port = 8080; },\n"
    "           { address = \"127.0.0.1\"; port = 8081; default_server = \"b.example\"; } );\n"
    "servers = (\n"
    "  { names = [ \"a.example\" ];\n"
    "    root = \"@D/site\";\n"
    "    index = [ \"index.html\" ];\n"
    "    methods = [ \"GET\", \"OPTIONS\" ];\n"
    "    add_header = { X-Site = \"a\"; X-Always = { value = \"1\"; always = true; }; };\n"
    "    error_page = ( { codes = [ 404 ]; uri = \"/.errors/404.html\"; },\n"
    "                   { codes = [ 403 ]; uri = \"/errors/403.html\"; } );\n"
    "    locations = (\n"
    "      { match = \"= /healthz\"; return = { status = 200; body = \"ok $host\\n\"; }; },\n"
    "      { match = \"/old/\"; return = { status = 301; url = \"https://b.example$request_uri\"; }; },\n"
    "      { match = \"/go/\"; return = { status = 302; url = \"$request_uri\"; }; },\n"
    "      { match = \"/api/\"; methods = [ \"GET\", \"POST\" ]; return = { status = 204; }; },\n"
    "      { match = \"~ \\\\.js$\"; precompressed = [ \"gzip\" ]; expires = \"7d\";\n"
    "        add_header = { X-Js = \"1\"; }; },\n"
    "      { match = \"/list/\"; autoindex = true; },\n"
    "      { match = \"^~ /static/\"; alias = \"@D/assets/\"; expires = \"1h\"; },\n"
    "      { match = \"/img\"; alias = \"@D/assets/\"; },\n"
    "      { match = \"/spa/\"; try_files = [ \"$uri\", \"$uri/\", \"/spa/index.html\" ]; },\n"
    "      { match = \"/private/\"; access = [ \"allow 10.0.0.0/8\", \"deny all\" ]; },\n"
    "      { match = \"/ro/\"; methods = [ \"GET\" ]; },\n"
    "      { match = \"/loop/\"; try_files = [ \"$uri\", \"/loop/again\" ]; },\n"
    "      { match = \"= /status\"; status_page = \"stub\"; access = [ \"allow 127.0.0.1\", \"deny all\" ]; },\n"
    "      { match = \"= /hc\"; health_check = true; },\n"
    "      { match = \"/nolm/\"; last_modified = \"off\"; },\n"
    "      { match = \"/ch/\"; etag = \"content\"; }\n"
    "    );\n"
    "  },\n"
    "  { names = [ \"b.example\" ];\n"
    "    root = \"@D/site\";\n"
    "    locations = ( { match = \"/strict/\"; try_files = [ \"$uri\", \"=404\" ]; } );\n"
    "  }\n"
    ");\n";

static cfg *C;
static route_sizes RS;
static void *LS; /* loc_scratch */

static char *fixture_path(const char *rel) { return xasprintf("%s/%s", tmp, rel); }

static void put_file(const char *rel, const char *text, size_t len)
{
    char *p = fixture_path(rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(p);
}

static int route_setup(void **state)
{
    if (setup(state) != 0)
        return -1;
    for (size_t i = 0; i < EP_ARRAY_LEN(dirs); i++)
        mkdir_in(dirs[i], 0755);
    for (size_t i = 0; i < EP_ARRAY_LEN(files); i++)
        put_file(files[i].path, files[i].text, strlen(files[i].text));
    char big[BIG_SIZE];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('A' + i % 26);
    put_file("site/big.bin", big, sizeof big);
    char *types = fixture_path("rt.types");
    write_raw(types, "text/html html\ntext/plain txt\napplication/javascript js\n");
    free(types);
    C = load("route.conf", site_conf);
    route_sizes_of(C, &RS);
    LS = loc_scratch_new();
    return LS ? 0 : -1;
}

static int route_teardown(void **state)
{
    cfg_free(C);
    loc_scratch_free(LS);
    return teardown(state);
}

/* ---- running one request, as --explain does ---------------------------- */

/* Everything a request's routing writes into, each buffer exactly as large
 * as route_sizes_of says, so that ASan catches any overrun. */
typedef struct {
    char *text, *path, *scratch, *parts, *body;
    hp_request head;
    http_req rq;
    route_env env; /* route_begin keeps a pointer to it */
    route rt;
} run;

static void stat_fixture(const char *rel, struct stat *st)
{
    char *p = fixture_path(rel);
    assert_int_equal(stat(p, st), 0);
    free(p);
}

/* s with "@ETAG" and "@LM" replaced by the validators of fixture file rel. */
static char *subst(const char *s, const char *rel)
{
    if (!s || (!strstr(s, "@ETAG") && !strstr(s, "@LM")))
        return strdup(s ? s : "");
    struct stat st;
    stat_fixture(rel, &st);
    char etag[COND_ETAG_MAX], lm[TIME_HTTP_LEN + 1];
    cond_etag(etag, st.st_mtime, st.st_size);
    time_http_date(st.st_mtime, lm);
    char *out = malloc(strlen(s) + 8 * (COND_ETAG_MAX + TIME_HTTP_LEN) + 1), *o = out;
    assert_non_null(out);
    while (*s) {
        if (strncmp(s, "@ETAG", 5) == 0)
            o = stpcpy(o, etag), s += 5;
        else if (strncmp(s, "@LM", 3) == 0)
            o = stpcpy(o, lm), s += 3;
        else
            *o++ = *s++;
    }
    *o = '\0';
    return out;
}

/* The client: "-" none (access rules not applied), else an address. */
static const struct sockaddr *peer_of(const char *text, struct sockaddr_storage *ss)
{
    if (text && strcmp(text, "-") == 0)
        return NULL;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text ? text : "127.0.0.1", &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, &v6->sin6_addr), 1);
        v6->sin6_family = AF_INET6;
    }
    return (const struct sockaddr *)ss;
}

/* "METHOD TARGET" with a Host (none: HTTP/1.0) and more header lines; the
 * request made and routing begun. */
static void run_begin_on(run *r, size_t listen, const char *host, const char *line, const char *fields,
                         const char *peer, struct sockaddr_storage *ss, bool body)
{
    memset(r, 0, sizeof *r);
    const char *ver = host ? "HTTP/1.1" : "HTTP/1.0";
    r->text = xasprintf("%s %s\r\n%s%s%s%s\r\n", line, ver, host ? "Host: " : "", host ? host : "",
                        host ? "\r\n" : "", fields ? fields : "");
    size_t n = strlen(r->text);
    if (hp_parse_request(r->text, n, &r->head) != (int)n)
        fail_msg("%s: the head does not parse", line);
    r->path = malloc(C->max_uri_len + 1);
    r->scratch = malloc(RS.scratch);
    r->parts = malloc(RS.parts);
    r->body = body ? malloc(BODY_BUF) : NULL;
    assert_true(r->path && r->scratch && r->parts && (r->body || !body));
    int st = http_req_make(&r->rq, &r->head, C, r->path);
    if (st)
        fail_msg("%s: http_req_make says %d", line, st);
    r->env = (route_env){ .cf = C, .listen_idx = listen, .peer = peer_of(peer, ss), .now = 1700000000, .seq = 7,
                          .loc_scratch = LS, .scratch = r->scratch, .scratch_len = RS.scratch,
                          .parts = r->parts, .parts_len = RS.parts, .body = r->body,
                          .body_len = body ? BODY_BUF : 0 };
    route_begin(&r->rt, &r->env, &r->rq);
}

static void run_begin(run *r, const char *host, const char *line, const char *fields, const char *peer,
                      struct sockaddr_storage *ss, bool body)
{
    run_begin_on(r, 0, host, line, fields, peer, ss, body);
}

/* A lookup run here and now in cfg->dirs[dir], as explain_run does. */
static void run_lookup_req(static_req *q, int dir)
{
    int dirfd = open(C->dirs[dir], O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);
    q->dirfd = dirfd;
    static_lookup(q, 0);
    close(dirfd);
}

static void run_lookup(route *rt) { run_lookup_req(&rt->lookup, rt->dir); }

static void run_to_done(route *rt)
{
    enum route_state s = route_request(rt);
    for (int lookups = 0; s == ROUTE_LOOKUP; lookups++) {
        assert_true(lookups < 32); /* the redirect limit ends every chain far sooner */
        run_lookup(rt);
        s = route_lookup_done(rt);
    }
}

/* What the executor does when the response is over, and the buffers. */
static void run_end(run *r)
{
    if (r->rt.plan.fd >= 0)
        close(r->rt.plan.fd);
    r->rt.plan.fd = -1;
    route_abandon(&r->rt);
    plan_clear(&r->rt.plan);
    free(r->text);
    free(r->path);
    free(r->scratch);
    free(r->parts);
    free(r->body);
}

/* The head as a worker writes it, its Date fixed. */
static char *render_head(const http_plan *p)
{
    char *head = malloc(RS.head + 1);
    assert_non_null(head);
    resp_fields f = p->f;
    f.date = "Tue, 14 Nov 2023 22:13:20 GMT";
    f.keep_alive = true;
    size_t n = resp_head(head, RS.head, p->status, &f);
    assert_true(n > 0); /* route_sizes_of promised room for every head */
    head[n] = '\0';
    return head;
}

/* ---- the table ---------------------------------------------------------- */

typedef struct {
    char kind;       /* 'm' memory, 'f' a range of the plan's file */
    long long off;   /* into the file: for 'f', and for 'm' with "@FILE" */
    long long len;   /* -1: the whole file */
    const char *text; /* 'm': NULL unchecked, "@ERR" the status's built-in page, "@FILE" the file's
                       * bytes at off, "~x" contains x, else exactly these bytes */
} seg_want;

typedef struct {
    const char *what;
    const char *host;    /* Host; NULL: an HTTP/1.0 request without one */
    const char *line;    /* "METHOD TARGET" */
    const char *fields;  /* more header lines, "\r\n" each; @ETAG, @LM: the file's validators */
    const char *peer;    /* client address; NULL 127.0.0.1, "-" unknown */
    bool buf;            /* a body buffer: small files read by the lookup go out from memory */
    int status;
    const char *file;    /* the file plan.fd holds (under the temp dir); NULL: none */
    const char *has[8];  /* head lines: exact, or a prefix when ending in '*'; @ETAG, @LM expanded */
    const char *lacks[6]; /* field names the head must not carry */
    int nseg;            /* segments; -1 unchecked */
    seg_want seg[5];
    const char *note;    /* what rt->note contains; NULL: it is empty */
    const char *mp_type; /* a multipart body: its parts' Content-Type */
    size_t listen;       /* the listener that accepted it */
} route_case;

#define A "a.example"
#define B "b.example"
#define ERR { 'm', 0, 0, "@ERR" }
#define WHOLE { 'f', 0, -1, NULL }
#define INMEM { 'm', 0, -1, "@FILE" }

static const route_case cases[] = {
    /* ---- files, ranges and validators on b.example (RFC 9110 13, 14) ---- */
    { .what = "a file from the root", B, "GET /a.txt", NULL, NULL, false, 200, "site/a.txt",
      { "Content-Type: text/plain", "Content-Length: 26", "Accept-Ranges: bytes", "ETag: @ETAG",
        "Last-Modified: @LM" }, { "Content-Range", "Content-Encoding", "Cache-Control", "Vary", "X-Site" },
      1, { WHOLE } },
    { .what = "a small file read by the lookup goes from memory", B, "GET /a.txt", NULL, NULL, true, 200, "site/a.txt",
      { "Content-Length: 26" }, { 0 }, 1, { INMEM } },
    { .what = "a file larger than the buffer stays a file range", B, "GET /big.bin", NULL, NULL, true, 200,
      "site/big.bin", { "Content-Type: application/octet-stream", "Content-Length: 5000" }, { 0 }, 1,
      { { 'f', 0, BIG_SIZE, NULL } } },
    { .what = "an empty file: Content-Length 0 and no segment", B, "GET /empty.txt", NULL, NULL, false, 200,
      "site/empty.txt", { "Content-Length: 0" }, { 0 }, 0, { { 0 } } },
    { .what = "HEAD keeps the length and drops the body", B, "HEAD /a.txt", NULL, NULL, true, 200, "site/a.txt",
      { "Content-Length: 26", "ETag: @ETAG" }, { 0 }, 0, { { 0 } } },
    { .what = "one range", B, "GET /a.txt", "Range: bytes=0-4\r\n", NULL, false, 206, "site/a.txt",
      { "Content-Range: bytes 0-4/26", "Content-Length: 5", "Content-Type: text/plain" }, { 0 }, 1,
      { { 'f', 0, 5, NULL } } },
    { .what = "one range of a small file, from memory", B, "GET /a.txt", "Range: bytes=2-4\r\n", NULL, true, 206,
      "site/a.txt", { "Content-Range: bytes 2-4/26", "Content-Length: 3" }, { 0 }, 1, { { 'm', 0, 3, "cde" } } },
    { .what = "a suffix range: the last 3 bytes", B, "GET /a.txt", "Range: bytes=-3\r\n", NULL, false, 206, "site/a.txt",
      { "Content-Range: bytes 23-25/26" }, { 0 }, 1, { { 'f', 23, 3, NULL } } },
    { .what = "overlapping ranges merge into one", B, "GET /a.txt", "Range: bytes=0-5,3-9\r\n", NULL, false, 206,
      "site/a.txt", { "Content-Range: bytes 0-9/26", "Content-Length: 10" }, { 0 }, 1, { { 'f', 0, 10, NULL } } },
    { .what = "two ranges: multipart/byteranges, part heads between file ranges", B, "GET /a.txt",
      "Range: bytes=0-1,24-\r\n", NULL, false, 206, "site/a.txt",
      { "Content-Type: multipart/byteranges; boundary=*" }, { "Content-Range" }, 5,
      { { 'm', 0, 0, NULL }, { 'f', 0, 2, NULL }, { 'm', 0, 0, NULL }, { 'f', 24, 2, NULL }, { 'm', 0, 0, NULL } },
      .mp_type = "text/plain" },
    { .what = "multipart ranges come from the file even when it was read", B, "GET /a.txt", "Range: bytes=1-1,3-3\r\n",
      NULL, true, 206, "site/a.txt", { "Content-Type: multipart/byteranges; boundary=*" }, { 0 }, 5,
      { { 'm', 0, 0, NULL }, { 'f', 1, 1, NULL }, { 'm', 0, 0, NULL }, { 'f', 3, 1, NULL }, { 'm', 0, 0, NULL } },
      .mp_type = "text/plain" },
    { .what = "no satisfiable range: 416 quoting the size", B, "GET /a.txt", "Range: bytes=30-\r\n", NULL, false, 416,
      "site/a.txt", { "Content-Range: bytes */26", "Content-Type: text/html" }, { "Accept-Ranges" }, 1, { ERR } },
    { .what = "any range of an empty file is unsatisfiable", B, "GET /empty.txt", "Range: bytes=0-\r\n", NULL, false, 416,
      "site/empty.txt", { "Content-Range: bytes */0" }, { 0 }, 1, { ERR } },
    { .what = "Range is for GET: HEAD gets the whole 200 head", B, "HEAD /a.txt", "Range: bytes=0-4\r\n", NULL, false, 200,
      "site/a.txt", { "Content-Length: 26" }, { "Content-Range" }, 0, { { 0 } } },
    { .what = "If-Range with the current ETag: the range", B, "GET /a.txt", "Range: bytes=0-0\r\nIf-Range: @ETAG\r\n",
      NULL, false, 206, "site/a.txt", { "Content-Range: bytes 0-0/26" }, { 0 }, 1, { { 'f', 0, 1, NULL } } },
    { .what = "If-Range with a stale ETag: the whole file", B, "GET /a.txt",
      "Range: bytes=0-0\r\nIf-Range: \"stale\"\r\n", NULL, false, 200, "site/a.txt", { "Content-Length: 26" },
      { "Content-Range" }, 1, { WHOLE } },
    { .what = "If-Range with the Last-Modified date: the range", B, "GET /a.txt", "Range: bytes=25-\r\nIf-Range: @LM\r\n",
      NULL, false, 206, "site/a.txt", { "Content-Range: bytes 25-25/26" }, { 0 }, 1, { { 'f', 25, 1, NULL } } },
    { .what = "If-None-Match with the ETag: 304, validators only", B, "GET /a.txt", "If-None-Match: @ETAG\r\n", NULL, true,
      304, "site/a.txt", { "ETag: @ETAG", "Last-Modified: @LM" }, { "Content-Length", "Content-Type" }, 0,
      { { 0 } } },
    { .what = "If-None-Match: * matches any current file", B, "GET /a.txt", "If-None-Match: *\r\n", NULL, false, 304,
      "site/a.txt", { 0 }, { "Content-Length" }, 0, { { 0 } } },
    { .what = "If-Modified-Since later than the file: 304", B, "GET /a.txt",
      "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n", NULL, false, 304, "site/a.txt", { 0 },
      { "Content-Length" }, 0, { { 0 } } },
    { .what = "If-Match another tag: 412", B, "GET /a.txt", "If-Match: \"other\"\r\n", NULL, false, 412, "site/a.txt",
      { "Content-Type: text/html" }, { "ETag" }, 1, { ERR } },
    { .what = "If-Match the current tag: go on to the range", B, "GET /a.txt", "If-Match: @ETAG\r\nRange: bytes=0-1\r\n",
      NULL, false, 206, "site/a.txt", { "Content-Range: bytes 0-1/26" }, { 0 }, 1, { { 'f', 0, 2, NULL } } },
    /* ---- b.example's own errors are the built-in pages ------------------- */
    { .what = "a dotfile is hidden: 404", B, "GET /.secret", NULL, NULL, false, 404, NULL, { "Content-Type: text/html" },
      { 0 }, 1, { ERR } },
    { .what = "the Host is matched without case, port and trailing dot", "B.EXAMPLE.:80", "GET /.secret", NULL, NULL,
      false, 404, NULL, { 0 }, { 0 }, 1, { ERR } },
    { .what = "/.well-known is public (RFC 8615)", B, "GET /.well-known/x.txt", NULL, NULL, false, 200,
      "site/.well-known/x.txt", { "Content-Length: 3" }, { 0 }, 1, { WHOLE } },
    { .what = "try_files =404 with a candidate", B, "GET /strict/y.txt", NULL, NULL, false, 200, "site/strict/y.txt",
      { 0 }, { 0 }, 1, { WHOLE } },
    { .what = "try_files =404 without one", B, "GET /strict/none", NULL, NULL, false, 404, NULL, { 0 }, { 0 }, 1, { ERR } },
    { .what = "a folder without index, autoindex off: 403 and a note", B, "GET /sub/", NULL, NULL, false, 403, NULL,
      { 0 }, { 0 }, 1, { ERR }, .note = "open \"/sub/\": a folder without an index file" },
    { .what = "the note escapes the path as the log's request line does", B, "GET /q%22d/", NULL, NULL, false, 403,
      NULL, { 0 }, { 0 }, 1, { ERR }, .note = "open \"/q\\x22d/\": a folder without an index file" },
    { .what = "a folder named without '/': 301, the query kept", B, "GET /sub?x=1", NULL, NULL, false, 301, NULL,
      { "Location: /sub/?x=1", "Content-Type: text/html" }, { 0 }, 1, { ERR } },
    { .what = "a folder's redirect is built from the normalised path, never the raw one", B,
      "GET //evil.example/..%2fsub", NULL, NULL, false, 301, NULL, { "Location: /sub/" }, { 0 }, 1, { ERR } },
    { .what = "a folder's redirect percent-encodes the path", B, "GET /q%22d", NULL, NULL, false, 301, NULL,
      { "Location: /q%22d/" }, { 0 }, 1, { ERR } },
    /* ---- a.example: add_header, error pages, hidden files ----------------- */
    { .what = "the index file, with the server's headers", A, "GET /", NULL, NULL, false, 200, "site/index.html",
      { "Content-Type: text/html", "Content-Length: 14", "X-Site: a", "X-Always: 1" }, { 0 }, 1, { WHOLE } },
    { .what = "404 through error_page: the page's file with status 404; only the 'always' header", A,
      "GET /missing.txt", NULL, NULL, false, 404, "site/.errors/404.html",
      { "Content-Type: text/html", "Content-Length: 16", "X-Always: 1" }, { "X-Site", "Accept-Ranges" }, 1,
      { WHOLE } },
    { .what = "If-None-Match: * with no file: the condition holds, 404 (RFC 9110 13.1.2)", A, "GET /missing.txt",
      "If-None-Match: *\r\n", NULL, false, 404, "site/.errors/404.html", { "Content-Length: 16" }, { 0 }, 1,
      { WHOLE } },
    { .what = "HEAD of an error page", A, "HEAD /missing.txt", NULL, NULL, false, 404, "site/.errors/404.html",
      { "Content-Length: 16" }, { 0 }, 0, { { 0 } } },
    { .what = "a hidden dotfile gets 404, and the error page in a dot folder is exempt", A, "GET /.secret", NULL, NULL,
      true, 404, "site/.errors/404.html", { "Content-Length: 16" }, { 0 }, 1, { INMEM } },
    { .what = "the error page's folder asked for directly is hidden", A, "GET /.errors/404.html", NULL, NULL, false, 404,
      "site/.errors/404.html", { 0 }, { 0 }, 1, { WHOLE } },
    { .what = "an unknown Host: the listener's default server", "c.example", "GET /.secret", NULL, NULL, false, 404,
      "site/.errors/404.html", { 0 }, { 0 }, 1, { WHOLE } },
    { .what = "HTTP/1.0 without Host: the default server", NULL, "GET /.secret", NULL, NULL, false, 404,
      "site/.errors/404.html", { 0 }, { 0 }, 1, { WHOLE } },
    { .what = "an exact location does not match below it", A, "GET /healthz/x", NULL, NULL, false, 404,
      "site/.errors/404.html", { 0 }, { 0 }, 1, { WHOLE } },
    /* ---- return ------------------------------------------------------------ */
    { .what = "return text: $host lower-cased, without port", "A.Example:8080", "GET /healthz", NULL, NULL, false, 200,
      NULL, { "Content-Type: text/plain", "Content-Length: 13", "X-Site: a" }, { "Location" }, 1,
      { { 'm', 0, 13, "ok a.example\n" } } },
    { .what = "return text: $host without a Host is the server's name", NULL, "GET /healthz", NULL, NULL, false, 200,
      NULL, { 0 }, { 0 }, 1, { { 'm', 0, 13, "ok a.example\n" } } },
    { .what = "return 301 with $request_uri, the query as sent", A, "GET /old/x%41?y=1", NULL, NULL, false, 301, NULL,
      { "Location: https://b.example/old/x%41?y=1", "Content-Type: text/html", "X-Site: a" }, { 0 }, 1, { ERR } },
    { .what = "return 301: an absolute-form target's $request_uri is its path", A, "GET http://a.example/old/z", NULL,
      NULL, false, 301, NULL, { "Location: https://b.example/old/z" }, { 0 }, 1, { ERR } },
    { .what = "a redirect to $request_uri \"//go/x\" stays on this host", A, "GET //go/x", NULL, NULL, false, 302,
      NULL, { "Location: /%2Fgo/x" }, { 0 }, 1, { ERR } },
    { .what = "return 204 to POST: no length, no body", A, "POST /api/x", NULL, NULL, false, 204, NULL, { "X-Site: a" },
      { "Content-Length", "Content-Type" }, 0, { { 0 } } },
    { .what = "return 204 to GET", A, "GET /api/x", NULL, NULL, false, 204, NULL, { 0 }, { "Content-Length" }, 0,
      { { 0 } } },
    /* ---- methods (RFC 9110 15.5.6: a 405 says what is allowed) ------------ */
    { .what = "a method the location does not allow", A, "DELETE /api/x", NULL, NULL, false, 405, NULL,
      { "Allow: GET, HEAD, POST", "X-Always: 1" }, { "X-Site" }, 1, { ERR } },
    { .what = "POST to files", A, "POST /ro/r.txt", NULL, NULL, false, 405, NULL, { "Allow: GET, HEAD" }, { 0 }, 1,
      { ERR } },
    { .what = "OPTIONS where only GET is allowed", A, "OPTIONS /ro/r.txt", NULL, NULL, false, 405, NULL,
      { "Allow: GET, HEAD" }, { 0 }, 1, { ERR } },
    { .what = "GET where only GET is allowed", A, "GET /ro/r.txt", NULL, NULL, false, 200, "site/ro/r.txt", { 0 },
      { 0 }, 1, { WHOLE } },
    /* ---- last_modified = "off": the mtime validates nothing ---------------- */
    { .what = "no Last-Modified", A, "GET /nolm/n.txt", NULL, NULL, false, 200, "site/nolm/n.txt",
      { "Content-Length: 10" }, { "Last-Modified" }, 1, { WHOLE } },
    { .what = "If-Modified-Since is ignored", A, "GET /nolm/n.txt", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n",
      NULL, false, 200, "site/nolm/n.txt", { 0 }, { "Last-Modified" }, 1, { WHOLE } },
    { .what = "If-Unmodified-Since is ignored", A, "GET /nolm/n.txt",
      "If-Unmodified-Since: Mon, 01 Jan 1990 00:00:00 GMT\r\n", NULL, false, 200, "site/nolm/n.txt", { 0 }, { 0 }, 1,
      { WHOLE } },
    { .what = "an If-Range date never matches: the whole file", A, "GET /nolm/n.txt",
      "Range: bytes=0-1\r\nIf-Range: @LM\r\n", NULL, false, 200, "site/nolm/n.txt", { 0 }, { "Content-Range" }, 1,
      { WHOLE } },
    { .what = "the ETag still validates", A, "GET /nolm/n.txt", "If-None-Match: @ETAG\r\n", NULL, false, 304,
      "site/nolm/n.txt", { "ETag: @ETAG" }, { "Last-Modified" }, 0, { { 0 } } },
    { .what = "OPTIONS a path: 204 with Allow", A, "OPTIONS /a.txt", NULL, NULL, false, 204, NULL,
      { "Allow: GET, HEAD, OPTIONS", "X-Site: a" }, { "Content-Length" }, 0, { { 0 } } },
    { .what = "a method no configuration names", A, "BREW /a.txt", NULL, NULL, false, 405, NULL,
      { "Allow: GET, HEAD, OPTIONS" }, { 0 }, 1, { ERR } },
    { .what = "OPTIONS *: the server as a whole, no place, no add_header", B, "OPTIONS *", NULL, NULL, false, 204, NULL,
      { "Allow: GET, HEAD, OPTIONS" }, { "X-Site", "X-Always", "Content-Length" }, 0, { { 0 } } },
    { .what = "OPTIONS * on another listener: its default server's methods", A, "OPTIONS *", NULL, NULL, false,
      204, NULL, { "Allow: GET, HEAD, OPTIONS" }, { 0 }, 0, { { 0 } }, .listen = 1 },
    { .what = "an unknown Host on the second listener: its default, b.example", "c.example", "GET /.secret", NULL,
      NULL, false, 404, NULL, { 0 }, { 0 }, 1, { ERR }, .listen = 1 },
    { .what = "a name wins over the listener's default", A, "GET /.secret", NULL, NULL, false, 404,
      "site/.errors/404.html", { 0 }, { 0 }, 1, { WHOLE }, .listen = 1 },
    /* ---- precompressed siblings, expires, a location's own add_header ----- */
    { .what = "gzip accepted: the .gz sibling with the original's type", A, "GET /js/app.js", "Accept-Encoding: gzip, br\r\n",
      NULL, false, 200, "site/js/app.js.gz",
      { "Content-Encoding: gzip", "Vary: Accept-Encoding", "Content-Type: application/javascript",
        "Content-Length: 3", "Cache-Control: max-age=604800", "X-Js: 1" }, { "X-Site", "X-Always" }, 1, { WHOLE } },
    { .what = "no Accept-Encoding: the file itself, still Vary", A, "GET /js/app.js", NULL, NULL, false, 200,
      "site/js/app.js", { "Vary: Accept-Encoding", "Content-Length: 16" }, { "Content-Encoding" }, 1, { WHOLE } },
    { .what = "gzip;q=0 refuses gzip", A, "GET /js/app.js", "Accept-Encoding: gzip;q=0\r\n", NULL, false, 200,
      "site/js/app.js", { 0 }, { "Content-Encoding" }, 1, { WHOLE } },
    { .what = "the sibling read into memory", A, "GET /js/app.js", "Accept-Encoding: gzip\r\n", NULL, true, 200,
      "site/js/app.js.gz", { "Content-Encoding: gzip" }, { 0 }, 1, { INMEM } },
    { .what = "HEAD of the sibling", A, "HEAD /js/app.js", "Accept-Encoding: gzip\r\n", NULL, false, 200,
      "site/js/app.js.gz", { "Content-Length: 3", "Content-Encoding: gzip" }, { 0 }, 0, { { 0 } } },
    { .what = "304 renews the cache's lifetime (RFC 9111 4.3.4)", A, "GET /js/app.js", "If-None-Match: *\r\n", NULL, false,
      304, "site/js/app.js", { "Cache-Control: max-age=604800", "Expires: *" }, { "Content-Length" }, 0, { { 0 } } },
    /* ---- alias ------------------------------------------------------------ */
    { .what = "alias: the prefix replaced by the folder", A, "GET /static/logo.txt", NULL, NULL, false, 200,
      "assets/logo.txt", { "Content-Length: 5", "Cache-Control: max-age=3600", "X-Site: a" }, { 0 }, 1,
      { WHOLE } },
    { .what = "^~ beats the regex: no precompressed sibling here", A, "GET /static/lib.js", "Accept-Encoding: gzip\r\n",
      NULL, false, 200, "assets/lib.js", { "Cache-Control: max-age=3600" }, { "Content-Encoding", "X-Js" }, 1,
      { WHOLE } },
    { .what = "\"/static/\" does not match \"/static\" (nginx): the root's 404", A, "GET /static", NULL, NULL,
      false, 404, "site/.errors/404.html", { 0 }, { 0 }, 1, { WHOLE } },
    { .what = "the alias folder named without '/': 301", A, "GET /img?v=2", NULL, NULL, false, 301, NULL,
      { "Location: /img/?v=2" }, { 0 }, 1, { ERR } },
    { .what = "beneath an alias without '/'", A, "GET /img/logo.txt", NULL, NULL, false, 200, "assets/logo.txt",
      { 0 }, { "Cache-Control" }, 1, { WHOLE } },
    /* ---- autoindex -------------------------------------------------------- */
    { .what = "autoindex: a listing in memory", A, "GET /list/", NULL, NULL, false, 200, NULL,
      { "Content-Type: text/html; charset=utf-8" }, { 0 }, 1, { { 'm', 0, 0, "~one.txt" } } },
    { .what = "HEAD of a listing", A, "HEAD /list/", NULL, NULL, false, 200, NULL, { "Content-Length: *" }, { 0 }, 0,
      { { 0 } } },
    { .what = "a folder without index on a: 403 through error_page, the note names the path", A, "GET /sub/", NULL, NULL,
      false, 403, "site/errors/403.html", { "Content-Length: 15" }, { 0 }, 1, { WHOLE },
      .note = "open \"/sub/\": a folder without an index file" },
    /* ---- access ----------------------------------------------------------- */
    { .what = "an allowed client", A, "GET /private/x.txt", NULL, "10.1.2.3", false, 200, "site/private/x.txt", { 0 },
      { 0 }, 1, { WHOLE } },
    { .what = "a denied client: 403 through error_page", A, "GET /private/x.txt", NULL, "192.0.2.7", false, 403,
      "site/errors/403.html", { "X-Always: 1" }, { "X-Site" }, 1, { WHOLE } },
    { .what = "a denied IPv6 client", A, "GET /private/x.txt", NULL, "::1", false, 403, "site/errors/403.html", { 0 },
      { 0 }, 1, { WHOLE } },
    { .what = "no client address: access rules not applied", A, "GET /private/x.txt", NULL, "-", false, 200,
      "site/private/x.txt", { 0 }, { 0 }, 1, { WHOLE } },
    /* ---- try_files -------------------------------------------------------- */
    { .what = "try_files falls back to a URI", A, "GET /spa/page", NULL, NULL, false, 200, "site/spa/index.html",
      { "Content-Type: text/html" }, { 0 }, 1, { WHOLE } },
    { .what = "try_files $uri/ with the folder's index", A, "GET /spa/sub", NULL, NULL, false, 200,
      "site/spa/sub/index.html", { 0 }, { 0 }, 1, { WHOLE } },
    { .what = "a fallback to itself: 500 after the redirect limit, with a note", A, "GET /loop/x", NULL, NULL, false, 500,
      NULL, { "X-Always: 1" }, { "X-Site" }, 1, { ERR }, .note = "too many internal redirects" },
};

/* Whether the head has a line equal to want (a prefix when it ends in '*'). */
static bool head_has(const char *head, const char *want)
{
    size_t n = strlen(want);
    bool prefix = n && want[n - 1] == '*';
    for (const char *l = head; *l;) {
        const char *e = strstr(l, "\r\n");
        size_t len = e ? (size_t)(e - l) : strlen(l);
        if (prefix ? len >= n - 1 && memcmp(l, want, n - 1) == 0 : len == n && memcmp(l, want, n) == 0)
            return true;
        l += len + (e ? 2 : 0);
    }
    return false;
}

static void check_head(const route_case *c, const http_plan *p)
{
    char *head = render_head(p);
    for (size_t i = 0; i < EP_ARRAY_LEN(c->has) && c->has[i]; i++) {
        char *want = subst(c->has[i], c->file);
        if (!head_has(head, want))
            fail_msg("%s: no \"%s\" in\n%s", c->what, want, head);
        free(want);
    }
    for (size_t i = 0; i < EP_ARRAY_LEN(c->lacks) && c->lacks[i]; i++) {
        char *name = xasprintf("%s: *", c->lacks[i]);
        if (head_has(head, name))
            fail_msg("%s: \"%s\" should not be in\n%s", c->what, c->lacks[i], head);
        free(name);
    }
    free(head);
}

/* plan.fd is the fixture file rel (the same inode), or -1 when rel is NULL. */
static off_t check_fd(const route_case *c, const http_plan *p)
{
    if (!c->file) {
        if (p->fd != -1)
            fail_msg("%s: the plan holds a file", c->what);
        return -1;
    }
    struct stat want, got;
    stat_fixture(c->file, &want);
    if (p->fd < 0 || fstat(p->fd, &got) != 0 || got.st_ino != want.st_ino || got.st_dev != want.st_dev)
        fail_msg("%s: the plan's file is not %s", c->what, c->file);
    return got.st_size;
}

static void check_mem(const route_case *c, const http_plan *p, const plan_seg *s, const seg_want *w)
{
    if (!w->text)
        return;
    if (strcmp(w->text, "@ERR") == 0) {
        size_t blen;
        const char *body = resp_error_body(p->status, &blen);
        assert_int_equal(s->len, blen);
        assert_memory_equal(s->mem, body, blen);
    } else if (strcmp(w->text, "@FILE") == 0) {
        char *want = malloc(s->len);
        assert_non_null(want);
        assert_int_equal(pread(p->fd, want, s->len, w->off), (ssize_t)s->len);
        assert_memory_equal(s->mem, want, s->len);
        free(want);
    } else if (w->text[0] == '~') {
        char *got = strndup(s->mem, s->len);
        if (!strstr(got, w->text + 1))
            fail_msg("%s: no \"%s\" in the body", c->what, w->text + 1);
        free(got);
    } else {
        assert_int_equal(s->len, strlen(w->text));
        assert_memory_equal(s->mem, w->text, s->len);
    }
}

static void check_segments(const route_case *c, const http_plan *p, off_t size)
{
    if (c->nseg < 0)
        return;
    if (p->nseg != (size_t)c->nseg)
        fail_msg("%s: %zu segments, expected %d", c->what, p->nseg, c->nseg);
    for (size_t i = 0; i < p->nseg; i++) {
        const plan_seg *s = &p->seg[i];
        const seg_want *w = &c->seg[i];
        long long len = w->len < 0 ? (long long)size : w->len;
        if ((w->kind == 'm') != (s->mem != NULL))
            fail_msg("%s: segment %zu should be %s", c->what, i, w->kind == 'm' ? "memory" : "a file range");
        if (w->kind == 'f' && (s->off != w->off || (long long)s->len != len))
            fail_msg("%s: segment %zu is bytes %lld+%zu, expected %lld+%lld", c->what, i, (long long)s->off,
                     s->len, w->off, len);
        if (w->kind == 'm' && len > 0)
            assert_int_equal(s->len, (size_t)len);
        if (w->kind == 'm')
            check_mem(c, p, s, w);
    }
}

/* A multipart body: each part head is the one cond_part_head writes for the
 * file range after it, the tail closes it, and Content-Length is what
 * cond_multipart_length computes for the ranges: the client's framing. */
static void check_multipart(const route_case *c, const http_plan *p, off_t size)
{
    const char *b = strstr(p->f.content_type, "boundary=");
    assert_non_null(b);
    ep_str boundary = ep_str_make(b + 9, strlen(b + 9));
    cond_range r[COND_MAX_RANGES];
    size_t n = 0;
    char part[512];
    for (size_t i = 0; i + 1 < p->nseg; i += 2) {
        assert_null(p->seg[i + 1].mem);
        r[n] = (cond_range){ p->seg[i + 1].off, p->seg[i + 1].off + (int64_t)p->seg[i + 1].len - 1 };
        size_t len = cond_part_head(part, sizeof part, boundary, c->mp_type, &r[n], size);
        assert_int_equal(p->seg[i].len, len);
        assert_memory_equal(p->seg[i].mem, part, len);
        n++;
    }
    size_t len = cond_multipart_tail(part, sizeof part, boundary);
    assert_int_equal(p->seg[p->nseg - 1].len, len);
    assert_memory_equal(p->seg[p->nseg - 1].mem, part, len);
    assert_int_equal(p->f.content_length, cond_multipart_length(boundary, c->mp_type, r, n, size));
}

/* What holds for every plan: Content-Length is the segments' total (what
 * GET would get, for HEAD), none on 204 and 304, no body to HEAD. */
static void check_framing(const route_case *c, const route *rt)
{
    const http_plan *p = &rt->plan;
    uint64_t total = 0;
    for (size_t i = 0; i < p->nseg; i++)
        total += p->seg[i].len;
    if (p->status == 204 || p->status == 304) {
        assert_int_equal(p->f.content_length, -1);
        assert_int_equal(p->nseg, 0);
    } else {
        assert_int_equal(p->f.content_length, (int64_t)p->body_len);
        if (rt->rq->head_only)
            assert_int_equal(p->nseg, 0);
        else if ((uint64_t)p->f.content_length != total)
            fail_msg("%s: Content-Length %lld, segments %llu", c->what, (long long)p->f.content_length,
                     (unsigned long long)total);
    }
    if (c->note ? !strstr(rt->note, c->note) : rt->note[0] != '\0')
        fail_msg("%s: note \"%s\", expected %s%s", c->what, rt->note, c->note ? "one with " : "none",
                 c->note ? c->note : "");
}

static void run_case(const route_case *c)
{
    run r;
    struct sockaddr_storage ss;
    char *fields = subst(c->fields, c->file);
    run_begin_on(&r, c->listen, c->host, c->line, fields, c->peer, &ss, c->buf);
    run_to_done(&r.rt);
    const http_plan *p = &r.rt.plan;
    if (p->status != c->status)
        fail_msg("%s: status %d, expected %d (%s)", c->what, p->status, c->status, r.rt.why ? r.rt.why : "");
    off_t size = check_fd(c, p);
    check_framing(c, &r.rt);
    check_head(c, p);
    check_segments(c, p, size);
    if (c->mp_type)
        check_multipart(c, p, size);
    run_end(&r);
    free(fields);
}


/* Every row, and no descriptor left behind: what a plan does not hold,
 * routing closed (a sibling's original, a lookup replaced by an error page). */
static void test_route_table(void **state)
{
    (void)state;
    int fds = count_fds();
    for (size_t i = 0; i < EP_ARRAY_LEN(cases); i++)
        run_case(&cases[i]);
    assert_int_equal(count_fds(), fds);
}

/* ---- the open-file cache's entry point ----------------------------------- */

/* A plan as bytes: its head, each segment's kind and place, and the body
 * the segments make (file ranges read from its fd). */
static char *plan_text(const http_plan *p)
{
    char *head = render_head(p), *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    fprintf(f, "%s|fd %d|%zu segments\n", head, p->fd >= 0, p->nseg);
    for (size_t i = 0; i < p->nseg; i++) {
        const plan_seg *s = &p->seg[i];
        char *b = malloc(s->len);
        assert_non_null(b);
        if (s->mem)
            memcpy(b, s->mem, s->len);
        else
            assert_int_equal(pread(p->fd, b, s->len, s->off), (ssize_t)s->len);
        fprintf(f, "%s %lld+%zu: ", s->mem ? "mem" : "file", s->mem ? 0LL : (long long)s->off, s->len);
        fwrite(b, 1, s->len, f);
        fputc('\n', f);
        free(b);
    }
    fclose(f);
    free(head);
    return out;
}

/* Run to the end, every cacheable lookup answered as the worker's cache
 * answers it: with the file an earlier lookup of the same path opened
 * (fd, stat, index), which stays the cache's. Returns how many it answered. */
static int run_cached(route *rt, int *cache_fd)
{
    int answered = 0;
    enum route_state s = route_request(rt);
    for (int lookups = 0; s == ROUTE_LOOKUP; lookups++) {
        assert_true(lookups < 32);
        if (!rt->cacheable || answered) {
            run_lookup(rt);
            s = route_lookup_done(rt);
            continue;
        }
        static_req fill = rt->lookup; /* the earlier lookup that filled the cache */
        fill.buf = NULL;
        run_lookup_req(&fill, rt->dir);
        if (fill.status != 200 || fill.listing) { /* the cache keeps only files: a miss */
            if (fill.res.fd >= 0)
                close(fill.res.fd);
            free(fill.out.data);
            run_lookup(rt);
            s = route_lookup_done(rt);
            continue;
        }
        *cache_fd = fill.res.fd;
        answered++;
        s = route_lookup_cached(rt, &(file_result){ .fd = fill.res.fd, .st = fill.res.st, .status = 200,
                                                    .index = fill.res.index });
    }
    return answered;
}

static void test_cached_lookup_plans_as_a_fresh_one(void **state)
{
    (void)state;
    static const struct {
        const char *host, *line, *fields;
    } reqs[] = {
        { B, "GET /a.txt", NULL },
        { B, "GET /", NULL }, /* the index: its name gives the type */
        { A, "GET /js/app.js", NULL }, /* nothing to negotiate: cacheable, with Vary and expires */
        { B, "HEAD /a.txt", NULL },
        { B, "GET /a.txt", "Range: bytes=3-7\r\n" },
        { B, "GET /a.txt", "Range: bytes=0-1,24-\r\n" },
        { B, "GET /a.txt", "Range: bytes=99-\r\n" },
        { B, "GET /a.txt", "If-None-Match: *\r\n" },
        { A, "GET /static/logo.txt", NULL },
        { A, "GET /missing.txt", NULL }, /* the error page's lookup is the cached one */
    };
    for (size_t i = 0; i < EP_ARRAY_LEN(reqs); i++) {
        run fresh, cached;
        struct sockaddr_storage ss;
        run_begin(&fresh, reqs[i].host, reqs[i].line, reqs[i].fields, NULL, &ss, false);
        run_to_done(&fresh.rt);
        char *want = plan_text(&fresh.rt.plan);
        run_begin(&cached, reqs[i].host, reqs[i].line, reqs[i].fields, NULL, &ss, false);
        int cache_fd = -1;
        if (run_cached(&cached.rt, &cache_fd) != 1)
            fail_msg("%s %s: no cacheable lookup", reqs[i].host, reqs[i].line);
        assert_int_equal(cached.rt.plan.fd, cache_fd); /* the cache's file, not a copy */
        char *got = plan_text(&cached.rt.plan);
        if (strcmp(got, want) != 0)
            fail_msg("%s %s: from the cache\n%s\nfresh\n%s", reqs[i].host, reqs[i].line, got, want);
        free(want);
        free(got);
        run_end(&fresh);
        run_end(&cached); /* closes the cache's fd: this test's cache is gone with it */
    }
}

/* The cache is keyed by the path looked up: only a lookup whose answer that
 * path alone decides may use it. A try_files list may answer with another
 * file, a precompressed sibling with one the client's Accept-Encoding chose. */
static void test_only_plain_lookups_are_cacheable(void **state)
{
    (void)state;
    static const struct {
        const char *host, *line, *fields;
        bool cacheable;
    } reqs[] = {
        { B, "GET /a.txt", NULL, true },
        { A, "GET /static/logo.txt", NULL, true },
        { A, "GET /js/app.js", NULL, true },
        { A, "GET /js/app.js", "Accept-Encoding: gzip\r\n", false },
        { A, "GET /js/app.js", "Accept-Encoding: gzip;q=0\r\n", true }, /* nothing to choose */
        { A, "GET /spa/page", NULL, false },
        { B, "GET /strict/y.txt", NULL, false },
    };
    for (size_t i = 0; i < EP_ARRAY_LEN(reqs); i++) {
        run r;
        struct sockaddr_storage ss;
        run_begin(&r, reqs[i].host, reqs[i].line, reqs[i].fields, NULL, &ss, false);
        assert_int_equal(route_request(&r.rt), ROUTE_LOOKUP);
        if (r.rt.cacheable != reqs[i].cacheable)
            fail_msg("%s %s %s: cacheable %d", reqs[i].host, reqs[i].line, reqs[i].fields ? reqs[i].fields : "",
                     r.rt.cacheable);
        run_end(&r);
    }
}

/* ---- errors the caller runs into, and abandoned lookups ------------------- */

/* route_error(405) answers with the methods of the place routing reached
 * (none yet: GET and HEAD); close says the connection ends after it. */
static void test_route_error_405_allow(void **state)
{
    (void)state;
    static const struct {
        const char *host, *line; /* NULL line: before route_request */
        const char *allow;
    } cases405[] = {
        { B, NULL, "GET, HEAD" },
        { A, "GET /ro/r.txt", "GET, HEAD" },
        { A, "GET /api/x", "GET, HEAD, POST" },
        { A, "GET /a.txt", "GET, HEAD, OPTIONS" },
        { B, "GET /a.txt", "GET, HEAD" },
    };
    for (size_t i = 0; i < EP_ARRAY_LEN(cases405); i++) {
        run r;
        struct sockaddr_storage ss;
        run_begin(&r, cases405[i].host, cases405[i].line ? cases405[i].line : "GET /", NULL, NULL, &ss, false);
        if (cases405[i].line && route_request(&r.rt) == ROUTE_LOOKUP)
            route_abandon(&r.rt);
        route_error(&r.rt, 405, true);
        const http_plan *p = &r.rt.plan;
        assert_int_equal(p->status, 405);
        assert_true(p->close);
        char *line = xasprintf("Allow: %s", cases405[i].allow);
        char *head = render_head(p);
        if (!head_has(head, line))
            fail_msg("%s %s: no \"%s\" in\n%s", cases405[i].host, cases405[i].line, line, head);
        size_t blen;
        const char *body = resp_error_body(405, &blen);
        assert_int_equal(p->nseg, 1);
        assert_memory_equal(p->seg[0].mem, body, blen);
        assert_int_equal(p->f.content_length, (int64_t)blen);
        free(line);
        free(head);
        run_end(&r);
    }
}

/* A status page: the counters the worker's env points at, as nginx's
 * stub_status text, never cached, the place's add_header on it; its access
 * rules apply; HEAD keeps the length; without counters, 503. */
static void test_status_page(void **state)
{
    (void)state;
    mx_region *mx = mx_open();
    assert_non_null(mx);
    mx->slots[0].c.accepted = mx->slots[0].c.handled = 3;
    mx->slots[0].c.requests = 5;
    mx->slots[0].c.waiting = 2;
    mx->nslots = 1;
    static const char want[] = "Active connections: 2 \nserver accepts handled requests\n 3 3 5 \n"
                               "Reading: 0 Writing: 0 Waiting: 2 \n";
    for (int head_only = 0; head_only < 2; head_only++) {
        run r;
        struct sockaddr_storage ss;
        run_begin(&r, A, head_only ? "HEAD /status" : "GET /status", NULL, "127.0.0.1", &ss, false);
        r.env.mx = mx;
        run_to_done(&r.rt);
        const http_plan *p = &r.rt.plan;
        assert_int_equal(p->status, 200);
        char *h = render_head(p);
        char *len = xasprintf("Content-Length: %zu", sizeof want - 1);
        assert_true(head_has(h, "Content-Type: text/plain"));
        assert_true(head_has(h, "Cache-Control: no-store"));
        assert_true(head_has(h, "X-Site: a"));
        assert_true(head_has(h, len));
        assert_false(head_has(h, "ETag"));
        assert_false(head_has(h, "Last-Modified"));
        if (head_only) {
            assert_int_equal(p->nseg, 0);
        } else {
            assert_int_equal(p->nseg, 1);
            assert_int_equal(p->seg[0].len, sizeof want - 1);
            assert_memory_equal(p->seg[0].mem, want, sizeof want - 1);
        }
        free(len);
        free(h);
        run_end(&r);
    }
    run r;
    struct sockaddr_storage ss;
    run_begin(&r, A, "GET /status", NULL, "10.1.2.3", &ss, false);
    r.env.mx = mx;
    run_to_done(&r.rt);
    assert_int_equal(r.rt.plan.status, 403);
    run_end(&r);
    run_begin(&r, A, "GET /status", NULL, "127.0.0.1", &ss, false);
    run_to_done(&r.rt); /* no counters: nothing to show */
    assert_int_equal(r.rt.plan.status, 503);
    run_end(&r);
    mx_close(mx);
}

/* A health check: "ok", or 503 "draining" once the region says the server
 * drains; never cached. */
static void test_health_check(void **state)
{
    (void)state;
    mx_region *mx = mx_open();
    assert_non_null(mx);
    for (int draining = 0; draining < 2; draining++) {
        mx->draining = (uint64_t)draining;
        run r;
        struct sockaddr_storage ss;
        run_begin(&r, A, "GET /hc", NULL, NULL, &ss, false);
        r.env.mx = mx;
        run_to_done(&r.rt);
        const http_plan *p = &r.rt.plan;
        assert_int_equal(p->status, draining ? 503 : 200);
        assert_int_equal(p->nseg, 1);
        const char *want = draining ? "draining\n" : "ok\n";
        assert_int_equal(p->seg[0].len, strlen(want));
        assert_memory_equal(p->seg[0].mem, want, strlen(want));
        char *h = render_head(p);
        assert_true(head_has(h, "Cache-Control: no-store"));
        assert_true(head_has(h, "Content-Type: text/plain"));
        free(h);
        run_end(&r);
    }
    mx_close(mx);
}

/* etag = "content": a small file asks for its hash (ROUTE_HASH) unless
 * the executor offers it; the ETag is the hash, the mtime's is never sent;
 * If-None-Match compares with it; a large file goes without an ETag and
 * is marked for hashing later; an unreadable one, without. */
static void test_content_etag(void **state)
{
    (void)state;
    uint8_t h[16];
    memset(h, 0xab, sizeof h);
    static const char tag[] = "\"abababababababababababababababab\"";
    for (int offered = 0; offered < 2; offered++) {
        run r;
        struct sockaddr_storage ss;
        run_begin(&r, A, "GET /ch/c.txt", NULL, NULL, &ss, false);
        assert_int_equal(route_request(&r.rt), ROUTE_LOOKUP);
        run_lookup(&r.rt);
        if (offered)
            route_offer_hash(&r.rt, h);
        enum route_state st = route_lookup_done(&r.rt);
        if (!offered) {
            assert_int_equal(st, ROUTE_HASH);
            assert_true(r.rt.plan.fd >= 0); /* the file the executor hashes */
            st = route_hash_done(&r.rt, h);
        }
        assert_int_equal(st, ROUTE_DONE);
        assert_int_equal(r.rt.plan.status, 200);
        char *head = render_head(&r.rt.plan), *want = xasprintf("ETag: %s", tag);
        assert_true(head_has(head, want));
        assert_true(head_has(head, "Content-Length: 8"));
        free(want);
        free(head);
        run_end(&r);
    }
    char *inm = xasprintf("If-None-Match: %s\r\n", tag);
    run r;
    struct sockaddr_storage ss;
    run_begin(&r, A, "GET /ch/c.txt", inm, NULL, &ss, false);
    assert_int_equal(route_request(&r.rt), ROUTE_LOOKUP);
    run_lookup(&r.rt);
    route_offer_hash(&r.rt, h);
    assert_int_equal(route_lookup_done(&r.rt), ROUTE_DONE);
    assert_int_equal(r.rt.plan.status, 304);
    run_end(&r);
    free(inm);
    /* unreadable: served, no ETag at all */
    run_begin(&r, A, "GET /ch/c.txt", NULL, NULL, &ss, false);
    route_request(&r.rt);
    run_lookup(&r.rt);
    assert_int_equal(route_lookup_done(&r.rt), ROUTE_HASH);
    assert_int_equal(route_hash_done(&r.rt, NULL), ROUTE_DONE);
    char *head = render_head(&r.rt.plan);
    assert_false(head_has(head, "ETag"));
    free(head);
    run_end(&r);
    /* larger than ROUTE_HASH_MAX: no ETag now, hashed later */
    char *big = fixture_path("site/ch/big.bin");
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0 && ftruncate(fd, ROUTE_HASH_MAX + 1) == 0);
    close(fd);
    run_begin(&r, A, "GET /ch/big.bin", NULL, NULL, &ss, false);
    route_request(&r.rt);
    run_lookup(&r.rt);
    assert_int_equal(route_lookup_done(&r.rt), ROUTE_DONE);
    assert_true(r.rt.hash_later);
    head = render_head(&r.rt.plan);
    assert_false(head_has(head, "ETag"));
    free(head);
    run_end(&r);
    unlink(big);
    free(big);
}

/* An executor's failure after a file plan: a new head and body, nothing of
 * the file's (validators, ranges) left in it; the file stays the plan's to
 * release. */
static void test_route_error_replaces_a_file_plan(void **state)
{
    (void)state;
    run r;
    struct sockaddr_storage ss;
    run_begin(&r, A, "GET /a.txt", "Range: bytes=0-3\r\n", NULL, &ss, false);
    run_to_done(&r.rt);
    assert_int_equal(r.rt.plan.status, 206);
    int fd = r.rt.plan.fd;
    assert_true(fd >= 0);
    route_error(&r.rt, 500, true);
    const http_plan *p = &r.rt.plan;
    assert_int_equal(p->fd, fd);
    assert_int_equal(p->status, 500);
    char *head = render_head(p);
    static const char *const gone[] = { "ETag: *", "Last-Modified: *", "Content-Range: *", "Accept-Ranges: *",
                                        "X-Site: *" };
    for (size_t i = 0; i < EP_ARRAY_LEN(gone); i++)
        if (head_has(head, gone[i]))
            fail_msg("\"%s\" left in\n%s", gone[i], head);
    assert_true(head_has(head, "X-Always: 1")); /* the place's "always" header still goes on */
    size_t blen;
    resp_error_body(500, &blen);
    assert_true(head_has(head, "Content-Type: text/html"));
    assert_int_equal(p->f.content_length, (int64_t)blen);
    free(head);
    run_end(&r);
}

/* A connection that goes away while its lookup is pending: route_abandon
 * closes the file it opened and frees a rendered listing (ASan's leak
 * check sees the latter); twice is harmless. */
static void test_abandon_releases_the_lookup(void **state)
{
    (void)state;
    run r;
    struct sockaddr_storage ss;
    run_begin(&r, B, "GET /a.txt", NULL, NULL, &ss, false);
    assert_int_equal(route_request(&r.rt), ROUTE_LOOKUP);
    run_lookup(&r.rt);
    int fd = r.rt.lookup.res.fd;
    assert_true(fd >= 0);
    route_abandon(&r.rt);
    assert_int_equal(r.rt.lookup.res.fd, -1);
    errno = 0;
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    route_abandon(&r.rt);
    run_end(&r);

    run_begin(&r, A, "GET /list/", NULL, NULL, &ss, false);
    assert_int_equal(route_request(&r.rt), ROUTE_LOOKUP);
    run_lookup(&r.rt);
    assert_true(r.rt.lookup.listing);
    assert_non_null(r.rt.lookup.out.data);
    route_abandon(&r.rt);
    assert_null(r.rt.lookup.out.data);
    run_end(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_table),
        cmocka_unit_test(test_cached_lookup_plans_as_a_fresh_one),
        cmocka_unit_test(test_only_plain_lookups_are_cacheable),
        cmocka_unit_test(test_route_error_405_allow),
        cmocka_unit_test(test_status_page),
        cmocka_unit_test(test_health_check),
        cmocka_unit_test(test_content_etag),
        cmocka_unit_test(test_route_error_replaces_a_file_plan),
        cmocka_unit_test(test_abandon_releases_the_lookup),
    };
    return cmocka_run_group_tests(tests, route_setup, route_teardown);
}
