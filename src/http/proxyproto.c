/* http/proxyproto.c: PROXY protocol v1 and v2 headers (haproxy.org/download/2.6/doc/proxy-protocol.txt). */
#include "http/proxyproto.h"
#include "util/cidr.h"

#include <netinet/in.h>
#include <string.h>

static const uint8_t v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

/* A prefix of buf that cannot yet be told from one of want (n bytes). */
static bool prefix_of(const uint8_t *buf, size_t len, const char *want, size_t n)
{
    return memcmp(buf, want, len < n ? len : n) == 0;
}

/* "0".."65535", no sign, no leading zero. */
static bool v1_port(const char *s, size_t n, uint16_t *out)
{
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

/* A v1 address of its line's family. */
static bool v1_addr(int fam, const char *s, size_t n, uint16_t port, struct sockaddr_storage *ss)
{
    return cidr_sockaddr(s, n, port, ss) && ss->ss_family == fam;
}

/* "PROXY TCP4 src dst sport dport\r\n", "PROXY TCP6 ...", "PROXY UNKNOWN...\r\n". */
static int v1(const uint8_t *buf, size_t len, pp_header *out)
{
    const uint8_t *cr = memchr(buf, '\r', len < PP_V1_MAX ? len : PP_V1_MAX);
    if (!cr)
        return len >= PP_V1_MAX ? PP_INVALID : PP_INCOMPLETE;
    size_t n = (size_t)(cr - buf);
    if (n + 1 >= len)
        return PP_INCOMPLETE;
    if (cr[1] != '\n')
        return PP_INVALID;
    const char *s = (const char *)buf + 6, *end = (const char *)cr; /* past "PROXY " */
    if (end - s >= 7 && memcmp(s, "UNKNOWN", 7) == 0) { /* the rest is to be ignored */
        out->local = true;
        return (int)n + 2;
    }
    const char *f[4]; /* src dst sport dport, one space apart */
    size_t fl[4];
    int fam = end - s >= 5 && memcmp(s, "TCP4 ", 5) == 0   ? AF_INET
              : end - s >= 5 && memcmp(s, "TCP6 ", 5) == 0 ? AF_INET6
                                                            : 0;
    if (!fam)
        return PP_INVALID;
    const char *p = s + 5;
    for (size_t k = 0; k < 4; k++) {
        const char *sp = k < 3 ? memchr(p, ' ', (size_t)(end - p)) : end;
        if (!sp)
            return PP_INVALID;
        f[k] = p, fl[k] = (size_t)(sp - p);
        p = sp + 1;
    }
    if (memchr(f[3], ' ', fl[3])) /* a fifth field */
        return PP_INVALID;
    uint16_t sport, dport;
    out->local = false;
    if (!v1_port(f[2], fl[2], &sport) || !v1_port(f[3], fl[3], &dport) ||
        !v1_addr(fam, f[0], fl[0], sport, &out->src) || !v1_addr(fam, f[1], fl[1], dport, &out->dst))
        return PP_INVALID;
    return (int)n + 2;
}

static int v2(const uint8_t *buf, size_t len, pp_header *out)
{
    if (len < 16)
        return PP_INCOMPLETE;
    uint8_t ver = buf[12] >> 4, cmd = buf[12] & 15, fam = buf[13];
    size_t body = (size_t)buf[14] << 8 | buf[15];
    if (ver != 2 || cmd > 1 || 16 + body > PP_V2_MAX)
        return PP_INVALID;
    if (len < 16 + body)
        return PP_INCOMPLETE;
    const uint8_t *a = buf + 16;
    memset(&out->src, 0, sizeof out->src);
    memset(&out->dst, 0, sizeof out->dst);
    out->local = cmd == 0 || (fam >> 4) == 0 || (fam & 15) != 1 || ((fam >> 4) != 1 && (fam >> 4) != 2);
    if (out->local) /* LOCAL (a health check), UNSPEC, UDP or unix: the connection's own address */
        return (int)(16 + body);
    if ((fam >> 4) == 1) {
        if (body < 12)
            return PP_INVALID;
        struct sockaddr_in *s = (struct sockaddr_in *)&out->src, *d = (struct sockaddr_in *)&out->dst;
        s->sin_family = d->sin_family = AF_INET;
        memcpy(&s->sin_addr, a, 4), memcpy(&d->sin_addr, a + 4, 4);
        memcpy(&s->sin_port, a + 8, 2), memcpy(&d->sin_port, a + 10, 2);
    } else {
        if (body < 36)
            return PP_INVALID;
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src, *d = (struct sockaddr_in6 *)&out->dst;
        s->sin6_family = d->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, a, 16), memcpy(&d->sin6_addr, a + 16, 16);
        memcpy(&s->sin6_port, a + 32, 2), memcpy(&d->sin6_port, a + 34, 2);
    }
    return (int)(16 + body); /* TLVs (SSL, unique id, ...) follow the addresses: not used */
}

int pp_parse(const uint8_t *buf, size_t len, pp_header *out)
{
    if (len == 0)
        return PP_INCOMPLETE;
    if (buf[0] == 'P') {
        if (!prefix_of(buf, len, "PROXY ", 6))
            return PP_INVALID;
        return len < 6 ? PP_INCOMPLETE : v1(buf, len, out);
    }
    if (!prefix_of(buf, len, (const char *)v2_sig, sizeof v2_sig))
        return PP_INVALID;
    return len < sizeof v2_sig ? PP_INCOMPLETE : v2(buf, len, out);
}
