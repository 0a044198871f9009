/* tests/unit/test_loc.c: nginx's location choice, regex compilation, and virtual-server choice by Host. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/loc.h"

/* ---- Locations, built by hand ------------------------------------------- */

#define MAX_LOCS 16

/* A server with locations written in nginx's notation, compiled. */
typedef struct {
    cfg_server s;
    cfg_location locs[MAX_LOCS];
    void *scratch;
} fixture;

static loc_kind kind_of(const char *mod)
{
    if (strcmp(mod, "=") == 0)
        return LOC_EXACT;
    if (strcmp(mod, "^~") == 0)
        return LOC_PREFIX_NOREGEX;
    if (strcmp(mod, "~") == 0)
        return LOC_REGEX;
    if (strcmp(mod, "~*") == 0)
        return LOC_REGEX_ICASE;
    return LOC_PREFIX;
}

/* specs: pairs of modifier ("" for a plain prefix) and pattern, NULL-ended.
 * Each location's `where` holds its name, so tests can say which one won. */
static void setup_locs(fixture *f, const char *const *specs)
{
    memset(f, 0, sizeof *f);
    size_t n = 0;
    for (; specs[2 * n]; n++) {
        assert_true(n < MAX_LOCS);
        cfg_location *l = &f->locs[n];
        l->kind = kind_of(specs[2 * n]);
        l->pattern = (char *)specs[2 * n + 1];
        char err[256];
        if (loc_compile(l, err, sizeof err) != 0)
            fail_msg("%s: %s", l->pattern, err);
    }
    f->s.locs = f->locs;
    f->s.nlocs = n;
    f->scratch = loc_scratch_new();
    assert_non_null(f->scratch);
}

static void teardown_locs(fixture *f)
{
    for (size_t i = 0; i < f->s.nlocs; i++)
        loc_release(&f->locs[i]);
    loc_scratch_free(f->scratch);
}

/* Index of the location chosen for path, -1 for none. */
static int pick(fixture *f, const char *path)
{
    const cfg_location *l = loc_match(&f->s, path, strlen(path), f->scratch);
    return l ? (int)(l - f->locs) : -1;
}

static void test_nginx_doc_example(void **state)
{
    (void)state;
    /* http://nginx.org/en/docs/http/ngx_http_core_module.html#location */
    static const char *const specs[] = {
        "=", "/",                         /* A */
        "", "/",                          /* B */
        "", "/documents/",                /* C */
        "^~", "/images/",                 /* D */
        "~*", "\\.(gif|jpg|jpeg)$",       /* E */
        NULL,
    };
    fixture f;
    setup_locs(&f, specs);
    assert_int_equal(pick(&f, "/"), 0);
    assert_int_equal(pick(&f, "/index.html"), 1);
    assert_int_equal(pick(&f, "/documents/document.html"), 2);
    assert_int_equal(pick(&f, "/images/1.gif"), 3);
    assert_int_equal(pick(&f, "/documents/1.jpg"), 4);
    assert_int_equal(pick(&f, "/documents/1.JPG"), 4); /* ~* */
    assert_int_equal(pick(&f, "/x.gif"), 4);
    teardown_locs(&f);
}

static void test_regex_order(void **state)
{
    (void)state;
    /* The first regex in config order wins, not the longest or most specific. */
    static const char *const specs[] = {
        "", "/",
        "~", "\\.php$",
        "~", "^/admin/.*\\.php$",
        "~", "^/admin/",
        NULL,
    };
    fixture f;
    setup_locs(&f, specs);
    assert_int_equal(pick(&f, "/admin/x.php"), 1);
    assert_int_equal(pick(&f, "/admin/x.html"), 3);
    assert_int_equal(pick(&f, "/x.html"), 0);
    teardown_locs(&f);
}

