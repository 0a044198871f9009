/* http/cond.c: HTTP-dates, entity-tags, RFC 9110 preconditions, Range parsing and multipart framing. */
#include "http/cond.h"

#include <string.h>

/* ctype.h is locale-dependent; protocol text is ASCII, so classify by hand. */
static inline bool is_digit(char c) { return (unsigned)(c - '0') < 10u; }
static inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* ---- HTTP-date ---------------------------------------------------------- */

static const char wday_short[7][4] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const wday_long[7] = { "Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int num2(const char *p)
{
    if (!is_digit(p[0]) || !is_digit(p[1]))
        return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

static int num4(const char *p)
{
    int hi = num2(p), lo = num2(p + 2);
    return hi < 0 || lo < 0 ? -1 : hi * 100 + lo;
}

static int month_at(const char *p)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(p, months[i], 3) == 0)
            return i;
    return -1;
}

static bool is_wday_short(const char *p)
{
    for (int i = 0; i < 7; i++)
        if (memcmp(p, wday_short[i], 3) == 0)
            return true;
    return false;
}

static bool is_wday_long(const char *p, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (strlen(wday_long[i]) == n && memcmp(p, wday_long[i], n) == 0)
            return true;
    return false;
}

/* "HH:MM:SS"; range checks happen in make_time. */
static bool parse_hms(const char *p, int hms[3])
{
    hms[0] = num2(p), hms[1] = num2(p + 3), hms[2] = num2(p + 6);
    return p[2] == ':' && p[5] == ':' && hms[0] >= 0 && hms[1] >= 0 && hms[2] >= 0;
}

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil): plain arithmetic, so no TZ or libc state is involved. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* mon is 0-based. Validates every field, then converts. */
static int make_time(int year, int mon, int day, const int hms[3], time_t *t)
{
    static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (year < 0 || mon < 0 || day < 1)
        return -1;
    if (day > mdays[mon] + (mon == 1 && is_leap(year)))
        return -1;
    if (hms[0] > 23 || hms[1] > 59 || hms[2] > 60)
        return -1;
    int64_t v = days_from_civil(year, mon + 1, day) * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    /* A leap second on 9999-12-31 would land in a year no HTTP-date can
     * spell (found by fuzzing); and a 32-bit time_t cannot hold it all. */
    if (v > 253402300799 || (int64_t)(time_t)v != v)
        return -1;
    *t = (time_t)v;
    return 0;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT", exactly 29 bytes. */
static int parse_imf(const char *s, time_t *t)
{
    int hms[3];
    if (!is_wday_short(s) || memcmp(s + 3, ", ", 2) != 0 || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || !parse_hms(s + 17, hms) || memcmp(s + 25, " GMT", 4) != 0)
        return -1;
    return make_time(num4(s + 12), month_at(s + 8), num2(s + 5), hms, t);
}

/* "Sunday, 06-Nov-94 08:49:37 GMT": a full day name, then 23 fixed bytes. */
static int parse_rfc850(const char *s, size_t len, time_t *t)
{
    const char *comma = memchr(s, ',', len < 10 ? len : 10);
    int hms[3];
    if (!comma || !is_wday_long(s, (size_t)(comma - s)))
        return -1;
    const char *r = comma + 1;
    if ((size_t)(s + len - r) != 23 || r[0] != ' ' || r[3] != '-' || r[7] != '-' ||
        r[10] != ' ' || !parse_hms(r + 11, hms) || memcmp(r + 19, " GMT", 4) != 0)
        return -1;
    int yy = num2(r + 8);
    if (yy < 0)
        return -1;
    /* Fixed pivot (see cond.h): nothing we serve predates the epoch. */
    return make_time(yy < 70 ? 2000 + yy : 1900 + yy, month_at(r + 4), num2(r + 1), hms, t);
}

/* "Sun Nov  6 08:49:37 1994", exactly 24 bytes; the day is "06" or " 6". */
static int parse_asctime(const char *s, time_t *t)
{
    int hms[3];
    if (!is_wday_short(s) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' ||
        !parse_hms(s + 11, hms) || s[19] != ' ')
        return -1;
    int day = s[8] == ' ' ? (is_digit(s[9]) ? s[9] - '0' : -1) : num2(s + 8);
    return make_time(num4(s + 20), month_at(s + 4), day, hms, t);
}

int cond_parse_http_date(ep_str s, time_t *t)
{
    if (s.len == 29)
        return parse_imf(s.p, t);
    if (s.len == 24 && s.p[3] == ' ')
        return parse_asctime(s.p, t);
    /* Shortest RFC 850 date: "Friday," + 23. */
    if (s.len >= 30)
        return parse_rfc850(s.p, s.len, t);
    return -1;
}

/* ---- Output helpers ----------------------------------------------------- */

/* Counts every byte, writes only while everything so far fit: measuring
 * (cap 0) and writing share one code path and cannot disagree. */
typedef struct {
    char *buf;
    size_t cap, len;
} wbuf;

static void put(wbuf *w, const char *s, size_t n)
{
    if (n && w->len <= w->cap && n <= w->cap - w->len) /* no wrap-around */
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

#define PUT_LIT(w, s) put((w), (s), sizeof(s) - 1)

/* Same digits as response.c's put_u64: no leading zeros, lowercase hex. */
static void put_u64(wbuf *w, uint64_t v, unsigned base)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = digits[v % base];
        v /= base;
    } while (v);
    put(w, tmp + i, sizeof tmp - i);
}

