/* tests/unit/test_cond.c: HTTP-dates, ETags vs response.c, precondition order, If-Range, ranges, multipart framing and its size bound. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/cond.h"
#include "http/response.h"
#include "util/time.h"

/* A slice for a C string; NULL stays NULL (= header absent, as in hp_info). */
static ep_str S(const char *s) { return s ? ep_str_make(s, strlen(s)) : (ep_str){ 0 }; }

/* ---- HTTP-date ---------------------------------------------------------- */

#define BAD INT64_MIN /* expectation: cond_parse_http_date fails */

static const struct {
    const char *in;
    int64_t want;
} date_rows[] = {
    /* The three formats of RFC 9110 5.6.7, same instant. */
    { "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 },
    { "Sunday, 06-Nov-94 08:49:37 GMT", 784111777 },
    { "Sun Nov  6 08:49:37 1994", 784111777 },
    { "Sun Nov 06 08:49:37 1994", 784111777 }, /* date3 allows 2DIGIT too */
    { "Sun Nov 16 08:49:37 1994", 784111777 + 10 * 86400 },
    { "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
    { "Wed, 31 Dec 1969 23:59:59 GMT", -1 }, /* valid, and -1 is a real time */
    { "Mon, 01 Jan 1900 00:00:00 GMT", -2208988800 },
    { "Mon, 01 Jan 0001 00:00:00 GMT", -62135596800 },
    { "Fri, 31 Dec 9999 23:59:59 GMT", 253402300799 },
    /* Leap days: Gregorian rules. */
    { "Thu, 29 Feb 2024 12:00:00 GMT", 1709208000 },
    { "Tue, 29 Feb 2000 00:00:00 GMT", 951782400 },
    { "Wed, 29 Feb 2023 00:00:00 GMT", BAD },
    { "Thu, 29 Feb 1900 00:00:00 GMT", BAD },
    { "Mon, 29 Feb 2100 00:00:00 GMT", BAD },
    { "Sat, 30 Feb 2000 00:00:00 GMT", BAD },
    { "Thu Feb 29 12:00:00 2024", 1709208000 },
    { "Thursday, 29-Feb-24 12:00:00 GMT", 1709208000 },
    { "Wednesday, 29-Feb-23 12:00:00 GMT", BAD },
    /* Out-of-range fields. */
    { "Tue, 31 Apr 2024 00:00:00 GMT", BAD },
    { "Sun, 00 Nov 1994 08:49:37 GMT", BAD },
    { "Sun, 32 Dec 1994 08:49:37 GMT", BAD },
    { "Sun, 06 Nov 1994 24:00:00 GMT", BAD },
    { "Sun, 06 Nov 1994 08:60:37 GMT", BAD },
    { "Sun, 06 Nov 1994 08:49:61 GMT", BAD },
    { "Sun, 06 Nov 1994 08:49:60 GMT", 784111777 + 23 }, /* leap second = next :00 */
    { "Sun, 06 Nov 1994 23:59:59 GMT", 784166399 },
    { "Sat, 31 Dec 2016 23:59:60 GMT", 1483228800 }, /* a real leap second */
    { "Fri, 31 Dec 9999 23:59:60 GMT", BAD }, /* fuzz: would be year 10000 */
    { "Fri Dec 31 23:59:60 9999", BAD },
    /* Weekday: syntax checked, agreement with the date not (nginx, Go). */
    { "Mon, 06 Nov 1994 08:49:37 GMT", 784111777 },
    { "Monday, 06-Nov-94 08:49:37 GMT", 784111777 },
    { "Fri Nov  6 08:49:37 1994", 784111777 },
    { "Xyz, 06 Nov 1994 08:49:37 GMT", BAD },
    { "Sunday, 06 Nov 1994 08:49:37 GMT", BAD }, /* long name in IMF */
    { "Sun, 06-Nov-94 08:49:37 GMT", BAD },      /* short name in RFC 850 */
    { "Sundai, 06-Nov-94 08:49:37 GMT", BAD },
    /* Case-sensitive names and zone (%s in the ABNF). */
    { "sun, 06 Nov 1994 08:49:37 GMT", BAD },
    { "Sun, 06 nov 1994 08:49:37 GMT", BAD },
    { "Sun, 06 NOV 1994 08:49:37 GMT", BAD },
    { "Sun, 06 Nov 1994 08:49:37 gmt", BAD },
    { "Sun, 06 Nov 1994 08:49:37 UTC", BAD },
    { "Sun, 06 Nov 1994 08:49:37 +0000", BAD },
    /* Spacing, punctuation, length. */
    { "Sun, 06 Nov 1994 08:49:37 GMT ", BAD },
    { "Sun, 06 Nov 1994 08:49:37", BAD },
    { "Sun, 6 Nov 1994 08:49:37 GMT", BAD },
    { "Sun,  06 Nov 1994 08:49:37 GMT", BAD },
    { "Sun, 06 Nov 1994 08.49.37 GMT", BAD },
    { "Sun, 06 Nov 94 08:49:37 GMT", BAD },
    { "Sun, 06 Nov 1994 8:49:37 GMT", BAD },
    { "Sun Nov 6 08:49:37 1994", BAD },
    { "Sun Nov  6 08:49:37 1994 ", BAD },
    { "Sun Nov  x 08:49:37 1994", BAD },
    { "Sun Nov 6  08:49:37 1994", BAD },
    { "Sunday, 06-Nov-1994 08:49:37 GMT", BAD },
    { "Sunday,06-Nov-94 08:49:37 GMT", BAD },
    { "Sun, 06 Nov 1994 08:49:37 GMT; length=12", BAD }, /* old Netscape IMS */
    { "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT", BAD },
    { "Sun, +6 Nov 1994 08:49:37 GMT", BAD },
    { "Sun, 06 Nov -994 08:49:37 GMT", BAD },
    { "", BAD },
    { "0", BAD },
    { "784111777", BAD },
    /* RFC 850 two-digit years: fixed pivot at 70. */
    { "Thursday, 06-Nov-69 08:49:37 GMT", 3150953377 },
    { "Friday, 06-Nov-70 08:49:37 GMT", 26729377 },
    { "Wednesday, 09-Nov-94 08:49:37 GMT", 784111777 + 3 * 86400 },
};

static void test_date_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(date_rows); i++) {
        time_t t = 12345;
        int r = cond_parse_http_date(S(date_rows[i].in), &t);
        if (date_rows[i].want == BAD) {
            if (r != -1)
                fail_msg("row %zu \"%s\": accepted as %lld", i, date_rows[i].in, (long long)t);
        } else if (r != 0 || (int64_t)t != date_rows[i].want) {
            fail_msg("row %zu \"%s\": r=%d t=%lld want %lld", i, date_rows[i].in, r, (long long)t,
                     (long long)date_rows[i].want);
        }
    }
}