static void test_noregex_only_when_longest(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "^~", "/static/",
        "", "/static/js/",
        "~", "\\.js$",
        "^~", "/static/img/",
        NULL,
    };
    fixture f;
    setup_locs(&f, specs);
    /* ^~ /static/ is not the longest prefix here, so the regex is tried. */
    assert_int_equal(pick(&f, "/static/js/app.js"), 2);
    /* The longest prefix is plain and no regex matches: it wins. */
    assert_int_equal(pick(&f, "/static/js/app.map"), 1);
    /* ^~ /static/ is the longest: regexes are skipped. */
    assert_int_equal(pick(&f, "/static/app.js"), 0);
    assert_int_equal(pick(&f, "/static/img/x.js"), 3);
    /* Only the regex matches. */
    assert_int_equal(pick(&f, "/other.js"), 2);
    teardown_locs(&f);
}

static void test_exact_beats_everything(void **state)
{
    (void)state;
    /* Exact listed last still wins over ^~, longer prefixes and regexes. */
    static const char *const specs[] = {
        "^~", "/a",
        "", "/a/b/c.png",
        "~", "png$",
        "=", "/a/b/c.png",
        "=", "/a/b",
        NULL,
    };
    fixture f;
    setup_locs(&f, specs);
    assert_int_equal(pick(&f, "/a/b/c.png"), 3);
    assert_int_equal(pick(&f, "/a/b"), 4);
    assert_int_equal(pick(&f, "/a/b/"), 0);       /* "= /a/b" is not a prefix match */
    assert_int_equal(pick(&f, "/a/b/c.png2"), 1); /* longest prefix is plain; regex fails */
    assert_int_equal(pick(&f, "/a/b/c.pngx.png"), 2);
    teardown_locs(&f);
}

static void test_no_match(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "", "/api/",
        "=", "/health",
        "~", "^/x",
        NULL,
    };
    fixture f;
    setup_locs(&f, specs);
    assert_int_equal(pick(&f, "/"), -1);
    assert_int_equal(pick(&f, "/api"), -1);    /* shorter than the prefix */
    assert_int_equal(pick(&f, "/API/x"), -1);  /* prefixes are case-sensitive */
    assert_int_equal(pick(&f, "/health/"), -1);
    assert_int_equal(pick(&f, "/Health"), -1);
    assert_int_equal(pick(&f, "/X"), -1);      /* ~ is case-sensitive */
    assert_int_equal(pick(&f, "/api/"), 0);
    assert_int_equal(pick(&f, "/xyz"), 2);
    teardown_locs(&f);

    /* A server without locations. */
    static const char *const none[] = { NULL };
    setup_locs(&f, none);
    assert_int_equal(pick(&f, "/"), -1);
    teardown_locs(&f);
}

static void test_prefix_longest_and_ties(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "", "/a/b",
        "", "/a",
        "", "/a/b/c",
        "", "/a/b", /* duplicate: the first one wins */
        NULL,
    };
    fixture f;
    setup_locs(&f, specs);
    assert_int_equal(pick(&f, "/a/b/c/d"), 2);
    assert_int_equal(pick(&f, "/a/bc"), 0); /* a plain byte prefix, not a path segment */
    assert_int_equal(pick(&f, "/a/b"), 0);
    assert_int_equal(pick(&f, "/ab"), 1);
    teardown_locs(&f);
}

static void test_regex_icase(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "~", "^/Case$",
        "~*", "^/ICASE/[a-z]+$",
        NULL,
    };
    fixture f;
    setup_locs(&f, specs);
    assert_int_equal(pick(&f, "/Case"), 0);
    assert_int_equal(pick(&f, "/case"), -1);
    assert_int_equal(pick(&f, "/icase/abc"), 1);
    assert_int_equal(pick(&f, "/IcAsE/ABC"), 1);
    assert_int_equal(pick(&f, "/icase/ab1"), -1);
    teardown_locs(&f);
}

