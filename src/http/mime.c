/* http/mime.c: file extension to Content-Type, by binary search in a static table. */
#include "http/mime.h"

#include <stdlib.h>
#include <string.h>

#define MIME_EXT_MAX 16 /* longer extensions are not in the table: default */

typedef struct {
    const char *ext; /* lower case */
    const char *type;
} mime_entry;

/* Sorted by ext in strcmp() (C locale byte) order, as bsearch needs; the unit
 * test looks every entry up, so a misplaced row fails it. Values follow
 * nginx's mime.types where it has the extension, else the IANA or
 * shared-mime-info name; no charset parameter (the response layer decides). */
static const mime_entry mime_table[] = {
    { "3gp", "video/3gpp" },
    { "3gpp", "video/3gpp" },
    { "7z", "application/x-7z-compressed" },
    { "ai", "application/postscript" },
    { "apk", "application/vnd.android.package-archive" },
    { "asf", "video/x-ms-asf" },
    { "asx", "video/x-ms-asf" },
    { "atom", "application/atom+xml" },
    { "avi", "video/x-msvideo" },
    { "avif", "image/avif" },
    { "bin", "application/octet-stream" },
    { "bmp", "image/x-ms-bmp" },
    { "br", "application/x-brotli" },
    { "bz2", "application/x-bzip2" },
    { "crt", "application/x-x509-ca-cert" },
    { "css", "text/css" },
    { "csv", "text/csv" },
    { "deb", "application/octet-stream" },
    { "der", "application/x-x509-ca-cert" },
    { "dll", "application/octet-stream" },
    { "dmg", "application/octet-stream" },
    { "doc", "application/msword" },
    { "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
    { "ear", "application/java-archive" },
    { "eot", "application/vnd.ms-fontobject" },
    { "eps", "application/postscript" },
    { "epub", "application/epub+zip" },
    { "exe", "application/octet-stream" },
    { "flac", "audio/flac" },
    { "flv", "video/x-flv" },
    { "gif", "image/gif" },
    { "gz", "application/gzip" },
    { "htm", "text/html" },
    { "html", "text/html" },
    { "ico", "image/x-icon" },
    { "img", "application/octet-stream" },
    { "iso", "application/octet-stream" },
    { "jar", "application/java-archive" },
    { "jpeg", "image/jpeg" },
    { "jpg", "image/jpeg" },
    { "js", "application/javascript" },
    { "json", "application/json" },
    { "m3u8", "application/vnd.apple.mpegurl" },
    { "m4a", "audio/x-m4a" },
    { "m4v", "video/x-m4v" },
    { "md", "text/markdown" },
    { "mid", "audio/midi" },
    { "midi", "audio/midi" },
    { "mjs", "application/javascript" },
    { "mkv", "video/x-matroska" },
    { "mov", "video/quicktime" },
    { "mp3", "audio/mpeg" },
    { "mp4", "video/mp4" },
    { "mpeg", "video/mpeg" },
    { "mpg", "video/mpeg" },
    { "msi", "application/octet-stream" },
    { "odp", "application/vnd.oasis.opendocument.presentation" },
    { "ods", "application/vnd.oasis.opendocument.spreadsheet" },
    { "odt", "application/vnd.oasis.opendocument.text" },
    { "oga", "audio/ogg" },
    { "ogg", "audio/ogg" },
    { "ogv", "video/ogg" },
    { "opus", "audio/ogg" },
    { "otf", "font/otf" },
    { "pdf", "application/pdf" },
    { "pem", "application/x-x509-ca-cert" },
    { "png", "image/png" },
    { "ppt", "application/vnd.ms-powerpoint" },
    { "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
    { "ps", "application/postscript" },
    { "rar", "application/x-rar-compressed" },
    { "rpm", "application/x-redhat-package-manager" },
    { "rss", "application/rss+xml" },
    { "rtf", "application/rtf" },
    { "shtml", "text/html" },
    { "svg", "image/svg+xml" },
    { "svgz", "image/svg+xml" },
    { "swf", "application/x-shockwave-flash" },
    { "tar", "application/x-tar" },
    { "tif", "image/tiff" },
    { "tiff", "image/tiff" },
    { "ts", "video/mp2t" },
    { "ttf", "font/ttf" },
    { "txt", "text/plain" },
    { "war", "application/java-archive" },
    { "wasm", "application/wasm" },
    { "wav", "audio/wav" },
    { "webm", "video/webm" },
    { "webmanifest", "application/manifest+json" },
    { "webp", "image/webp" },
    { "wmv", "video/x-ms-wmv" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "xhtml", "application/xhtml+xml" },
    { "xls", "application/vnd.ms-excel" },
    { "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
    { "xml", "text/xml" },
    { "xz", "application/x-xz" },
    { "zip", "application/zip" },
    { "zst", "application/zstd" },
};

static int mime_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const mime_entry *)elem)->ext);
}

const char *mime_type(const char *path, size_t len)
{
    size_t seg = len, dot = 0, n;
    char ext[MIME_EXT_MAX + 1];

    while (seg > 0 && path[seg - 1] != '/')
        seg--;
    /* Leading dots make a hidden file (".bashrc", "..txt"), not an extension. */
    while (seg < len && path[seg] == '.')
        seg++;
    for (size_t i = len; i > seg; i--) {
        if (path[i - 1] == '.') {
            dot = i;
            break;
        }
    }
    if (dot == 0)
        return MIME_DEFAULT;
    n = len - dot;
    if (n == 0 || n > MIME_EXT_MAX)
        return MIME_DEFAULT;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[dot + i];
        if (c == '\0')
            return MIME_DEFAULT; /* would cut the key short: "js\0x" is not "js" */
        /* ASCII-only folding: tolower() would consult the locale. */
        ext[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    ext[n] = '\0';

    const mime_entry *e = bsearch(ext, mime_table, sizeof mime_table / sizeof mime_table[0],
                                  sizeof mime_table[0], mime_cmp);
    return e ? e->type : MIME_DEFAULT;
}
