/* http/mime.c: extension to Content-Type, from the built-in table or a loaded mime.types. */
#include "http/mime.h"
#include "http/parser.h"
#include "util/grow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
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
static const mime_entry builtin_table[] = {
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

/* ---- extension and built-in table -------------------------------------- */

/* ASCII-only folding: tolower() would consult the locale. */
static unsigned char fold(unsigned char c)
{
    return (unsigned char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/* Where path's extension is: after the last '.' of the last segment, not
 * counting the leading dots of a hidden name. false when there is none or
 * it is empty. */
static bool ext_span(const char *path, size_t len, size_t *off, size_t *n)
{
    size_t seg = len;

    while (seg > 0 && path[seg - 1] != '/')
        seg--;
    /* Leading dots make a hidden file (".bashrc", "..txt"), not an extension. */
    while (seg < len && path[seg] == '.')
        seg++;
    for (size_t i = len; i > seg; i--) {
        if (path[i - 1] == '.') {
            *off = i;
            *n = len - i;
            return *n > 0;
        }
    }
    return false;
}

/* strcmp of fold(key[0..n)) against ext, without copying the key. */
static int ext_cmp(const char *key, size_t n, const char *ext)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char a = fold((unsigned char)key[i]), b = (unsigned char)ext[i];
        if (b == '\0')
            return 1; /* ext is a proper prefix of the key (even if a is NUL) */
        if (a != b)
            return (int)a - (int)b;
    }
    return ext[n] == '\0' ? 0 : -1;
}

/* A binary search folding as it compares: no copy of the extension and no
 * strcmp through bsearch's comparator (it was 2% of a small request). */
static const mime_entry *builtin_find(const char *path, size_t len)
{
    size_t off, n, lo = 0, hi = sizeof builtin_table / sizeof builtin_table[0];

    if (!ext_span(path, len, &off, &n) || n > MIME_EXT_MAX)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ext_cmp(path + off, n, builtin_table[mid].ext);
        if (c == 0)
            return &builtin_table[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *mime_type(const char *path, size_t len)
{
    const mime_entry *e = builtin_find(path, len);

    return e ? e->type : MIME_DEFAULT;
}

bool mime_builtin(size_t i, const char **ext, const char **type)
{
    if (i >= sizeof builtin_table / sizeof builtin_table[0])
        return false;
    *ext = builtin_table[i].ext;
    *type = builtin_table[i].type;
    return true;
}

/* ---- loaded tables ------------------------------------------------------ */

typedef struct {
    const char *ext; /* lower case */
    const char *type;
    size_t seq; /* order in the file: among equal exts, the last one wins */
    size_t elen; /* strlen(ext) */
} mime_row;

#define SLOT_EMPTY UINT32_MAX

/* One row per ext; the strings live in pool (NULL: the built-in table's).
 * slots (mask + 1 of them, at most half taken) index rows by ext_hash:
 * one hash and one comparison a lookup, where a binary search of the
 * built-in table was 7 mispredicted probes (2.5% of a small HTTP/2 request). */
struct mime_table {
    mime_row *rows;
    size_t n;
    char *pool;
    uint32_t *slots;
    size_t mask;
};

/* FNV-1a over the folded bytes, so that "HTML" and "html" meet. */
static size_t ext_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ fold((unsigned char)s[i])) * 16777619u;
    return h;
}

/* Linear probing; -1 when out of memory. */
static int index_rows(mime_table *t)
{
    size_t cap = 16;

    while (cap < 2 * t->n)
        cap *= 2;
    if (!(t->slots = malloc(cap * sizeof *t->slots)))
        return -1;
    for (size_t i = 0; i < cap; i++)
        t->slots[i] = SLOT_EMPTY;
    t->mask = cap - 1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = ext_hash(t->rows[i].ext, t->rows[i].elen) & t->mask;
        while (t->slots[h] != SLOT_EMPTY)
            h = (h + 1) & t->mask;
        t->slots[h] = (uint32_t)i;
    }
    return 0;
}

