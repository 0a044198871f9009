/* http/loc.h: choosing the virtual server for a Host header and the location for a path, as nginx does. */
#ifndef EP_HTTP_LOC_H
#define EP_HTTP_LOC_H

#include <stddef.h>

#include "config/model.h"

/* Nothing here logs, keeps global state or allocates per request: the
 * functions a request calls only read the (immutable) settings and the
 * caller's per-thread scratch. */

/* Compile a regex location (LOC_REGEX, LOC_REGEX_ICASE → PCRE2_CASELESS) into
 * l->re with PCRE2 (8-bit, UTF off so any bytes match; try JIT, fine if
 * unavailable). Other kinds: no-op. On a bad pattern: -1 and one line in err
 * like: regex "(\.png$": missing closing parenthesis at offset 7 */
int loc_compile(cfg_location *l, char *err, size_t errlen);

/* Frees l->re (and sets it to NULL); safe on any location. */
void loc_release(cfg_location *l);

/* Per-thread scratch that loc_match needs (a pcre2_match_data); NULL on OOM. */
void *loc_scratch_new(void);
void loc_scratch_free(void *scratch);

/* The location of server s for a decoded, normalised path (starts with '/'),
 * chosen as nginx does:
 * 1. an exact ("= /x") location equal to the path wins at once;
 * 2. otherwise remember the longest matching prefix location (LOC_PREFIX or
 *    LOC_PREFIX_NOREGEX, plain byte prefix); if that longest one is
 *    LOC_PREFIX_NOREGEX ("^~"), it wins;
 * 3. otherwise regex locations are tried in the order they appear in
 *    s->locs; the first that matches wins;
 * 4. otherwise the longest prefix from step 2; NULL when nothing matched
 *    (the server-level rules apply).
 * Matching is case-sensitive except ~*. Of two prefix locations with the
 * same pattern the first wins. A regex location that was never compiled, or
 * whose match fails with an error (e.g. PCRE2's match limit), does not
 * match. scratch comes from loc_scratch_new and must not be shared between
 * threads. */
const cfg_location *loc_match(const cfg_server *s, const char *path, size_t len, void *scratch);

/* The server that answers on listener `listen` (index into c->listens) for a
 * Host header value (may include ":port", may be an IPv6 literal
 * "[::1]:8080", may have a trailing dot, any case; may be empty/absent
 * (NULL,0)). Only servers whose `listens` array contains `listen` are
 * candidates. Order: an exact name (case-insensitive); then the longest
 * matching leading wildcard "*.example.org" (matches any name ending in
 * ".example.org", not "example.org" itself); a name ".example.org" matches
 * both example.org and its subdomains (nginx's short form) and ranks as a
 * wildcard; then c->listens[listen].default_server. Returns an index into
 * c->servers.
 * Details: among equal candidates the first server in c->servers wins; an
 * empty or absent Host matches a server_name "" (as in nginx), else the
 * default; an IPv6 literal matches a name written "[::1]" or "::1" and never
 * a wildcard. */
size_t loc_server(const cfg *c, size_t listen, const char *host, size_t hostlen);

/* The path beneath an alias directory: the request path with the location's
 * prefix replaced by "/" ("/img/a.png" under "/img/" is "/a.png"; "/imgx"
 * under "/img" is "/x", beneath the alias, never beside it). Writes it
 * NUL-terminated into out; false when it does not fit in cap bytes, or when
 * the rest would climb: its first segment is "." or ".." ("/img../x" or
 * "/img." under "/img"). path is normalised, so no other segment can be. */
bool loc_alias_path(const cfg_location *l, const char *path, size_t len, char *out, size_t cap);

/* True when the normalised path names a hidden file for the "hidden" rule: a
 * segment of the part looked up in the file system starts with '.'. That
 * part is the whole path beneath a root, and what follows the location's
 * prefix beneath an alias (l the chosen location, or NULL for the server):
 * "/a.x" under an alias location "/a" leaves ".x", so it is hidden, while
 * "/.a/x" under an alias location "/.a/" is not.
 * The first segment of "/.well-known" (RFC 8615) is exempt, not what lies
 * below it: "/.well-known/.git" is hidden. */
bool loc_hidden(const cfg_location *l, const char *path, size_t len);

#endif
