/* util/cidr.h: IPv4/IPv6 networks ("10.0.0.0/8", "::1", "all") and matching a peer address. */
#ifndef EP_UTIL_CIDR_H
#define EP_UTIL_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
    uint8_t family;   /* 0 = every address ("all"), 4 or 6 */
    uint8_t bits;     /* prefix length: 0..32 or 0..128 */
    uint8_t addr[16]; /* network address; IPv4 in the first 4 bytes */
} cidr;

/* Parse "all", an address, or address/bits. Host bits set below the prefix
 * are an error (nginx only warns), so "10.0.0.1/8" is refused. On error
 * writes one line (without file:line) into err and returns -1. */
int cidr_parse(const char *text, cidr *out, char *err, size_t errlen);

/* True when the peer address lies in net; an IPv4-mapped IPv6 peer
 * (::ffff:a.b.c.d) is matched as the IPv4 address it carries. */
bool cidr_match(const cidr *net, const struct sockaddr *peer);

/* Writes the network in the form cidr_parse reads ("all", "10.0.0.0/8",
 * "::1"; /bits omitted when it covers one address). */
void cidr_format(const cidr *net, char *buf, size_t len);

#endif