/* While loading, the pool still moves, so rows hold offsets into it. */
typedef struct {
    size_t ext, type;
} mime_ref;

typedef struct {
    const char *path;
    char *err;
    size_t errlen;
    unsigned line;
    mime_ref *refs;
    size_t n, cap;
    char *pool;
    size_t plen, pcap;
} mime_loader;

__attribute__((format(printf, 2, 3))) static void load_err(mime_loader *ld, const char *fmt, ...)
{
    va_list ap;

    if (ld->errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(ld->err, ld->errlen, fmt, ap);
    va_end(ap);
}


/* Copy s (n bytes, folded when lower) into the pool; its offset, or
 * SIZE_MAX when out of memory. */
static size_t pool_add(mime_loader *ld, const char *s, size_t n, bool lower)
{
    size_t off = ld->plen;

    if (ep_grow((void **)&ld->pool, &ld->pcap, ld->plen, n + 1, 1) != 0)
        return SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        ld->pool[off + i] = lower ? (char)fold((unsigned char)s[i]) : s[i];
    ld->pool[off + n] = '\0';
    ld->plen += n + 1;
    return off;
}

/* token "/" token, nothing more. */
static bool media_type_ok(const char *s)
{
    size_t i = 0, j;

    while (hp_is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || s[i] != '/')
        return false;
    j = ++i;
    while (hp_is_tchar((unsigned char)s[i]))
        i++;
    return i > j && s[i] == '\0';
}

#define MIME_SPACE " \t\r\v\f"

/* One line, NUL-terminated and free of '\n'. 0, or -1 with err set. */
static int parse_line(mime_loader *ld, char *line)
{
    char *save = NULL;
    char *type = strtok_r(line, MIME_SPACE, &save);
    size_t type_off;

    if (!type || type[0] == '#')
        return 0; /* blank or comment */
    if (!media_type_ok(type)) {
        load_err(ld, "%s:%u: bad media type \"%s\"", ld->path, ld->line, type);
        return -1;
    }
    if ((type_off = pool_add(ld, type, strlen(type), false)) == SIZE_MAX)
        goto oom;
    for (char *ext; (ext = strtok_r(NULL, MIME_SPACE, &save)) != NULL;) {
        if (ext[0] == '#')
            break; /* a trailing comment */
        if (ep_grow((void **)&ld->refs, &ld->cap, ld->n, 1, sizeof *ld->refs) != 0)
            goto oom;
        size_t ext_off = pool_add(ld, ext, strlen(ext), true);
        if (ext_off == SIZE_MAX)
            goto oom;
        ld->refs[ld->n++] = (mime_ref){ ext_off, type_off };
    }
    return 0;
oom:
    load_err(ld, "%s: %s", ld->path, strerror(ENOMEM));
    return -1;
}

/* Read one line of f into buf (cap >= MIME_LINE_MAX + 1), without its '\n'
 * and NUL-terminated. Returns 1, 0 at the end of the file, or -1 with err
 * set. A last line without '\n' counts. */
static int read_line(mime_loader *ld, FILE *f, char *buf)
{
    size_t n = 0;
    bool nul = false;
    int c;

    while ((c = getc(f)) != EOF && c != '\n') {
        if (n == MIME_LINE_MAX) {
            load_err(ld, "%s:%u: line longer than %d bytes", ld->path, ld->line, MIME_LINE_MAX);
            return -1;
        }
        nul |= c == '\0';
        buf[n++] = (char)c;
    }
    if (ferror(f)) {
        load_err(ld, "%s: %s", ld->path, strerror(errno));
        return -1;
    }
    if (c == EOF && n == 0)
        return 0;
    if (nul) {
        /* strtok_r would stop there and silently drop the rest. */
        load_err(ld, "%s:%u: NUL byte in line", ld->path, ld->line);
        return -1;
    }
    buf[n] = '\0';
    return 1;
}

static int row_cmp(const void *a, const void *b)
{
    const mime_row *x = a, *y = b;
    int c = strcmp(x->ext, y->ext);

    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Turn the loader's refs into a sorted table with one row per extension,
 * the last in the file winning. Takes the pool; NULL when out of memory. */
static mime_table *build(mime_loader *ld)
{
    mime_table *t = calloc(1, sizeof *t);
    size_t n = 0;

    if (!t || (ld->n > 0 && !(t->rows = calloc(ld->n, sizeof *t->rows)))) {
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < ld->n; i++)
        t->rows[i] = (mime_row){ ld->pool + ld->refs[i].ext, ld->pool + ld->refs[i].type, i, 0 };
    if (ld->n > 1)
        qsort(t->rows, ld->n, sizeof *t->rows, row_cmp);
    for (size_t i = 0; i < ld->n; i++) {
        if (i + 1 < ld->n && strcmp(t->rows[i].ext, t->rows[i + 1].ext) == 0)
            continue; /* a later occurrence follows */
        t->rows[n] = t->rows[i];
        t->rows[n++].elen = strlen(t->rows[i].ext);
    }
    t->n = n;
    if (index_rows(t) < 0) {
        free(t->rows);
        free(t);
        return NULL;
    }
    t->pool = ld->pool;
    ld->pool = NULL;
    return t;
}

mime_table *mime_builtin_table(void)
{
    size_t n = sizeof builtin_table / sizeof builtin_table[0];
    mime_table *t = calloc(1, sizeof *t);

    if (!t || !(t->rows = calloc(n, sizeof *t->rows))) {
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        t->rows[i] = (mime_row){ builtin_table[i].ext, builtin_table[i].type, i, strlen(builtin_table[i].ext) };
    t->n = n;
    if (index_rows(t) < 0) {
        mime_free(t);
        return NULL;
    }
    return t;
}

mime_table *mime_load(const char *path, char *err, size_t errlen)
{
    mime_loader ld = { .path = path, .err = err, .errlen = errlen };
    mime_table *t = NULL;
    char *buf = malloc(MIME_LINE_MAX + 1);
    FILE *f = fopen(path, "re");
    int rc = 0;

    if (errlen > 0)
        err[0] = '\0';
    if (!f || !buf) {
        load_err(&ld, "%s: %s", path, strerror(f ? ENOMEM : errno));
        goto out;
    }
    for (;;) {
        ld.line++;
        if ((rc = read_line(&ld, f, buf)) != 1)
            break;
        if (parse_line(&ld, buf) != 0)
            goto out;
    }
    if (rc == 0 && !(t = build(&ld)))
        load_err(&ld, "%s: %s", path, strerror(ENOMEM));
out:
    if (f)
        fclose(f);
    free(buf);
    free(ld.refs);
    free(ld.pool);
    return t;
}

void mime_free(mime_table *t)
{
    if (!t)
        return;
    free(t->rows);
    free(t->pool);
    free(t->slots);
    free(t);
}

size_t mime_type_max(const mime_table *t)
{
    size_t max = 0;

    if (!t) {
        for (size_t i = 0; i < sizeof builtin_table / sizeof builtin_table[0]; i++)
            if (strlen(builtin_table[i].type) > max)
                max = strlen(builtin_table[i].type);
        return max;
    }
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->rows[i].type) > max)
            max = strlen(t->rows[i].type);
    return max;
}

const char *mime_lookup(const mime_table *t, const char *path, size_t len, const char *deflt)
{
    size_t off, n;

    if (!t) {
        const mime_entry *e = builtin_find(path, len);
        return e ? e->type : deflt;
    }
    if (!ext_span(path, len, &off, &n))
        return deflt;
    for (size_t h = ext_hash(path + off, n) & t->mask; t->slots[h] != SLOT_EMPTY; h = (h + 1) & t->mask) {
        const mime_row *r = &t->rows[t->slots[h]];
        if (r->elen == n && ext_cmp(path + off, n, r->ext) == 0)
            return r->type;
    }
    return deflt;
}
