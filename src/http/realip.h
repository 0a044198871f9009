/* http/realip.h: the client behind trusted proxies, from X-Forwarded-For (or another header), as nginx's real_ip with real_ip_recursive on. */
#ifndef EP_HTTP_REALIP_H
#define EP_HTTP_REALIP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util/cidr.h"
#include "util/str.h"

/* How the header lists the hops: addresses separated by commas
 * (X-Forwarded-For, X-Real-IP), or RFC 7239's Forwarded, where each
 * element's "for" parameter is the address (quoted when it has a port or is
 * IPv6; "unknown" and obfuscated names are no address). */
enum realip_syntax { REALIP_LIST, REALIP_FORWARDED };

/* When peer is in one of the trusted networks: the header's addresses
 * (comma-separated, spaces around them allowed, an optional :port on IPv4
 * and [IPv6]:port) are read from the right, each trusted one skipped; the
 * first untrusted one is the client (all trusted: the leftmost). It goes
 * into *out (port 0) and true is returned. False, *out untouched: peer is
 * not trusted, or the header is empty or holds anything but addresses (a
 * forged or broken value changes nothing). */
bool realip_pick(const cidr *trusted, size_t ntrusted, const struct sockaddr *peer, ep_str value,
                 enum realip_syntax syntax, struct sockaddr_storage *out);
/* The same over several header lines, in the order received (as if joined
 * with commas: each proxy may have added a line of its own). */
bool realip_pick_lines(const cidr *trusted, size_t ntrusted, const struct sockaddr *peer, const ep_str *values,
                       size_t nvalues, enum realip_syntax syntax, struct sockaddr_storage *out);

#endif