static void test_regex_high_bytes(void **state)
{
    (void)state;
    /* Decoded paths are bytes: invalid UTF-8 must match, not error. */
    static const char *const specs[] = {
        "~", "^/caf\xc3\xa9/",
        "~", "^/bin/[\\x80-\\xff]+$",
        "~", "\\.txt$",
        NULL,
    };
    fixture f;
    setup_locs(&f, specs);
    assert_int_equal(pick(&f, "/caf\xc3\xa9/menu"), 0);
    assert_int_equal(pick(&f, "/bin/\xff\xfe\x80"), 1);
    assert_int_equal(pick(&f, "/bin/\xc3("), -1);
    assert_int_equal(pick(&f, "/\xff\xc0/a.txt"), 2); /* invalid UTF-8 before the match */
    /* Bytes after a NUL in the length still count (no strlen on the path). */
    const cfg_location *l = loc_match(&f.s, "/a\0b.txt", 8, f.scratch);
    assert_ptr_equal(l, &f.locs[2]);
    teardown_locs(&f);
}

static void test_path_len_respected(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "=", "/exact",
        "", "/pre",
        NULL,
    };
    fixture f;
    setup_locs(&f, specs);
    /* Only len bytes are the path; what follows must not be read into it. */
    assert_ptr_equal(loc_match(&f.s, "/exactly", 6, f.scratch), &f.locs[0]);
    assert_null(loc_match(&f.s, "/prefix", 3, f.scratch));
    assert_ptr_equal(loc_match(&f.s, "/prefix", 4, f.scratch), &f.locs[1]);
    teardown_locs(&f);
}

static void test_compile_errors(void **state)
{
    (void)state;
    cfg_location l = { .kind = LOC_REGEX, .pattern = "(\\.png$" };
    char err[256];
    assert_int_equal(loc_compile(&l, err, sizeof err), -1);
    assert_string_equal(err, "regex \"(\\.png$\": missing closing parenthesis at offset 7");
    assert_null(l.re);

    l.kind = LOC_REGEX_ICASE;
    l.pattern = "a[b";
    assert_int_equal(loc_compile(&l, err, sizeof err), -1);
    assert_non_null(strstr(err, "regex \"a[b\": missing terminating ] for character class at offset 3"));

    /* UTF mode stays off even when the pattern asks for it. */
    l.pattern = "(*UTF)x";
    assert_int_equal(loc_compile(&l, err, sizeof err), -1);
    assert_non_null(strstr(err, "regex \"(*UTF)x\": "));

    /* A small error buffer is truncated, not overrun; NULL is allowed. */
    char small[10];
    l.pattern = "(";
    assert_int_equal(loc_compile(&l, small, sizeof small), -1);
    assert_string_equal(small, "regex \"(\"");
    assert_int_equal(loc_compile(&l, NULL, 0), -1);

    /* Non-regex kinds are left alone, whatever the pattern. */
    l.kind = LOC_PREFIX;
    l.pattern = "(";
    assert_int_equal(loc_compile(&l, err, sizeof err), 0);
    assert_null(l.re);
    loc_release(&l); /* safe without code */

    /* Compiling twice does not leak (ASan would say so). */
    l.kind = LOC_REGEX;
    l.pattern = "^/a";
    assert_int_equal(loc_compile(&l, err, sizeof err), 0);
    assert_int_equal(loc_compile(&l, err, sizeof err), 0);
    assert_non_null(l.re);
    loc_release(&l);
    assert_null(l.re);
}

static void test_uncompiled_regex_skipped(void **state)
{
    (void)state;
    cfg_location locs[2] = {
        { .kind = LOC_REGEX, .pattern = "." }, /* never compiled: re NULL */
        { .kind = LOC_PREFIX, .pattern = "/" },
    };
    cfg_server s = { .locs = locs, .nlocs = 2 };
    void *scratch = loc_scratch_new();
    assert_ptr_equal(loc_match(&s, "/x", 2, scratch), &locs[1]);
    loc_scratch_free(scratch);
}

/* ---- Virtual servers ---------------------------------------------------- */

#define MAX_SERVERS 8

typedef struct {
    cfg c;
    cfg_listen listens[2];
    cfg_server servers[MAX_SERVERS];
} vfixture;

static size_t on0[] = { 0 }, on1[] = { 1 }, on01[] = { 0, 1 };

