/* util/time.h: clocks, HTTP and log date formats, and duration parsing. */
#ifndef EP_UTIL_TIME_H
#define EP_UTIL_TIME_H

#include <stdint.h>
#include <time.h>

#define TIME_HTTP_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define TIME_LOG_LEN 26  /* "06/Nov/1994:08:49:37 +0000" */

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t time_now_ms(void);

/* IMF-fixdate (RFC 9110 5.6.7) of t into out[TIME_HTTP_LEN + 1]. */
void time_http_date(time_t t, char *out);

/* Dates formatted lately, by second, in slots chosen by t: a file's
 * Last-Modified is the same on every request for it. */
#define TIME_MEMO_SLOTS 16
typedef struct {
    time_t t[TIME_MEMO_SLOTS];
    char s[TIME_MEMO_SLOTS][TIME_HTTP_LEN + 1];
} time_memo;

/* An empty memo. */
void time_memo_init(time_memo *m);

/* time_http_date(t) from m, formatted into it on a miss. The text stays
 * until another t takes its slot: copy it. */
const char *time_http_date_memo(time_memo *m, time_t t);

/* Common Log Format time of t, in UTC, into out[TIME_LOG_LEN + 1]. */
void time_log_date(time_t t, char *out);

/* Parse a duration "250ms", "10s", "2m", "1h", "30d", "2w", "1y" or a bare
 * number of seconds into milliseconds. Returns 0, or -1 if malformed or
 * above max_ms. */
int time_parse_duration(const char *s, int64_t max_ms, int64_t *ms);

#endif
