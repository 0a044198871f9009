/* tests/unit/test_autoindex.c: autoindex_render on a temp tree: order, escaping, JSON, errors, cap. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/autoindex.h"

#define MTIME 1795523696 /* Tue, 24 Nov 2026 12:34:56 GMT */
#define CYR "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82" /* "Привет" */

/* The fixture tree, made once by group_setup. */
static char tree[64];
static int tree_fd = -1;

/* Visible entries of the tree in the order the listing must have: the
 * directories, then the rest, each by strcmp. */
static const struct {
    const char *name;
    bool dir;
    long long size;
} listed[] = {
    { "Zed", true, 0 },
    { "b dir", true, 0 },
    { "link-to-sub", true, 0 }, /* a symlink to a directory is one */
    { "sub", true, 0 },
    { "100%", false, 1 },
    { "<tag>.html", false, 2 },
    { "a b.txt", false, 5 },
    { "a:b", false, 3 },
    { "back\\slash", false, 4 },
    { "ctl\x01\n", false, 6 },
    { "empty", false, 0 },
    { "hash#1", false, 7 },
    { "it's", false, 8 },
    { "q\"uote", false, 9 },
    { "what?", false, 10 },
    { "x&y", false, 11 },
    { CYR ".txt", false, 12 },
};
#define NLISTED (sizeof listed / sizeof listed[0])

static void make_file(int dfd, const char *name, long long size)
{
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    for (long long i = 0; i < size; i++)
        assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
}

static void set_mtime(int dfd, const char *name)
{
    struct timespec ts[2] = { { MTIME, 0 }, { MTIME, 0 } };
    assert_int_equal(utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (flag == FTW_DP)
        chmod(path, 0700); /* the unreadable-directory test may leave one behind */
    return remove(path);
}

static void rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(tree, sizeof tree, "%s/ai.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(tree))
        return -1;
    tree_fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tree_fd < 0)
        return -1;
    for (size_t i = 0; i < NLISTED; i++) {
        if (listed[i].dir && strcmp(listed[i].name, "link-to-sub") != 0)
            assert_int_equal(mkdirat(tree_fd, listed[i].name, 0755), 0);
        else if (!listed[i].dir)
            make_file(tree_fd, listed[i].name, listed[i].size);
    }
    assert_int_equal(symlinkat("sub", tree_fd, "link-to-sub"), 0);
    assert_int_equal(symlinkat("nowhere", tree_fd, "dangling"), 0);
    make_file(tree_fd, ".hidden", 1);
    assert_int_equal(mkdirat(tree_fd, ".hiddendir", 0755), 0);
    for (size_t i = 0; i < NLISTED; i++)
        set_mtime(tree_fd, listed[i].name);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (tree_fd >= 0)
        close(tree_fd);
    rm_tree(tree);
    return 0;
}

static char *render(int fd, const char *path, bool json)
{
    ai_buf b = { (char *)"garbage", 99, 99 }; /* must be overwritten, not freed */
    assert_int_equal(autoindex_render(fd, path, strlen(path), json, &b), 0);
    assert_non_null(b.data);
    assert_int_equal(strlen(b.data), b.len);
    assert_true(b.len < b.cap);
    return b.data;
}

/* Not a strstr loop: ASan's strstr measures the whole haystack on every
 * call, which makes counting 100000 rows quadratic. */
static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (const char *p = hay; *p != '\0'; p++) {
        if (*p == needle[0] && strncmp(p, needle, nl) == 0) {
            n++;
            p += nl - 1;
        }
    }
    return n;
}

/* ---- HTML --------------------------------------------------------------- */

