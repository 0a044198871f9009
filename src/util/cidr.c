/* util/cidr.c: parsing, formatting and matching IPv4/IPv6 networks for allow/deny rules. */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Longest address text inet_pton can accept ("ffff:...:255.255.255.255"),
 * plus its NUL; anything longer cannot be an address. */
#define ADDR_TEXT_MAX INET6_ADDRSTRLEN

/* How much of the input an error message quotes: enough to recognise it,
 * short enough that the line stays one line in the log. */
#define QUOTE_MAX 64

static int fail(char *err, size_t errlen, const char *text, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "\"%.*s\": %s", QUOTE_MAX, text, why);
    return -1;
}

/* The prefix length after '/': decimal digits only, at least one. Returns
 * the value (saturated so no digit string overflows), or -1 for junk. */
static int parse_bits(const char *s)
{
    int v = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > 1000)
            v = 1000;
    }
    return v;
}

/* Clears the bits of addr below the prefix; returns true when any was set. */
static bool mask_host_bits(uint8_t *addr, unsigned bits, unsigned total)
{
    bool had = false;
    for (unsigned i = 0; i < total / 8; i++) {
        unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;
        uint8_t mask = (uint8_t)(keep ? 0xffu << (8 - keep) : 0);
        if (addr[i] & ~mask)
            had = true;
        addr[i] &= mask;
    }
    return had;
}

/* The IPv4-mapped range ::ffff:0:0/96, where a dual-stack socket shows
 * IPv4 clients. */
static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* An IPv6 network inside the mapped range is the IPv4 network it carries:
 * ::ffff:10.0.0.0/104 is 10.0.0.0/8, so it matches IPv4 clients on any
 * listener and prints as what it matches. */
static void normalise_mapped(cidr *n)
{
    if (n->family != 6 || n->bits < 96 || memcmp(n->addr, v4mapped, sizeof v4mapped) != 0)
        return;
    uint8_t v4[4];
    memcpy(v4, n->addr + 12, sizeof v4);
    memset(n->addr, 0, sizeof n->addr);
    memcpy(n->addr, v4, sizeof v4);
    n->family = 4;
    n->bits = (uint8_t)(n->bits - 96);
}

int cidr_parse(const char *text, cidr *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return fail(err, errlen, text ? text : "", "empty address");
    if (strcmp(text, "all") == 0)
        return 0;

    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    if (alen == 0)
        return fail(err, errlen, text, "missing address before \"/\"");
    if (alen >= ADDR_TEXT_MAX)
        return fail(err, errlen, text, "not an IPv4 or IPv6 address");
    char abuf[ADDR_TEXT_MAX];
    memcpy(abuf, text, alen);
    abuf[alen] = '\0';

    /* inet_pton refuses spaces, zone ids, leading zeros in IPv4 and
     * shortened IPv4 forms ("10.1"), so what passes is unambiguous. */
    unsigned total;
    if (inet_pton(AF_INET, abuf, out->addr) == 1) {
        out->family = 4;
        total = 32;
    } else if (inet_pton(AF_INET6, abuf, out->addr) == 1) {
        out->family = 6;
        total = 128;
    } else {
        return fail(err, errlen, text, "not an IPv4 or IPv6 address");
    }

    int bits = (int)total;
    if (slash) {
        if (slash[1] == '\0')
            return fail(err, errlen, text, "missing prefix length after \"/\"");
        bits = parse_bits(slash + 1);
        if (bits < 0)
            return fail(err, errlen, text, "prefix length is not a decimal number");
        if (bits > (int)total)
            return fail(err, errlen, text, total == 32 ? "prefix length must be 0..32"
                                                       : "prefix length must be 0..128");
    }
    out->bits = (uint8_t)bits;

    if (mask_host_bits(out->addr, out->bits, total)) {
        /* nginx only warns here; a typo in an ACL silently widening or
         * narrowing it is worse than a refused start, so say what was meant. */
        char net[ADDR_TEXT_MAX + 5], why[sizeof net + 48];
        cidr_format(out, net, sizeof net);
        snprintf(why, sizeof why, "host bits set below the prefix; did you mean \"%s\"?", net);
        memset(out, 0, sizeof *out);
        return fail(err, errlen, text, why);
    }
    normalise_mapped(out);
    return 0;
}

/* Compares the first `bits` bits of a and b. */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return ((a[whole] ^ b[whole]) & mask) == 0;
}

bool cidr_match(const cidr *net, const struct sockaddr *peer)
{
    if (net->family == 0)
        return true;
    if (!peer)
        return false;
    /* One address space: an IPv4 client a.b.c.d is ::ffff:a.b.c.d, which
     * is also how a dual-stack socket reports it. So an IPv4 rule matches
     * it on either kind of listener, and an IPv6 rule matches it when the
     * rule's range holds ::ffff:0:0/96 (::/0 does; 2001:db8::/32 does not).
     * Rules inside that range were made IPv4 rules by cidr_parse. */
    uint8_t a6[16];
    const uint8_t *a;
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)peer;
        if (net->family == 4)
            return prefix_eq(net->addr, (const uint8_t *)&sin->sin_addr, net->bits);
        memcpy(a6, v4mapped, sizeof v4mapped);
        memcpy(a6 + 12, &sin->sin_addr, 4);
        a = a6;
    } else if (peer->sa_family == AF_INET6) {
        a = ((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr.s6_addr;
        if (net->family == 4)
            return memcmp(a, v4mapped, sizeof v4mapped) == 0 && prefix_eq(net->addr, a + 12, net->bits);
    } else {
        return false;
    }
    return prefix_eq(net->addr, a, net->bits);
}

bool cidr_covers_ipv4(const cidr *net)
{
    return net->family == 6 && net->bits <= 96 && prefix_eq(net->addr, v4mapped, net->bits);
}

void cidr_format(const cidr *net, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    if (net->family == 0) {
        snprintf(buf, len, "all");
        return;
    }
    int af = net->family == 4 ? AF_INET : AF_INET6;
    unsigned total = net->family == 4 ? 32 : 128;
    char a[ADDR_TEXT_MAX];
    if (!inet_ntop(af, net->addr, a, sizeof a)) {
        buf[0] = '\0';
        return;
    }
    if (net->bits >= total)
        snprintf(buf, len, "%s", a);
    else
        snprintf(buf, len, "%s/%u", a, (unsigned)net->bits);
}

socklen_t cidr_sockaddr(const char *text, size_t n, uint16_t port, struct sockaddr_storage *out)
{
    char a[INET6_ADDRSTRLEN];
    memset(out, 0, sizeof *out);
    if (n == 0 || n >= sizeof a)
        return 0;
    memcpy(a, text, n);
    a[n] = '\0';
    struct sockaddr_in *in4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, a, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        return sizeof *in4;
    }
    if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return sizeof *in6;
    }
    memset(out, 0, sizeof *out);
    return 0;
}

size_t cidr_peer_text(const struct sockaddr *sa, char *out)
{
    const void *a = NULL;
    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, out, INET6_ADDRSTRLEN)) {
        strcpy(out, "-");
        return 1;
    }
    return strlen(out);
}
