/* tests/unit/test_time.c: HTTP and log dates by arithmetic, checked against glibc's gmtime_r + strftime. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/time.h"

/* The reference: glibc in the C locale (names are English there); the
 * year by hand, since %Y does not pad years below 1000 to four digits. */
static void ref_http(time_t t, char *out, size_t len)
{
    struct tm tm;
    char a[16], b[16];
    assert_non_null(gmtime_r(&t, &tm));
    strftime(a, sizeof a, "%a, %d %b", &tm);
    strftime(b, sizeof b, "%H:%M:%S", &tm);
    assert_int_equal(snprintf(out, len, "%s %04d %s GMT", a, tm.tm_year + 1900, b), TIME_HTTP_LEN);
}

static void ref_log(time_t t, char *out, size_t len)
{
    struct tm tm;
    char a[16], b[16];
    assert_non_null(gmtime_r(&t, &tm));
    strftime(a, sizeof a, "%d/%b", &tm);
    strftime(b, sizeof b, "%H:%M:%S", &tm);
    assert_int_equal(snprintf(out, len, "%s/%04d:%s +0000", a, tm.tm_year + 1900, b), TIME_LOG_LEN);
}

static void check(time_t t)
{
    char want[64], got[64];
    ref_http(t, want, sizeof want);
    memset(got, 'x', sizeof got);
    time_http_date(t, got);
    assert_string_equal(got, want);
    ref_log(t, want, sizeof want);
    time_log_date(t, got);
    assert_string_equal(got, want);
}

/* Day and year edges: the epoch, leap days, century rules, before 1970. */
static void test_edges(void **state)
{
    (void)state;
    static const time_t at[] = {
        0,           -1,          86399,      86400,      951782400 /* 2000-02-29 */,
        951868799,   951868800,   -2203891200 /* 1900-03-01 */,   4107542400 /* 2100-03-01 */,
        4107455999,  784111777 /* RFC 9110's example */,           1795881600, 2147483647,
        2147483648,  -62135596800 /* 0001-01-01 */,                253402300799 /* 9999-12-31 23:59:59 */,
        -62167219200 /* 0000-01-01 */,                          -62135596801 /* 0000-12-31 23:59:59 */,
        -86401,      1709164800 /* 2024-02-29 */,
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        check(at[i]);
}

/* Every day's midnight and last second over 1600..2500, and a spread of
 * times of day. */
static void test_every_day(void **state)
{
    (void)state;
    for (int64_t d = -135140; d <= 193000; d++) { /* 1600-01-01 .. 2498 */
        check((time_t)(d * 86400));
        check((time_t)(d * 86400 + 86399));
        check((time_t)(d * 86400 + (d * 7919) % 86400));
    }
}

/* Beyond what an HTTP date can write: the nearest date it can. Year 0000
 * is written: the date parser reads it (the fuzzer's round trip). */
static void test_clamped(void **state)
{
    (void)state;
    char got[64];
    time_http_date((time_t)253402300800LL, got);
    assert_string_equal(got, "Fri, 31 Dec 9999 23:59:59 GMT");
    time_http_date((time_t)INT64_MAX, got);
    assert_string_equal(got, "Fri, 31 Dec 9999 23:59:59 GMT");
    time_http_date((time_t)INT64_MIN, got);
    assert_string_equal(got, "Sat, 01 Jan 0000 00:00:00 GMT");
    time_log_date((time_t)-62167219201LL, got);
    assert_string_equal(got, "01/Jan/0000:00:00:00 +0000");
}

/* The memo answers what time_http_date writes, for times that share a
 * slot and replace each other, for 0 (a slot's start) and after reuse. */
static void test_memo(void **state)
{
    (void)state;
    time_memo m;
    time_memo_init(&m);
    char want[TIME_HTTP_LEN + 1];
    const time_t at[] = { 0, 1, 784111777, 784111777 + TIME_MEMO_SLOTS, 784111777, -1, 253402300799LL,
                          784111777 + (2048 * TIME_MEMO_SLOTS), 0 };
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
            time_http_date(at[i], want);
            assert_string_equal(time_http_date_memo(&m, at[i]), want);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_every_day),
        cmocka_unit_test(test_clamped),
        cmocka_unit_test(test_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
