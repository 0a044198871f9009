/* tests/unit/test_mime.c: mime_type extension extraction, case folding and table lookups. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_case_insensitive),
        cmocka_unit_test(test_extension_rules),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
