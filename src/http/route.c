/* http/route.c: what a request gets: virtual server, location, its rules, then a file, a listing, a redirect or an error page, as a plan. */
#include "http/route.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http/loc.h"
#include "http/mime.h"
#include "http/realip.h"
#include "http/status.h"
#include "http/uri.h"
#include "util/cidr.h"
#include "util/escape.h"

#define MAX_REDIRECTS 10
#define NOTE_PATH_MAX 1024

static enum route_state route_place(route *rt);

/* ---- the one response builder's entry points ------------------------------ */

/* A response with status: the place's add_header set goes on it once the
 * request has a place (resp_head picks the ones the status takes). */
static http_plan *route_begin_plan(route *rt, int status)
{
    http_plan *p = &rt->plan;
    const cfg_rules *r = rt->rules;
    plan_begin(p, status, r ? r->headers : NULL, r ? r->nheaders : 0);
    return p;
}

static enum route_state route_seal(route *rt)
{
    plan_seal(&rt->plan, rt->rq->head_only);
    return ROUTE_DONE;
}

void route_error(route *rt, int status, bool close)
{
    http_plan *p = route_begin_plan(rt, status);
    if (close)
        p->close = true;
    size_t blen;
    const char *body = resp_error_body(status, &blen);
    p->f.content_type = "text/html";
    /* The one place a 405 is answered: what the location allows, or the
     * defaults when none was chosen. */
    if (status == 405)
        p->f.allow = resp_allow(rt->rules ? rt->rules->methods : M_GET, p->allow, sizeof p->allow);
    if (status == 416)
        p->f.content_range = ep_str_make(p->crange, cond_content_range(p->crange, NULL, rt->range_size));
    if (status == 301) {
        /* A directory named without its slash. The Location is built from
         * the normalised path, percent-encoded, never from the raw one:
         * "//evil.example/..%2fdir" must send the browser to "/dir/", not to
         * another host. The query goes along as it came. */
        p->f.location = ep_str_make(rt->rq->path, rt->rq->path_len);
        p->f.location_encode = true;
        p->f.location_suffix = EP_STR_LIT("/");
        p->f.location_query = rt->rq->query;
    }
    plan_mem(p, body, blen);
    route_seal(rt);
}