/* Servers, in order (names NULL-ended per server):
 *   0 default.test on listener 0 (its default)
 *   1 example.org, www.example.org
 *   2 *.example.org
 *   3 *.static.example.org
 *   4 .example.net
 *   5 Mixed.Case.TEST, [::1], 192.0.2.1
 *   6 only-on-1.test, on listener 1 only (its default)
 *   7 "" (requests without Host), both listeners */
static char *n0[] = { "default.test" };
static char *n1[] = { "example.org", "www.example.org" };
static char *n2[] = { "*.example.org" };
static char *n3[] = { "*.static.example.org" };
static char *n4[] = { ".example.net" };
static char *n5[] = { "Mixed.Case.TEST", "[::1]", "192.0.2.1" };
static char *n6[] = { "only-on-1.test", "example.org" };
static char *n7[] = { "" };

static void setup_servers(vfixture *v)
{
    memset(v, 0, sizeof *v);
    v->listens[0].default_server = 0;
    v->listens[1].default_server = 6;
    v->c.listens = v->listens;
    v->c.nlistens = 2;
    struct { char **names; size_t nnames; size_t *on; size_t non; } def[MAX_SERVERS] = {
        { n0, 1, on0, 1 }, { n1, 2, on0, 1 }, { n2, 1, on0, 1 }, { n3, 1, on0, 1 },
        { n4, 1, on0, 1 }, { n5, 3, on0, 1 }, { n6, 2, on1, 1 }, { n7, 1, on01, 2 },
    };
    for (size_t i = 0; i < MAX_SERVERS; i++) {
        v->servers[i].names = def[i].names;
        v->servers[i].nnames = def[i].nnames;
        v->servers[i].listens = def[i].on;
        v->servers[i].nlistens = def[i].non;
    }
    v->c.servers = v->servers;
    v->c.nservers = MAX_SERVERS;
}

static size_t srv(const vfixture *v, size_t listen, const char *host)
{
    return loc_server(&v->c, listen, host, host ? strlen(host) : 0);
}

static const struct {
    const char *host;
    size_t want;
} host_rows[] = {
    /* Exact names, any case. */
    { "default.test", 0 },
    { "example.org", 1 },
    { "www.example.org", 1 },     /* exact beats *.example.org */
    { "EXAMPLE.ORG", 1 },
    { "mixed.case.test", 5 },
    /* Leading wildcards: the longest match wins, and not the bare name. */
    { "a.example.org", 2 },
    { "a.b.example.org", 2 },
    { "static.example.org", 2 },  /* "*.static..." needs a label before it */
    { "img.static.example.org", 3 },
    { "x.IMG.Static.Example.Org", 3 },
    { "badexample.org", 0 },      /* suffix must start at a dot */
    /* ".example.net" covers the name itself and its subdomains. */
    { "example.net", 4 },
    { "www.example.net", 4 },
    { "a.b.EXAMPLE.NET", 4 },
    { "notexample.net", 0 },
    /* Ports and a trailing dot are not part of the name. */
    { "example.org:8080", 1 },
    { "example.org.", 1 },
    { "example.org.:80", 1 },
    { "a.example.org.:443", 2 },
    { "example.net.", 4 },
    /* IP literals. */
    { "[::1]", 5 },
    { "[::1]:8080", 5 },
    { "192.0.2.1:80", 5 },
    { "[::2]:8080", 0 },
    /* Unknown and malformed: the listener's default. */
    { "unknown.test", 0 },
    { "org", 0 },
    { "[::1", 0 },
    { "[::1]x", 0 },
    { "[]", 0 },
    { ":80", 0 },
    { ".", 0 },
    /* A server on another listener is never chosen, even by exact name. */
    { "only-on-1.test", 0 },
};

static void test_server_table(void **state)
{
    (void)state;
    vfixture v;
    setup_servers(&v);
    for (size_t i = 0; i < sizeof host_rows / sizeof host_rows[0]; i++) {
        size_t got = srv(&v, 0, host_rows[i].host);
        if (got != host_rows[i].want)
            fail_msg("Host \"%s\": server %zu, want %zu", host_rows[i].host, got, host_rows[i].want);
    }
}

