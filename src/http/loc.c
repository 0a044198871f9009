/* http/loc.c: regex locations (PCRE2), nginx's location choice and virtual-server choice by Host. */
#include "http/loc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Capture pairs the scratch holds: $0..$9, what nginx lets a config refer
 * to. Matching alone needs one; a smaller ovector than the pattern's groups
 * still reports a match (rc 0), so this only bounds future captures. */
#define LOC_OVECTOR_PAIRS 10

/* ---- Regex locations ---------------------------------------------------- */

static bool is_regex(loc_kind k) { return k == LOC_REGEX || k == LOC_REGEX_ICASE; }

int loc_compile(cfg_location *l, char *err, size_t errlen)
{
    if (!is_regex(l->kind))
        return 0;
    loc_release(l); /* compiling twice must not leak the first code */
    if (!l->pattern) {
        if (err && errlen)
            snprintf(err, errlen, "regex location without a pattern");
        return -1;
    }
    /* No UTF: paths are arbitrary bytes after percent-decoding, and a UTF
     * pattern would make every invalid UTF-8 path a match error. NEVER_UTF
     * also refuses a pattern that asks for it with "(*UTF)". */
    uint32_t opts = PCRE2_NEVER_UTF;
    if (l->kind == LOC_REGEX_ICASE)
        opts |= PCRE2_CASELESS;
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)l->pattern, PCRE2_ZERO_TERMINATED, opts, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        /* A too-small buffer still gets a truncated, terminated message. */
        if (pcre2_get_error_message(code, msg, sizeof msg) == PCRE2_ERROR_BADDATA)
            snprintf((char *)msg, sizeof msg, "error %d", code);
        if (err && errlen)
            snprintf(err, errlen, "regex \"%s\": %s at offset %zu", l->pattern, (char *)msg, (size_t)off);
        return -1;
    }
    /* JIT is an optimisation: without it (no support, or no executable
     * memory allowed) pcre2_match interprets the same code. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    l->re = re;
    return 0;
}

void loc_release(cfg_location *l)
{
    pcre2_code_free(l->re);
    l->re = NULL;
}

void *loc_scratch_new(void) { return pcre2_match_data_create(LOC_OVECTOR_PAIRS, NULL); }

void loc_scratch_free(void *scratch) { pcre2_match_data_free(scratch); }

/* ---- Location choice ---------------------------------------------------- */

/* The length of pat when it is a byte prefix of path[0..len), else
 * SIZE_MAX. One pass, no strlen: locations are compared per request. */
static size_t prefix_of(const char *pat, const char *path, size_t len)
{
    size_t i = 0;
    for (; pat[i]; i++)
        if (i == len || pat[i] != path[i])
            return SIZE_MAX;
    return i;
}

static bool regex_matches(const cfg_location *l, const char *path, size_t len, void *scratch)
{
    if (!l->re)
        return false;
    /* rc 0 means "matched, ovector too small": still a match. Errors (match
     * limit, no memory) count as no match; the caller cannot do better
     * without logging here. */
    return pcre2_match(l->re, (PCRE2_SPTR)path, len, 0, 0, scratch, NULL) >= 0;
}

const cfg_location *loc_match(const cfg_server *s, const char *path, size_t len, void *scratch)
{
    const cfg_location *best = NULL;
    size_t best_len = 0, first_re = s->nlocs;

    /* Steps 1-2 in one pass; also note where the regexes start so step 3
     * skips the prefix locations before them. */
    for (size_t i = 0; i < s->nlocs; i++) {
        const cfg_location *l = &s->locs[i];
        if (is_regex(l->kind)) {
            if (first_re == s->nlocs)
                first_re = i;
            continue;
        }
        if (!l->pattern)
            continue;
        size_t n = prefix_of(l->pattern, path, len);
        if (n == SIZE_MAX)
            continue;
        if (l->kind == LOC_EXACT) {
            if (n == len)
                return l;
        } else if (!best || n > best_len) {
            best = l;
            best_len = n;
        }
    }
    if (best && best->kind == LOC_PREFIX_NOREGEX)
        return best;

    for (size_t i = first_re; i < s->nlocs; i++) {
        const cfg_location *l = &s->locs[i];
        if (is_regex(l->kind) && regex_matches(l, path, len, scratch))
            return l;
    }
    return best;
}

/* ---- Virtual-server choice ---------------------------------------------- */

/* ASCII only: host names are compared the same in every locale. */
static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

static bool ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

typedef struct {
    const char *p;
    size_t len;
    bool literal; /* an IPv6 literal; p/len without the brackets */
} host_key;

/* Reduces a Host value to what server names are compared with: no port,
 * no trailing dot, an IPv6 literal without its brackets. An absent or
 * empty Host gives the empty name. False when nothing usable remains
 * ("[::1", ":80", "."); such a request goes to the default server. */
