/* http/h2fields.c: RFC 9113 8.2-8.3 request field rules, as nghttp2 1.52 applies them for a server. */
#include "http/h2fields.h"

#include <string.h>

enum {
    H2F_METHOD = 1u << 0,
    H2F_PATH = 1u << 1,
    H2F_SCHEME = 1u << 2,
    H2F_AUTHORITY = 1u << 3,
    H2F_HOST = 1u << 4,
    H2F_REGULAR = 1u << 5, /* a regular field came: no pseudo-header may follow */
    H2F_CONNECT = 1u << 6,
    H2F_OPTIONS = 1u << 7,
    H2F_PATH_SLASH = 1u << 8,
    H2F_PATH_STAR = 1u << 9,
    H2F_HTTP_SCHEME = 1u << 10,
};

/* Byte classes, nghttp2's tables as one: a name's tchar (lower case only,
 * 8.2.1); a value's field-vchar, SP, HTAB and obs-text (no NUL, CR, LF,
 * other controls or DEL); :method's tchar; :path's visible bytes; an
 * authority's (host, port, brackets). */
enum { C_NAME = 1, C_VALUE = 2, C_METHOD = 4, C_PATH = 8, C_AUTHORITY = 16 };
static const uint8_t byte_class[256] = {
     0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     2, 31, 10, 15, 31, 31, 31, 31, 26, 26, 31, 31, 26, 31, 31, 10,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 26, 26, 10, 26, 10, 10,
    26, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 26, 10, 26, 15, 31,
    15, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 10, 15, 10, 31,  0,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
};

/* Every byte of p in the class (mask). */
static inline bool all(const uint8_t *p, size_t n, uint8_t mask)
{
    uint8_t acc = mask;
    for (size_t i = 0; i < n; i++)
        acc &= byte_class[p[i]];
    return acc == mask;
}

static bool scheme_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || !((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++) {
        uint8_t c = p[i];
        if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
              c == '.'))
            return false;
    }
    return true;
}

/* No leading or trailing SP/HTAB (RFC 9113 8.2.1), field bytes only. */
static bool value_ok(const uint8_t *p, size_t n)
{
    if (n && (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        return false;
    return all(p, n, C_VALUE);
}

static bool is(const uint8_t *p, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

static bool ieq(const uint8_t *p, size_t n, const char *lit)
{
    if (n != strlen(lit))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]) != (uint8_t)lit[i])
            return false;
    return true;
}

static int64_t parse_length(const uint8_t *p, size_t n)
{
    if (n == 0)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (INT64_MAX - (p[i] - '0')) / 10)
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

void h2f_begin(h2f_state *s)
{
    *s = (h2f_state){ .content_length = -1 };
}

/* A pseudo-header may come once, with a value. */
static int once(h2f_state *s, uint32_t bit, size_t vlen)
{
    if ((s->seen & bit) || vlen == 0)
        return -1;
    s->seen |= bit;
    return 0;
}

static int pseudo(h2f_state *s, const uint8_t *name, size_t nlen, const uint8_t *v, size_t vlen)
{
    if (s->seen & H2F_REGULAR)
        return -1;
    if (is(name, nlen, ":method")) {
        if (!all(v, vlen, C_METHOD) || once(s, H2F_METHOD, vlen) < 0)
            return -1;
        s->seen |= is(v, vlen, "CONNECT") ? H2F_CONNECT : is(v, vlen, "OPTIONS") ? H2F_OPTIONS : 0;
        return 0;
    }
    if (is(name, nlen, ":path")) {
        if (!all(v, vlen, C_PATH) || once(s, H2F_PATH, vlen) < 0)
            return -1;
        s->seen |= v[0] == '/' ? H2F_PATH_SLASH : vlen == 1 && v[0] == '*' ? H2F_PATH_STAR : 0;
        return 0;
    }
    if (is(name, nlen, ":scheme")) {
        if (!scheme_ok(v, vlen) || once(s, H2F_SCHEME, vlen) < 0)
            return -1;
        s->seen |= ieq(v, vlen, "http") || ieq(v, vlen, "https") ? H2F_HTTP_SCHEME : 0;
        return 0;
    }
    if (is(name, nlen, ":authority"))
        return all(v, vlen, C_AUTHORITY) ? once(s, H2F_AUTHORITY, vlen) : -1;
    return -1; /* :protocol too: extended CONNECT is not offered */
}

int h2f_field(h2f_state *s, const uint8_t *name, size_t nlen, const uint8_t *v, size_t vlen, bool trailer)
{
    if (nlen == 0)
        return -1;
    if (name[0] == ':')
        return nlen > 1 && all(name + 1, nlen - 1, C_NAME) && !trailer ? pseudo(s, name, nlen, v, vlen) : -1;
    if (!all(name, nlen, C_NAME))
        return -1;
    s->seen |= H2F_REGULAR;
    if (nlen == 4 && is(name, nlen, "host"))
        return all(v, vlen, C_AUTHORITY) ? once(s, H2F_HOST, vlen) : -1;
    if (!value_ok(v, vlen))
        return -1;
    switch (nlen) { /* the names with a rule of their own, by length: one compare at most */
    case 2: /* TE only as "trailers" (8.2.2) */
        return is(name, nlen, "te") && !ieq(v, vlen, "trailers") ? -1 : 0;
    case 14:
        if (!is(name, nlen, "content-length"))
            return 0;
        if (s->content_length != -1)
            return -1;
        s->content_length = parse_length(v, vlen);
        return s->content_length < 0 ? -1 : 0;
    /* Connection-specific fields (8.2.2). */
    case 7:
        return is(name, nlen, "upgrade") ? -1 : 0;
    case 10:
        return is(name, nlen, "connection") || is(name, nlen, "keep-alive") ? -1 : 0;
    case 16:
        return is(name, nlen, "proxy-connection") ? -1 : 0;
    case 17:
        return is(name, nlen, "transfer-encoding") ? -1 : 0;
    default:
        return 0;
    }
}

int h2f_request(h2f_state *s)
{
    uint32_t f = s->seen;
    if (f & H2F_CONNECT) { /* 8.5: the authority only, and a tunnel's DATA has no length */
        s->content_length = -1;
        return (f & (H2F_SCHEME | H2F_PATH)) || !(f & H2F_AUTHORITY) ? -1 : 0;
    }
    if ((f & (H2F_METHOD | H2F_SCHEME | H2F_PATH)) != (H2F_METHOD | H2F_SCHEME | H2F_PATH) ||
        !(f & (H2F_AUTHORITY | H2F_HOST)))
        return -1;
    /* An http(s) target is a path, or "*" for OPTIONS (8.3.1). */
    if ((f & H2F_HTTP_SCHEME) && !(f & H2F_PATH_SLASH) && !((f & H2F_OPTIONS) && (f & H2F_PATH_STAR)))
        return -1;
    return 0;
}

int h2f_data(h2f_state *s, size_t n)
{
    s->received += (int64_t)n;
    return s->content_length >= 0 && s->received > s->content_length ? -1 : 0;
}

int h2f_end(const h2f_state *s)
{
    return s->content_length >= 0 && s->received != s->content_length ? -1 : 0;
}
