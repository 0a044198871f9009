/* worker/serve.c: what a request gets: virtual server, location, its rules, then a file, a listing, a redirect or an error page. */
#include "worker/serve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/cond.h"
#include "http/loc.h"
#include "http/mime.h"
#include "http/uri.h"
#include "log/log.h"
#include "util/escape.h"
#include "worker/conn.h"

#define MAX_REDIRECTS 10

static void serve_route(conn *c);

static unsigned method_bit(ep_str m)
{
    for (size_t i = 0; i < CFG_NMETHODS; i++)
        if (ep_str_eq(m, cfg_method_names[i]))
            return 1u << i;
    return 0;
}

static bool acl_allows(const cfg_rules *r, const struct sockaddr_storage *peer)
{
    for (size_t i = 0; i < r->nacl; i++)
        if (cidr_match(&r->acl[i].net, (const struct sockaddr *)peer))
            return r->acl[i].allow;
    return true;
}

#define LOG_PATH_MAX 1024

/* The decoded path for an error-log message, escaped as the request line is
 * ('"' and '\\' included), so that a path cannot pose as the message's
 * own "client:" or "request:" fields; cut at LOG_PATH_MAX. */
static const char *log_path(const conn *c, char buf[LOG_PATH_MAX])
{
    size_t used;
    buf[esc_log(ep_str_make(c->path, c->path_len), buf, LOG_PATH_MAX - 1, &used)] = '\0';
    return buf;
}

/* Write the head; conn_block_size sized hbuf for any head of the
 * generation, so the 500 is a bug's last resort. */
static bool serve_head(conn *c, int status, resp_fields *f)
{
    c->status = status;
    c->hlen = resp_head(c->hbuf, c->hcap, status, f);
    if (c->hlen)
        return true;
    char esc[LOG_PATH_MAX];
    conn_log_msg(c, LOGL_ERROR, "response head for \"%s\" does not fit in %zu bytes", log_path(c, esc), c->hcap);
    conn_error(c, 500, false);
    return false;
}

/* An error status, through the location's error_page when it has one. */
static void serve_error(conn *c, int status)
{
    const cfg_rules *r = c->rules;
    if (c->err_status || !r || (!ep_str_eq(c->req->method, "GET") && !c->head_only)) {
        conn_error(c, c->err_status ? c->err_status : status, false);
        return;
    }
    for (size_t i = 0; i < r->nerror_pages; i++) {
        const cfg_error_page *e = &r->error_pages[i];
        size_t n = strlen(e->uri);
        if (e->status != status || n > c->w->cfg->max_uri_len)
            continue;
        c->err_status = status;
        memcpy(c->path, e->uri, n + 1);
        c->path_len = n;
        serve_route(c);
        return;
    }
    conn_error(c, status, false);
}

/* $host without a host in the request (HTTP/1.0 without Host): the
 * server's first plain name, as nginx falls back to server_name. */
static ep_str server_host(const cfg_server *s)
{
    for (size_t i = 0; i < s->nnames; i++)
        if (s->names[i][0] && s->names[i][0] != '*' && s->names[i][0] != '.')
            return ep_str_make(s->names[i], strlen(s->names[i]));
    return (ep_str){ 0 };
}

