/* util/time.c: clocks, HTTP and log date formats, and duration parsing. */
#include "util/time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char wday_names[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char mon_names[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

static char *put4(char *p, int v)
{
    p = put2(p, v / 100);
    return put2(p, v % 100);
}

static char *put_hms(char *p, const struct tm *tm)
{
    p = put2(p, tm->tm_hour);
    *p++ = ':';
    p = put2(p, tm->tm_min);
    *p++ = ':';
    return put2(p, tm->tm_sec);
}

/* Broken-down UTC by arithmetic (days to civil date, as in Howard
 * Hinnant's "chrono-compatible low-level date algorithms"): gmtime_r takes
 * glibc's time-zone lock on every call, and a file's Last-Modified is
 * formatted per response. Times outside years 0..9999, which an HTTP date
 * cannot write (and cond_parse_http_date cannot read), are clamped to them. */
static void utc_tm(time_t t, struct tm *tm)
{
    const int64_t lo = -62167219200LL, hi = 253402300799LL; /* 0000-01-01, 9999-12-31 23:59:59 */
    int64_t s = (int64_t)t < lo ? lo : (int64_t)t > hi ? hi : (int64_t)t;
    int64_t days = s / 86400, secs = s % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    tm->tm_hour = (int)(secs / 3600);
    tm->tm_min = (int)(secs / 60 % 60);
    tm->tm_sec = (int)(secs % 60);
    tm->tm_wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    int64_t z = days + 719468;               /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t mon = mp < 10 ? mp + 3 : mp - 9;
    tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->tm_mon = (int)mon - 1;
    tm->tm_year = (int)(yoe + era * 400 + (mon <= 2)) - 1900;
}

/* Formatted by hand: strftime depends on the locale, and these are protocol text. */
void time_http_date(time_t t, char *out)
{
    struct tm tm;
    utc_tm(t, &tm);
    char *p = out;
    memcpy(p, wday_names[tm.tm_wday], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put2(p, tm.tm_mday);
    *p++ = ' ';
    memcpy(p, mon_names[tm.tm_mon], 3);
    p += 3;
    *p++ = ' ';
    p = put4(p, tm.tm_year + 1900);
    *p++ = ' ';
    p = put_hms(p, &tm);
    memcpy(p, " GMT", 5);
}

void time_memo_init(time_memo *m)
{
    for (size_t i = 0; i < TIME_MEMO_SLOTS; i++) {
        m->t[i] = 0;
        time_http_date(0, m->s[i]);
    }
}

const char *time_http_date_memo(time_memo *m, time_t t)
{
    size_t i = (size_t)((uint64_t)t ^ (uint64_t)t >> 11) % TIME_MEMO_SLOTS;
    if (m->t[i] != t) {
        time_http_date(t, m->s[i]);
        m->t[i] = t;
    }
    return m->s[i];
}

void time_log_date(time_t t, char *out)
{
    struct tm tm;
    utc_tm(t, &tm);
    char *p = put2(out, tm.tm_mday);
    *p++ = '/';
    memcpy(p, mon_names[tm.tm_mon], 3);
    p += 3;
    *p++ = '/';
    p = put4(p, tm.tm_year + 1900);
    *p++ = ':';
    p = put_hms(p, &tm);
    memcpy(p, " +0000", 7);
}

int time_parse_duration(const char *s, int64_t max_ms, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = { { "ms", 1 }, { "", 1000 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
                  { "d", 86400000 }, { "w", 604800000 }, { "y", 31536000000 } };
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v > (unsigned long long)max_ms)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0) {
            if ((int64_t)v > max_ms / units[i].ms)
                return -1;
            *ms = (int64_t)v * units[i].ms;
            return 0;
        }
    return -1;
}