static void test_date_null_slice(void **state)
{
    (void)state;
    time_t t;
    assert_int_equal(cond_parse_http_date((ep_str){ 0 }, &t), -1);
    /* Not NUL-terminated: the slice length is all that counts. */
    const char buf[] = "Sun, 06 Nov 1994 08:49:37 GMTXXXX";
    assert_int_equal(cond_parse_http_date(ep_str_make(buf, 29), &t), 0);
    assert_int_equal(t, 784111777);
}

/* Everything time_http_date (gmtime_r) writes must parse back to the same t:
 * this checks the calendar math against libc over four centuries. */
static void test_date_roundtrip(void **state)
{
    (void)state;
    char out[TIME_HTTP_LEN + 1];
    for (int64_t t = -2208988800; t < 253402300799; t += 86400 * 29 + 3607) {
        time_t back;
        time_http_date((time_t)t, out);
        assert_int_equal(cond_parse_http_date(ep_str_make(out, TIME_HTTP_LEN), &back), 0);
        assert_int_equal((int64_t)back, t);
    }
}

/* The obsolete formats, written with gmtime_r, over the years RFC 850's
 * pivot maps unambiguously (1970-2069). */
static void test_date_roundtrip_obsolete(void **state)
{
    (void)state;
    static const char *const wd[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday" };
    static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    char out[64];
    for (int64_t t = 0; t < 3155760000; t += 86400 * 7 + 3601 * 5 + 1) {
        time_t tt = (time_t)t, back;
        struct tm tm;
        gmtime_r(&tt, &tm);
        snprintf(out, sizeof out, "%s, %02d-%s-%02d %02d:%02d:%02d GMT", wd[tm.tm_wday],
                 tm.tm_mday, mon[tm.tm_mon], tm.tm_year % 100, tm.tm_hour, tm.tm_min, tm.tm_sec);
        assert_int_equal(cond_parse_http_date(S(out), &back), 0);
        assert_int_equal((int64_t)back, t);
        snprintf(out, sizeof out, "%.3s %s %2d %02d:%02d:%02d %04d", wd[tm.tm_wday],
                 mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
        assert_int_equal(cond_parse_http_date(S(out), &back), 0);
        assert_int_equal((int64_t)back, t);
    }
}

/* ---- ETag ----------------------------------------------------------------- */

static void test_etag_matches_response(void **state)
{
    (void)state;
    static const struct {
        time_t mtime;
        int64_t size;
        const char *want;
    } rows[] = {
        { 0, 0, "\"0-0\"" },
        { 1, 1, "\"1-1\"" },
        { 784111777, 1234, "\"2ebc98a1-4d2\"" },
        { 0x7fffffff, 0xffffffffffLL, "\"7fffffff-ffffffffff\"" },
        { 1700000000, 5368709120LL, "\"6553f100-140000000\"" },
        { 253402300799, INT64_MAX, "\"3afff4417f-7fffffffffffffff\"" },
        { 16, 15, "\"10-f\"" },
    };
    char date[TIME_HTTP_LEN + 1];
    time_http_date(0, date);
    for (size_t i = 0; i < EP_ARRAY_LEN(rows); i++) {
        char mine[COND_ETAG_MAX], head[1024], line[128];
        size_t n = cond_etag(mine, rows[i].mtime, rows[i].size);
        assert_int_equal(n, strlen(mine));
        assert_string_equal(mine, rows[i].want);

        resp_fields f = { .date = date, .content_length = -1, .last_modified = rows[i].mtime,
                          .etag_size = rows[i].size };
        size_t hl = resp_head(head, sizeof head - 1, 200, &f);
        assert_true(hl > 0);
        head[hl] = '\0';
        snprintf(line, sizeof line, "\r\nETag: %s\r\n", mine);
        if (!strstr(head, line))
            fail_msg("response.c wrote a different ETag than %s:\n%s", mine, head);
    }
}

static void test_etag_max_fits(void **state)
{
    (void)state;
    char buf[COND_ETAG_MAX + 8];
    memset(buf, 'Z', sizeof buf);
    size_t n = cond_etag(buf, (time_t)-1, -1); /* both as uint64: 16 digits each */
    assert_int_equal(n, COND_ETAG_MAX - 1);
    assert_string_equal(buf, "\"ffffffffffffffff-ffffffffffffffff\"");
    assert_int_equal(buf[COND_ETAG_MAX], 'Z');
}

/* ---- Preconditions ------------------------------------------------------ */

#define ETAG "\"2ebc98a1-4d2\""
#define MTIME ((time_t)784111777)
#define D_EQ "Sun, 06 Nov 1994 08:49:37 GMT"
#define D_BEFORE "Sun, 06 Nov 1994 08:49:36 GMT" /* one second before mtime */
#define D_AFTER "Sun, 06 Nov 1994 08:49:38 GMT"

static const struct {
    const char *im, *ius, *inm, *ims; /* NULL: header absent */
    int want;
} pre_rows[] = {
    { NULL, NULL, NULL, NULL, 0 },
    /* If-Match alone: strong comparison. */
    { ETAG, NULL, NULL, NULL, 0 },
    { "\"other\"", NULL, NULL, NULL, 412 },
    { "*", NULL, NULL, NULL, 0 },
    { "W/" ETAG, NULL, NULL, NULL, 412 }, /* weak never matches strongly */
    { "\"a\", " ETAG, NULL, NULL, NULL, 0 },
    { "\"a\"  ,\t" ETAG " , ", NULL, NULL, NULL, 0 },
    { ", ,\"a\",," ETAG, NULL, NULL, NULL, 0 }, /* empty elements are legal */
    { ETAG ", bogus", NULL, NULL, NULL, 412 },   /* malformed: never matches */
    { ETAG " \"a\"", NULL, NULL, NULL, 412 },    /* missing comma */
    { "", NULL, NULL, NULL, 412 },               /* present, no tag can match */
    { ",", NULL, NULL, NULL, 412 },
    { "*, " ETAG, NULL, NULL, NULL, 412 },       /* "*" only alone */
    { "w/" ETAG, NULL, NULL, NULL, 412 },        /* "W/" is case-sensitive */
    { "\"2EBC98A1-4D2\"", NULL, NULL, NULL, 412 }, /* opaque-tag is case-sensitive */
    { "\"2ebc98a1-4d2", NULL, NULL, NULL, 412 },  /* unterminated */
    { "2ebc98a1-4d2", NULL, NULL, NULL, 412 },    /* unquoted */
    /* If-Unmodified-Since alone. */
    { NULL, D_BEFORE, NULL, NULL, 412 },
    { NULL, D_EQ, NULL, NULL, 0 },
    { NULL, D_AFTER, NULL, NULL, 0 },
    { NULL, "yesterday", NULL, NULL, 0 }, /* invalid date: ignored */
    { NULL, "Sunday, 06-Nov-94 08:49:36 GMT", NULL, NULL, 412 },
    /* If-Match present: If-Unmodified-Since is not evaluated. */
    { ETAG, D_BEFORE, NULL, NULL, 0 },
    { "\"other\"", D_AFTER, NULL, NULL, 412 },
    /* If-None-Match alone: weak comparison. */
    { NULL, NULL, ETAG, NULL, 304 },
    { NULL, NULL, "W/" ETAG, NULL, 304 },
    { NULL, NULL, "\"other\"", NULL, 0 },
    { NULL, NULL, "*", NULL, 304 },
    { NULL, NULL, "\"a\", \"b\",\t" ETAG, NULL, 304 },
    { NULL, NULL, "\"a\", W/\"b\"", NULL, 0 },
    { NULL, NULL, "\"a,b\", " ETAG, NULL, 304 }, /* a comma inside an opaque-tag */
    { NULL, NULL, ETAG " garbage", NULL, 0 },     /* malformed: proceed */
    { NULL, NULL, ETAG ", \"x", NULL, 0 },
    { NULL, NULL, "", NULL, 0 },
    { NULL, NULL, "\"a b\"", NULL, 0 }, /* SP is not etagc */
    /* If-Modified-Since alone. */
    { NULL, NULL, NULL, D_AFTER, 304 },
    { NULL, NULL, NULL, D_EQ, 304 },
    { NULL, NULL, NULL, D_BEFORE, 0 },
    { NULL, NULL, NULL, "Sun Nov  6 08:49:37 1994", 304 },
    { NULL, NULL, NULL, "Sunday, 06-Nov-94 08:49:37 GMT", 304 },
    { NULL, NULL, NULL, "garbage", 0 },
    { NULL, NULL, NULL, D_EQ "; length=1234", 0 },
    /* If-None-Match present overrides If-Modified-Since, whatever its value. */
    { NULL, NULL, "\"other\"", D_AFTER, 0 },
    { NULL, NULL, ETAG, D_BEFORE, 304 },
    { NULL, NULL, "bogus", D_AFTER, 0 },
    { NULL, NULL, "", D_AFTER, 0 },
    /* Step order: a failing If-Match / If-Unmodified-Since beats 304. */
    { "\"other\"", NULL, ETAG, NULL, 412 },
    { "\"other\"", NULL, NULL, D_AFTER, 412 },
    { NULL, D_BEFORE, ETAG, NULL, 412 },
    { NULL, D_BEFORE, NULL, D_AFTER, 412 },
    { ETAG, NULL, ETAG, NULL, 304 },
    { "*", NULL, "*", NULL, 304 },
    { ETAG, D_BEFORE, NULL, D_AFTER, 304 },
    { NULL, D_AFTER, "\"other\"", D_AFTER, 0 },
};

static void test_precondition_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(pre_rows); i++) {
        hp_info info = { .content_length = -1 };
        info.if_match = S(pre_rows[i].im);
        info.if_unmodified_since = S(pre_rows[i].ius);
        info.if_none_match = S(pre_rows[i].inm);
        info.if_modified_since = S(pre_rows[i].ims);
        int r = cond_check(&info, S(ETAG), MTIME);
        if (r != pre_rows[i].want)
            fail_msg("row %zu (IM=%s IUS=%s INM=%s IMS=%s): got %d want %d", i,
                     pre_rows[i].im ? pre_rows[i].im : "-", pre_rows[i].ius ? pre_rows[i].ius : "-",
                     pre_rows[i].inm ? pre_rows[i].inm : "-",
                     pre_rows[i].ims ? pre_rows[i].ims : "-", r, pre_rows[i].want);
    }
}