/* Ends a fixed-capacity string: the callers' caps are proven by the macros. */
static size_t finish_str(wbuf *w)
{
    w->buf[w->len < w->cap ? w->len : w->cap - 1] = '\0';
    return w->len;
}

size_t cond_etag(char *buf, time_t mtime, int64_t size)
{
    wbuf w = { buf, COND_ETAG_MAX, 0 };
    PUT_LIT(&w, "\"");
    put_u64(&w, (uint64_t)mtime, 16);
    PUT_LIT(&w, "-");
    put_u64(&w, (uint64_t)size, 16);
    PUT_LIT(&w, "\"");
    return finish_str(&w);
}

/* ---- Entity-tags and preconditions -------------------------------------- */

typedef struct {
    bool weak;
    ep_str opaque; /* including the quotes */
} etag_t;

/* etagc = %x21 / %x23-7E / obs-text: no space, DQUOTE, controls or DEL. */
static inline bool is_etagc(char c)
{
    unsigned char u = (unsigned char)c;
    return u == 0x21 || (u >= 0x23 && u != 0x7f);
}

/* Parse one entity-tag at p: [W/] DQUOTE *etagc DQUOTE. Returns the byte
 * after it, or NULL. "W/" is case-sensitive (%s in RFC 9110 8.8.3). */
static const char *etag_at(const char *p, const char *end, etag_t *e)
{
    e->weak = end - p >= 2 && p[0] == 'W' && p[1] == '/';
    if (e->weak)
        p += 2;
    if (p == end || *p != '"')
        return NULL;
    const char *q = p + 1;
    while (q < end && is_etagc(*q))
        q++;
    if (q == end || *q != '"')
        return NULL;
    e->opaque = ep_str_make(p, (size_t)(q + 1 - p));
    return q + 1;
}

static bool etag_whole(ep_str s, etag_t *e)
{
    return s.len && etag_at(s.p, s.p + s.len, e) == s.p + s.len;
}

static bool opaque_eq(const etag_t *a, const etag_t *b)
{
    return a->opaque.len == b->opaque.len && memcmp(a->opaque.p, b->opaque.p, a->opaque.len) == 0;
}

enum { LIST_NOMATCH, LIST_MATCH, LIST_MALFORMED };

/* Walk a #entity-tag list to its end even after a match: one malformed
 * element makes the whole field malformed (never "half valid"). ours is NULL
 * when the representation has no usable ETag. */
static int list_match(ep_str v, const etag_t *ours, bool strong)
{
    const char *p = v.p, *end = v.p + v.len;
    bool matched = false;
    for (;;) {
        while (p < end && (*p == ',' || is_ows(*p))) /* empty elements are legal */
            p++;
        if (p == end)
            break;
        etag_t e;
        p = etag_at(p, end, &e);
        if (!p)
            return LIST_MALFORMED;
        if (ours && opaque_eq(&e, ours) && (!strong || (!e.weak && !ours->weak)))
            matched = true;
        while (p < end && is_ows(*p))
            p++;
        if (p < end && *p != ',')
            return LIST_MALFORMED;
    }
    return matched ? LIST_MATCH : LIST_NOMATCH;
}

static bool is_star(ep_str v) { return v.len == 1 && v.p[0] == '*'; }