static void test_html_rows(void **state)
{
    (void)state;
    char *h = render(tree_fd, "/dir/", false);

    /* Whole rows: link, escaped text, time, size. */
    static const char *rows[] = {
        "<tr><td><a href=\"a%20b.txt\">a b.txt</a></td><td>2026-11-24 12:34</td><td>5</td></tr>\n",
        "<tr><td><a href=\"empty\">empty</a></td><td>2026-11-24 12:34</td><td>0</td></tr>\n",
        "<tr><td><a href=\"sub/\">sub/</a></td><td>2026-11-24 12:34</td><td>-</td></tr>\n",
        "<tr><td><a href=\"b%20dir/\">b dir/</a></td><td>2026-11-24 12:34</td><td>-</td></tr>\n",
        ("<tr><td><a href=\"link-to-sub/\">link-to-sub/</a></td><td>2026-11-24 12:34</td>"
         "<td>-</td></tr>\n"),
        "<tr><td><a href=\"../\">../</a></td><td></td><td>-</td></tr>\n",
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!strstr(h, rows[i]))
            fail_msg("missing row %s in:\n%s", rows[i], h);
    }
    /* Escaping: href percent-encoded, text HTML-escaped. */
    static const char *frags[] = {
        "href=\"%3Ctag%3E.html\">&lt;tag&gt;.html</a>",
        "href=\"x%26y\">x&amp;y</a>",
        "href=\"q%22uote\">q&quot;uote</a>",
        "href=\"it%27s\">it&#39;s</a>",
        "href=\"100%25\">100%</a>",
        "href=\"hash%231\">hash#1</a>",
        "href=\"what%3F\">what?</a>",
        "href=\"a%3Ab\">a:b</a>", /* not a scheme */
        "href=\"back%5Cslash\">back\\slash</a>",
        "href=\"ctl%01%0A\">",
        "href=\"%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82.txt\">" CYR ".txt</a>",
        "<td>12</td>", /* the Cyrillic file's size */
    };
    for (size_t i = 0; i < sizeof frags / sizeof frags[0]; i++) {
        if (!strstr(h, frags[i]))
            fail_msg("missing %s in:\n%s", frags[i], h);
    }
    /* Hidden and dangling entries are left out; exactly one row each. */
    assert_null(strstr(h, "hidden"));
    assert_null(strstr(h, "dangling"));
    assert_null(strstr(h, "nowhere"));
    assert_int_equal(count(h, "<tr><td>"), NLISTED + 1);
    assert_int_equal(count(h, "<a href="), NLISTED + 1);
    assert_null(strstr(h, "truncated"));
    free(h);
}

static void test_html_order(void **state)
{
    (void)state;
    char *h = render(tree_fd, "/dir/", false);
    const char *at = strstr(h, "href=\"../\"");

    assert_non_null(at);
    for (size_t i = 0; i < NLISTED; i++) {
        /* Each row follows the previous one: find its text after "at". */
        char want[128];
        const char *n = listed[i].name;
        if (strchr(n, '<') || strchr(n, '&') || strchr(n, '"') || strchr(n, '\''))
            continue; /* escaped forms are checked in test_html_rows */
        snprintf(want, sizeof want, "\">%s%s</a>", n, listed[i].dir ? "/" : "");
        const char *p = strstr(h, want);
        if (!p || p < at)
            fail_msg("%s out of order in:\n%s", n, h);
        at = p;
    }
    free(h);
}

static void test_html_page(void **state)
{
    (void)state;
    char *h = render(tree_fd, "/a&b <c>/\"d'/", false);

    assert_true(strncmp(h, "<!DOCTYPE html>\n", 16) == 0);
    assert_non_null(strstr(h, "<title>Index of /a&amp;b &lt;c&gt;/&quot;d&#39;/</title>"));
    assert_non_null(strstr(h, "<h1>Index of /a&amp;b &lt;c&gt;/&quot;d&#39;/</h1>"));
    assert_non_null(strstr(h, "</html>\n"));
    assert_null(strstr(h, "<c>"));
    free(h);

    /* No parent link at the root; one anywhere else. */
    h = render(tree_fd, "/", false);
    assert_non_null(strstr(h, "<title>Index of /</title>"));
    assert_null(strstr(h, "../"));
    assert_non_null(strstr(h, "href=\"sub/\""));
    free(h);
    h = render(tree_fd, "/x/", false);
    assert_int_equal(count(h, "href=\"../\""), 1);
    free(h);
    h = render(tree_fd, "/" CYR "/", false);
    assert_non_null(strstr(h, "<h1>Index of /" CYR "/</h1>"));
    free(h);
}