static bool host_key_of(const char *host, size_t len, host_key *k)
{
    *k = (host_key){ "", 0, false };
    if (!host || len == 0)
        return true;
    if (host[0] == '[') {
        const char *end = memchr(host, ']', len);
        if (!end || end == host + 1)
            return false;
        size_t after = len - (size_t)(end + 1 - host);
        if (after && end[1] != ':')
            return false;
        *k = (host_key){ host + 1, (size_t)(end - host - 1), true };
        return true;
    }
    const char *colon = memchr(host, ':', len);
    if (colon)
        len = (size_t)(colon - host);
    if (len && host[len - 1] == '.')
        len--; /* "example.org." is the same name, fully qualified */
    if (len == 0)
        return false;
    *k = (host_key){ host, len, false };
    return true;
}

#define RANK_EXACT SIZE_MAX

/* How well server name nm matches the host: 0 not at all, RANK_EXACT for
 * an exact name, else the length of the matching wildcard suffix (longer
 * is more specific). */
static size_t name_rank(const char *nm, const host_key *k)
{
    size_t n = strlen(nm);
    if (nm[0] == '*' && nm[1] == '.') {
        const char *suf = nm + 1; /* ".example.org" */
        size_t sl = n - 1;
        if (!k->literal && k->len > sl && ieq(k->p + k->len - sl, suf, sl))
            return sl;
        return 0;
    }
    if (nm[0] == '.' && nm[1]) {
        /* ".example.org": the name itself or any subdomain, ranked as the
         * wildcard it abbreviates. */
        if (k->literal)
            return 0;
        if (k->len == n - 1 && ieq(k->p, nm + 1, n - 1))
            return n;
        if (k->len > n && ieq(k->p + k->len - n, nm, n))
            return n;
        return 0;
    }
    if (n >= 2 && nm[0] == '[' && nm[n - 1] == ']') {
        nm++; /* "[::1]" as written in a config means the literal ::1 */
        n -= 2;
    }
    return k->len == n && ieq(k->p, nm, n) ? RANK_EXACT : 0;
}

static bool on_listener(const cfg_server *s, size_t listen)
{
    for (size_t i = 0; i < s->nlistens; i++)
        if (s->listens[i] == listen)
            return true;
    return false;
}

size_t loc_server(const cfg *c, size_t listen, const char *host, size_t hostlen)
{
    size_t dflt = c->listens[listen].default_server;
    host_key k;
    if (!host_key_of(host, hostlen, &k))
        return dflt;

    /* An exact name ends the search wherever it is; a wildcard is only
     * remembered, since a later server may name the host exactly. */
    size_t wild = dflt, wild_rank = 0;
    for (size_t i = 0; i < c->nservers; i++) {
        const cfg_server *s = &c->servers[i];
        if (!on_listener(s, listen))
            continue;
        for (size_t j = 0; j < s->nnames; j++) {
            size_t r = name_rank(s->names[j], &k);
            if (r == RANK_EXACT)
                return i;
            if (r > wild_rank) {
                wild = i;
                wild_rank = r;
            }
        }
    }
    return wild;
}

/* Where the part of path looked up beneath an alias directory starts: after
 * the location's prefix (all of an exact location's path). */
static size_t alias_from(const cfg_location *l, size_t len)
{
    size_t pl = strlen(l->pattern);
    return pl <= len ? pl : len;
}

bool loc_alias_path(const cfg_location *l, const char *path, size_t len, char *out, size_t cap)
{
    const char *rest = path + alias_from(l, len);
    size_t rl = len - (size_t)(rest - path), lead = rest[0] != '/';
    /* The path is normalised, so only the segment the prefix cut in two can
     * be "." or "..": "/img../x" under "/img" leaves "../x". Refusing it here
     * keeps the rest beneath the alias whatever the symlink policy; "follow"
     * has no RESOLVE_BENEATH that would stop the "..". */
    const char *slash = memchr(rest, '/', rl);
    size_t first = slash ? (size_t)(slash - rest) : rl;
    if ((first == 1 || first == 2) && rest[0] == '.' && rest[first - 1] == '.')
        return false;
    if (lead + rl + 1 > cap)
        return false;
    out[0] = '/';
    memcpy(out + lead, rest, rl);
    out[lead + rl] = '\0';
    return true;
}

bool loc_hidden(const cfg_location *l, const char *path, size_t len)
{
    static const char wk[] = "/.well-known";
    const size_t wl = sizeof wk - 1;
    /* Beneath an alias only what follows the location is a file-system
     * path: the prefix is the administrator's own choice of URL. */
    size_t from = l && l->r.alias ? alias_from(l, len) : 0;
    /* RFC 8615's folder is public by design (ACME challenges, security.txt). */
    if (from < wl && len >= wl && memcmp(path, wk, wl) == 0 && (len == wl || path[wl] == '/'))
        from = wl;
    for (size_t i = from; i < len; i++)
        if (path[i] == '.' && (i == from || path[i - 1] == '/'))
            return true;
    return false;
}