/* $scheme, $host, $request_uri, $uri and $args in a return text. */
static bool expand_vars(conn *c, const char *tpl, char *out, size_t cap, size_t *len)
{
    static const char *const vars[] = { "$request_uri", "$scheme", "$host", "$uri", "$args" };
    size_t n = 0;
    for (const char *p = tpl; *p;) {
        ep_str v = { 0 };
        bool lower = false;
        size_t k = 0;
        while (k < EP_ARRAY_LEN(vars) && strncmp(p, vars[k], strlen(vars[k])) != 0)
            k++;
        if (k == EP_ARRAY_LEN(vars)) {
            v = ep_str_make(p, 1);
        } else if (k == 0) {
            /* Path and query as sent, also of an absolute-form target
             * (RFC 9112 3.2.2), whose empty path is "/". */
            v = uri_origin(c->req->target);
            if (v.len == 0 || v.p[0] != '/') {
                if (n + 1 >= cap)
                    return 0;
                out[n++] = '/';
            }
        } else if (k == 1) {
            v = EP_STR_LIT("http");
        } else if (k == 2) {
            /* Checked, without port and trailing dot (conn_choose_host);
             * lower case, as nginx's. */
            v = c->info.host.len ? c->info.host : server_host(c->srv);
            lower = true;
        } else if (k == 3) {
            v = ep_str_make(c->path, c->path_len);
        } else {
            v = c->query;
        }
        p += k == EP_ARRAY_LEN(vars) ? 1 : strlen(vars[k]);
        if (n + v.len >= cap)
            return false;
        for (size_t i = 0; lower && i < v.len; i++)
            out[n + i] = (char)((unsigned)(v.p[i] - 'A') < 26u ? v.p[i] + ('a' - 'A') : v.p[i]);
        if (!lower)
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
static int serve_local_location(conn *c, const char *tpl, size_t *n)
{
    char *s = c->scratch;
    if (*n < 2 || s[0] != '/' || (s[1] != '/' && s[1] != '\\') ||
        (tpl[0] == '/' && (tpl[1] == '/' || tpl[1] == '\\')))
        return 0;
    if (*n + 2 >= c->scratch_len)
        return -1;
    const char *esc = s[1] == '/' ? "%2F" : "%5C";
    memmove(s + 4, s + 2, *n - 2 + 1);
    memcpy(s + 1, esc, 3);
    *n += 2;
    return 0;
}

static void serve_return(conn *c)
{
    const cfg_rules *r = c->rules;
    int status = r->return_status;
    resp_fields f = conn_fields(c);
    size_t n = 0;
    bool fits = !r->return_text || expand_vars(c, r->return_text, c->scratch, c->scratch_len, &n);
    bool redirect = status >= 300 && status < 400;
    /* The scratch holds the text and three URI lengths more for its
     * variables (conn_block_size): only a Host far beyond any URI can
     * overflow it. That is the request's size, not the server's fault. */
    if (!fits ||
        (redirect && serve_local_location(c, r->return_text, &n) < 0)) {
        conn_error(c, 414, false);
        return;
    }
    const char *body = c->scratch;
    size_t blen = n;
    if (redirect) {
        f.location = ep_str_make(c->scratch, n);
        body = resp_error_body(status, &blen);
        f.content_type = "text/html";
    } else if (r->return_text) {
        f.content_type = "text/plain";
    } else if (status >= 400) {
        body = resp_error_body(status, &blen);
        f.content_type = "text/html";
    }
    f.content_length = status == 204 || status == 304 ? -1 : (int64_t)blen;
    if (!serve_head(c, status, &f))
        return;
    c->mem = c->head_only || f.content_length < 0 ? NULL : body;
    c->mem_len = c->mem ? blen : 0;
    conn_start_send(c);
}

/* Validators first (RFC 9110 13.2.2), then Range: 200, 206, 304, 412 or 416.
 * Several ranges (up to COND_MAX_RANGES after merging) go into c->parts. */
static int serve_file_status(conn *c, const struct stat *st, cond_range *r)
{
    char etag[COND_ETAG_MAX];
    ep_str tag = ep_str_make(etag, cond_etag(etag, st->st_mtime, st->st_size));
    if (!c->rules->etag)
        tag = (ep_str){ 0 };
    int pre = cond_check(&c->info, tag, st->st_mtime);
    if (pre)
        return pre;
    /* Range is defined for GET only; HEAD gets the plain 200 head. */
    if (!c->info.range.p || c->head_only || !cond_if_range_ok(&c->info, tag, st->st_mtime))
        return 200;
    int n = cond_parse_range(c->info.range, st->st_size, c->parts, COND_MAX_RANGES);
    if (n == COND_RANGE_UNSATISFIABLE)
        return 416;
    if (n < 1)
        return 200;
    *r = c->parts[0];
    c->nparts = n > 1 ? (size_t)n : 0;
    return 206;
}

/* 206 with several ranges: a multipart/byteranges body of part heads and
 * file ranges, sent from the file whatever its size. */
static void serve_multipart(conn *c, resp_fields *f, const char *type, int64_t size, time_t mtime)
{
    char ctype[64 + COND_BOUNDARY_MAX];
    cond_boundary(c->boundary, mtime, size, c->w->stats.requests);
    snprintf(ctype, sizeof ctype, "multipart/byteranges; boundary=%s", c->boundary);
    c->part_type = type;
    c->range_size = size;
    f->content_type = ctype;
    f->content_length = cond_multipart_length(ep_str_make(c->boundary, strlen(c->boundary)), type,
                                              c->parts, c->nparts, size);
    if (!serve_head(c, 206, f))
        return;
    c->mem = NULL;
    c->mem_len = 0;
    if (c->head_only) {
        c->nparts = 0;
        conn_drop_file(c);
    } else {
        conn_start_parts(c);
    }
    conn_start_send(c);
}

static void serve_listing(conn *c, static_req *q)
{
    resp_fields f = conn_fields(c);
    f.content_type = c->rules->autoindex_json ? "application/json" : "text/html; charset=utf-8";
    f.content_length = (int64_t)q->out.len;
    c->listing = q->out.data;
    q->out = (ai_buf){ 0 };
    if (!serve_head(c, c->err_status ? c->err_status : 200, &f))
        return;
    c->mem = c->head_only ? NULL : c->listing;
    c->mem_len = c->head_only ? 0 : (size_t)f.content_length;
    conn_start_send(c);
}

static void serve_file(conn *c, static_req *q)
{
    const cfg_rules *rl = c->rules;
    c->fd = q->res.fd;
    int64_t size = q->res.st.st_size;
    cond_range r = { 0, size - 1 };
    c->nparts = 0;
    int status = c->err_status ? c->err_status : serve_file_status(c, &q->res.st, &r);
    if (status == 412 || status == 416) {
        c->range_size = size; /* for the 416's Content-Range */
        conn_error(c, status, false);
        return;
    }
    char crange[COND_CONTENT_RANGE_MAX];
    resp_fields f = conn_fields(c);
    f.last_modified = q->res.st.st_mtime;
    f.etag_size = rl->etag ? size : -1;
    f.vary_encoding = rl->nenc > 0;
    f.content_encoding = q->enc_used ? static_encoding_name(q->enc_used) : NULL;
    /* Cache lifetime for the file's own answers: a 304 renews what the
     * cache holds, so it carries the same max-age as the 200 (RFC 9111 4.3.4). */
    if (rl->expires != CFG_EXPIRES_OFF && (status == 200 || status == 206 || status == 304)) {
        f.max_age = rl->expires;
        f.now = c->w->now_sec;
    }
    if (status != 304) {
        const cfg *cf = c->w->cfg;
        f.content_type = mime_lookup(cf->mime, q->name, strlen(q->name), cf->default_type);
        f.content_length = r.last - r.first + 1;
        f.accept_ranges = !c->err_status;
        if (status == 206 && c->nparts) {
            serve_multipart(c, &f, f.content_type, size, q->res.st.st_mtime);
            return;
        }
        if (status == 206)
            f.content_range = ep_str_make(crange, cond_content_range(crange, &r, size));
    }
    if (!serve_head(c, status, &f))
        return;
    c->mem = NULL;
    c->mem_len = 0;
    c->foff = c->fend = 0;
    if (!c->head_only && status != 304 && size > 0) {
        ssize_t nread = q->nread;
        if (nread < 0 && (size_t)size <= c->w->cfg->small_file_max && !rl->offload_always) {
            nread = file_read_nowait(c->fd, c->body, (size_t)size, 0);
            c->w->stats.read_loop += nread == size;
        }
        if (nread == size) {
            c->mem = c->body + r.first;
            c->mem_len = (size_t)(r.last - r.first + 1);
        } else { /* cold or large: sendfile, from the loop or a task */
            c->foff = r.first;
            c->fend = r.last + 1;
        }
    }
    if (c->fend == 0)
        conn_drop_file(c);
    conn_start_send(c);
}

/* try_files ran out: "=CODE", or an internal redirect to a URI. */
static void serve_fallback(conn *c)
{
    const cfg_rules *r = c->rules;
    const char *fb = r->try_files[r->ntry_files - 1];
    if (fb[0] == '=') {
        serve_error(c, atoi(fb + 1));
        return;
    }
    size_t n = strlen(fb);
    if (++c->redirects > MAX_REDIRECTS || n > c->w->cfg->max_uri_len) {
        char esc[LOG_PATH_MAX];
        conn_log_msg(c, LOGL_ERROR, "try_files fallback \"%s\" for \"%s\": too many internal redirects", fb,
                     log_path(c, esc));
        conn_error(c, 500, false);
        return;
    }
    memcpy(c->path, fb, n + 1);
    c->path_len = n;
    serve_route(c);
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

static void serve_lookup_done(conn *c)
{
    static_req *q = &c->task.sq;
    char esc[LOG_PATH_MAX];
    if (q->status == STATIC_FALLBACK) {
        serve_fallback(c);
    } else if (q->status != 200) {
        if (q->status == 500 || q->status == 403)
            conn_log_msg(c, LOGL_ERROR, "open \"%s\": %s", log_path(c, esc), lookup_why(q->err));
        if (q->status == 301 && !c->err_status)
            conn_error(c, 301, false);
        else
            serve_error(c, q->status == 301 ? 404 : q->status);
    } else if (q->listing) {
        serve_listing(c, q);
    } else {
        if (c->fc_try && !c->fce)
            c->fce = fc_put(&c->w->fc, roots_cache_key(c->view, c->rules->dir), c->rules->links, q->path,
                            &q->res, c->w->now_ms);
        serve_file(c, q);
    }
    free(q->out.data);
    q->out = (ai_buf){ 0 };
}

/* A lookup that may block, on a queue thread. */
static void lookup_work(wq_task *t)
{
    static_lookup(&EP_CONTAINER_OF(t, conn_task, base)->sq, 0);
}

/* The connection closed while its lookup ran: drop what the lookup holds. */
static void lookup_abandon(conn_task *k)
{
    if (k->sq.res.fd >= 0)
        close(k->sq.res.fd);
    k->sq.res.fd = -1;
    free(k->sq.out.data);
    k->sq.out = (ai_buf){ 0 };
}

static void lookup_done(wq_task *t)
{
    conn *c = EP_CONTAINER_OF(t, conn, task.base);
    if (!conn_task_back(c, lookup_abandon))
        return;
    c->w->stats.read_queue += c->task.sq.nread >= 0;
    serve_lookup_done(c);
    conn_drive(c);
}

/* The file-system part: on the loop when the page cache can answer, else queued. */
static void serve_lookup(conn *c)
{
    worker *w = c->w;
    const cfg_rules *r = c->rules;
    static_req *q = &c->task.sq;
    const char *rel = c->path;
    static_scratch sc = static_scratch_of(c->scratch, c->scratch_len);
    if (r->alias) { /* the location's prefix is replaced by the alias directory */
        char *dst = sc.rel;
        if (!loc_alias_path(c->loc, c->path, c->path_len, dst, sc.part)) {
            serve_error(c, 404);
            return;
        }
        /* "/img" under location "/img" names the alias folder itself: like
         * any folder asked for without its '/', it is redirected, so that
         * relative links in its index or listing resolve beneath it. An
         * exact location is the one URL its author chose: no redirect. */
        if (dst[1] == '\0' && c->path[c->path_len - 1] != '/' && c->loc->kind != LOC_EXACT &&
            !c->err_status && !r->ntry_files) {
            conn_error(c, 301, false);
            return;
        }
        rel = dst;
    }
    /* The request's directories, taken once: its internal redirects resolve beneath them too. */
    if (!c->view)
        c->view = roots_acquire(&w->roots);
    *q = (static_req){ .dirfd = c->view->dir[r->dir]->fd, .links = r->links, .path = rel, .uri = c->path,
                       .index = (const char *const *)r->index, .nindex = r->nindex,
                       .try_files = (const char *const *)r->try_files, .ntry = r->ntry_files,
                       .autoindex = r->autoindex, .autoindex_json = r->autoindex_json,
                       .sc = sc };
    if (r->nenc && !c->err_status)
        q->nenc = static_negotiate(r->enc, r->nenc, c->info.accept_encoding.p, c->info.accept_encoding.len,
                                   q->enc);
    /* The open-file cache holds plain lookups: no try_files list, no sibling choice. */
    c->fc_try = w->fc.cap && !r->ntry_files && !q->nenc;
    if (c->fc_try) {
        fc_entry *e = fc_get(&w->fc, roots_cache_key(c->view, r->dir), r->links, rel, w->now_ms);
        if (e) {
            c->fce = e;
            q->status = 200;
            q->res = (file_result){ .fd = e->fd, .st = e->st, .status = 200, .index = e->index };
            q->name = e->index >= 0 ? r->index[e->index] : q->path;
            q->nread = -1;
            serve_lookup_done(c);
            return;
        }
    }
    if (w->cached_open && !r->offload_always) {
        if (static_lookup(q, FILE_CACHED_ONLY) != FILE_WOULDBLOCK) {
            w->stats.open_loop++;
            serve_lookup_done(c);
            return;
        }
    }
    w->stats.open_queue++;
    q->buf = c->head_only ? NULL : c->body;
    q->buflen = w->cfg->small_file_max;
    conn_submit(c, lookup_work, lookup_done);
}

/* 204 with the methods the rules allow. */
static void serve_options(conn *c, unsigned methods)
{
    char allow[RESP_ALLOW_MAX];
    resp_fields f = conn_fields(c);
    f.allow = resp_allow(methods, allow, sizeof allow);
    f.content_length = 0;
    if (serve_head(c, 204, &f))
        conn_start_send(c);
}

void serve_options_asterisk(conn *c)
{
    const cfg *cf = c->w->cfg;
    c->srv = &cf->servers[loc_server(cf, c->listen_idx, NULL, 0)];
    /* "*" is the server as a whole, for which OPTIONS itself just worked. */
    serve_options(c, c->srv->r.methods | M_OPTIONS);
}

static void serve_route(conn *c)
{
    c->loc = loc_match(c->srv, c->path, c->path_len, c->w->loc_scratch);
    c->rules = c->loc ? &c->loc->r : &c->srv->r;
    const cfg_rules *r = c->rules;
    if (r->nacl && !acl_allows(r, &c->peer)) {
        serve_error(c, 403);
        return;
    }
    unsigned m = method_bit(c->req->method);
    unsigned allowed = r->methods | (r->methods & M_GET ? M_HEAD : 0);
    if (!c->err_status && !(m & allowed)) {
        conn_error(c, 405, false); /* its Allow comes from c->rules */
        return;
    }
    if (m == M_OPTIONS && !c->err_status && !r->return_status) {
        serve_options(c, r->methods);
        return;
    }
    if (r->return_status && !c->err_status) {
        serve_return(c);
        return;
    }
    if (r->dir < 0) { /* an error page in a location without files */
        conn_error(c, c->err_status ? c->err_status : 404, false);
        return;
    }
    /* Dotfiles (.git, .env) are the client's path only: error_page and
     * try_files targets are the administrator's own choice. */
    if (!r->hidden_allow && !c->err_status && !c->redirects && loc_hidden(c->loc, c->path, c->path_len)) {
        serve_error(c, 404);
        return;
    }
    serve_lookup(c);
}

void serve_request(conn *c)
{
    const cfg *cf = c->w->cfg;
    c->err_status = 0;
    c->redirects = 0;
    c->srv = &cf->servers[loc_server(cf, c->listen_idx, c->info.host.p, c->info.host.len)];
    serve_route(c);
}
