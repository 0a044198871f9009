/* http/cond.h: RFC 9110 validators, conditional requests and byte ranges, pure. */
#ifndef EP_HTTP_COND_H
#define EP_HTTP_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http/parser.h"
#include "util/str.h"

/* Like the parser, no function here allocates, does I/O, logs or
 * reads a clock: everything it needs is passed in, so results are
 * reproducible in tests and fuzzing.
 *
 * A header counts as present when its hp_info slice has p != NULL (the
 * parser's convention), even if its value is empty. */

/* ---- HTTP-date ---------------------------------------------------------- */

/* Parse an HTTP-date (RFC 9110 5.6.7): IMF-fixdate "Sun, 06 Nov 1994 08:49:37
 * GMT", obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime
 * "Sun Nov  6 08:49:37 1994" (day as "06" or " 6"). Returns 0 and *t, or -1.
 * Strict to the grammar: names and "GMT" are case-sensitive, exact spacing,
 * no trailing bytes. Calendar checks: day within its month (29 Feb only in
 * Gregorian leap years), hour <= 23, minute <= 59, second <= 60 (a leap
 * second is accepted and counts as the next minute's :00, except where that
 * would leave year 9999, which no HTTP-date can express). The day name
 * must be a valid name of the right form, but a weekday that disagrees with
 * the date is accepted, as nginx and Go do: it carries no information the
 * date lacks. RFC 850's two-digit year uses a fixed pivot instead of the
 * RFC's "50 years from now" rule, which would need a clock: 70-99 -> 19yy,
 * 00-69 -> 20yy. Locale-free; no strptime, no timegm (own calendar math). */
int cond_parse_http_date(ep_str s, time_t *t);

/* ---- Entity tags -------------------------------------------------------- */

/* '"' + 16 + '-' + 16 hex digits + '"', and a NUL. */
#define COND_ETAG_MAX 36

/* Write our strong ETag for (mtime, size) into buf (cap >= COND_ETAG_MAX):
 * "\"<hex mtime>-<hex size>\"", lowercase hex without leading zeros, each
 * value taken as uint64_t, exactly as response.c writes it. NUL-terminated;
 * returns the length without the NUL. */
size_t cond_etag(char *buf, time_t mtime, int64_t size);

/* ---- Preconditions ------------------------------------------------------ */

/* Evaluate If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since
 * for a GET or HEAD of a representation with the given ETag (with quotes;
 * len 0 or malformed means "no ETag") and Last-Modified mtime, in the order
 * of RFC 9110 13.2.2:
 *   1. If-Match present: "*" matches (the representation exists); else it
 *      must be a list of entity-tags one of which matches strongly, or 412.
 *   2. Otherwise If-Unmodified-Since, when a valid date: mtime > date -> 412.
 *   3. If-None-Match present: "*" or any weakly matching tag -> 304.
 *   4. Otherwise If-Modified-Since, when a valid date: mtime <= date -> 304.
 * Returns 0 (go on), 304 or 412. An unparsable date is ignored. Lists are
 * "#entity-tag": commas with OWS, empty elements allowed, "*" only alone.
 * A malformed list never matches (If-Match -> 412, If-None-Match -> go on,
 * and since it is present, If-Modified-Since is still ignored). An empty
 * If-Match is a present list in which no tag can match: 412. */
int cond_check(const hp_info *info, ep_str etag, time_t mtime);

/* Whether to honour Range given If-Range (RFC 9110 13.1.5). No If-Range:
 * true. An entity-tag: strong comparison with etag (a weak tag on either side
 * never matches). Otherwise an HTTP-date: true only if it equals mtime
 * exactly. A value that is neither (including empty) is false, so the whole
 * representation is sent: the safe answer when in doubt. The caller ignores
 * If-Range in requests without Range. */
bool cond_if_range_ok(const hp_info *info, ep_str etag, time_t mtime);

/* ---- Byte ranges -------------------------------------------------------- */

