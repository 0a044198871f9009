/* http/autoindex.h: directory listings ("autoindex on") rendered as HTML or JSON. */
#ifndef EP_HTTP_AUTOINDEX_H
#define EP_HTTP_AUTOINDEX_H

#include <stdbool.h>
#include <stddef.h>

/* At most this many entries are listed, so a directory with millions of
 * names cannot make one request allocate without bound. */
#define AUTOINDEX_MAX_ENTRIES 100000

/* The rendered body. data is malloc'd (and NUL-terminated, for convenience;
 * len does not count the NUL); the caller frees it. */
typedef struct {
    char *data;
    size_t len, cap;
} ai_buf;

/* Render a listing of the directory open as dirfd (an O_RDONLY|O_DIRECTORY
 * fd). dirfd is neither consumed nor moved: the directory is read through a
 * new open file description (openat(dirfd, ".")), so the caller's offset and
 * the fd itself are untouched.
 *
 * uri_path (len bytes) is the request's decoded path ending in '/'. It is
 * shown, HTML-escaped, in the title and heading, and decides whether a "../"
 * row is shown (not at "/"); nothing else. Links are relative to it.
 *
 * Listed: every entry whose name does not start with '.' and that fstatat()
 * can stat, following symlinks (a dangling link is left out). Directories
 * come first, then the rest, each group in strcmp() order of the names.
 *
 * json = false: a small HTML page, one table row per entry with a link
 * (percent-encoded), the name (HTML-escaped, directories with a trailing
 * '/'), the modification time in UTC ("2026-11-24 12:34") and the size in
 * bytes ("-" for directories). When more than AUTOINDEX_MAX_ENTRIES entries
 * qualify, the page lists that many and ends with a line saying so.
 *
 * json = true: an array of objects, one per line, as nginx writes it:
 *   [
 *   {"name":"a b","type":"directory","mtime":"Tue, 24 Nov 2026 12:34:56 GMT"},
 *   {"name":"c","type":"file","mtime":"...","size":123}
 *   ]
 * Anything that is not a directory is a "file" and has a "size". There is no
 * ".." entry (the client knows its own path) and a truncated listing is just
 * shorter. Names are JSON strings with '"', '\\' and bytes below 0x20 escaped
 * and well-formed UTF-8 as it is; so that the body is always valid JSON, each
 * ill-formed part of a name that is not UTF-8 (a stray 0x80 or 0xFF, an
 * overlong form, a surrogate, a cut sequence) is \ufffd, and such an entry
 * gains "href" after "name": the name's exact bytes as the HTML listing's
 * link writes them (percent-encoded, '/' after a directory):
 *   {"name":"caf\ufffd","href":"caf%E9","type":"file",...}
 *
 * Which entries survive truncation is readdir() order, i.e. arbitrary; the
 * ones kept are still sorted.
 *
 * *out is overwritten (not appended to, not freed first). Returns 0, or -1
 * with errno set (ENOMEM, or the error of openat/fdopendir/readdir: EBADF,
 * ENOTDIR, EACCES, ...) and *out empty with nothing allocated.
 *
 * Thread-safe: touches only its arguments and its own DIR stream; no
 * globals, no logging, no locale. */
int autoindex_render(int dirfd, const char *uri_path, size_t len, bool json, ai_buf *out);

#endif
