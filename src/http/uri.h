/* http/uri.h: request-target splitting, percent-decoding and path normalisation. */
#ifndef EP_HTTP_URI_H
#define EP_HTTP_URI_H

#include <stddef.h>

#include "util/str.h"

/* Split a request-target into host (absolute-form only, else len 0), path
 * and query (without '?', len 0 when absent). Origin-form "/p?q" and
 * absolute-form "http://host[:port]/p?q" (scheme case-insensitive, http or
 * https; the authority must pass uri_host; an empty path becomes "/") are
 * accepted; "*" and anything else (authority-form, relative paths, other
 * schemes, userinfo) return 400. host is the authority as sent, port
 * included. Returns 0 or 400. */
int uri_split(ep_str target, ep_str *host, ep_str *path, ep_str *query);

/* The origin-form part of a target uri_split accepted, as $request_uri
 * quotes it: an origin-form target whole; for the absolute-form what follows
 * the authority ("/p?q", or "?q" or "" when the path is empty: the caller
 * puts the "/" in front). */
ep_str uri_origin(ep_str target);

/* Check a Host header value or an absolute-form authority as nginx's
 * ngx_http_validate_host does: a reg-name (letters, digits, "-._~", the
 * sub-delims "!$&'()*+,;=" and '%') or an IP literal in brackets, then an
 * optional ":port" (digits, at most 65535, may be empty). Refused with 400:
 * an empty name, "..", '@', '/', '\', whitespace, control and non-ASCII
 * bytes, anything after "]" but a port. On success *name is the host
 * without the port and without one trailing dot (an IP literal keeps its
 * brackets), a slice of raw. Returns 0 or 400. */
int uri_host(ep_str raw, ep_str *name);

/* Percent-decode path[0..len) into out and normalise it: collapse runs of
 * '/', drop "." segments, resolve ".." segments (after decoding, so "%2e%2e"
 * and "..%2f" count). A ".." that would climb above "/" is refused. out is
 * NUL-terminated, always starts with '/', and keeps a trailing '/' if the
 * decoded path had one (or ended in "/." or "/.."). cap must be at least
 * len + 1. Returns 0; 400 for a malformed escape, "%00" or a raw NUL or
 * other control byte, a path not starting with '/', or climbing above the
 * root; 414 if out would not fit in cap. */
int uri_decode_path(const char *path, size_t len, char *out, size_t cap, size_t *outlen);

#endif