/* ---- JSON --------------------------------------------------------------- */

/* A strict little JSON reader for exactly what the listing may contain: an
 * array of objects with string and integer members. Anything else, a raw
 * control byte in a string or a bad escape fails the test. */
typedef struct {
    char name[64], type[16], mtime[40];
    long long size; /* -1: absent */
} jentry;

static const char *jstr(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    assert_true(*p++ == '"');
    for (; *p != '"'; p++) {
        unsigned char c = (unsigned char)*p;
        assert_true(c >= 0x20); /* includes the NUL at the end */
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                unsigned v;
                assert_int_equal(sscanf(p + 1, "%4x", &v), 1);
                assert_true(v < 0x80); /* all we ever write */
                c = (unsigned char)v;
                p += 4;
            } else {
                assert_non_null(strchr("\"\\/", *p));
                c = (unsigned char)*p;
            }
        }
        assert_true(n + 1 < cap);
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return p + 1;
}

static size_t jparse(const char *p, jentry *v, size_t cap)
{
    size_t n = 0;
    assert_true(*p++ == '[');
    while (*p == '\n')
        p++;
    while (*p == '{') {
        jentry *e = &v[n];
        assert_true(n < cap);
        *e = (jentry){ .size = -1 };
        p++;
        do {
            char key[16];
            p = jstr(p, key, sizeof key);
            assert_true(*p++ == ':');
            if (strcmp(key, "size") == 0) {
                char *end;
                e->size = strtoll(p, &end, 10);
                assert_true(end > p);
                p = end;
            } else if (strcmp(key, "name") == 0) {
                p = jstr(p, e->name, sizeof e->name);
            } else if (strcmp(key, "type") == 0) {
                p = jstr(p, e->type, sizeof e->type);
            } else {
                assert_string_equal(key, "mtime");
                p = jstr(p, e->mtime, sizeof e->mtime);
            }
        } while (*p == ',' && p++);
        assert_true(*p++ == '}');
        n++;
        if (*p == ',')
            p++;
        while (*p == '\n')
            p++;
    }
    assert_true(*p++ == ']');
    assert_true(*p == '\n' && p[1] == '\0');
    return n;
}

static void test_json(void **state)
{
    (void)state;
    char *j = render(tree_fd, "/dir/", true);
    jentry v[32];
    size_t n = jparse(j, v, 32);

    assert_int_equal(n, NLISTED); /* no "..", hidden or dangling */
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(v[i].name, listed[i].name);
        assert_string_equal(v[i].type, listed[i].dir ? "directory" : "file");
        assert_string_equal(v[i].mtime, "Tue, 24 Nov 2026 12:34:56 GMT");
        assert_int_equal(v[i].size, listed[i].dir ? -1 : listed[i].size);
    }
    /* The exact text of a few. */
    assert_non_null(strstr(j, "\n{\"name\":\"a b.txt\",\"type\":\"file\","
                              "\"mtime\":\"Tue, 24 Nov 2026 12:34:56 GMT\",\"size\":5},\n"));
    assert_non_null(strstr(j, "[\n{\"name\":\"Zed\",\"type\":\"directory\","
                              "\"mtime\":\"Tue, 24 Nov 2026 12:34:56 GMT\"},\n"));
    assert_non_null(strstr(j, "\"name\":\"ctl\\u0001\\u000a\""));
    assert_non_null(strstr(j, "\"name\":\"back\\\\slash\""));
    assert_non_null(strstr(j, "\"name\":\"q\\\"uote\""));
    assert_non_null(strstr(j, "\"name\":\"<tag>.html\"")); /* no HTML escaping */
    assert_non_null(strstr(j, "\"name\":\"" CYR ".txt\"")); /* bytes as they are */
    free(j);
}