/* A representation without a usable ETag: only "*" can match. */
static void test_precondition_no_etag(void **state)
{
    (void)state;
    hp_info info = { .content_length = -1 };
    info.if_match = S("*");
    assert_int_equal(cond_check(&info, (ep_str){ 0 }, MTIME), 0);
    info.if_match = S(ETAG);
    assert_int_equal(cond_check(&info, (ep_str){ 0 }, MTIME), 412);
    assert_int_equal(cond_check(&info, S("not-a-tag"), MTIME), 412);
    info = (hp_info){ .content_length = -1 };
    info.if_none_match = S("*");
    assert_int_equal(cond_check(&info, (ep_str){ 0 }, MTIME), 304);
    info.if_none_match = S("\"\"");
    assert_int_equal(cond_check(&info, (ep_str){ 0 }, MTIME), 0);
    /* A weak ETag of ours: If-None-Match still matches, If-Match never. */
    assert_int_equal(cond_check(&info, S("W/\"\""), MTIME), 304);
    info = (hp_info){ .content_length = -1 };
    info.if_match = S("W/\"x\", \"x\"");
    assert_int_equal(cond_check(&info, S("W/\"x\""), MTIME), 412);
}

/* ---- If-Range ----------------------------------------------------------- */

static const struct {
    const char *if_range; /* NULL: absent */
    const char *etag;
    bool want;
} ifr_rows[] = {
    { NULL, ETAG, true },
    { ETAG, ETAG, true },
    { "W/" ETAG, ETAG, false }, /* weak never matches */
    { ETAG, "W/" ETAG, false },
    { "\"other\"", ETAG, false },
    { ETAG, "", false },
    { D_EQ, ETAG, true },
    { "Sun Nov  6 08:49:37 1994", ETAG, true },
    { "Sunday, 06-Nov-94 08:49:37 GMT", ETAG, true },
    { "Wed, 06 Nov 1994 08:49:37 GMT", ETAG, true }, /* starts with W, is a date */
    { D_BEFORE, ETAG, false },
    { D_AFTER, ETAG, false }, /* not "since": exact equality */
    { "", ETAG, false },
    { "garbage", ETAG, false },
    { ETAG ", " ETAG, ETAG, false }, /* not a list */
    { "W/", ETAG, false },
    { "\"2ebc98a1-4d2", ETAG, false },
};

