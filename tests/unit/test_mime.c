/* tests/unit/test_mime.c: built-in table, mime_load/mime_lookup, and conf/mime.types. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/mime.h"

static const char *mt(const char *path)
{
    return mime_type(path, strlen(path));
}

/* Every extension the brief requires, plus the rest of the table; a row out
 * of order in mime.c makes bsearch miss it and this table fail. */
static const struct {
    const char *ext, *type;
} known[] = {
    { "html", "text/html" },
    { "htm", "text/html" },
    { "shtml", "text/html" },
    { "css", "text/css" },
    { "js", "application/javascript" },
    { "mjs", "application/javascript" },
    { "json", "application/json" },
    { "xml", "text/xml" },
    { "txt", "text/plain" },
    { "csv", "text/csv" },
    { "md", "text/markdown" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "png", "image/png" },
    { "gif", "image/gif" },
    { "webp", "image/webp" },
    { "avif", "image/avif" },
    { "ico", "image/x-icon" },
    { "svg", "image/svg+xml" },
    { "svgz", "image/svg+xml" },
    { "bmp", "image/x-ms-bmp" },
    { "tif", "image/tiff" },
    { "tiff", "image/tiff" },
    { "swf", "application/x-shockwave-flash" },
    { "wasm", "application/wasm" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "ttf", "font/ttf" },
    { "otf", "font/otf" },
    { "eot", "application/vnd.ms-fontobject" },
    { "pdf", "application/pdf" },
    { "zip", "application/zip" },
    { "gz", "application/gzip" },
    { "tar", "application/x-tar" },
    { "bz2", "application/x-bzip2" },
    { "xz", "application/x-xz" },
    { "zst", "application/zstd" },
    { "br", "application/x-brotli" },
    { "7z", "application/x-7z-compressed" },
    { "mp3", "audio/mpeg" },
    { "ogg", "audio/ogg" },
    { "oga", "audio/ogg" },
    { "opus", "audio/ogg" },
    { "m4a", "audio/x-m4a" },
    { "wav", "audio/wav" },
    { "flac", "audio/flac" },
    { "mid", "audio/midi" },
    { "midi", "audio/midi" },
    { "mp4", "video/mp4" },
    { "m4v", "video/x-m4v" },
    { "webm", "video/webm" },
    { "ogv", "video/ogg" },
    { "mov", "video/quicktime" },
    { "avi", "video/x-msvideo" },
    { "mkv", "video/x-matroska" },
    { "mpeg", "video/mpeg" },
    { "mpg", "video/mpeg" },
    { "ts", "video/mp2t" },
    { "3gp", "video/3gpp" },
    { "3gpp", "video/3gpp" },
    { "flv", "video/x-flv" },
    { "wmv", "video/x-ms-wmv" },
    { "asf", "video/x-ms-asf" },
    { "asx", "video/x-ms-asf" },
    { "m3u8", "application/vnd.apple.mpegurl" },
    { "xhtml", "application/xhtml+xml" },
    { "rss", "application/rss+xml" },
    { "atom", "application/atom+xml" },
    { "webmanifest", "application/manifest+json" },
    { "jar", "application/java-archive" },
    { "war", "application/java-archive" },
    { "ear", "application/java-archive" },
    { "apk", "application/vnd.android.package-archive" },
    { "deb", "application/octet-stream" },
    { "rpm", "application/x-redhat-package-manager" },
    { "rar", "application/x-rar-compressed" },
    { "exe", "application/octet-stream" },
    { "dll", "application/octet-stream" },
    { "msi", "application/octet-stream" },
    { "dmg", "application/octet-stream" },
    { "iso", "application/octet-stream" },
    { "img", "application/octet-stream" },
    { "bin", "application/octet-stream" },
    { "doc", "application/msword" },
    { "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
    { "xls", "application/vnd.ms-excel" },
    { "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
    { "ppt", "application/vnd.ms-powerpoint" },
    { "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
    { "odt", "application/vnd.oasis.opendocument.text" },
    { "ods", "application/vnd.oasis.opendocument.spreadsheet" },
    { "odp", "application/vnd.oasis.opendocument.presentation" },
    { "rtf", "application/rtf" },
    { "epub", "application/epub+zip" },
    { "ps", "application/postscript" },
    { "eps", "application/postscript" },
    { "ai", "application/postscript" },
    { "pem", "application/x-x509-ca-cert" },
    { "crt", "application/x-x509-ca-cert" },
    { "der", "application/x-x509-ca-cert" },
};

static void test_known(void **state)
{
    (void)state;
    int failures = 0;

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/dir/file.%s", known[i].ext);
        const char *got = mt(path);
        if (strcmp(got, known[i].type) != 0) {
            printf("%s: got %s, want %s\n", path, got, known[i].type);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_case_insensitive(void **state)
{
    (void)state;
    assert_string_equal(mt("/photo.JPG"), "image/jpeg");
    assert_string_equal(mt("/photo.JpEg"), "image/jpeg");
    assert_string_equal(mt("/INDEX.HTML"), "text/html");
    assert_string_equal(mt("/font.WOFF2"), "font/woff2");
    assert_string_equal(mt("/a.Md"), "text/markdown");
    assert_string_equal(mt("/a.7Z"), "application/x-7z-compressed");
}

static void test_extension_rules(void **state)
{
    (void)state;
    /* no extension */
    assert_string_equal(mt("/README"), MIME_DEFAULT);
    assert_string_equal(mt("/"), MIME_DEFAULT);
    assert_string_equal(mt("/dir/"), MIME_DEFAULT);
    assert_string_equal(mt(""), MIME_DEFAULT);
    /* dotfiles have no extension */
    assert_string_equal(mt("/.bashrc"), MIME_DEFAULT);
    assert_string_equal(mt("/a/.hidden"), MIME_DEFAULT);
    assert_string_equal(mt("/.html"), MIME_DEFAULT);
    assert_string_equal(mt("/a/..txt"), MIME_DEFAULT);
    assert_string_equal(mt(".css"), MIME_DEFAULT);
    /* ...but a dotfile may still have one after its name */
    assert_string_equal(mt("/.config.json"), "application/json");
    /* the last dot counts */
    assert_string_equal(mt("/text..txt"), "text/plain");
    assert_string_equal(mt("/archive.tar.gz"), "application/gzip");
    assert_string_equal(mt("/a.txt.bak"), MIME_DEFAULT);
    /* trailing dot: empty extension */
    assert_string_equal(mt("/file."), MIME_DEFAULT);
    assert_string_equal(mt("/file.txt."), MIME_DEFAULT);
    /* dots in directory names do not count */
    assert_string_equal(mt("/a.b/c"), MIME_DEFAULT);
    assert_string_equal(mt("/x.html/readme"), MIME_DEFAULT);
    assert_string_equal(mt("/a.css/b.js"), "application/javascript");
    /* no leading slash: the whole string is the segment */
    assert_string_equal(mt("style.css"), "text/css");
    /* unknown extension */
    assert_string_equal(mt("/a.nosuchext"), MIME_DEFAULT);
    assert_string_equal(mt("/a.htmlx"), MIME_DEFAULT);
    assert_string_equal(mt("/a.ht"), MIME_DEFAULT);
    /* a '?' is not special here: the caller passes a decoded path */
    assert_string_equal(mt("/a.css?x"), MIME_DEFAULT);
}

static void test_lengths(void **state)
{
    (void)state;
    /* 16 bytes is the longest looked up; longer is the default without lookup */
    assert_string_equal(mt("/a.abcdefghijklmnop"), MIME_DEFAULT);
    assert_string_equal(mt("/a.abcdefghijklmnopq"), MIME_DEFAULT);
    char longp[4096];
    memset(longp, 'x', sizeof longp);
    longp[0] = '/';
    longp[1] = 'a';
    longp[2] = '.';
    assert_string_equal(mime_type(longp, sizeof longp), MIME_DEFAULT);
    /* a suffix that is a known type after folding must not match past the cap */
    char ext[64] = "/a.";
    for (int i = 0; i < 40; i++)
        strcat(ext, "x");
    strcat(ext, "html");
    assert_string_equal(mt(ext), MIME_DEFAULT);
    /* only len bytes are looked at */
    assert_string_equal(mime_type("/a.cssXYZ", 6), "text/css");
    assert_string_equal(mime_type("/a.css", 5), MIME_DEFAULT);
    assert_string_equal(mime_type("/a.html", 0), MIME_DEFAULT);
    /* an embedded NUL must not shorten the key to a known one */
    assert_string_equal(mime_type("/a.js\0x", 7), MIME_DEFAULT);
    /* bytes >= 0x80 and odd characters are just unknown */
    assert_string_equal(mt("/a.\xD0\xBF"), MIME_DEFAULT);
    assert_string_equal(mt("/\xD0\xBF.txt"), "text/plain");
    assert_string_equal(mt("/space in name.txt"), "text/plain");
}

/* ---- the built-in table, seen whole ------------------------------------ */

/* known[] above must stay the whole table: then test_known checks every
 * row, and the file comparison below covers every built-in mapping. */
static void test_builtin_complete(void **state)
{
    (void)state;
    const char *ext, *type, *prev = "";
    size_t n = 0;

    for (; mime_builtin(n, &ext, &type); n++) {
        assert_true(strcmp(prev, ext) < 0); /* sorted, no duplicates */
        prev = ext;
        bool found = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            found |= strcmp(known[i].ext, ext) == 0 && strcmp(known[i].type, type) == 0;
        if (!found)
            fail_msg("built-in %s -> %s is not in known[]", ext, type);
    }
    assert_int_equal(n, sizeof known / sizeof known[0]);
}

/* ---- mime_lookup without a table ----------------------------------------- */

#define D "DEFLT" /* a default no table has */

static const char *lk(const mime_table *t, const char *path)
{
    return mime_lookup(t, path, strlen(path), D);
}

static void lookup_builtin(const mime_table *t)
{
    assert_string_equal(lk(t, "/a.css"), "text/css");
    assert_string_equal(lk(t, "/A.HTML"), "text/html");
    /* a known type that happens to be MIME_DEFAULT is not "unknown" */
    assert_string_equal(lk(t, "/a.bin"), "application/octet-stream");
    assert_string_equal(lk(t, "/a.nosuchext"), D);
    assert_string_equal(lk(t, "/README"), D);
    assert_string_equal(lk(t, "/a.b/c"), D);
    assert_string_equal(lk(t, "/.bashrc"), D);
    assert_string_equal(lk(t, "/file."), D);
    assert_string_equal(lk(t, ""), D);
    assert_string_equal(mime_lookup(t, "/a.js\0x", 7, D), D);
    assert_null(mime_lookup(t, "/a.zzz", 6, NULL)); /* deflt is returned as is */
    /* Agrees with mime_type on every row. */
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/d.x/f.%s", known[i].ext);
        assert_string_equal(lk(t, path), mt(path));
    }
}

/* The binary search without a table and the hashed built-in table agree. */
static void test_lookup_builtin(void **state)
{
    (void)state;
    mime_table *t = mime_builtin_table();
    assert_non_null(t);
    lookup_builtin(NULL);
    lookup_builtin(t);
    mime_free(t);
}

/* ---- conf/mime.types ----------------------------------------------------- */

/* The shipped file; tests/CMakeLists.txt gives the source directory. */
static void conf_path(char *out, size_t cap)
{
    snprintf(out, cap, "%s/conf/mime.types", EP_SOURCE_DIR);
}

static mime_table *load_conf(void)
{
    char path[4096], err[256] = "unchanged";
    mime_table *t;

    conf_path(path, sizeof path);
    t = mime_load(path, err, sizeof err);
    if (!t)
        fail_msg("%s", err);
    assert_string_equal(err, "");
    return t;
}

static void test_conf_agrees_with_builtin(void **state)
{
    (void)state;
    mime_table *t = load_conf();
    const char *ext, *type;
    int failures = 0;

    for (size_t i = 0; mime_builtin(i, &ext, &type); i++) {
        char path[64];
        snprintf(path, sizeof path, "/dir/file.%s", ext);
        const char *got = lk(t, path);
        if (strcmp(got, type) != 0) {
            printf("conf %s: got %s, built-in %s\n", ext, got, type);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
    mime_free(t);
}

static void test_conf_web_types(void **state)
{
    (void)state;
    mime_table *t = load_conf();
    static const char *const exts[] = {
        "html", "htm", "shtml", "css", "js", "mjs", "json", "map", "xml", "txt", "csv", "md",
        "svg", "svgz", "png", "jpg", "jpeg", "gif", "webp", "avif", "ico", "bmp", "tif", "tiff",
        "woff", "woff2", "ttf", "otf", "eot", "wasm", "pdf", "zip", "gz", "tgz", "bz2", "xz",
        "zst", "7z", "rar", "tar", "mp3", "ogg", "oga", "opus", "wav", "flac", "m4a", "mp4",
        "m4v", "webm", "ogv", "mov", "avi", "mkv", "swf", "webmanifest", "atom", "rss", "ics",
        "epub", "apk", "deb", "rpm", "iso", "exe", "dmg", "jar", "doc", "docx", "xls", "xlsx",
        "ppt", "pptx", "odt", "ods", "odp", "rtf", "vtt", "srt",
    };
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/f.%s", exts[i]);
        if (strcmp(lk(t, path), D) == 0)
            fail_msg("conf/mime.types lacks %s", exts[i]);
        assert_null(strchr(lk(t, path), ';')); /* no charset or other parameter */
    }
    /* The ones the built-in table does not have. */
    assert_string_equal(lk(t, "/app.js.map"), "application/json");
    assert_string_equal(lk(t, "/a.TGZ"), "application/gzip");
    assert_string_equal(lk(t, "/cal.ics"), "text/calendar");
    assert_string_equal(lk(t, "/sub.vtt"), "text/vtt");
    assert_string_equal(lk(t, "/sub.srt"), "text/plain");
    /* Consistent with the built-in on its own choices. */
    assert_string_equal(lk(t, "/a.js"), "application/javascript");
    assert_string_equal(lk(t, "/a.html"), "text/html");
    assert_string_equal(lk(t, "/a.nosuchext"), D);
    mime_free(t);
}

/* ---- mime_load on small files ------------------------------------------- */

static char tmp_path[64];

/* Write text (n bytes) to a fresh temp file; its path is tmp_path. */
static void write_tmp(const char *text, size_t n)
{
    const char *dir = getenv("TMPDIR");
    snprintf(tmp_path, sizeof tmp_path, "%s/mime.XXXXXX", dir && strlen(dir) < 40 ? dir : "/tmp");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static mime_table *load_text(const char *text)
{
    char err[256];
    write_tmp(text, strlen(text));
    mime_table *t = mime_load(tmp_path, err, sizeof err);
    if (!t)
        fail_msg("%s", err);
    unlink(tmp_path);
    return t;
}

/* Load text expecting failure; err must be "<tmp_path>" + suffix. */
static void expect_load_error(const char *text, size_t n, const char *suffix)
{
    char err[256], want[256];
    write_tmp(text, n);
    assert_null(mime_load(tmp_path, err, sizeof err));
    snprintf(want, sizeof want, "%s%s", tmp_path, suffix);
    assert_string_equal(err, want);
    unlink(tmp_path);
}

static void test_load_format(void **state)
{
    (void)state;
    mime_table *t = load_text("# a comment\n"
                              "\n"
                              "   # an indented comment\n"
                              "text/x-Foo\tFoO  bar\t\tBAZ\n"
                              "application/x-none\n"                     /* no extensions */
                              "text/plain txt # text/html html\n"        /* trailing comment */
                              "image/x-crlf crlf\r\n"                    /* CRLF */
                              "  \t \n"                                  /* only blanks */
                              "application/x-long abcdefghijklmnopqrstuvwxyz\n"
                              "text/x-last last");                       /* no final newline */
    assert_string_equal(lk(t, "/a.foo"), "text/x-Foo"); /* type kept as written */
    assert_string_equal(lk(t, "/a.FOO"), "text/x-Foo");
    assert_string_equal(lk(t, "/a.fOo"), "text/x-Foo");
    assert_string_equal(lk(t, "/a.bar"), "text/x-Foo");
    assert_string_equal(lk(t, "/a.baz"), "text/x-Foo");
    assert_string_equal(lk(t, "/a.txt"), "text/plain");
    assert_string_equal(lk(t, "/a.html"), D); /* commented out */
    assert_string_equal(lk(t, "/a.none"), D);
    assert_string_equal(lk(t, "/a.crlf"), "image/x-crlf");
    assert_string_equal(lk(t, "/a.last"), "text/x-last");
    /* no 16-byte cap with a table */
    assert_string_equal(lk(t, "/a.ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "application/x-long");
    /* a loaded table replaces the built-in one, it does not extend it */
    assert_string_equal(lk(t, "/a.css"), D);
    /* prefixes and extensions of known extensions are unknown */
    assert_string_equal(lk(t, "/a.fo"), D);
    assert_string_equal(lk(t, "/a.fooo"), D);
    assert_string_equal(lk(t, "/a.ba"), D);
    assert_string_equal(mime_lookup(t, "/a.foo\0", 7, D), D);
    assert_string_equal(mime_lookup(t, "/a.txtXYZ", 6, D), "text/plain");
    /* extension rules as mime_type has them */
    assert_string_equal(lk(t, "/README"), D);
    assert_string_equal(lk(t, "/a.b/c"), D);
    assert_string_equal(lk(t, "/a.txt/c"), D);
    assert_string_equal(lk(t, "/.txt"), D);
    assert_string_equal(lk(t, "/.x.txt"), "text/plain");
    assert_string_equal(lk(t, "/a.foo.txt"), "text/plain");
    assert_string_equal(lk(t, "/file."), D);
    assert_string_equal(lk(t, "/"), D);
    assert_string_equal(lk(t, ""), D);
    assert_string_equal(lk(t, "txt.foo"), "text/x-Foo");
    mime_free(t);
}

static void test_load_later_wins(void **state)
{
    (void)state;
    mime_table *t = load_text("text/one   a b c\n"
                              "text/two   B\n"
                              "text/three c C\n"
                              "text/four  d d\n"
                              "text/five  D e\n");
    assert_string_equal(lk(t, "/x.a"), "text/one");
    assert_string_equal(lk(t, "/x.b"), "text/two");
    assert_string_equal(lk(t, "/x.c"), "text/three");
    assert_string_equal(lk(t, "/x.d"), "text/five");
    assert_string_equal(lk(t, "/x.E"), "text/five");
    mime_free(t);

    t = load_text("");
    assert_string_equal(lk(t, "/x.a"), D);
    mime_free(t);
    t = load_text("# nothing but comments\n\n");
    assert_string_equal(lk(t, "/x.a"), D);
    mime_free(t);
}

/* Many extensions, some alike but for case and length: every one is found
 * through the hash index (collisions probe on), none that was not listed. */
static void test_load_many(void **state)
{
    (void)state;
    size_t cap = 64 * 1024, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(text + len, cap - len, "t/x%d e%d E%dx\n", i, i, i);
    mime_table *t = load_text(text);
    for (int i = 0; i < 2000; i++) {
        char path[64], want[32];
        snprintf(want, sizeof want, "t/x%d", i);
        snprintf(path, sizeof path, "/f.E%d", i);
        assert_string_equal(lk(t, path), want);
        snprintf(path, sizeof path, "/f.e%dX", i);
        assert_string_equal(lk(t, path), want);
        snprintf(path, sizeof path, "/f.e%dy", i);
        assert_string_equal(lk(t, path), D);
    }
    assert_string_equal(lk(t, "/f.e2000"), D);
    mime_free(t);
    free(text);
}

static void test_load_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "text", "text/", "/html", "text//html", "text/html/x", "te(xt/html",
        "text/html;charset=utf-8", "text/h\"tml", "t\x80/x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128], suffix[128];
        snprintf(text, sizeof text, "# ok\ntext/plain txt\n\n%s ext\ntext/css css\n", bad[i]);
        snprintf(suffix, sizeof suffix, ":4: bad media type \"%s\"", bad[i]);
        expect_load_error(text, strlen(text), suffix);
    }
    /* Odd but valid tokens. */
    mime_table *t = load_text("application/vnd.a+b-c_d.e!#$%&'*^`|~ x\n");
    assert_string_equal(lk(t, "/a.x"), "application/vnd.a+b-c_d.e!#$%&'*^`|~");
    mime_free(t);

    /* 4096 bytes is the longest line; 4097 is an error on its own line. */
    static char big[MIME_LINE_MAX + 64];
    memset(big, ' ', sizeof big);
    memcpy(big, "text/plain txt\ntext/x-big ", 26);
    memcpy(big + 15 + MIME_LINE_MAX - 3, "big\n", 4);
    big[15 + MIME_LINE_MAX + 1] = '\0';
    t = load_text(big);
    assert_string_equal(lk(t, "/a.big"), "text/x-big");
    mime_free(t);
    memcpy(big + 15 + MIME_LINE_MAX - 3, " big\n", 5);
    expect_load_error(big, 15 + MIME_LINE_MAX + 2, ":2: line longer than 4096 bytes");

    expect_load_error("text/plain txt\ntext/x a\0b\n", 26, ":2: NUL byte in line");
}

static void test_load_open_errors(void **state)
{
    (void)state;
    char err[256], small[12];

    assert_null(mime_load("/nonexistent/mime.types", err, sizeof err));
    assert_string_equal(err, "/nonexistent/mime.types: No such file or directory");
    errno = 0;
    assert_null(mime_load("/", err, sizeof err)); /* reading a directory fails */
    assert_string_equal(err, "/: Is a directory");
    /* err is cut to errlen, and may be absent */
    assert_null(mime_load("/nonexistent/mime.types", small, sizeof small));
    assert_string_equal(small, "/nonexisten");
    assert_null(mime_load("/nonexistent/mime.types", NULL, 0));
    mime_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_case_insensitive),
        cmocka_unit_test(test_extension_rules),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_builtin_complete),
        cmocka_unit_test(test_lookup_builtin),
        cmocka_unit_test(test_conf_agrees_with_builtin),
        cmocka_unit_test(test_conf_web_types),
        cmocka_unit_test(test_load_format),
        cmocka_unit_test(test_load_later_wins),
        cmocka_unit_test(test_load_many),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