/* Names that are not UTF-8: the JSON stays valid UTF-8 (ill-formed parts
 * become \ufffd, one per maximal subpart, as Python's and browsers'
 * decoders count them) and "href" keeps the exact bytes; well-formed
 * UTF-8, up to U+10FFFF, passes as it is. */
static void test_json_not_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *name, *json; /* json: the entry up to "type" */
    } rows[] = {
        { "a\x80" "b", "{\"name\":\"a\\ufffdb\",\"href\":\"a%80b\"," },
        { "\xff", "{\"name\":\"\\ufffd\",\"href\":\"%FF\"," },
        { "over\xc0\xaf", "{\"name\":\"over\\ufffd\\ufffd\",\"href\":\"over%C0%AF\"," },
        { "ov3\xe0\x80\xaf", "{\"name\":\"ov3\\ufffd\\ufffd\\ufffd\",\"href\":\"ov3%E0%80%AF\"," },
        { "ov4\xf0\x80\x80\x80", "{\"name\":\"ov4\\ufffd\\ufffd\\ufffd\\ufffd\",\"href\":\"ov4%F0%80%80%80\"," },
        { "sur\xed\xa0\x80", "{\"name\":\"sur\\ufffd\\ufffd\\ufffd\",\"href\":\"sur%ED%A0%80\"," },
        { "cut\xe2\x82", "{\"name\":\"cut\\ufffd\",\"href\":\"cut%E2%82\"," },
        { "cut2\xe2\x82x", "{\"name\":\"cut2\\ufffdx\",\"href\":\"cut2%E2%82x\"," },
        { "big\xf4\x90\x80\x80", "{\"name\":\"big\\ufffd\\ufffd\\ufffd\\ufffd\",\"href\":\"big%F4%90%80%80\"," },
        { "f5\xf5", "{\"name\":\"f5\\ufffd\",\"href\":\"f5%F5\"," },
        { "q\"\\\x01\xff", "{\"name\":\"q\\\"\\\\\\u0001\\ufffd\",\"href\":\"q%22%5C%01%FF\"," },
        { "emoji\xf0\x9f\x98\x80", "{\"name\":\"emoji\xf0\x9f\x98\x80\",\"type" },
        { "max\xf4\x8f\xbf\xbf", "{\"name\":\"max\xf4\x8f\xbf\xbf\",\"type" },
        { "ed\xed\x9f\xbf", "{\"name\":\"ed\xed\x9f\xbf\",\"type" }, /* U+D7FF, just below */
    };
    assert_int_equal(mkdirat(tree_fd, ".bytes", 0755), 0);
    int fd = openat(tree_fd, ".bytes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        make_file(fd, rows[i].name, 1);
    assert_int_equal(mkdirat(fd, "d\xfe", 0755), 0);
    char *j = render(fd, "/b/", true);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (!strstr(j, rows[i].json))
            fail_msg("no %s in:\n%s", rows[i].json, j);
    assert_non_null(strstr(j, "[\n{\"name\":\"d\\ufffd\",\"href\":\"d%FE/\",\"type\":\"directory\","));
    /* Only bytes below 0x80 outside the well-formed names. */
    size_t high = 0;
    for (const unsigned char *p = (const unsigned char *)j; *p; p++)
        high += *p >= 0x80;
    assert_int_equal(high, 4 + 4 + 3);
    close(fd);
    free(j);
}

/* ---- edges and errors --------------------------------------------------- */

static void test_empty_dir(void **state)
{
    (void)state;
    assert_int_equal(mkdirat(tree_fd, ".empty", 0755), 0);
    int fd = openat(tree_fd, ".empty", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);

    char *h = render(fd, "/.empty/", false);
    assert_int_equal(count(h, "<tr>"), 2); /* header and "../" */
    assert_non_null(strstr(h, "</table>"));
    free(h);
    char *j = render(fd, "/.empty/", true);
    assert_string_equal(j, "[\n]\n");
    jentry v[1];
    assert_int_equal(jparse(j, v, 1), 0);
    free(j);
    close(fd);
    assert_int_equal(unlinkat(tree_fd, ".empty", AT_REMOVEDIR), 0);
}