static void test_if_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(ifr_rows); i++) {
        hp_info info = { .content_length = -1 };
        info.if_range = S(ifr_rows[i].if_range);
        bool r = cond_if_range_ok(&info, S(ifr_rows[i].etag), MTIME);
        if (r != ifr_rows[i].want)
            fail_msg("row %zu If-Range=%s etag=%s: got %d", i,
                     ifr_rows[i].if_range ? ifr_rows[i].if_range : "-", ifr_rows[i].etag, r);
    }
}

/* ---- Range -------------------------------------------------------------- */

#define GIB (1024LL * 1024 * 1024)
#define NONE COND_RANGE_NONE
#define UNSAT COND_RANGE_UNSATISFIABLE

static const struct {
    const char *hdr;
    int64_t size;
    int want;
    cond_range r[4];
} range_rows[] = {
    { "bytes=0-0", 100, 1, { { 0, 0 } } },
    { "bytes=0-99", 100, 1, { { 0, 99 } } },
    { "bytes=0-999", 100, 1, { { 0, 99 } } }, /* clamped */
    { "bytes=10-", 100, 1, { { 10, 99 } } },
    { "bytes=99-", 100, 1, { { 99, 99 } } },
    { "bytes=-10", 100, 1, { { 90, 99 } } },
    { "bytes=-100", 100, 1, { { 0, 99 } } },
    { "bytes=-1000", 100, 1, { { 0, 99 } } },
    { "bytes=000-001", 100, 1, { { 0, 1 } } }, /* leading zeros are digits */
    /* Unsatisfiable. */
    { "bytes=-0", 100, UNSAT, { { 0 } } },
    { "bytes=100-", 100, UNSAT, { { 0 } } },
    { "bytes=100-200", 100, UNSAT, { { 0 } } },
    { "bytes=100-200,-0", 100, UNSAT, { { 0 } } },
    { "bytes=0-1", 0, UNSAT, { { 0 } } },
    { "bytes=-5", 0, UNSAT, { { 0 } } },
    { "bytes=0-", 0, UNSAT, { { 0 } } },
    { "bytes=100-200,0-1", 100, 1, { { 0, 1 } } }, /* one satisfiable is enough */
    /* Merging, sorting. */
    { "bytes=0-10,5-20", 100, 1, { { 0, 20 } } },
    { "bytes=0-10,11-20", 100, 1, { { 0, 20 } } }, /* adjacent */
    { "bytes=0-10,12-20", 100, 2, { { 0, 10 }, { 12, 20 } } },
    { "bytes=50-60,0-10,20-30", 100, 3, { { 0, 10 }, { 20, 30 }, { 50, 60 } } },
    { "bytes=-10,0-5", 100, 2, { { 0, 5 }, { 90, 99 } } },
    { "bytes=0-0,-1", 1, 1, { { 0, 0 } } },
    { "bytes=5-9,0-4,10-", 100, 1, { { 0, 99 } } },
    { "bytes=20-30,0-100", 100, 1, { { 0, 99 } } },
    { "bytes=20-30,25-", 100, 1, { { 20, 99 } } },
    { "bytes=10-20,10-15", 100, 1, { { 10, 20 } } },
    /* Whitespace: OWS around commas only. */
    { "bytes=0-1 , 3-4", 100, 2, { { 0, 1 }, { 3, 4 } } },
    { "bytes=0-1,\t3-4", 100, 2, { { 0, 1 }, { 3, 4 } } },
    { "bytes=0-1 ", 100, 1, { { 0, 1 } } },
    { "bytes=,0-1,, 3-4,", 100, 2, { { 0, 1 }, { 3, 4 } } }, /* empty elements */
    { "bytes = 0-1", 100, NONE, { { 0 } } },
    { "bytes =0-1", 100, NONE, { { 0 } } },
    { "bytes= 0-1", 100, NONE, { { 0 } } },
    { "bytes=0 -1", 100, NONE, { { 0 } } },
    { "bytes=0- 1", 100, NONE, { { 0 } } },
    { "bytes=0-1 3-4", 100, NONE, { { 0 } } },
    { " bytes=0-1", 100, NONE, { { 0 } } },
    /* Unit. */
    { "BYTES=0-1", 100, 1, { { 0, 1 } } },
    { "Bytes=0-1", 100, 1, { { 0, 1 } } },
    { "items=0-1", 100, NONE, { { 0 } } },
    { "byte=0-1", 100, NONE, { { 0 } } },
    { "bytesx=0-1", 100, NONE, { { 0 } } },
    { "=0-1", 100, NONE, { { 0 } } },
    /* Syntax. */
    { "bytes=1-0", 100, NONE, { { 0 } } },
    { "bytes=0-1,5-2", 100, NONE, { { 0 } } }, /* one bad spec spoils the header */
    { "bytes=200-150", 100, NONE, { { 0 } } },
    { "bytes=a-b", 100, NONE, { { 0 } } },
    { "bytes=", 100, NONE, { { 0 } } },
    { "bytes=,", 100, NONE, { { 0 } } },
    { "bytes=, ,", 100, NONE, { { 0 } } },
    { "bytes", 100, NONE, { { 0 } } },
    { "", 100, NONE, { { 0 } } },
    { "bytes=-", 100, NONE, { { 0 } } },
    { "bytes=--1", 100, NONE, { { 0 } } },
    { "bytes=0--1", 100, NONE, { { 0 } } },
    { "bytes=0-1-2", 100, NONE, { { 0 } } },
    { "bytes=+1-2", 100, NONE, { { 0 } } },
    { "bytes=1", 100, NONE, { { 0 } } },
    { "bytes=0-1;", 100, NONE, { { 0 } } },
    { "bytes=0x10-0x20", 100, NONE, { { 0 } } },
    { "bytes=0-1=2", 100, NONE, { { 0 } } },
    /* Huge numbers: INT64_MAX fits, one more overflows (invalid). */
    { "bytes=9223372036854775807-", 100, UNSAT, { { 0 } } },
    { "bytes=0-9223372036854775807", 100, 1, { { 0, 99 } } },
    { "bytes=-9223372036854775807", 100, 1, { { 0, 99 } } },
    { "bytes=9223372036854775808-", 100, NONE, { { 0 } } },
    { "bytes=0-9223372036854775808", 100, NONE, { { 0 } } },
    { "bytes=-9223372036854775808", 100, NONE, { { 0 } } },
    { "bytes=0-99999999999999999999999", 100, NONE, { { 0 } } },
    { "bytes=0-9223372036854775806", INT64_MAX, 1, { { 0, INT64_MAX - 1 } } },
    { "bytes=-1", INT64_MAX, 1, { { INT64_MAX - 1, INT64_MAX - 1 } } },
    /* Beyond 4 GiB, on a 5 GiB file. */
    { "bytes=4294967296-4294967395", 5 * GIB, 1, { { 4 * GIB, 4 * GIB + 99 } } },
    { "bytes=4294967295-4294967296", 5 * GIB, 1, { { 4 * GIB - 1, 4 * GIB } } },
    { "bytes=-1", 5 * GIB, 1, { { 5 * GIB - 1, 5 * GIB - 1 } } },
    { "bytes=0-", 5 * GIB, 1, { { 0, 5 * GIB - 1 } } },
    { "bytes=5368709119-", 5 * GIB, 1, { { 5 * GIB - 1, 5 * GIB - 1 } } },
    { "bytes=5368709120-", 5 * GIB, UNSAT, { { 0 } } },
    { "bytes=0-0,4294967296-", 5 * GIB, 2, { { 0, 0 }, { 4 * GIB, 5 * GIB - 1 } } },
    { "bytes=-4294967296", 4 * GIB + 1, 1, { { 1, 4 * GIB } } },
    /* Negative size is a caller bug: ignore Range. */
    { "bytes=0-1", -1, NONE, { { 0 } } },
};

