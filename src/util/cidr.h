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
 * are an error (nginx only warns), so "10.0.0.1/8" is refused. An IPv6
 * network inside the IPv4-mapped range becomes the IPv4 network it carries
 * (::ffff:a.b.c.d/(96+n) -> a.b.c.d/n; ::ffff:0:0/96 -> 0.0.0.0/0). On
 * error writes one line (without file:line) into err and returns -1. */
int cidr_parse(const char *text, cidr *out, char *err, size_t errlen);

/* True when the peer address lies in net. IPv4 and IPv6 are one address
 * space, an IPv4 address a.b.c.d being ::ffff:a.b.c.d: an IPv4 peer and an
 * IPv4-mapped IPv6 peer (a dual-stack listener's IPv4 client) are the same
 * client, matched by IPv4 networks and by IPv6 networks that hold the
 * whole mapped range (::/0, ::/80, ...). */
bool cidr_match(const cidr *net, const struct sockaddr *peer);

/* True for an IPv6 network that holds ::ffff:0:0/96, and so every IPv4
 * client (for -t to point out: "deny ::/0" denies IPv4 clients too). */
bool cidr_covers_ipv4(const cidr *net);

/* Writes the network in the form cidr_parse reads ("all", "10.0.0.0/8",
 * "::1"; /bits omitted when it covers one address). */
void cidr_format(const cidr *net, char *buf, size_t len);

/* The numeric IPv4 or IPv6 address text[0..n) (no brackets, no port) with
 * port, as a socket address in *out (zeroed first). Returns its length, or
 * 0 when the text is no such address. */
socklen_t cidr_sockaddr(const char *text, size_t n, uint16_t port, struct sockaddr_storage *out);

/* A client's address as text ("192.0.2.7", "2001:db8::1") in out, which
 * holds INET6_ADDRSTRLEN bytes; "-" for any other family. Returns its length. */
size_t cidr_peer_text(const struct sockaddr *sa, char *out);

#endif