int cond_check(const hp_info *info, ep_str etag, time_t mtime)
{
    etag_t ours;
    const etag_t *op = etag_whole(etag, &ours) ? &ours : NULL;
    time_t d;

    /* Steps 1-2: If-Match decides alone when present (13.1.4: ignore IUS). */
    if (info->if_match.p) {
        if (!is_star(info->if_match) && list_match(info->if_match, op, true) != LIST_MATCH)
            return 412;
    } else if (info->if_unmodified_since.p &&
               cond_parse_http_date(info->if_unmodified_since, &d) == 0 && mtime > d) {
        return 412;
    }
    /* Steps 3-4: an ETag is the finer validator, so If-None-Match, even a
     * malformed one, silences If-Modified-Since (13.1.3). */
    if (info->if_none_match.p) {
        if (is_star(info->if_none_match) ||
            list_match(info->if_none_match, op, false) == LIST_MATCH)
            return 304;
    } else if (info->if_modified_since.p &&
               cond_parse_http_date(info->if_modified_since, &d) == 0 && mtime <= d) {
        return 304;
    }
    return 0;
}

bool cond_if_range_ok(const hp_info *info, ep_str etag, time_t mtime)
{
    ep_str v = info->if_range;
    if (!v.p)
        return true;
    /* A DQUOTE or "W/" start tells a tag from a date ("Wed, ..."). */
    if (v.len && (v.p[0] == '"' || (v.len >= 2 && v.p[0] == 'W' && v.p[1] == '/'))) {
        etag_t theirs, ours;
        return etag_whole(v, &theirs) && etag_whole(etag, &ours) && !theirs.weak && !ours.weak &&
               opaque_eq(&theirs, &ours);
    }
    time_t d;
    return cond_parse_http_date(v, &d) == 0 && d == mtime;
}

/* ---- Range -------------------------------------------------------------- */

