/* http/parser.c: strict zero-copy HTTP/1.x head parser, head semantics, chunked-body skipper. */
#include "http/parser.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Byte classes. C_TOK: tchar (RFC 9110 5.6.2). C_VAL: field-value byte
 * (HTAB, SP, VCHAR, obs-text). C_VIS: request-target byte (VCHAR only). */
enum { C_TOK = 1, C_VAL = 2, C_VIS = 4 };

static const unsigned char ctab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    2, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6, /* 0x20 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, /* 0x30 */
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 0x40 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7, /* 0x50 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 0x60 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xA0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xB0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xC0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xD0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xE0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xF0 */
};

bool hp_is_tchar(unsigned char c)
{
    return ctab[c] & C_TOK;
}

#define MAX_LEADING_EMPTY 8      /* RFC 9112 2.2 asks us to skip "at least one" */
#define MAX_TRAILER_BYTES 8192   /* also bounds one chunk-ext line */
#define MAX_SIZE_DIGITS 64       /* leading zeros included; stops endless size lines */

/* SWAR helpers: test 8 bytes at once so long values (User-Agent, Cookie)
 * and targets are scanned a word at a time; the exact per-byte table check
 * then runs only on the word that holds the terminator. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load8(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* Nonzero iff some byte of x is below n (exact for n <= 128). */
static inline uint64_t any_below(uint64_t x, uint64_t n) { return (x - ONES * n) & ~x & HIGHS; }
static inline uint64_t any_del(uint64_t x) { return any_below(x ^ (ONES * 0x7F), 1); }

/* Skip bytes of class cls (C_VAL or C_VIS, a constant after inlining).
 * HTAB in a value also stops the word loop; the byte loop accepts it. */
static inline const unsigned char *scan_class(const unsigned char *p, const unsigned char *end, unsigned cls)
{
    const uint64_t lowest = cls == C_VIS ? 0x21 : 0x20, high = cls == C_VIS ? HIGHS : 0;
    while (end - p >= 8) {
        uint64_t x = load8(p);
        if (any_below(x, lowest) | any_del(x) | (x & high))
            break;
        p += 8;
    }
    while (p < end && (ctab[*p] & cls))
        p++;
    return p;
}

static inline const unsigned char *scan_token(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (ctab[*p] & C_TOK))
        p++;
    return p;
}

static inline ep_str slice(const unsigned char *a, const unsigned char *b)
{
    return ep_str_make((const char *)a, (size_t)(b - a));
}

/* Consume a line end at *pp (p < end): CRLF or bare LF. Returns 0, or
 * HP_INCOMPLETE (lone CR at the end), or HP_INVALID (anything else). */
static inline int eat_eol(const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp;
    if (*p == '\n') {
        *pp = p + 1;
        return 0;
    }
    if (*p != '\r')
        return HP_INVALID;
    if (p + 1 == end)
        return HP_INCOMPLETE;
    if (p[1] != '\n')
        return HP_INVALID;
    *pp = p + 2;
    return 0;
}

/* method SP request-target SP HTTP-version EOL, after the leading empty lines. */
static int parse_request_line(const unsigned char **pp, const unsigned char *end, hp_request *req)
{
    static const char ver[] = "HTTP/1.";
    const unsigned char *p = *pp, *start = p;

    p = scan_token(p, end);
    if (p == end)
        return HP_INCOMPLETE;
    if (p == start || *p != ' ')
        return HP_INVALID;
    req->method = slice(start, p);

    start = ++p;
    p = scan_class(p, end, C_VIS);
    if (p == end)
        return HP_INCOMPLETE;
    if (p == start || *p != ' ')
        return HP_INVALID;
    req->target = slice(start, p);
    p++;

    /* Byte by byte so a wrong version is rejected before it is complete. */
    for (size_t i = 0; i < sizeof ver - 1; i++, p++) {
        if (p == end)
            return HP_INCOMPLETE;
        if (*p != (unsigned char)ver[i])
            return HP_INVALID;
    }
    if (p == end)
        return HP_INCOMPLETE;
    if (*p != '0' && *p != '1')
        return HP_INVALID;
    req->minor = *p++ - '0';
    if (p == end)
        return HP_INCOMPLETE;
    int r = eat_eol(&p, end);
    if (r == 0)
        *pp = p;
    return r;
}

