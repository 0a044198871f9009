/* http/uri.c: request-target splitting, percent-decoding and path normalisation. */
#include "http/uri.h"

#include <stdbool.h>
#include <stdint.h>

/* Byte classes for the decoder's inner loop. Everything that is not PLAIN
 * needs a decision; keeping the test to one table load lets the common case
 * (a path made of ordinary characters) run as a tight copy loop. */
enum { C_PLAIN = 0, C_SLASH, C_PCT, C_BAD };

static const uint8_t uri_class[256] = {
    [0x00] = C_BAD, [0x01] = C_BAD, [0x02] = C_BAD, [0x03] = C_BAD,
    [0x04] = C_BAD, [0x05] = C_BAD, [0x06] = C_BAD, [0x07] = C_BAD,
    [0x08] = C_BAD, [0x09] = C_BAD, [0x0a] = C_BAD, [0x0b] = C_BAD,
    [0x0c] = C_BAD, [0x0d] = C_BAD, [0x0e] = C_BAD, [0x0f] = C_BAD,
    [0x10] = C_BAD, [0x11] = C_BAD, [0x12] = C_BAD, [0x13] = C_BAD,
    [0x14] = C_BAD, [0x15] = C_BAD, [0x16] = C_BAD, [0x17] = C_BAD,
    [0x18] = C_BAD, [0x19] = C_BAD, [0x1a] = C_BAD, [0x1b] = C_BAD,
    [0x1c] = C_BAD, [0x1d] = C_BAD, [0x1e] = C_BAD, [0x1f] = C_BAD,
    ['/'] = C_SLASH, ['%'] = C_PCT, [0x7f] = C_BAD,
};

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* ASCII letters: fold to lower case */
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A byte of a host name (RFC 3986 reg-name: unreserved, sub-delims, '%'),
 * or of an IP literal between brackets (the same less '%', plus ':'), as
 * nginx's ngx_http_validate_host allows. Everything else, '@', '/', '\',
 * whitespace, control bytes and bytes above 0x7E among them, is refused. */
static bool host_byte(unsigned char c, bool literal)
{
    if ((unsigned)((c | 0x20) - 'a') < 26 || (unsigned)(c - '0') < 10)
        return true;
    switch (c) {
    case '-': case '.': case '_': case '~':
    case '!': case '$': case '&': case '\'': case '(': case ')':
    case '*': case '+': case ',': case ';': case '=':
        return true;
    case '%':
        return !literal;
    case ':':
        return literal;
    default:
        return false;
    }
}

int uri_host(ep_str raw, ep_str *name)
{
    const char *p = raw.p;
    size_t n = raw.len, i = 0, end;
    bool literal = n > 0 && p[0] == '[';

    /* An empty name fails below: nginx refuses an empty Host too. */
    for (i = literal; i < n && p[i] != (literal ? ']' : ':'); i++) {
        if (!host_byte((unsigned char)p[i], literal))
            return 400;
        if (p[i] == '.' && i > 0 && p[i - 1] == '.')
            return 400; /* "..": never a name, and a path-traversal lure in $host */
    }
    if (literal) {
        if (i == n || i == 1)
            return 400; /* "[::1" or "[]" */
        i++;
    }
    end = i;
    if (i < n) {
        if (p[i] != ':')
            return 400; /* "[::1]x" */
        unsigned port = 0;
        for (i++; i < n; i++) { /* an empty port is allowed (RFC 3986 3.2.3) */
            unsigned d = (unsigned char)p[i] - (unsigned)'0';
            if (d > 9 || (port = port * 10 + d) > 65535)
                return 400;
        }
    }
    /* "example.org." is the same name, fully qualified: one dot goes. */
    if (!literal && end > 0 && p[end - 1] == '.')
        end--;
    if (end == 0)
        return 400;
    *name = ep_str_make(p, end);
    return 0;
}

int uri_split(ep_str target, ep_str *host, ep_str *path, ep_str *query)
{
    const char *p = target.p, *end = target.p + target.len;
    size_t skip;

    /* Empty slices still point into target: memcmp() and friends may not be
     * handed NULL even for a length of 0. */
    *host = ep_str_make(target.p, 0);
    *path = ep_str_make(target.p, 0);
    *query = ep_str_make(end, 0);
    if (target.len == 0)
        return 400;

    if (p[0] != '/') {
        if (target.len > 7 && strncasecmp(p, "http://", 7) == 0)
            skip = 7;
        else if (target.len > 8 && strncasecmp(p, "https://", 8) == 0)
            skip = 8;
        else
            return 400; /* "*", authority-form, relative references */
        const char *a = p + skip, *ae = a;
        while (ae < end && *ae != '/' && *ae != '?' && *ae != '#')
            ae++;
        ep_str name;
        if (uri_host(ep_str_make(a, (size_t)(ae - a)), &name) != 0)
            return 400;
        *host = ep_str_make(a, (size_t)(ae - a));
        p = ae;
    }

    /* A fragment is never meant to reach a server; like nginx, drop it. */
    const char *q = p, *f;
    while (q < end && *q != '?' && *q != '#')
        q++;
    *path = q > p ? ep_str_make(p, (size_t)(q - p)) : EP_STR_LIT("/");
    if (q < end && *q == '?') {
        for (f = q + 1; f < end && *f != '#'; f++)
            ;
        *query = ep_str_make(q + 1, (size_t)(f - q - 1));
    }
    return 0;
}