static void expect_error(int fd, int want_errno)
{
    ai_buf b = { (char *)"garbage", 7, 8 };
    errno = 0;
    assert_int_equal(autoindex_render(fd, "/x/", 3, false, &b), -1);
    assert_int_equal(errno, want_errno);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    errno = 0;
    assert_int_equal(autoindex_render(fd, "/x/", 3, true, &b), -1);
    assert_int_equal(errno, want_errno);
    assert_null(b.data);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error(-1, EBADF);

    int fd = openat(tree_fd, "empty", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    expect_error(fd, ENOTDIR);
    close(fd);
    expect_error(fd, EBADF); /* closed */

    /* A directory we may not read, held by an O_PATH fd. Root reads it
     * anyway, so this part only runs unprivileged. */
    assert_int_equal(mkdirat(tree_fd, ".locked", 0755), 0);
    fd = openat(tree_fd, ".locked", O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fchmodat(tree_fd, ".locked", 0, 0), 0);
    if (geteuid() != 0)
        expect_error(fd, EACCES);
    close(fd);
    assert_int_equal(unlinkat(tree_fd, ".locked", AT_REMOVEDIR), 0);
}

static void test_fd_untouched(void **state)
{
    (void)state;
    char *a = render(tree_fd, "/d/", false);
    char *b = render(tree_fd, "/d/", false);

    assert_string_equal(a, b); /* a second run sees the whole directory again */
    assert_int_equal(lseek(tree_fd, 0, SEEK_CUR), 0);
    assert_true(fcntl(tree_fd, F_GETFD) >= 0);
    free(a);
    free(b);
}

/* The cap: AUTOINDEX_MAX_ENTRIES + 1 visible entries are cut to the cap with
 * a note; exactly the cap is whole. */
static void test_truncation(void **state)
{
    (void)state;
    assert_int_equal(mkdirat(tree_fd, ".big", 0755), 0);
    int fd = openat(tree_fd, ".big", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    /* Mostly hard links: several times faster to make than new inodes (ext4
     * journals each), and each still lists as its own entry. A new inode
     * every 10000 names stays below any file system's link limit (ext4:
     * 65000). */
    char name[32], base[32] = "";
    for (int i = 0; i <= AUTOINDEX_MAX_ENTRIES; i++) {
        snprintf(name, sizeof name, "f%06d", i);
        if (i % 10000 == 0) {
            make_file(fd, name, 0);
            memcpy(base, name, sizeof base);
        } else {
            assert_int_equal(linkat(fd, base, fd, name, 0), 0);
        }
    }
    make_file(fd, ".hidden", 0); /* does not count */

    char *h = render(fd, "/big/", false);
    assert_int_equal(count(h, "<tr><td><a href=\"f"), AUTOINDEX_MAX_ENTRIES);
    assert_non_null(
        strstr(h, "</table>\n<p>Listing truncated: only 100000 entries are shown.</p>\n"));
    free(h);
    char *j = render(fd, "/big/", true);
    assert_int_equal(count(j, "{\"name\":"), AUTOINDEX_MAX_ENTRIES);
    assert_true(j[strlen(j) - 2] == ']');
    free(j);

    assert_int_equal(unlinkat(fd, "f000000", 0), 0);
    h = render(fd, "/big/", false);
    assert_int_equal(count(h, "<tr><td><a href=\"f"), AUTOINDEX_MAX_ENTRIES);
    assert_null(strstr(h, "truncated"));
    assert_non_null(strstr(h, "href=\"f000001\""));
    assert_non_null(strstr(h, "href=\"f100000\""));
    free(h);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_rows),
        cmocka_unit_test(test_html_order),
        cmocka_unit_test(test_html_page),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_not_utf8),
        cmocka_unit_test(test_empty_dir),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_fd_untouched),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
