/* http/realip.c: picking the client's address out of a proxy header (see realip.h). */
#include "http/realip.h"

#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "http/parser.h"

static bool trusted_peer(const cidr *t, size_t n, const struct sockaddr *sa)
{
    for (size_t i = 0; i < n; i++)
        if (cidr_match(&t[i], sa))
            return true;
    return false;
}

/* An optional port after an address: 1 to 5 digits, at most 65535. */
static bool port_ok(const char *p, size_t n)
{
    unsigned v = 0;
    if (n < 1 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    return v <= 65535;
}

/* One item of the list: an address as it stands (IPv4, IPv6, IPv4-mapped
 * "::ffff:a.b.c.d" as dual-stack proxies write it), "[IPv6]" or
 * "[IPv6]:port", or "IPv4:port"; anything else is not an address. */
static bool item_addr(const char *p, size_t n, struct sockaddr_storage *ss)
{
    if (n && p[0] == '[') {
        const char *rb = memchr(p, ']', n);
        if (!rb)
            return false;
        size_t rest = n - (size_t)(rb - p) - 1;
        if (rest && (rb[1] != ':' || !port_ok(rb + 2, rest - 1)))
            return false;
        p++, n = (size_t)(rb - p);
        return cidr_sockaddr(p, n, 0, ss) != 0 && ss->ss_family == AF_INET6;
    }
    if (cidr_sockaddr(p, n, 0, ss) != 0)
        return true;
    const char *colon = memchr(p, ':', n);
    if (!colon || !memchr(p, '.', (size_t)(colon - p)))
        return false;
    size_t plen = n - (size_t)(colon + 1 - p);
    return port_ok(colon + 1, plen) && cidr_sockaddr(p, (size_t)(colon - p), 0, ss) != 0 &&
           ss->ss_family == AF_INET;
}

/* What the items read so far make of the list, read left to right. The
 * client is the rightmost untrusted item, so an untrusted one replaces any
 * earlier answer and a broken one spoils it; a broken item left of the
 * client was written by the client and changes nothing. */
typedef struct pick {
    const cidr *trusted;
    size_t ntrusted;
    int state;  /* 0: only trusted items so far, 1: a client (found), -1: broken since */
    bool have;  /* leftmost set: the answer when every item is trusted */
    struct sockaddr_storage found, leftmost;
} pick;

static void pick_item(pick *k, bool ok, const struct sockaddr_storage *a)
{
    if (!ok) {
        k->state = -1;
    } else if (!trusted_peer(k->trusted, k->ntrusted, (const struct sockaddr *)a)) {
        k->found = *a;
        k->state = 1;
    } else if (!k->have) {
        k->leftmost = *a;
        k->have = true;
    }
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* An X-Forwarded-For item: an address, spaces around it allowed. */
static bool list_item(const char *p, const char *end, struct sockaddr_storage *a)
{
    p = skip_ows(p, end);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return item_addr(p, (size_t)(end - p), a);
}

/* A Forwarded value (a token, or a quoted-string unescaped) from *pp: its
 * text in buf (of cap bytes), its length, or -1 when malformed or longer
 * than any node. *pp moves past it. */
static int fwd_value(const char **pp, const char *end, char *buf, size_t cap)
{
    const char *p = *pp;
    size_t n = 0;
    if (p < end && *p == '"') {
        for (p++;; p++) {
            if (p == end)
                return -1;
            if (*p == '"')
                break;
            if (*p == '\\' && ++p == end)
                return -1;
            if (n == cap || (unsigned char)*p < 0x20 || *p == 0x7f)
                return -1;
            buf[n++] = *p;
        }
        p++;
    } else {
        for (; p < end && hp_is_tchar((unsigned char)*p); p++) {
            if (n == cap)
                return -1;
            buf[n++] = *p;
        }
    }
    *pp = p;
    return (int)n;
}

/* A node's text as an address: "192.0.2.7", "[2001:db8::7]", either with
 * ":port", a port obfuscated as "_name" too (RFC 7239 6.3). "unknown" and
 * obfuscated nodes name no one. */
static bool fwd_node(const char *t, size_t n, struct sockaddr_storage *a)
{
    const char *c = n && t[0] == '[' ? memchr(t, ']', n) : t;
    const char *colon = c ? memchr(c, ':', n - (size_t)(c - t)) : NULL;
    if (colon && colon + 1 < t + n && colon[1] == '_') {
        for (const char *q = colon + 2; q < t + n; q++)
            if (!((*q >= '0' && *q <= '9') || ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z') || *q == '.' ||
                  *q == '_' || *q == '-'))
                return false;
        n = (size_t)(colon - t); /* the port is nobody's business */
    }
    return item_addr(t, n, a);
}

/* A Forwarded element (RFC 7239): pairs separated by semicolons, whose
 * "for" names that hop's client. Without one "for" that is an address
 * (none, two, junk, a malformed value) it is broken. */
static bool fwd_item(const char *p, const char *end, struct sockaddr_storage *a)
{
    int nfor = 0;
    bool ok = true;
    for (;;) {
        p = skip_ows(p, end);
        const char *name = p;
        while (p < end && hp_is_tchar((unsigned char)*p))
            p++;
        size_t nlen = (size_t)(p - name);
        char val[64];
        int vlen = -1;
        if (nlen && p < end && *p == '=') {
            p++;
            vlen = fwd_value(&p, end, val, sizeof val);
        }
        if (vlen < 0)
            ok = false;
        else if (nlen == 3 && strncasecmp(name, "for", 3) == 0 && nfor++ == 0)
            ok = ok && fwd_node(val, (size_t)vlen, a);
        p = skip_ows(p, end);
        if (p == end || *p != ';')
            break;
        p++;
    }
    return ok && p == end && nfor == 1;
}

/* One header line's items, cut at every comma, quotes or not (no address,
 * port or obfuscated name holds one): junk or an unterminated quote the
 * client wrote spoils only its own item, never the one its proxy appended
 * after a comma. */
static void pick_line(pick *k, ep_str v, bool (*item)(const char *, const char *, struct sockaddr_storage *))
{
    const char *p = v.p, *vend = v.p + v.len;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(vend - p));
        struct sockaddr_storage a;
        pick_item(k, item(p, comma ? comma : vend, &a), &a);
        if (!comma)
            return;
        p = comma + 1;
    }
}

bool realip_pick_lines(const cidr *trusted, size_t ntrusted, const struct sockaddr *peer, const ep_str *values,
                       size_t nvalues, enum realip_syntax syntax, struct sockaddr_storage *out)
{
    if (!ntrusted || !peer || !nvalues || !trusted_peer(trusted, ntrusted, peer))
        return false;
    pick k = { .trusted = trusted, .ntrusted = ntrusted };
    for (size_t i = 0; i < nvalues; i++) /* in the order received: one list, the last line nearest */
        pick_line(&k, values[i], syntax == REALIP_FORWARDED ? fwd_item : list_item);
    if (k.state < 0 || (k.state == 0 && !k.have))
        return false; /* a forged or broken value changes nothing */
    *out = k.state > 0 ? k.found : k.leftmost;
    return true;
}

bool realip_pick(const cidr *trusted, size_t ntrusted, const struct sockaddr *peer, ep_str value,
                 enum realip_syntax syntax, struct sockaddr_storage *out)
{
    return realip_pick_lines(trusted, ntrusted, peer, &value, 1, syntax, out);
}