ep_str uri_origin(ep_str target)
{
    if (target.len == 0 || target.p[0] == '/')
        return target;
    const char *end = target.p + target.len, *a = memchr(target.p, ':', target.len);
    if (!a || end - a < 3)
        return ep_str_make(end, 0); /* not what uri_split accepts */
    for (a += 3; a < end && *a != '/' && *a != '?' && *a != '#'; a++)
        ;
    return ep_str_make(a, (size_t)(end - a));
}

/* Decodes one segment of path, starting at *ip, onto out at *op, stopping
 * after a '/' (raw or decoded) or at the end. Returns 1 when the segment
 * ended with '/', 0 at the end of input, or 400. */
static int decode_segment(const char *path, size_t len, size_t *ip, char *out, size_t *op)
{
    size_t i = *ip, o = *op;
    int ret = 0;

    while (i < len) {
        unsigned char c = (unsigned char)path[i];
        uint8_t cls = uri_class[c];

        if (cls == C_PLAIN) {
            out[o++] = (char)c;
            i++;
            continue;
        }
        if (cls == C_PCT) {
            int hi, lo;
            if (len - i < 3 || (hi = hexval((unsigned char)path[i + 1])) < 0 ||
                (lo = hexval((unsigned char)path[i + 2])) < 0)
                return 400;
            c = (unsigned char)(hi << 4 | lo);
            i += 3;
            cls = uri_class[c];
            if (cls != C_SLASH) {
                /* A decoded '%' is data, never the start of another escape. */
                if (cls == C_BAD)
                    return 400;
                out[o++] = (char)c;
                continue;
            }
        } else if (cls == C_BAD) {
            return 400;
        } else {
            i++;
        }
        ret = 1; /* a separator, raw or decoded */
        break;
    }
    *ip = i;
    *op = o;
    return ret;
}

/* True when path needs neither decoding nor normalisation: no '%', no
 * control byte, and no '/' followed by '/' or '.'. Most real paths are like
 * that, and a read-only scan plus memcpy beats the byte-wise copy. A "/."
 * that starts a name like "/.well-known" merely takes the slow path. */
static bool path_is_plain(const char *path, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t cls = uri_class[(unsigned char)path[i]];
        if (cls == C_PLAIN)
            continue;
        if (cls != C_SLASH)
            return false;
        if (i + 1 < len && (path[i + 1] == '/' || path[i + 1] == '.'))
            return false;
    }
    return true;
}

int uri_decode_path(const char *path, size_t len, char *out, size_t cap, size_t *outlen)
{
    size_t i = 1, o = 1;

    if (len == 0 || path[0] != '/')
        return 400;
    /* Decoding and normalising only ever shrink the path, so len + 1 bytes
     * always suffice; refusing a smaller cap up front means no write below
     * needs its own bounds check. */
    if (cap <= len)
        return 414;
    if (path_is_plain(path, len)) {
        memcpy(out, path, len);
        out[len] = '\0';
        *outlen = len;
        return 0;
    }
    out[0] = '/';

    while (i < len) {
        size_t seg = o; /* out[seg - 1] == '/' always holds here */
        int r = decode_segment(path, len, &i, out, &o);
        if (r > 1)
            return 400;
        size_t n = o - seg;
        if (n == 0)
            continue; /* "//": collapse */
        if (out[seg] == '.' && n <= 2 && (n == 1 || out[seg + 1] == '.')) {
            if (n == 1) {
                o = seg; /* "." is dropped; the '/' before it stays */
                continue;
            }
            if (seg == 1)
                return 400; /* ".." at the root */
            /* Drop the previous segment, keeping the '/' in front of it.
             * It is never empty, "." or "..", as those are never kept. */
            o = seg - 1;
            while (out[o - 1] != '/')
                o--;
            continue;
        }
        if (r == 1)
            out[o++] = '/';
    }
    out[o] = '\0';
    *outlen = o;
    return 0;
}
