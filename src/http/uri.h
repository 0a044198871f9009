/* http/uri.h: request-target splitting, percent-decoding and path normalisation. */
#ifndef EP_HTTP_URI_H
#define EP_HTTP_URI_H

#include <stddef.h>

#include "util/str.h"

/* Split a request-target into host (absolute-form only, else len 0), path
 * and query (without '?', len 0 when absent). Origin-form "/p?q" and
 * absolute-form "http://host[:port]/p?q" (scheme case-insensitive, http or
 * https; an empty path becomes "/") are accepted; "*" and anything else
 * (authority-form, relative paths) return 400. Returns 0 or 400. */
int uri_split(ep_str target, ep_str *host, ep_str *path, ep_str *query);

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