static void check_range_row(size_t i, const char *hdr, int64_t size, int want,
                            const cond_range *r)
{
    cond_range out[COND_MAX_RANGES + 1];
    int n = cond_parse_range(S(hdr), size, out, COND_MAX_RANGES);
    if (n != want)
        fail_msg("row %zu \"%s\" size %lld: got %d want %d", i, hdr, (long long)size, n, want);
    for (int k = 0; k < n; k++)
        if (out[k].first != r[k].first || out[k].last != r[k].last)
            fail_msg("row %zu \"%s\": range %d is %lld-%lld, want %lld-%lld", i, hdr, k,
                     (long long)out[k].first, (long long)out[k].last, (long long)r[k].first,
                     (long long)r[k].last);
}

static void test_range_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(range_rows); i++)
        check_range_row(i, range_rows[i].hdr, range_rows[i].size, range_rows[i].want,
                        range_rows[i].r);
}

/* "bytes=" + count specs "a-b" with a = start + k * step, b = a + len. */
static void build_specs(char *buf, size_t cap, int count, int64_t start, int64_t step, int64_t len)
{
    size_t off = (size_t)snprintf(buf, cap, "bytes=");
    for (int k = 0; k < count; k++) {
        int64_t a = start + k * step;
        off += (size_t)snprintf(buf + off, cap - off, "%s%lld-%lld", k ? "," : "",
                                (long long)a, (long long)(a + len));
        assert_true(off < cap);
    }
}

