/* http/realip.c: picking the client's address out of a proxy header (see realip.h). */
#include "http/realip.h"

#include <netinet/in.h>
#include <string.h>

static bool trusted_peer(const cidr *t, size_t n, const struct sockaddr *sa)
{
    for (size_t i = 0; i < n; i++)
        if (cidr_match(&t[i], sa))
            return true;
    return false;
}

/* One list item ("192.0.2.7", "192.0.2.7:1234", "2001:db8::1", "[2001:db8::1]:443")
 * as an address; false when it is not one. */
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

/* Walk one line from the right; 1: an untrusted address found (in *out),
 * 0: all trusted (*out the leftmost so far), -1: not a list of addresses. */
static int walk(const cidr *trusted, size_t ntrusted, ep_str value, struct sockaddr_storage *out)
{
    const char *s = value.p, *end = value.p + value.len;
    if (!value.len)
        return -1;
    while (end > s) { /* from the right: the nearest proxy wrote the last item */
        const char *comma = end;
        while (comma > s && comma[-1] != ',')
            comma--;
        const char *b = comma, *e = end;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (!item_addr(b, (size_t)(e - b), out))
            return -1;
        if (!trusted_peer(trusted, ntrusted, (const struct sockaddr *)out))
            return 1;
        if (comma == s)
            break;
        end = comma - 1;
    }
    return 0;
}

bool realip_pick_lines(const cidr *trusted, size_t ntrusted, const struct sockaddr *peer, const ep_str *values,
                       size_t nvalues, struct sockaddr_storage *out)
{
    if (!ntrusted || !peer || !nvalues || !trusted_peer(trusted, ntrusted, peer))
        return false;
    struct sockaddr_storage cand;
    for (size_t i = nvalues; i-- > 0;) {
        int r = walk(trusted, ntrusted, values[i], &cand);
        if (r < 0)
            return false; /* a forged or broken value changes nothing */
        if (r > 0)
            break;
    }
    *out = cand; /* the first untrusted one, or the leftmost when all were */
    return true;
}

bool realip_pick(const cidr *trusted, size_t ntrusted, const struct sockaddr *peer, ep_str value,
                 struct sockaddr_storage *out)
{
    return realip_pick_lines(trusted, ntrusted, peer, &value, 1, out);
}