/* Field lines up to and including the empty line that ends the head. */
static int parse_fields(const unsigned char **pp, const unsigned char *end, hp_request *req)
{
    const unsigned char *p = *pp;

    for (;;) {
        if (p == end)
            return HP_INCOMPLETE;
        if (*p == '\r' || *p == '\n') {
            int r = eat_eol(&p, end);
            if (r == 0)
                *pp = p;
            return r;
        }
        /* A leading SP/HTAB (obs-fold), ':' (empty name) or whitespace
         * before the colon all fail the same test here. */
        const unsigned char *name = p;
        p = scan_token(p, end);
        if (p == end)
            return HP_INCOMPLETE;
        if (p == name || *p != ':')
            return HP_INVALID;
        if (req->nheaders == HP_MAX_HEADERS)
            return HP_TOO_MANY_HEADERS;
        hp_header *h = &req->headers[req->nheaders];
        h->name = slice(name, p);

        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const unsigned char *val = p;
        p = scan_class(p, end, C_VAL);
        if (p == end)
            return HP_INCOMPLETE;
        const unsigned char *vend = p;
        int r = eat_eol(&p, end); /* any control byte in the value fails here */
        if (r != 0)
            return r;
        while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        h->value = slice(val, vend);
        req->nheaders++;
    }
}

int hp_parse_request(const char *buf, size_t len, hp_request *req)
{
    /* The result must fit an int; a head this long stays INCOMPLETE and
     * the caller's buffer limit turns it into an error. */
    if (len > INT_MAX)
        len = INT_MAX;
    req->nheaders = 0;
    if (len == 0) /* also spares NULL + 0 */
        return HP_INCOMPLETE;
    const unsigned char *start = (const unsigned char *)buf, *p = start, *end = start + len;

    for (int n = 0;; n++) {
        if (p == end)
            return HP_INCOMPLETE;
        if (*p != '\r' && *p != '\n')
            break;
        if (n == MAX_LEADING_EMPTY)
            return HP_INVALID;
        int r = eat_eol(&p, end);
        if (r != 0)
            return r;
    }
    int r = parse_request_line(&p, end, req);
    if (r == 0)
        r = parse_fields(&p, end, req);
    return r == 0 ? (int)(p - start) : r;
}

const hp_header *hp_header_next(const hp_request *req, ep_str name, const hp_header *after)
{
    for (size_t i = after ? (size_t)(after - req->headers) + 1 : 0; i < req->nheaders; i++)
        if (req->headers[i].name.len == name.len && strncasecmp(req->headers[i].name.p, name.p, name.len) == 0)
            return &req->headers[i];
    return NULL;
}

ep_str hp_request_line(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
        i++;
    size_t start = i;
    while (i < len && buf[i] != '\r' && buf[i] != '\n')
        i++;
    return ep_str_make(len ? buf + start : buf, i - start);
}

/* ---- hp_analyze ---- */

static inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Next element of a comma list (RFC 9110 5.6.1), OWS-trimmed; empty
 * elements are returned as such. list->p becomes NULL after the last one. */
static bool next_elem(ep_str *list, ep_str *elem)
{
    if (!list->p)
        return false;
    const char *s = list->p, *end = s + list->len, *e = memchr(s, ',', list->len);
    if (e) {
        list->p = e + 1;
        list->len = (size_t)(end - e - 1);
    } else {
        e = end;
        list->p = NULL;
    }
    while (s < e && is_ows(*s))
        s++;
    while (e > s && is_ows(e[-1]))
        e--;
    *elem = ep_str_make(s, (size_t)(e - s));
    return true;
}

/* Content-Length = 1*DIGIT, or a list of identical ones ("5, 5"). Values
 * come OWS-trimmed from the parser, so a value that still starts or ends in
 * whitespace was built by hand and is refused like any other stray space.
 * Returns the value, or -1 when invalid. */
static int64_t parse_content_length(ep_str v)
{
    if (v.len == 0 || is_ows(v.p[0]) || is_ows(v.p[v.len - 1]))
        return -1;
    int64_t result = -1;
    ep_str e;
    while (next_elem(&v, &e)) {
        if (e.len == 0)
            return -1;
        int64_t n = 0;
        for (size_t i = 0; i < e.len; i++) {
            unsigned d = (unsigned char)e.p[i] - (unsigned)'0';
            if (d > 9 || n > (INT64_MAX - (int64_t)d) / 10)
                return -1;
            n = n * 10 + (int64_t)d;
        }
        if (result >= 0 && n != result)
            return -1;
        result = n;
    }
    return result;
}

/* Case-insensitive compare against a lowercase literal. Inline ASCII folding:
 * strncasecmp is a locale-aware libc call, too slow for every header. */
static inline bool name_is(ep_str n, const char *lower, size_t len)
{
    if (n.len != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned c = (unsigned char)n.p[i];
        if (c - 'A' < 26u)
            c += 'a' - 'A';
        if (c != (unsigned char)lower[i])
            return false;
    }
    return true;
}

#define IS(s, lit) name_is((s), (lit), sizeof(lit) - 1)