static void test_range_limits(void **state)
{
    (void)state;
    char hdr[8192];
    cond_range out[COND_MAX_RANGES];

    /* 16 disjoint ranges are served; 17 are range abuse -> 200. */
    build_specs(hdr, sizeof hdr, COND_MAX_RANGES, 0, 2, 0);
    assert_int_equal(cond_parse_range(S(hdr), 1000, out, COND_MAX_RANGES), COND_MAX_RANGES);
    assert_int_equal(out[15].first, 30);
    build_specs(hdr, sizeof hdr, COND_MAX_RANGES + 1, 0, 2, 0);
    assert_int_equal(cond_parse_range(S(hdr), 1000, out, COND_MAX_RANGES), NONE);
    /* ... unless they merge: the count is taken after merging. */
    build_specs(hdr, sizeof hdr, COND_MAX_RANGES + 1, 0, 1, 0);
    assert_int_equal(cond_parse_range(S(hdr), 1000, out, COND_MAX_RANGES), 1);
    assert_int_equal(out[0].first, 0);
    assert_int_equal(out[0].last, 16);
    /* Later specs may bridge earlier gaps: 17 disjoint, then one covering all. */
    build_specs(hdr, sizeof hdr, COND_MAX_RANGES + 1, 0, 2, 0);
    strcat(hdr, ",0-");
    assert_int_equal(cond_parse_range(S(hdr), 1000, out, COND_MAX_RANGES), 1);
    assert_int_equal(out[0].last, 999);
    /* The spec cap: 128 identical specs merge to one, 129 are refused. */
    build_specs(hdr, sizeof hdr, COND_MAX_RANGE_SPECS, 5, 0, 3);
    assert_int_equal(cond_parse_range(S(hdr), 1000, out, COND_MAX_RANGES), 1);
    build_specs(hdr, sizeof hdr, COND_MAX_RANGE_SPECS + 1, 5, 0, 3);
    assert_int_equal(cond_parse_range(S(hdr), 1000, out, COND_MAX_RANGES), NONE);
    /* Unsatisfiable specs count toward the cap too. */
    build_specs(hdr, sizeof hdr, COND_MAX_RANGE_SPECS + 1, 2000, 0, 3);
    assert_int_equal(cond_parse_range(S(hdr), 1000, out, COND_MAX_RANGES), NONE);
    /* max_out below the limit is honoured, and out[] is not overrun. */
    cond_range small[2] = { { -7, -7 }, { -7, -7 } };
    assert_int_equal(cond_parse_range(S("bytes=0-0,2-2"), 10, small, 1), NONE);
    assert_int_equal(cond_parse_range(S("bytes=0-0,1-1"), 10, small, 1), 1);
    assert_int_equal(small[1].first, -7);
    assert_int_equal(cond_parse_range(S("bytes=0-0"), 10, small, 0), NONE);
}