/* 1*DIGIT into *v; false on no digit or int64 overflow. */
static bool parse_num(const char **pp, const char *end, int64_t *v)
{
    const char *p = *pp;
    int64_t n = 0;
    if (p == end || !is_digit(*p))
        return false;
    for (; p < end && is_digit(*p); p++) {
        int d = *p - '0';
        if (n > (INT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *pp = p;
    *v = n;
    return true;
}

enum { SPEC_INVALID = -1, SPEC_UNSAT = 0, SPEC_OK = 1 };

/* One range-spec at *pp, resolved against size (> 0 or it is unsatisfiable). */
static int parse_spec(const char **pp, const char *end, int64_t size, cond_range *r)
{
    int64_t a, b;
    if (*pp < end && **pp == '-') { /* suffix-range */
        ++*pp;
        if (!parse_num(pp, end, &b))
            return SPEC_INVALID;
        if (b == 0 || size == 0)
            return SPEC_UNSAT;
        *r = (cond_range){ b >= size ? 0 : size - b, size - 1 };
        return SPEC_OK;
    }
    if (!parse_num(pp, end, &a) || *pp == end || **pp != '-')
        return SPEC_INVALID;
    ++*pp;
    b = INT64_MAX;
    if (*pp < end && is_digit(**pp) && !parse_num(pp, end, &b))
        return SPEC_INVALID;
    if (b < a)
        return SPEC_INVALID;
    if (a >= size)
        return SPEC_UNSAT;
    *r = (cond_range){ a, b < size ? b : size - 1 };
    return SPEC_OK;
}

/* Insertion sort (n <= COND_MAX_RANGE_SPECS) then merge of overlapping or
 * adjacent ranges in place. Returns the merged count. */
static size_t sort_merge(cond_range *r, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        cond_range x = r[i];
        size_t j = i;
        for (; j > 0 && r[j - 1].first > x.first; j--)
            r[j] = r[j - 1];
        r[j] = x;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        /* last < size <= INT64_MAX, so last + 1 cannot overflow. */
        if (m && r[i].first <= r[m - 1].last + 1) {
            if (r[i].last > r[m - 1].last)
                r[m - 1].last = r[i].last;
        } else {
            r[m++] = r[i];
        }
    }
    return m;
}

/* "bytes" case-insensitively, without strncasecmp (locale). */
static bool is_bytes_unit(const char *p, size_t n)
{
    static const char lit[] = "bytes";
    if (n != sizeof lit - 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((p[i] | 0x20) != lit[i])
            return false;
    return true;
}

int cond_parse_range(ep_str header, int64_t size, cond_range *out, size_t max_out)
{
    const char *eq = header.len ? memchr(header.p, '=', header.len) : NULL;
    if (size < 0 || !eq || !is_bytes_unit(header.p, (size_t)(eq - header.p)))
        return COND_RANGE_NONE;
    const char *end = header.p + header.len; /* header.p is not NULL past here */

    cond_range tmp[COND_MAX_RANGE_SPECS];
    size_t nspec = 0, nsat = 0;
    const char *p = eq + 1; /* no OWS here: only around commas */
    while (p < end) {
        if (*p == ',') { /* empty element; OWS may follow the comma */
            for (p++; p < end && is_ows(*p); p++)
                ;
            continue;
        }
        if (++nspec > COND_MAX_RANGE_SPECS)
            return COND_RANGE_NONE;
        int k = parse_spec(&p, end, size, &tmp[nsat]);
        if (k == SPEC_INVALID)
            return COND_RANGE_NONE;
        nsat += k == SPEC_OK;
        while (p < end && is_ows(*p))
            p++;
        if (p < end && *p != ',')
            return COND_RANGE_NONE;
    }
    if (nspec == 0)
        return COND_RANGE_NONE;
    if (nsat == 0)
        return COND_RANGE_UNSATISFIABLE;
    size_t m = sort_merge(tmp, nsat);
    if (m > max_out || m > COND_MAX_RANGES)
        return COND_RANGE_NONE;
    memcpy(out, tmp, m * sizeof *out);
    return (int)m;
}

/* ---- Content-Range and multipart/byteranges ----------------------------- */

static void put_content_range(wbuf *w, const cond_range *r, int64_t size)
{
    PUT_LIT(w, "bytes ");
    if (r) {
        put_u64(w, (uint64_t)r->first, 10);
        PUT_LIT(w, "-");
        put_u64(w, (uint64_t)r->last, 10);
    } else {
        PUT_LIT(w, "*");
    }
    PUT_LIT(w, "/");
    put_u64(w, (uint64_t)size, 10);
}

size_t cond_content_range(char *buf, const cond_range *r, int64_t size)
{
    wbuf w = { buf, COND_CONTENT_RANGE_MAX, 0 };
    put_content_range(&w, r, size);
    return finish_str(&w);
}

/* splitmix64's finaliser: every input bit affects every output bit. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

size_t cond_boundary(char *buf, time_t mtime, int64_t size, uint64_t counter)
{
    static const char digits[] = "0123456789abcdef";
    uint64_t h = mix64(mix64(mix64((uint64_t)mtime) ^ (uint64_t)size) ^ counter);
    for (int i = 15; i >= 0; i--, h >>= 4) /* fixed width: zero-padded */
        buf[i] = digits[h & 15];
    buf[16] = '\0';
    return 16;
}

static void put_part_head(wbuf *w, ep_str boundary, const char *content_type,
                          const cond_range *r, int64_t size)
{
    PUT_LIT(w, "\r\n--");
    put(w, boundary.p, boundary.len);
    if (content_type) {
        PUT_LIT(w, "\r\nContent-Type: ");
        put(w, content_type, strlen(content_type));
    }
    PUT_LIT(w, "\r\nContent-Range: ");
    put_content_range(w, r, size);
    PUT_LIT(w, "\r\n\r\n");
}

static void put_tail(wbuf *w, ep_str boundary)
{
    PUT_LIT(w, "\r\n--");
    put(w, boundary.p, boundary.len);
    PUT_LIT(w, "--\r\n");
}

size_t cond_part_head_max(size_t type_len)
{
    /* "\r\n--" boundary "\r\nContent-Type: " type "\r\nContent-Range: " range "\r\n\r\n" */
    return 4 + (COND_BOUNDARY_MAX - 1) + 16 + type_len + 17 + (COND_CONTENT_RANGE_MAX - 1) + 4;
}

size_t cond_part_head(char *buf, size_t cap, ep_str boundary, const char *content_type,
                      const cond_range *r, int64_t size)
{
    wbuf w = { buf, cap, 0 };
    put_part_head(&w, boundary, content_type, r, size);
    return w.len <= cap ? w.len : 0;
}

size_t cond_multipart_tail(char *buf, size_t cap, ep_str boundary)
{
    wbuf w = { buf, cap, 0 };
    put_tail(&w, boundary);
    return w.len <= cap ? w.len : 0;
}

int64_t cond_multipart_length(ep_str boundary, const char *content_type, const cond_range *r,
                              size_t n, int64_t size)
{
    wbuf w = { NULL, 0, 0 }; /* measure only */
    int64_t body = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].first < 0 || r[i].last < r[i].first)
            return -1;
        int64_t len = r[i].last - r[i].first + 1; /* cannot overflow: first >= 0 */
        if (body > INT64_MAX - len)
            return -1;
        body += len;
        put_part_head(&w, boundary, content_type, &r[i], size);
    }
    put_tail(&w, boundary);
    if (w.len > (uint64_t)(INT64_MAX - body))
        return -1;
    return body + (int64_t)w.len;
}
