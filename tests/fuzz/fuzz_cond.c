/* tests/fuzz/fuzz_cond.c: libFuzzer target for http/cond: dates, preconditions, If-Range, ranges, multipart. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/cond.h"
#include "util/time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input layout: 8 bytes -> representation size, 1 byte -> max_out, 1 byte
 * -> presence mask (bit i clear: field i is an absent header, so that any
 * combination of headers is reachable), then '\n'-separated fields: date,
 * If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since, If-Range,
 * Range, our ETag. A missing field is absent too; an empty one is present
 * and empty, as from the parser. */
enum { F_DATE, F_IM, F_IUS, F_INM, F_IMS, F_IFR, F_RANGE, F_ETAG, NFIELDS };

static void check(int ok)
{
    if (!ok)
        abort();
}

/* Each field in its own exact-size heap block, so ASan sees any read past it. */
static void split(const uint8_t *p, size_t n, ep_str f[NFIELDS], char *copies[NFIELDS])
{
    for (int i = 0; i < NFIELDS; i++) {
        f[i] = (ep_str){ 0 };
        copies[i] = NULL;
    }
    for (int i = 0; i < NFIELDS && p; i++) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        copies[i] = malloc(len ? len : 1);
        if (!copies[i])
            abort();
        if (len)
            memcpy(copies[i], p, len);
        f[i] = ep_str_make(copies[i], len);
        if (!nl)
            break;
        n -= len + 1;
        p = nl + 1;
    }
}

/* Whatever parses must survive a round trip through our own formatter. */
static void fuzz_date(ep_str s)
{
    time_t t, back;
    char out[TIME_HTTP_LEN + 1];
    int r = cond_parse_http_date(s, &t);
    check(r == 0 || r == -1);
    if (r)
        return;
    time_http_date(t, out);
    check(cond_parse_http_date(ep_str_make(out, TIME_HTTP_LEN), &back) == 0 && back == t);
}

static void fuzz_ranges(ep_str hdr, int64_t rsize, size_t max_out)
{
    cond_range out[COND_MAX_RANGES + 2];
    const cond_range canary = { -12345, -54321 };
    for (size_t i = 0; i < EP_ARRAY_LEN(out); i++)
        out[i] = canary;
    int n = cond_parse_range(hdr, rsize, out, max_out);
    if (n == COND_RANGE_UNSATISFIABLE) {
        char cr[COND_CONTENT_RANGE_MAX];
        check(cond_content_range(cr, NULL, rsize) < COND_CONTENT_RANGE_MAX);
    }
    check(n == COND_RANGE_NONE || n == COND_RANGE_UNSATISFIABLE ||
          (n >= 1 && (size_t)n <= max_out && n <= COND_MAX_RANGES));
    for (size_t i = n > 0 ? (size_t)n : 0; i < EP_ARRAY_LEN(out); i++)
        check(out[i].first == canary.first && out[i].last == canary.last);
    if (n < 1)
        return;
    for (int i = 0; i < n; i++) {
        check(0 <= out[i].first && out[i].first <= out[i].last && out[i].last < rsize);
        /* Sorted, and merged: a gap of at least one byte between parts. */
        check(i == 0 || out[i].first > out[i - 1].last + 1);
    }
    char bd[COND_BOUNDARY_MAX], buf[256];
    ep_str b = ep_str_make(bd, cond_boundary(bd, 1, rsize, (uint64_t)n));
    /* The total may exceed int64 near rsize = INT64_MAX: then -1 is owed. */
    int64_t sent = 0;
    bool ovf = false;
    for (int i = 0; i < n; i++) {
        size_t h = cond_part_head(buf, sizeof buf, b, "text/plain", &out[i], rsize);
        check(h > 0);
        ovf |= __builtin_add_overflow(sent, (int64_t)h, &sent);
        ovf |= __builtin_add_overflow(sent, out[i].last - out[i].first + 1, &sent);
        check(cond_content_range(buf, &out[i], rsize) < COND_CONTENT_RANGE_MAX);
    }
    ovf |= __builtin_add_overflow(sent, (int64_t)cond_multipart_tail(buf, sizeof buf, b), &sent);
    check(cond_multipart_length(b, "text/plain", out, (size_t)n, rsize) == (ovf ? -1 : sent));
}

static void fuzz_preconditions(const ep_str f[NFIELDS], time_t mtime, int64_t rsize)
{
    hp_info info = { .content_length = -1 };
    info.if_match = f[F_IM];
    info.if_unmodified_since = f[F_IUS];
    info.if_none_match = f[F_INM];
    info.if_modified_since = f[F_IMS];
    info.if_range = f[F_IFR];
    int r = cond_check(&info, f[F_ETAG], mtime);
    check(r == 0 || r == 304 || r == 412);
    (void)cond_if_range_ok(&info, f[F_ETAG], mtime);

    /* Our own validators always match themselves. */
    char tag[COND_ETAG_MAX];
    ep_str et = ep_str_make(tag, cond_etag(tag, mtime, rsize));
    check(et.len < COND_ETAG_MAX && tag[et.len] == '\0');
    hp_info mine = { .content_length = -1 };
    mine.if_match = et;
    check(cond_check(&mine, et, mtime) == 0);
    mine.if_none_match = et;
    check(cond_check(&mine, et, mtime) == 304);
    mine = (hp_info){ .content_length = -1, .if_range = et };
    check(cond_if_range_ok(&mine, et, mtime));
    /* ... and a fuzzed If-Match that matches cannot turn into a 412 by an
     * If-Unmodified-Since: that header is not consulted then. */
    if (info.if_match.p && cond_check(&(hp_info){ .if_match = info.if_match }, f[F_ETAG], mtime) == 0) {
        info.if_unmodified_since = ep_str_make("Thu, 01 Jan 1970 00:00:00 GMT", 29);
        check(cond_check(&info, f[F_ETAG], mtime) != 412);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 10)
        return 0;
    uint64_t raw;
    memcpy(&raw, data, 8);
    /* Shift by the low bits so that tiny, 32-bit-ish and huge sizes all occur. */
    int64_t rsize = (int64_t)((raw & INT64_MAX) >> (raw & 63));
    if ((raw & 0xff) == 0xff)
        rsize = -1; /* the caller-bug path */
    size_t max_out = data[8] % (COND_MAX_RANGES + 1);

    ep_str f[NFIELDS];
    char *copies[NFIELDS];
    split(data + 10, size - 10, f, copies);
    for (int i = 0; i < NFIELDS; i++)
        if (!(data[9] & (1u << i)))
            f[i] = (ep_str){ 0 }; /* the copy is still freed below */

    fuzz_date(f[F_DATE]);
    time_t mtime = (time_t)(raw >> 8);
    if (f[F_DATE].p)
        (void)cond_parse_http_date(f[F_DATE], &mtime);
    fuzz_preconditions(f, mtime, rsize);
    fuzz_ranges(f[F_RANGE], rsize, max_out);

    for (int i = 0; i < NFIELDS; i++)
        free(copies[i]);
    return 0;
}