/* The header slice is not NUL-terminated: nothing past len may be read. */
static void test_range_slice_bounds(void **state)
{
    (void)state;
    cond_range out[COND_MAX_RANGES];
    const char buf[] = "bytes=0-12345";
    assert_int_equal(cond_parse_range(ep_str_make(buf, 9), 1000, out, COND_MAX_RANGES), 1);
    assert_int_equal(out[0].last, 1);
    assert_int_equal(cond_parse_range(ep_str_make(buf, 8), 1000, out, COND_MAX_RANGES), 1);
    assert_int_equal(out[0].last, 999);
    assert_int_equal(cond_parse_range((ep_str){ 0 }, 1000, out, COND_MAX_RANGES), NONE);
}

/* ---- Content-Range, boundary, multipart --------------------------------- */

static void test_content_range(void **state)
{
    (void)state;
    char buf[COND_CONTENT_RANGE_MAX];
    cond_range r = { 0, 99 };
    assert_int_equal(cond_content_range(buf, &r, 100), 14);
    assert_string_equal(buf, "bytes 0-99/100");
    assert_int_equal(cond_content_range(buf, NULL, 5 * GIB), 18);
    assert_string_equal(buf, "bytes */5368709120");
    r = (cond_range){ INT64_MAX - 1, INT64_MAX - 1 };
    size_t n = cond_content_range(buf, &r, INT64_MAX);
    assert_int_equal(n, COND_CONTENT_RANGE_MAX - 1);
    assert_string_equal(buf, "bytes 9223372036854775806-9223372036854775806/9223372036854775807");
}