#define COND_MAX_RANGES 16       /* more after merging: ignore Range (200) */
#define COND_MAX_RANGE_SPECS 128 /* more range-specs at all: ignore Range */

typedef struct {
    int64_t first, last; /* inclusive, 0 <= first <= last < size */
} cond_range;

enum { COND_RANGE_NONE = -1, COND_RANGE_UNSATISFIABLE = -2 };

/* Parse a Range value against a representation of `size` bytes (RFC 9110
 * 14.1.2, 14.2). Returns:
 *   COND_RANGE_NONE: serve the whole representation with 200: unit not
 *     "bytes" (case-insensitive), a syntax error anywhere (whitespace around
 *     '=', inside a spec or right after '=', non-digits, a number over
 *     INT64_MAX, last < first, no spec at all), more than
 *     COND_MAX_RANGE_SPECS specs, more than min(max_out, COND_MAX_RANGES)
 *     ranges after merging, or size < 0;
 *   COND_RANGE_UNSATISFIABLE: answer 416 with an unsatisfied Content-Range:
 *     no spec is satisfiable (all start at or past the end, "-0", or size 0);
 *   n >= 1: out[0..n) holds the satisfiable ranges clamped to size - 1
 *     ("a-" runs to the end, "-n" is the last n bytes, or all of them),
 *     sorted, with overlapping and adjacent ones merged.
 * Syntax: "bytes=" 1#( first "-" [last] / "-" suffix ), OWS around commas,
 * empty list elements allowed. The spec cap keeps the work and stack bounded
 * whatever the header holds (nginx has max_ranges, Apache MaxRanges). */
int cond_parse_range(ep_str header, int64_t size, cond_range *out, size_t max_out);

/* "bytes " + 19 + '-' + 19 + '/' + 19 digits, and a NUL. */
#define COND_CONTENT_RANGE_MAX 66

/* Write a Content-Range value: "bytes a-b/SIZE" for r, or, when r is NULL
 * (for 416), "bytes *" directly followed by "/SIZE". NUL-terminated in buf
 * (cap >= COND_CONTENT_RANGE_MAX); returns the length without the NUL. */
size_t cond_content_range(char *buf, const cond_range *r, int64_t size);

/* ---- multipart/byteranges (RFC 9110 14.6) ------------------------------- */

/* 16 hex digits and a NUL. */
#define COND_BOUNDARY_MAX 17

/* A boundary for a multipart/byteranges body, from a 64-bit mix of (mtime,
 * size, counter): deterministic, as the module reads no clock or random
 * source; the caller varies `counter` per response. Mixing makes an accidental
 * occurrence in the file contents as unlikely as with a random 64-bit value.
 * NUL-terminated in buf (cap >= COND_BOUNDARY_MAX); returns its length. */
size_t cond_boundary(char *buf, time_t mtime, int64_t size, uint64_t counter);

/* The longest part head (or closing delimiter) cond_part_head can write for
 * a Content-Type of type_len bytes, whatever the range and size: a buffer
 * of this many bytes always takes it. */
size_t cond_part_head_max(size_t type_len);

/* Write the head of one part into buf:
 *   "\r\n--BOUNDARY\r\nContent-Type: T\r\nContent-Range: bytes a-b/SIZE\r\n\r\n"
 * (no Content-Type line when content_type is NULL). Returns the length, or
 * 0 when cap is too small. */
size_t cond_part_head(char *buf, size_t cap, ep_str boundary, const char *content_type,
                      const cond_range *r, int64_t size);

/* Write the closing delimiter "\r\n--BOUNDARY--\r\n". Returns the length, or
 * 0 when cap is too small. */
size_t cond_multipart_tail(char *buf, size_t cap, ep_str boundary);

/* Exact Content-Length of the multipart body for ranges r[0..n): every part
 * head, every range's bytes and the tail; -1 if it would overflow int64_t.
 * Computed by the same writer as above, so it cannot drift from it. */
int64_t cond_multipart_length(ep_str boundary, const char *content_type, const cond_range *r,
                              size_t n, int64_t size);

#endif