static void apply_connection(ep_str v, bool *close, bool *keep)
{
    ep_str e;
    while (next_elem(&v, &e)) {
        if (IS(e, "close"))
            *close = true;
        else if (IS(e, "keep-alive"))
            *keep = true;
    }
}

/* Header names we care about, dispatched on length so that each name is
 * compared against at most two candidates. */
enum { H_OTHER, H_HOST, H_CL, H_TE, H_CONN, H_EXPECT, H_SLICE };

#define KNOWN(lit, kind, field) \
    if (IS(n, lit)) { \
        *off = offsetof(hp_info, field); \
        return kind; \
    }

static int classify(ep_str n, size_t *off)
{
    switch (n.len) {
    case 4: KNOWN("host", H_HOST, host) break;
    case 5: KNOWN("range", H_SLICE, range) break;
    case 6: KNOWN("expect", H_EXPECT, host) break;
    case 7: KNOWN("referer", H_SLICE, referer) break;
    case 8:
        KNOWN("if-match", H_SLICE, if_match)
        KNOWN("if-range", H_SLICE, if_range)
        break;
    case 10:
        KNOWN("connection", H_CONN, host)
        KNOWN("user-agent", H_SLICE, user_agent)
        break;
    case 13: KNOWN("if-none-match", H_SLICE, if_none_match) break;
    case 14: KNOWN("content-length", H_CL, host) break;
    case 15: KNOWN("accept-encoding", H_SLICE, accept_encoding) break;
    case 17:
        KNOWN("transfer-encoding", H_TE, host)
        KNOWN("if-modified-since", H_SLICE, if_modified_since)
        break;
    case 19: KNOWN("if-unmodified-since", H_SLICE, if_unmodified_since) break;
    }
    return H_OTHER;
}

int hp_analyze(const hp_request *req, hp_info *info)
{
    *info = (hp_info){ .content_length = -1 };
    int hosts = 0, tes = 0;
    bool close = false, keep = false, expect_other = false;
    ep_str te = { 0 };

    for (size_t i = 0; i < req->nheaders; i++) {
        const hp_header *h = &req->headers[i];
        size_t off = 0;
        ep_str *slot;
        switch (classify(h->name, &off)) {
        case H_HOST:
            if (hosts++)
                return 400;
            info->host = h->value;
            break;
        case H_CL: {
            int64_t n = parse_content_length(h->value);
            if (n < 0 || (info->content_length >= 0 && n != info->content_length))
                return 400;
            info->content_length = n;
            break;
        }
        case H_TE:
            tes++, te = h->value;
            break;
        case H_CONN:
            apply_connection(h->value, &close, &keep);
            break;
        case H_EXPECT:
            /* RFC 9110 10.1.1: ignore 100-continue from an HTTP/1.0 client;
             * any other expectation cannot be met by a file server (417). */
            if (IS(h->value, "100-continue"))
                info->expect_continue = req->minor >= 1;
            else
                expect_other = true;
            break;
        case H_SLICE:
            /* First occurrence wins: a later duplicate must not override
             * what an earlier hop (proxy, WAF) may have checked. */
            slot = (ep_str *)((char *)info + off);
            if (slot->p == NULL)
                *slot = h->value;
            break;
        }
    }
    if (req->minor >= 1 && hosts == 0)
        return 400;
    if (expect_other)
        return 417;
    if (tes) {
        if (req->minor == 0 || info->content_length >= 0)
            return 400; /* RFC 9112 6.1/6.3: smuggling vectors, refuse */
        /* Two TE fields combine to a list, which is not plain "chunked". */
        if (tes > 1 || !IS(te, "chunked"))
            return 501;
        info->chunked = true;
    }
    info->keep_alive = !close && (req->minor >= 1 || keep);
    return 0;
}

/* ---- hp_chunked_skip ---- */

enum {
    CS_SIZE0 = 0,  /* first hex digit of a chunk-size (zeroed struct starts here) */
    CS_SIZE,       /* more hex digits, BWS, ';' or line end */
    CS_SIZE_WS,    /* BWS after the size: only ';' may follow */
    CS_EXT,        /* chunk-ext up to the line end */
    CS_SIZE_LF,    /* LF after the size line's CR */
    CS_DATA,       /* chunk-data */
    CS_DATA_CR,    /* CRLF (or LF) after chunk-data */
    CS_DATA_LF,
    CS_TR_START,   /* start of a trailer line or the final empty line */
    CS_TR_NAME,
    CS_TR_VALUE,
    CS_TR_LF,      /* LF ending a trailer line */
    CS_FINAL_LF,   /* LF of the final empty line */
    CS_DONE,
    CS_BAD,        /* sticky: every later call fails too */
};