static void test_boundary(void **state)
{
    (void)state;
    char a[COND_BOUNDARY_MAX], b[COND_BOUNDARY_MAX], c[COND_BOUNDARY_MAX];
    assert_int_equal(cond_boundary(a, 784111777, 1234, 1), COND_BOUNDARY_MAX - 1);
    cond_boundary(b, 784111777, 1234, 1);
    assert_string_equal(a, b); /* deterministic */
    cond_boundary(c, 784111777, 1234, 2);
    assert_string_not_equal(a, c);
    cond_boundary(c, 784111777, 1235, 1);
    assert_string_not_equal(a, c);
    cond_boundary(c, 784111778, 1234, 1);
    assert_string_not_equal(a, c);
    for (size_t i = 0; i < COND_BOUNDARY_MAX - 1; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
}

static void test_part_head_text(void **state)
{
    (void)state;
    char buf[256];
    cond_range r = { 10, 19 };
    ep_str bd = S("0123456789abcdef");
    size_t n = cond_part_head(buf, sizeof buf, bd, "text/plain", &r, 100);
    static const char want[] = "\r\n--0123456789abcdef\r\nContent-Type: text/plain\r\n"
                               "Content-Range: bytes 10-19/100\r\n\r\n";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(buf, want, n);
    n = cond_part_head(buf, sizeof buf, bd, NULL, &r, 100);
    static const char want2[] = "\r\n--0123456789abcdef\r\nContent-Range: bytes 10-19/100\r\n\r\n";
    assert_int_equal(n, sizeof want2 - 1);
    assert_memory_equal(buf, want2, n);
    n = cond_multipart_tail(buf, sizeof buf, bd);
    assert_int_equal(n, 24);
    assert_memory_equal(buf, "\r\n--0123456789abcdef--\r\n", n);
}

/* Every cap below the needed length returns 0 and writes nothing past cap. */
static void test_part_head_small_cap(void **state)
{
    (void)state;
    char buf[128];
    cond_range r = { 4 * GIB, 5 * GIB - 1 };
    ep_str bd = S("b0und4ry");
    size_t need = cond_part_head(buf, sizeof buf, bd, "video/mp4", &r, 5 * GIB);
    assert_true(need > 0);
    for (size_t cap = 0; cap < need; cap++) {
        memset(buf, '#', sizeof buf);
        assert_int_equal(cond_part_head(buf, cap, bd, "video/mp4", &r, 5 * GIB), 0);
        for (size_t k = cap; k < sizeof buf; k++)
            assert_int_equal(buf[k], '#');
    }
    assert_int_equal(cond_part_head(buf, need, bd, "video/mp4", &r, 5 * GIB), need);
    size_t tail = cond_multipart_tail(buf, sizeof buf, bd);
    assert_int_equal(cond_multipart_tail(buf, tail - 1, bd), 0);
    assert_int_equal(cond_multipart_tail(buf, tail, bd), tail);
}

/* cond_part_head_max is the exact worst case: the longest range numbers,
 * the full boundary; the .pptx part that a 160-byte buffer dropped fits. */
static void test_part_head_max(void **state)
{
    (void)state;
    static const char pptx[] = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
    char buf[512], bd[COND_BOUNDARY_MAX];
    ep_str b = ep_str_make(bd, cond_boundary(bd, 784111777, INT64_MAX, 1));
    cond_range r = { INT64_MAX - 2, INT64_MAX - 1 };
    size_t max = cond_part_head_max(sizeof pptx - 1);
    assert_true(max <= sizeof buf);
    assert_int_equal(cond_part_head(buf, sizeof buf, b, pptx, &r, INT64_MAX), max);
    assert_true(cond_multipart_tail(buf, sizeof buf, b) <= cond_part_head_max(0));
    cond_range deck = { 10000000, 10000001 };
    size_t n = cond_part_head(buf, max, b, pptx, &deck, 12000000);
    assert_true(n > 160 && n <= max);
    assert_int_equal(cond_part_head(buf, cond_part_head_max(0), b, NULL, &r, INT64_MAX),
                     cond_part_head_max(0) - strlen("\r\nContent-Type: "));
}

/* The announced Content-Length must equal what is actually sent. */
static void check_multipart_sum(const char *range_hdr, int64_t size, const char *ctype)
{
    cond_range r[COND_MAX_RANGES];
    char bd[COND_BOUNDARY_MAX], buf[512];
    int n = cond_parse_range(S(range_hdr), size, r, COND_MAX_RANGES);
    assert_true(n >= 1);
    ep_str b = ep_str_make(bd, cond_boundary(bd, 784111777, size, (uint64_t)n));
    int64_t sent = 0;
    for (int i = 0; i < n; i++) {
        size_t h = cond_part_head(buf, sizeof buf, b, ctype, &r[i], size);
        assert_true(h > 0);
        sent += (int64_t)h + (r[i].last - r[i].first + 1);
    }
    size_t t = cond_multipart_tail(buf, sizeof buf, b);
    assert_true(t > 0);
    sent += (int64_t)t;
    assert_int_equal(cond_multipart_length(b, ctype, r, (size_t)n, size), sent);
}

static void test_multipart_length(void **state)
{
    (void)state;
    check_multipart_sum("bytes=0-0,2-2", 3, "text/plain");
    check_multipart_sum("bytes=0-9,20-29,-5", 100, "text/html; charset=utf-8");
    check_multipart_sum("bytes=0-9,20-29,-5", 100, NULL);
    check_multipart_sum("bytes=0-0,4294967296-", 5 * GIB, "application/octet-stream");
    check_multipart_sum("bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,"
                        "22-22,24-24,26-26,28-28,30-", 1000000000000LL, "image/png");
    /* A single part and no parts are still well-formed totals. */
    check_multipart_sum("bytes=5-", 10, "text/plain");
    ep_str b = S("xyz");
    assert_int_equal(cond_multipart_length(b, NULL, NULL, 0, 10), 11);
}

static void test_multipart_length_overflow(void **state)
{
    (void)state;
    ep_str b = S("xyz");
    cond_range r[2] = { { 0, INT64_MAX - 1 }, { 0, 0 } };
    assert_int_equal(cond_multipart_length(b, NULL, r, 1, INT64_MAX), -1); /* heads + body */
    r[0] = (cond_range){ 0, INT64_MAX / 2 };
    r[1] = (cond_range){ 0, INT64_MAX / 2 };
    assert_int_equal(cond_multipart_length(b, NULL, r, 2, INT64_MAX), -1);
    /* Fuzz: three parts of a file of INT64_MAX bytes, parsed from a header. */
    cond_range p[COND_MAX_RANGES];
    assert_int_equal(cond_parse_range(S("BYTES=0-1 ,\t3-4,100-"), INT64_MAX, p, COND_MAX_RANGES), 3);
    assert_int_equal(cond_multipart_length(b, "text/plain", p, 3, INT64_MAX), -1);
    r[0] = (cond_range){ 5, 4 }; /* invalid range */
    assert_int_equal(cond_multipart_length(b, NULL, r, 1, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_table),
        cmocka_unit_test(test_date_null_slice),
        cmocka_unit_test(test_date_roundtrip),
        cmocka_unit_test(test_date_roundtrip_obsolete),
        cmocka_unit_test(test_etag_matches_response),
        cmocka_unit_test(test_etag_max_fits),
        cmocka_unit_test(test_precondition_table),
        cmocka_unit_test(test_precondition_no_etag),
        cmocka_unit_test(test_if_range),
        cmocka_unit_test(test_range_table),
        cmocka_unit_test(test_range_limits),
        cmocka_unit_test(test_range_slice_bounds),
        cmocka_unit_test(test_content_range),
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_part_head_text),
        cmocka_unit_test(test_part_head_small_cap),
        cmocka_unit_test(test_part_head_max),
        cmocka_unit_test(test_multipart_length),
        cmocka_unit_test(test_multipart_length_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