static void test_server_listener(void **state)
{
    (void)state;
    vfixture v;
    setup_servers(&v);
    assert_int_equal(srv(&v, 1, "only-on-1.test"), 6);
    assert_int_equal(srv(&v, 1, "example.org"), 6);     /* server 1 is not on listener 1 */
    assert_int_equal(srv(&v, 1, "a.example.org"), 6);   /* nor is the wildcard */
    assert_int_equal(srv(&v, 1, "default.test"), 6);    /* listener 1's default */
    assert_int_equal(srv(&v, 1, "unknown"), 6);
}

static void test_server_no_host(void **state)
{
    (void)state;
    vfixture v;
    setup_servers(&v);
    /* server_name "" answers requests without a Host, as in nginx. */
    assert_int_equal(srv(&v, 0, NULL), 7);
    assert_int_equal(srv(&v, 1, ""), 7);
    /* Without such a server: the default. */
    v.c.nservers = 7;
    assert_int_equal(srv(&v, 0, NULL), 0);
    assert_int_equal(srv(&v, 1, NULL), 6);
    assert_int_equal(loc_server(&v.c, 0, "example.org", 0), 0); /* length 0 = absent */
}

static void test_server_wildcard_ties(void **state)
{
    (void)state;
    vfixture v;
    setup_servers(&v);
    /* A later server with the same wildcard does not take over; a later
     * exact name does, whichever came first. */
    static char *dup[] = { "*.example.org", "exact.example.org" };
    v.servers[6].names = dup;
    v.servers[6].nnames = 2;
    v.servers[6].listens = on01;
    v.servers[6].nlistens = 2;
    assert_int_equal(srv(&v, 0, "a.example.org"), 2);
    assert_int_equal(srv(&v, 0, "exact.example.org"), 6);
    assert_int_equal(srv(&v, 1, "a.example.org"), 6);
}

/* ---- Alias paths and hidden files --------------------------------------- */

/* loc_alias_path's answer for path under a location, "" when it refuses. */
static const char *alias_rest(loc_kind kind, const char *pattern, const char *path, char *out, size_t cap)
{
    static char alias[] = "/srv/a/";
    cfg_location l = { .kind = kind, .pattern = (char *)pattern, .r = { .alias = alias } };
    return loc_alias_path(&l, path, strlen(path), out, cap) ? out : "";
}

static void test_alias_path_stays_beneath(void **state)
{
    (void)state;
    char out[64];
    static const struct {
        loc_kind kind;
        const char *pattern, *path, *want; /* want "": refused */
    } cases[] = {
        { LOC_PREFIX, "/al", "/al/x.txt", "/x.txt" },
        { LOC_PREFIX, "/al", "/al", "/" },
        { LOC_PREFIX, "/al", "/alx/y", "/x/y" }, /* beneath the alias, not beside it */
        { LOC_PREFIX, "/al", "/al..x", "/..x" }, /* a name, not a climb */
        { LOC_PREFIX, "/al", "/al.x", "/.x" },
        /* the cut segment is "." or "..": never above the alias (issue 12) */
        { LOC_PREFIX, "/al", "/al../secret", "" },
        { LOC_PREFIX, "/al", "/al../", "" },
        { LOC_PREFIX, "/al", "/al..", "" },
        { LOC_PREFIX, "/al", "/al./x", "" },
        { LOC_PREFIX, "/al", "/al.", "" },
        { LOC_PREFIX_NOREGEX, "/al", "/al../../etc/passwd", "" },
        { LOC_PREFIX, "/al/", "/al/x", "/x" },
        { LOC_PREFIX, "/al/", "/al/", "/" },
        { LOC_PREFIX, "/al/", "/al/..x/y", "/..x/y" },
        { LOC_EXACT, "/al", "/al", "/" },
        { LOC_PREFIX, "/", "/x/y", "/x/y" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = alias_rest(cases[i].kind, cases[i].pattern, cases[i].path, out, sizeof out);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s under %s: \"%s\", want \"%s\"", cases[i].path, cases[i].pattern, got, cases[i].want);
    }
    /* too long for out: refused, nothing written past cap */
    char small[4] = "zzz";
    assert_string_equal(alias_rest(LOC_PREFIX, "/al/", "/al/abcd", small, sizeof small), "");
    assert_string_equal(alias_rest(LOC_PREFIX, "/al/", "/al/ab", small, sizeof small), "/ab");
}