static inline int hexval(unsigned char c)
{
    if ((unsigned)(c - '0') < 10)
        return c - '0';
    c |= 0x20;
    if ((unsigned)(c - 'a') < 6)
        return c - 'a' + 10;
    return -1;
}

/* End of a size line: last-chunk moves to the trailers, else to the data. */
static void size_line_done(hp_chunked *c)
{
    c->trailer_bytes = 0;
    c->state = c->remaining ? CS_DATA : CS_TR_START;
}

/* One byte of a size line (CS_SIZE0..CS_SIZE_LF). Returns false if invalid. */
static bool size_byte(hp_chunked *c, unsigned char ch)
{
    int d;
    switch (c->state) {
    case CS_SIZE0:
    case CS_SIZE:
        if ((d = hexval(ch)) >= 0) {
            /* Reject sizes >= 2^60: at most 15 significant hex digits. */
            if ((c->remaining >> 56) || ++c->size_digits > MAX_SIZE_DIGITS)
                return false;
            c->remaining = c->remaining << 4 | (unsigned)d;
            c->state = CS_SIZE;
            return true;
        }
        if (c->state == CS_SIZE0)
            return false;
        c->size_digits = 0;
        if (ch == ';' || ch == ' ' || ch == '\t')
            c->state = ch == ';' ? CS_EXT : CS_SIZE_WS;
        else if (ch == '\r')
            c->state = CS_SIZE_LF;
        else if (ch == '\n')
            size_line_done(c);
        else
            return false;
        return true;
    case CS_SIZE_WS:
        if (ch == ';')
            c->state = CS_EXT;
        return ch == ';' || ch == ' ' || ch == '\t';
    case CS_EXT:
        if (ch == '\r')
            c->state = CS_SIZE_LF;
        else if (ch == '\n')
            size_line_done(c);
        else if (!(ctab[ch] & C_VIS) && ch != ' ' && ch != '\t')
            return false;
        return ++c->trailer_bytes <= MAX_TRAILER_BYTES;
    default: /* CS_SIZE_LF */
        if (ch != '\n')
            return false;
        size_line_done(c);
        return true;
    }
}

/* One byte of the trailer section (CS_TR_START..CS_FINAL_LF). */
static bool trailer_byte(hp_chunked *c, unsigned char ch)
{
    if (++c->trailer_bytes > MAX_TRAILER_BYTES)
        return false;
    switch (c->state) {
    case CS_TR_START:
        if (ch == '\r')
            c->state = CS_FINAL_LF;
        else if (ch == '\n')
            c->state = CS_DONE;
        else if (ctab[ch] & C_TOK)
            c->state = CS_TR_NAME;
        else
            return false; /* obs-fold, empty name, control byte */
        return true;
    case CS_TR_NAME:
        if (ch == ':')
            c->state = CS_TR_VALUE;
        return ch == ':' || (ctab[ch] & C_TOK);
    case CS_TR_VALUE:
        if (ch == '\r')
            c->state = CS_TR_LF;
        else if (ch == '\n')
            c->state = CS_TR_START;
        else if (!(ctab[ch] & C_VAL))
            return false;
        return true;
    case CS_TR_LF:
        c->state = CS_TR_START;
        return ch == '\n';
    default: /* CS_FINAL_LF */
        c->state = CS_DONE;
        return ch == '\n';
    }
}

ssize_t hp_chunked_skip(hp_chunked *c, const char *buf, size_t len, bool *done)
{
    const unsigned char *p = (const unsigned char *)buf, *end;
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    end = len ? p + len : p; /* no arithmetic on a NULL buf */
    *done = false;

    while (p < end && c->state != CS_DONE && c->state != CS_BAD) {
        bool ok = true;
        switch (c->state) {
        case CS_DATA: {
            /* The bulk of the body: skip without looking at it. */
            size_t avail = (size_t)(end - p);
            size_t n = c->remaining < avail ? (size_t)c->remaining : avail;
            p += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = CS_DATA_CR;
            continue;
        }
        case CS_DATA_CR:
            c->state = *p == '\r' ? CS_DATA_LF : CS_SIZE0;
            ok = *p == '\r' || *p == '\n';
            break;
        case CS_DATA_LF:
            c->state = CS_SIZE0;
            ok = *p == '\n';
            break;
        case CS_SIZE0: case CS_SIZE: case CS_SIZE_WS: case CS_EXT: case CS_SIZE_LF:
            ok = size_byte(c, *p);
            break;
        default:
            ok = trailer_byte(c, *p);
            break;
        }
        if (!ok)
            c->state = CS_BAD;
        else
            p++;
    }
    if (c->state == CS_BAD)
        return HP_INVALID;
    *done = c->state == CS_DONE;
    return (ssize_t)(p - (const unsigned char *)buf);
}
