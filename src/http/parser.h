/* http/parser.h: pure, zero-copy, incremental HTTP/1.x request-head parser.
 *
 * Contract (picohttpparser's): the caller's buffer goes in, slices pointing
 * into it come out. No allocation, no I/O, no logging, no global state. */
#ifndef EP_HTTP_PARSER_H
#define EP_HTTP_PARSER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/str.h"

#define HP_MAX_HEADERS 100 /* more header fields than this: HP_TOO_MANY_HEADERS */

enum {
    HP_INCOMPLETE = -2,       /* need more bytes; nothing invalid seen so far */
    HP_INVALID = -1,          /* malformed: answer 400 and close */
    HP_TOO_MANY_HEADERS = -3, /* more than max_headers fields: answer 431 */
};

typedef struct {
    ep_str name;  /* as sent (case preserved) */
    ep_str value; /* leading and trailing SP/HTAB trimmed */
} hp_header;

typedef struct {
    ep_str method;
    ep_str target;  /* request-target, raw (still percent-encoded) */
    int minor;      /* HTTP/1.<minor>; only 1.0 and 1.1 are accepted */
    size_t nheaders;
    hp_header headers[HP_MAX_HEADERS];
} hp_request;

/* Parse the request head at buf[0..len).
 * Returns the length of the head including its terminating empty line (> 0),
 * HP_INCOMPLETE, HP_INVALID or HP_TOO_MANY_HEADERS.
 * INVALID is returned as soon as the bytes seen prove the request malformed,
 * even when the head is not complete yet. Lines end in CRLF or a bare LF
 * (RFC 9112 2.2); a bare CR anywhere is invalid, as are obs-fold, whitespace
 * between a field name and its colon, control characters, and non-token
 * characters in the method or a field name. Empty lines before the request
 * line are skipped (RFC 9112 2.2). */
int hp_parse_request(const char *buf, size_t len, hp_request *req);

/* The request line as far as buf[0..len) holds it, for the logs, which
 * quote what the client sent even when it was malformed or cut short, as
 * nginx does: from the first byte after any leading empty lines up to the
 * first CR or LF (excluded) or the end. A slice of buf; len 0 when nothing
 * but line ends was read. */
ep_str hp_request_line(const char *buf, size_t len);

/* Whether c is a tchar (RFC 9110 5.6.2): a byte of a token. */
bool hp_is_tchar(unsigned char c);

/* The first header field of req named name (any case) after *after (NULL:
 * from the start), or NULL: req's fields one by one, in the order sent. */
const hp_header *hp_header_next(const hp_request *req, ep_str name, const hp_header *after);

/* Semantics of the parsed head that the connection needs. */
typedef struct {
    ep_str host;              /* Host value, or len 0 if absent */
    int64_t content_length;   /* -1 when absent */
    bool chunked;             /* Transfer-Encoding: chunked */
    bool keep_alive;          /* after version default and Connection tokens */
    bool expect_continue;     /* Expect: 100-continue */
    ep_str referer, user_agent;
    ep_str if_modified_since, if_unmodified_since, if_none_match, if_match;
    ep_str range, if_range, accept_encoding;
} hp_info;

/* Fill info from req. Returns 0, or the HTTP status to answer with:
 * 400 for HTTP/1.1 without Host, more than one Host, Content-Length that is
 * not all digits or overflows, two different Content-Lengths, Content-Length
 * together with Transfer-Encoding, Transfer-Encoding in HTTP/1.0;
 * 501 for a Transfer-Encoding other than "chunked", 417 for an Expect other
 * than 100-continue. */
int hp_analyze(const hp_request *req, hp_info *info);

/* Incremental skipper for a chunked request body (we never keep bodies). */
typedef struct {
    int state;
    uint64_t remaining; /* bytes left in the current chunk's data */
    unsigned size_digits;
    size_t trailer_bytes; /* guards against endless trailers */
} hp_chunked;

/* Consume chunked body bytes from buf[0..len). Returns the number of bytes
 * consumed (the rest belongs to the next request once *done is set), or
 * HP_INVALID for a malformed body. Chunk sizes above 2^60 and trailers
 * over 8 KiB are invalid. Start with a zeroed hp_chunked. */
ssize_t hp_chunked_skip(hp_chunked *c, const char *buf, size_t len, bool *done);

#endif