/* The note for the caller's error log; the first of a step's stands. */
static void route_note(route *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void route_note(route *rt, const char *fmt, ...)
{
    if (rt->note[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rt->note, sizeof rt->note, fmt, ap);
    va_end(ap);
}

/* The path for a note, escaped as the request line is ('"' and '\\'
 * included), so that it cannot pose as the line's own "client:" or
 * "request:" fields; cut at NOTE_PATH_MAX. */
static const char *note_path(const route *rt, char buf[NOTE_PATH_MAX])
{
    size_t used;
    buf[esc_log(ep_str_make(rt->rq->path, rt->rq->path_len), buf, NOTE_PATH_MAX - 1, &used)] = '\0';
    return buf;
}

/* An error status, through the place's error_page when it has one. */
static enum route_state route_fail(route *rt, int status)
{
    const cfg_rules *r = rt->rules;
    http_req *rq = rt->rq;
    if (rt->err_status || !r || (rq->method != M_GET && !rq->head_only)) {
        route_error(rt, rt->err_status ? rt->err_status : status, false);
        return ROUTE_DONE;
    }
    for (size_t i = 0; i < r->nerror_pages; i++) {
        const cfg_error_page *e = &r->error_pages[i];
        size_t n = strlen(e->uri);
        if (e->status != status || n > rt->env->cf->max_uri_len)
            continue;
        rt->err_status = status;
        memcpy(rq->path, e->uri, n + 1);
        rq->path_len = n;
        return route_place(rt);
    }
    route_error(rt, status, false);
    return ROUTE_DONE;
}

/* ---- return ----------------------------------------------------------------- */

/* $host without a host in the request (HTTP/1.0 without Host): the
 * server's first plain name, as nginx falls back to server_name. */
static ep_str server_host(const cfg_server *s)
{
    for (size_t i = 0; i < s->nnames; i++)
        if (s->names[i][0] && s->names[i][0] != '*' && s->names[i][0] != '.')
            return ep_str_make(s->names[i], strlen(s->names[i]));
    return (ep_str){ 0 };
}

/* The value of variable k of expand_vars' list. */
static ep_str var_value(const route *rt, size_t k)
{
    const http_req *rq = rt->rq;
    switch (k) {
    case 0: /* $request_uri: path and query as sent, also of an absolute-form target */
        return uri_origin(rq->head->target);
    case 1: /* the handshake's server is known exactly on TLS connections */
        return rt->env->tls_srv ? EP_STR_LIT("https") : EP_STR_LIT("http");
    case 2: /* checked, without port and trailing dot (http_req_make) */
        return rq->info.host.len ? rq->info.host : server_host(rt->srv);
    case 3:
        return ep_str_make(rq->path, rq->path_len);
    default:
        return rq->query;
    }
}

/* $request_uri, $scheme, $host, $uri and $args in a return text. */
static bool expand_vars(const route *rt, const char *tpl, char *out, size_t cap, size_t *len)
{
    static const char *const vars[] = { "$request_uri", "$scheme", "$host", "$uri", "$args" };
    size_t n = 0;
    for (const char *p = tpl; *p;) {
        size_t k = 0;
        while (k < EP_ARRAY_LEN(vars) && strncmp(p, vars[k], strlen(vars[k])) != 0)
            k++;
        ep_str v = k == EP_ARRAY_LEN(vars) ? ep_str_make(p, 1) : var_value(rt, k);
        /* An absolute-form target's empty path is "/" (RFC 9112 3.2.2). */
        if (k == 0 && (v.len == 0 || v.p[0] != '/')) {
            if (n + 1 >= cap)
                return false;
            out[n++] = '/';
        }
        p += k == EP_ARRAY_LEN(vars) ? 1 : strlen(vars[k]);
        if (n + v.len >= cap)
            return false;
        bool lower = k == 2; /* as nginx's $host */
        for (size_t i = 0; lower && i < v.len; i++)
            out[n + i] = (char)((unsigned)(v.p[i] - 'A') < 26u ? v.p[i] + ('a' - 'A') : v.p[i]);
        if (!lower && v.len)
            memcpy(out + n, v.p, v.len);
        n += v.len;
    }
    out[n] = '\0';
    *len = n;
    return true;
}

/* A redirect whose expansion starts "//" or "/\\" (say "$request_uri" for
 * "//evil.example/") would send the browser to another host: unless the
 * configured text itself starts so, its second byte is percent-encoded,
 * which keeps the Location a path on this host. 0, or -1 if no room. */
static int local_location(char *s, size_t cap, const char *tpl, size_t *n)
{
    if (*n < 2 || s[0] != '/' || (s[1] != '/' && s[1] != '\\') ||
        (tpl[0] == '/' && (tpl[1] == '/' || tpl[1] == '\\')))
        return 0;
    if (*n + 2 >= cap)
        return -1;
    const char *esc = s[1] == '/' ? "%2F" : "%5C";
    memmove(s + 4, s + 2, *n - 2 + 1);
    memcpy(s + 1, esc, 3);
    *n += 2;
    return 0;
}

static enum route_state route_return(route *rt)
{
    const cfg_rules *r = rt->rules;
    int status = r->return_status;
    char *s = rt->env->scratch;
    size_t n = 0;
    bool fits = !r->return_text || expand_vars(rt, r->return_text, s, rt->env->scratch_len, &n);
    bool redirect = status >= 300 && status < 400;
    /* The scratch holds the text and three URI lengths more for its
     * variables (route_sizes_of): only a Host far beyond any URI can
     * overflow it. That is the request's size, not the server's fault. */
    if (!fits || (redirect && local_location(s, rt->env->scratch_len, r->return_text, &n) < 0)) {
        route_error(rt, 414, false);
        return ROUTE_DONE;
    }
    http_plan *p = route_begin_plan(rt, status);
    const char *body = s;
    size_t blen = n;
    if (redirect) {
        p->f.location = ep_str_make(s, n);
        body = resp_error_body(status, &blen);
        p->f.content_type = "text/html";
    } else if (r->return_text) {
        p->f.content_type = "text/plain";
    } else if (status >= 400) {
        body = resp_error_body(status, &blen);
        p->f.content_type = "text/html";
    }
    plan_mem(p, body, blen);
    return route_seal(rt);
}

/* The server's counters, summed over the workers as of now. Never cached
 * by anyone: the figures change with every request. */
static enum route_state route_status(route *rt)
{
    size_t len = 0;
    const char *ctype = NULL;
    char *body = rt->env->mx ? status_render(rt->rules->status_page, rt->env->mx, &len, &ctype) : NULL;
    if (!body) {
        rt->why = rt->env->mx ? "out of memory for the status page" : "no counters to show";
        return route_fail(rt, 503);
    }
    rt->why = "a status page";
    http_plan *p = route_begin_plan(rt, 200);
    p->listing = body; /* plan_clear frees it */
    p->f.content_type = ctype;
    p->f.no_store = true;
    plan_mem(p, body, len);
    return route_seal(rt);
}

/* A load balancer's health check: "ok", or 503 once the server drains
 * (-s drain), so that the balancer stops sending before the stop begins. */
static enum route_state route_health(route *rt)
{
    bool draining = rt->env->mx && mx_get(&rt->env->mx->draining);
    static const char ok[] = "ok\n", drain[] = "draining\n";
    rt->why = draining ? "a health check while the server drains" : "a health check";
    http_plan *p = route_begin_plan(rt, draining ? 503 : 200);
    p->f.content_type = "text/plain";
    p->f.no_store = true;
    plan_mem(p, draining ? drain : ok, draining ? sizeof drain - 1 : sizeof ok - 1);
    return route_seal(rt);
}

/* ---- files ------------------------------------------------------------------ */

/* Validators first (RFC 9110 13.2.2), then Range: 200, 206, 304, 412 or 416.
 * Ranges (up to COND_MAX_RANGES after merging) go into parts; *nparts gets
 * how many. */
static int file_status(const route *rt, const struct stat *st, cond_range *parts, size_t *nparts)
{
    const hp_info *info = &rt->rq->info;
    hp_info dateless;
    /* last_modified = "off": the mtime is no validator (machines behind one
     * balancer hold different ones), so no date precondition is judged by
     * it: If-(Un)Modified-Since are ignored, an If-Range date never matches. */
    if (!rt->rules->last_modified && (info->if_modified_since.p || info->if_unmodified_since.p || info->if_range.p)) {
        dateless = *info;
        dateless.if_modified_since = dateless.if_unmodified_since = (ep_str){ 0 };
        if (info->if_range.len && info->if_range.p[0] != '"' && info->if_range.p[0] != 'W')
            dateless.if_range = ep_str_make(info->if_range.p, 0); /* neither tag nor date: whole */
        info = &dateless;
    }
    /* Most requests carry no precondition and no Range: no ETag to format. */
    if (!info->if_match.p && !info->if_none_match.p && !info->if_modified_since.p &&
        !info->if_unmodified_since.p && !info->range.p)
        return 200;
    char etag[COND_ETAG_MAX];
    ep_str tag = ep_str_make(etag, cond_etag(etag, st->st_mtime, st->st_size));
    if (rt->rules->etag_content)
        tag = rt->has_chash ? ep_str_make(rt->etag, 34) : (ep_str){ 0 };
    if (!rt->rules->etag)
        tag = (ep_str){ 0 };
    int pre = cond_check(info, tag, st->st_mtime);
    if (pre)
        return pre;
    /* Range is defined for GET only; HEAD gets the plain 200 head. */
    if (!info->range.p || rt->rq->head_only || !cond_if_range_ok(info, tag, st->st_mtime))
        return 200;
    int n = cond_parse_range(info->range, st->st_size, parts, COND_MAX_RANGES);
    if (n == COND_RANGE_UNSATISFIABLE)
        return 416;
    if (n < 1)
        return 200;
    *nparts = (size_t)n;
    return 206;
}

/* The longest Content-Type, add_header set, return text and try_files
 * fallback URI of the generation: what a head and the scratch must hold
 * beyond the request limits. */
typedef struct {
    size_t ctype, extra, nextra, ret, uri;
} route_needs;

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static void rules_needs(const cfg_rules *r, route_needs *n)
{
    n->extra = max_size(n->extra, resp_extra_size(r->headers, r->nheaders));
    n->nextra = max_size(n->nextra, r->nheaders);
    if (r->return_text)
        n->ret = max_size(n->ret, strlen(r->return_text));
    /* A fallback URI becomes the path a directory redirect names. */
    if (r->ntry_files && r->try_files[r->ntry_files - 1][0] != '=')
        n->uri = max_size(n->uri, strlen(r->try_files[r->ntry_files - 1]));
}

void route_sizes_of(const cfg *cf, route_sizes *rs)
{
    /* 64 covers the types ephttpd writes itself: a multipart boundary's,
     * an autoindex's, text/html for the error pages. */
    route_needs n = { .ctype = max_size(64, mime_type_max(cf->mime)) };
    if (cf->default_type)
        n.ctype = max_size(n.ctype, strlen(cf->default_type));
    for (size_t i = 0; i < cf->nservers; i++) {
        rules_needs(&cf->servers[i].r, &n);
        for (size_t j = 0; j < cf->servers[i].nlocs; j++)
            rules_needs(&cf->servers[i].locs[j].r, &n);
    }
    size_t m = cf->max_uri_len;
    /* Three path-sized parts: the alias-relative path, a try_files
     * candidate, and a precompressed sibling's name; or all of it for a
     * return text being expanded, whose own bytes come on top, so that its
     * variables always have the three path sizes to grow into. */
    rs->scratch = 3 * (m + 256) + n.ret;
    /* A Location is a return text expanded in the scratch, or a directory
     * redirect: the path percent-encoded (3 bytes a byte at most), '/',
     * '?' and the query. Path and query share the request's max_uri_len,
     * unless the path is a fallback URI from the configuration. */
    size_t dir = max_size(3 * m, 3 * n.uri + m) + 2;
    rs->head = resp_head_max(n.ctype, max_size(rs->scratch, dir), n.extra);
    /* Every part's head of the largest multipart body, and its tail. */
    rs->parts = (COND_MAX_RANGES + 1) * cond_part_head_max(n.ctype);
    rs->fields = RESP_NV_FIXED + n.nextra;
}

/* 206 with several ranges: a multipart/byteranges body of part heads and
 * file ranges, whatever the file's size. */
static enum route_state route_multipart(route *rt, const cond_range *parts, size_t n, const struct stat *st)
{
    http_plan *p = &rt->plan;
    const char *type = p->f.content_type;
    char boundary[COND_BOUNDARY_MAX];
    ep_str b = ep_str_make(boundary, cond_boundary(boundary, st->st_mtime, st->st_size, rt->env->seq));
    snprintf(p->ctype, sizeof p->ctype, "multipart/byteranges; boundary=%s", boundary);
    p->f.content_type = p->ctype;
    char *buf = rt->env->parts, *end = buf + rt->env->parts_len;
    for (size_t i = 0; i <= n; i++) {
        size_t len = i < n ? cond_part_head(buf, (size_t)(end - buf), b, type, &parts[i], st->st_size)
                           : cond_multipart_tail(buf, (size_t)(end - buf), b);
        if (len == 0) { /* cannot happen: route_sizes_of sized the buffer */
            snprintf(rt->note, sizeof rt->note, "multipart part heads do not fit in %zu bytes", rt->env->parts_len);
            route_error(rt, 500, false);
            return ROUTE_DONE;
        }
        plan_mem(p, buf, len);
        buf += len;
        if (i < n)
            plan_file(p, parts[i].first, (size_t)(parts[i].last - parts[i].first + 1));
    }
    return route_seal(rt);
}

/* A lookup's outcome is decided: what it read for a listing goes. */
static enum route_state route_lookup_end(route *rt, enum route_state s)
{
    if (s == ROUTE_DONE) {
        free(rt->lookup.out.data);
        rt->lookup.out = (ai_buf){ 0 };
    }
    return s;
}

/* The plan for the file now in plan.fd (route_file), its hash known or
 * not needed. */
static enum route_state route_file_plan(route *rt)
{
    static_req *q = &rt->lookup;
    const cfg_rules *rl = rt->rules;
    const struct stat *st = &q->res.st;
    int64_t size = st->st_size;
    cond_range parts[COND_MAX_RANGES] = { { 0, size - 1 } };
    size_t nparts = 1;
    int status = rt->err_status ? rt->err_status : file_status(rt, st, parts, &nparts);
    if (status == 412 || status == 416) {
        rt->range_size = size; /* for the 416's Content-Range */
        route_error(rt, status, false);
        return ROUTE_DONE;
    }
    http_plan *p = route_begin_plan(rt, status);
    p->f.last_modified = st->st_mtime;
    p->f.no_last_modified = !rl->last_modified;
    p->f.etag_size = rl->etag && (!rl->etag_content || rt->has_chash) ? size : -1;
    p->f.etag_text = rl->etag_content && rt->has_chash ? rt->etag : NULL;
    p->f.vary_encoding = rl->nenc > 0;
    p->f.content_encoding = q->enc_used ? static_encoding_name(q->enc_used) : NULL;
    /* Cache lifetime for the file's own answers: a 304 renews what the
     * cache holds, so it carries the same max-age as the 200 (RFC 9111 4.3.4). */
    if (rl->expires != CFG_EXPIRES_OFF && (status == 200 || status == 206 || status == 304)) {
        p->f.max_age = rl->expires;
        p->f.now = rt->env->now;
    }
    if (status == 304)
        return route_seal(rt);
    const cfg *cf = rt->env->cf;
    p->f.content_type = mime_lookup(cf->mime, q->name, strlen(q->name), cf->default_type);
    p->f.accept_ranges = !rt->err_status;
    if (status == 206 && nparts > 1)
        return route_multipart(rt, parts, nparts, st);
    if (status == 206)
        p->f.content_range = ep_str_make(p->crange, cond_content_range(p->crange, &parts[0], size));
    size_t len = (size_t)(parts[0].last - parts[0].first + 1);
    /* A lookup on the queue read a small file whole: send it from memory. */
    if (q->nread == size && rt->env->body && size > 0)
        plan_mem(p, rt->env->body + parts[0].first, len);
    else if (size > 0)
        plan_file(p, parts[0].first, len);
    return route_seal(rt);
}

static enum route_state route_file(route *rt)
{
    static_req *q = &rt->lookup;
    const cfg_rules *rl = rt->rules;
    rt->plan.fd = q->res.fd;
    q->res.fd = -1;
    /* etag = "content": a small file is hashed first (off the loop: the
     * executor's task), a large one goes without an ETag meanwhile. */
    if (rl->etag && rl->etag_content && !rt->has_chash && !rt->err_status) {
        if (q->res.st.st_size <= ROUTE_HASH_MAX)
            return ROUTE_HASH;
        rt->hash_later = true;
    }
    return route_file_plan(rt);
}

static void etag_text(route *rt)
{
    static const char hex[] = "0123456789abcdef";
    rt->etag[0] = '"';
    for (int i = 0; i < 16; i++) {
        rt->etag[1 + 2 * i] = hex[rt->chash[i] >> 4];
        rt->etag[2 + 2 * i] = hex[rt->chash[i] & 15];
    }
    rt->etag[33] = '"';
    rt->etag[34] = '\0';
}

void route_offer_hash(route *rt, const uint8_t *h)
{
    rt->has_chash = h != NULL;
    if (h) {
        memcpy(rt->chash, h, 16);
        etag_text(rt);
    }
}

enum route_state route_hash_done(route *rt, const uint8_t *h)
{
    route_offer_hash(rt, h); /* none (unreadable, the queue full): served without an ETag */
    return route_lookup_end(rt, route_file_plan(rt));
}

static enum route_state route_listing(route *rt)
{
    static_req *q = &rt->lookup;
    http_plan *p = route_begin_plan(rt, rt->err_status ? rt->err_status : 200);
    p->f.content_type = rt->rules->autoindex_json ? "application/json" : "text/html; charset=utf-8";
    free(p->listing);
    p->listing = q->out.data;
    plan_mem(p, p->listing, q->out.len);
    q->out = (ai_buf){ 0 };
    return route_seal(rt);
}

/* try_files ran out: "=CODE", or an internal redirect to a URI. */
static enum route_state route_fallback(route *rt)
{
    const cfg_rules *r = rt->rules;
    const char *fb = r->try_files[r->ntry_files - 1];
    if (fb[0] == '=')
        return route_fail(rt, atoi(fb + 1));
    size_t n = strlen(fb);
    if (++rt->redirects > MAX_REDIRECTS || n > rt->env->cf->max_uri_len) {
        char esc[NOTE_PATH_MAX];
        route_note(rt, "try_files fallback \"%s\" for \"%s\": too many internal redirects", fb, note_path(rt, esc));
        route_error(rt, 500, false);
        return ROUTE_DONE;
    }
    memcpy(rt->rq->path, fb, n + 1);
    rt->rq->path_len = n;
    return route_place(rt);
}

/* Why a lookup failed with 403 or 500, for the error log (nginx logs both). */
static const char *lookup_why(int err)
{
    if (err == 0)
        return "a folder without an index file (autoindex is off), or not a regular file";
    if (err == EXDEV || err == ELOOP)
        return "a symbolic link that the \"symlinks\" setting refuses";
    return strerror(err);
}

enum route_state route_lookup_done(route *rt)
{
    static_req *q = &rt->lookup;
    enum route_state s;
    if (q->status == STATIC_FALLBACK) {
        rt->why = "no try_files candidate exists: the fallback";
        s = route_fallback(rt);
    } else if (q->status != 200) {
        char esc[NOTE_PATH_MAX];
        if (q->status == 500 || q->status == 403)
            route_note(rt, "open \"%s\": %s", note_path(rt, esc), lookup_why(q->err));
        rt->why = q->status == 301 ? "a directory: redirect to add '/'" : NULL;
        if (q->status == 301 && !rt->err_status) {
            route_error(rt, 301, false);
            s = ROUTE_DONE;
        } else {
            s = route_fail(rt, q->status == 301 ? 404 : q->status);
        }
    } else if (q->listing) {
        s = route_listing(rt);
    } else {
        s = route_file(rt);
    }
    return route_lookup_end(rt, s);
}

enum route_state route_lookup_cached(route *rt, const file_result *res)
{
    static_req *q = &rt->lookup;
    q->status = 200;
    q->res = *res;
    q->name = res->index >= 0 ? rt->rules->index[res->index] : q->path;
    q->nread = -1;
    return route_lookup_done(rt);
}

void route_abandon(route *rt)
{
    static_req *q = &rt->lookup;
    if (q->res.fd >= 0)
        close(q->res.fd);
    q->res.fd = -1;
    free(q->out.data);
    q->out = (ai_buf){ 0 };
}

/* ---- the place -------------------------------------------------------------- */

/* The lookup the request needs; the caller runs it. */
static enum route_state route_lookup(route *rt)
{
    const cfg_rules *r = rt->rules;
    http_req *rq = rt->rq;
    const char *rel = rq->path;
    static_scratch sc = static_scratch_of(rt->env->scratch, rt->env->scratch_len);
    if (r->alias) { /* the location's prefix is replaced by the alias directory */
        char *dst = sc.rel;
        if (!loc_alias_path(rt->loc, rq->path, rq->path_len, dst, sc.part)) {
            rt->why = "the path climbs above the alias";
            return route_fail(rt, 404);
        }
        /* "/img" under location "/img" names the alias folder itself: like
         * any folder asked for without its '/', it is redirected, so that
         * relative links in its index or listing resolve beneath it. An
         * exact location is the one URL its author chose: no redirect. */
        if (dst[1] == '\0' && rq->path[rq->path_len - 1] != '/' && rt->loc->kind != LOC_EXACT &&
            !rt->err_status && !r->ntry_files) {
            rt->why = "the alias folder: redirect to add '/'";
            route_error(rt, 301, false);
            return ROUTE_DONE;
        }
        rel = dst;
    }
    static_req *q = &rt->lookup;
    *q = (static_req){ .dirfd = -1, .links = r->links, .path = rel, .uri = rq->path,
                       .index = (const char *const *)r->index, .nindex = r->nindex,
                       .try_files = (const char *const *)r->try_files, .ntry = r->ntry_files,
                       .autoindex = r->autoindex, .autoindex_json = r->autoindex_json,
                       .sc = sc, .res = { .fd = -1 }, .nread = -1,
                       .buf = rq->head_only ? NULL : rt->env->body, .buflen = rt->env->body_len };
    if (r->nenc && !rt->err_status)
        q->nenc = static_negotiate(r->enc, r->nenc, rq->info.accept_encoding.p, rq->info.accept_encoding.len,
                                   q->enc);
    /* The open-file cache holds plain lookups: no try_files list, no sibling choice. */
    rt->cacheable = !r->ntry_files && !q->nenc;
    rt->dir = r->dir;
    return ROUTE_LOOKUP;
}

static bool acl_allows(const cfg_rules *r, const struct sockaddr *peer)
{
    for (size_t i = 0; i < r->nacl; i++)
        if (cidr_match(&r->acl[i].net, peer))
            return r->acl[i].allow;
    return true;
}

/* 204 with the methods the rules allow. */
static enum route_state route_options(route *rt, unsigned methods)
{
    http_plan *p = route_begin_plan(rt, 204);
    p->f.allow = resp_allow(methods, p->allow, sizeof p->allow);
    return route_seal(rt);
}

/* The location for the request's (current) path, and what its rules say. */
static enum route_state route_place(route *rt)
{
    http_req *rq = rt->rq;
    rt->loc = loc_match(rt->srv, rq->path, rq->path_len, rt->env->loc_scratch);
    rt->rules = rt->loc ? &rt->loc->r : &rt->srv->r;
    const cfg_rules *r = rt->rules;
    if (r->nacl && rt->peer && !acl_allows(r, rt->peer)) {
        rt->why = "the access rules refuse the client";
        return route_fail(rt, 403);
    }
    unsigned allowed = r->methods | (r->methods & M_GET ? M_HEAD : 0);
    if (!rt->err_status && !(rq->method & allowed)) {
        route_error(rt, 405, false); /* its Allow comes from rt->rules */
        return ROUTE_DONE;
    }
    if (rq->method == M_OPTIONS && !rt->err_status && !r->return_status)
        return route_options(rt, r->methods);
    if (r->return_status && !rt->err_status)
        return route_return(rt);
    if (r->status_page && !rt->err_status)
        return route_status(rt);
    if (r->health_check && !rt->err_status)
        return route_health(rt);
    if (r->dir < 0) { /* an error page in a location without files */
        rt->why = "no root";
        route_error(rt, rt->err_status ? rt->err_status : 404, false);
        return ROUTE_DONE;
    }
    /* Dotfiles (.git, .env) are the client's path only: error_page and
     * try_files targets are the administrator's own choice. */
    if (!r->hidden_allow && !rt->err_status && !rt->redirects && loc_hidden(rt->loc, rq->path, rq->path_len)) {
        rt->why = "a hidden path: hidden = \"deny\"";
        return route_fail(rt, 404);
    }
    return route_lookup(rt);
}

/* The same certificate files in the same order: the same identity. */
static bool same_certificates(const cfg_server *a, const cfg_server *b)
{
    if (a->ntls_certs != b->ntls_certs)
        return false;
    for (size_t i = 0; i < a->ntls_certs; i++)
        if (strcmp(a->tls_certs[i], b->tls_certs[i]) != 0)
            return false;
    return true;
}

/* Behind proxies the server trusts (real_ip_from), the client they name. */
static void route_real_ip(route *rt)
{
    const cfg_server *s = rt->srv;
    const hp_request *h = rt->rq->head;
    if (!s->nreal_ip_from || !h)
        return;
    const char *name = s->real_ip_header ? s->real_ip_header : "X-Forwarded-For";
    ep_str lines[HP_MAX_HEADERS];
    size_t k = 0;
    for (const hp_header *f = NULL; (f = hp_header_next(h, ep_str_make(name, strlen(name)), f));)
        lines[k++] = f->value;
    enum realip_syntax syn = strcasecmp(name, "Forwarded") == 0 ? REALIP_FORWARDED : REALIP_LIST;
    if (realip_pick_lines(s->real_ip_from, s->nreal_ip_from, rt->peer, lines, k, syn, &rt->client))
        rt->peer = (const struct sockaddr *)&rt->client;
}

void route_begin(route *rt, const route_env *env, http_req *rq)
{
    rt->env = env;
    rt->rq = rq;
    rt->srv = NULL;
    rt->loc = NULL;
    rt->rules = NULL;
    rt->err_status = rt->redirects = 0;
    rt->range_size = 0;
    rt->why = NULL;
    rt->peer = env->peer;
    rt->has_chash = rt->hash_later = false;
    rt->note[0] = '\0';
    rt->dir = -1;
    rt->cacheable = false;
    /* What route_abandon would release; route_lookup sets the rest. */
    rt->lookup.res.fd = -1;
    rt->lookup.out = (ai_buf){ 0 };
    plan_init(&rt->plan);
}

enum route_state route_request(route *rt)
{
    const cfg *cf = rt->env->cf;
    http_req *rq = rt->rq;
    if (rq->asterisk) {
        /* "*" is the listener's default server as a whole, for which
         * OPTIONS itself just worked. */
        rt->srv = &cf->servers[loc_server(cf, rt->env->listen_idx, NULL, 0)];
        return route_options(rt, rt->srv->r.methods | M_OPTIONS);
    }
    const cfg_server *t = rt->env->tls_srv;
    if (t && !rq->info.host.len)
        rt->srv = t; /* no Host (HTTP/1.0): the server SNI chose answers, as in nginx */
    else
        rt->srv = &cf->servers[loc_server(cf, rt->env->listen_idx, rq->info.host.p, rq->info.host.len)];
    route_real_ip(rt);
    /* A Host for another server than the one whose certificate the client
     * checked (SNI said one name, Host says another): unless both share
     * their certificates, this connection cannot vouch for that server
     * (RFC 9110 15.5.20; nginx answers 421 too). The client may retry on a
     * connection of its own for that name. */
    if (t && t != rt->srv && !same_certificates(t, rt->srv)) {
        rt->why = "the Host names another server than the TLS handshake's";
        route_error(rt, 421, false);
        return ROUTE_DONE;
    }
    return route_place(rt);
}