/* loc_hidden for path under a location (NULL pattern: no location; alias:
 * whether the location has one). */
static bool hidden(const char *pattern, bool alias, const char *path)
{
    static char dir[] = "/srv/a/";
    cfg_location l = { .kind = LOC_PREFIX, .pattern = (char *)pattern, .r = { .alias = alias ? dir : NULL } };
    return loc_hidden(pattern ? &l : NULL, path, strlen(path));
}

static void test_hidden_paths(void **state)
{
    (void)state;
    static const struct {
        const char *pattern;
        bool alias;
        const char *path;
        bool want;
    } cases[] = {
        { NULL, false, "/.env", true },
        { NULL, false, "/.git/config", true },
        { NULL, false, "/a/.hidden/x", true },
        { NULL, false, "/a/.hidden/", true },
        { NULL, false, "/...", true },
        { NULL, false, "/..x", true },
        { NULL, false, "/", false },
        { NULL, false, "/a/b.c", false },
        { NULL, false, "/a./b", false },
        { NULL, false, "/file.txt", false },
        /* RFC 8615: the folder itself, not what hides below it */
        { NULL, false, "/.well-known", false },
        { NULL, false, "/.well-known/", false },
        { NULL, false, "/.well-known/acme-challenge/t", false },
        { NULL, false, "/.well-known/.git/config", true },
        { NULL, false, "/.well-knownx", true },
        { NULL, false, "/.well-known.txt", true },
        { NULL, false, "/x/.well-known/t", true },
        /* a location with a root: the whole path is looked up */
        { "/.a/", false, "/.a/x", true },
        /* beneath an alias only the rest is a file-system path */
        { "/.a/", true, "/.a/x", false },
        { "/.a/", true, "/.a/.y", true },
        { "/al", true, "/al/x", false },
        { "/al", true, "/alx", false },
        { "/al", true, "/al.x", true },
        { "/al", true, "/al/.x", true },
        { "/al", true, "/al../x", true },
        { "/", true, "/.well-known/t", false },
        { "/", true, "/.env", true },
        { "/.well-known/", true, "/.well-known/acme-challenge/t", false },
        { "/x/", true, "/x/.well-known/t", true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (hidden(cases[i].pattern, cases[i].alias, cases[i].path) != cases[i].want)
            fail_msg("%s under %s%s: want %s", cases[i].path, cases[i].pattern ? cases[i].pattern : "(none)",
                     cases[i].alias ? " (alias)" : "", cases[i].want ? "hidden" : "not hidden");
    /* only len bytes count */
    assert_false(loc_hidden(NULL, "/a/.b", 3));
    assert_true(loc_hidden(NULL, "/a/.b", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nginx_doc_example),
        cmocka_unit_test(test_regex_order),
        cmocka_unit_test(test_noregex_only_when_longest),
        cmocka_unit_test(test_exact_beats_everything),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_prefix_longest_and_ties),
        cmocka_unit_test(test_regex_icase),
        cmocka_unit_test(test_regex_high_bytes),
        cmocka_unit_test(test_path_len_respected),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_uncompiled_regex_skipped),
        cmocka_unit_test(test_server_table),
        cmocka_unit_test(test_server_listener),
        cmocka_unit_test(test_server_no_host),
        cmocka_unit_test(test_server_wildcard_ties),
        cmocka_unit_test(test_alias_path_stays_beneath),
        cmocka_unit_test(test_hidden_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
