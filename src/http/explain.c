/* http/explain.c: --explain HOST URI: a made-up request through the same parsing and routing as a worker's, and the plan it gets. */
#include "http/explain.h"

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "http/loc.h"
#include "http/parser.h"
#include "http/request.h"
#include "http/route.h"
#include "http/static.h"
#include "http/uri.h"
#include "util/str.h"
#include "util/time.h"

static const char *const kind_mod[] = { "= ", "", "^~ ", "~ ", "~* " };

static void rules_summary(const cfg_rules *r, FILE *out)
{
    fprintf(out, "  rules:     %s%s%s", r->alias ? "alias " : "root ", r->alias ? r->alias : r->root ? r->root : "(none)",
            r->autoindex ? ", autoindex" : "");
    if (r->nindex) {
        fputs(", index", out);
        for (size_t i = 0; i < r->nindex; i++)
            fprintf(out, " %s", r->index[i]);
    }
    if (r->ntry_files) {
        fputs(", try_files", out);
        for (size_t i = 0; i < r->ntry_files; i++)
            fprintf(out, " %s", r->try_files[i]);
    }
    if (r->nacl)
        fprintf(out, ", %zu access rule(s)", r->nacl);
    if (r->nerror_pages)
        fprintf(out, ", %zu error page(s)", r->nerror_pages);
    if (r->expires != CFG_EXPIRES_OFF)
        fprintf(out, ", expires %llds", (long long)r->expires);
    fprintf(out, "%s\n", r->etag ? "" : ", no etag");
}

/* "200, the file DIR/REL[NAME]": one '/' between the parts, whatever the
 * root or alias ends with. */
static void explain_file(FILE *out, int status, const char *dir, const char *rel, const char *name,
                         const char *note)
{
    size_t n = strlen(dir);
    while (n > 0 && dir[n - 1] == '/')
        n--;
    while (*rel == '/')
        rel++;
    size_t rl = strlen(rel);
    fprintf(out, "  outcome:   %d, the file %.*s/%s%s%s%s\n", status, (int)n, dir, rel,
            *name && rl && rel[rl - 1] != '/' ? "/" : "", name, note);
}

/* The routing steps a worker takes, with the lookups run here and now:
 * the directory opened afresh, nothing cached. */
static enum route_state explain_run(const cfg *c, route *rt, FILE *out)
{
    enum route_state s = route_request(rt);
    while (s == ROUTE_LOOKUP) {
        int dirfd = open(c->dirs[rt->dir], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
            fprintf(out, "  outcome:   500 (cannot open %s)\n", c->dirs[rt->dir]);
            return ROUTE_LOOKUP;
        }
        rt->lookup.dirfd = dirfd;
        static_lookup(&rt->lookup, 0);
        close(dirfd);
        if (rt->lookup.status == STATIC_FALLBACK)
            fprintf(out, "  try_files: no candidate exists: fallback %s\n",
                    rt->rules->try_files[rt->rules->ntry_files - 1]);
        s = route_lookup_done(rt);
    }
    return s;
}

/* What the plan says: the outcome in a line, the head, the body's segments. */
static void explain_plan(const cfg *c, const route *rt, FILE *out)
{
    const http_plan *p = &rt->plan;
    const static_req *q = &rt->lookup;
    const cfg_rules *r = rt->rules;
    const char *dir = rt->dir >= 0 ? c->dirs[rt->dir] : "";
    if (rt->redirects || rt->err_status)
        fprintf(out, "  redirect:  internally to %s%s\n", rt->rq->path, rt->err_status ? " (error_page)" : "");
    if (r && r->return_status && !rt->err_status && p->status == r->return_status)
        fprintf(out, "  outcome:   return %d%s%s\n", r->return_status, r->return_text ? " " : "",
                r->return_text ? r->return_text : "");
    else if (p->listing)
        fprintf(out, "  outcome:   %d, a directory listing of %s%s\n", p->status, dir, q->path);
    else if (p->fd >= 0 && (q->name == q->path || q->name[0] == '/'))
        explain_file(out, p->status, dir, q->name, "", "");
    else if (p->fd >= 0) /* an index name, in the directory q->path names */
        explain_file(out, p->status, dir, q->path, q->name, " (index)");
    else
        fprintf(out, "  outcome:   %d%s%s%s\n", p->status, rt->why ? " (" : "", rt->why ? rt->why : "",
                rt->why ? ")" : "");
    if (rt->note[0])
        fprintf(out, "  error log: %s\n", rt->note);
    route_sizes rs;
    route_sizes_of(c, &rs);
    char *head = malloc(rs.head);
    resp_fields f = p->f;
    char date[TIME_HTTP_LEN + 1];
    time_http_date(time(NULL), date);
    f.date = date;
    f.keep_alive = true;
    size_t n = head ? resp_head(head, rs.head, p->status, &f) : 0;
    /* The head as a worker would write it now, a line each. */
    const char *lead = "  response:  ";
    for (size_t i = 0; i + 2 < n;) {
        const char *e = memchr(head + i, '\r', n - i);
        fprintf(out, "%s%.*s\n", lead, (int)(e - head - i), head + i);
        lead = "             ";
        i = (size_t)(e - head) + 2;
    }
    free(head);
    for (size_t i = 0; i < p->nseg; i++) {
        if (p->seg[i].mem)
            fprintf(out, "  body:      %zu bytes from memory\n", p->seg[i].len);
        else
            fprintf(out, "  body:      bytes %lld-%lld of the file\n", (long long)p->seg[i].off,
                    (long long)p->seg[i].off + (long long)p->seg[i].len - 1);
    }
}

/* On a TLS listener: the certificates a client asking for host by SNI is
 * shown; SNI picks the server by the same rules as Host. */
static void explain_tls(const cfg_listen *lis, const cfg_server *s, const char *host, FILE *out)
{
    if (!lis->tls)
        return;
    fprintf(out, "  tls:       SNI \"%s\" gets", host);
    for (size_t i = 0; i < s->ntls_certs; i++)
        fprintf(out, "%s %s (key %s)", i ? "," : "", s->tls_certs[i], s->tls_keys[i]);
    fputs(s->ntls_certs > 1 ? ", whichever the client can check\n" : "\n", out);
}

/* Run a request through the same checks and routing as a worker: the
 * text a client would send, parsed, made into a request, routed. */
static int explain_route(const cfg *c, const char *host, const char *uri, char *text, char *path, FILE *out)
{
    int len = snprintf(text, strlen(uri) + strlen(host) + 64, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", uri, host);
    hp_request head;
    http_req rq;
    ep_str name;
    int st = hp_parse_request(text, (size_t)len, &head) == len ? http_req_make(&rq, &head, c, path) : 400;
    if (st) {
        bool bad_host = uri_host(ep_str_make(host, strlen(host)), &name) != 0 || strpbrk(host, "\r\n");
        fprintf(out, "ephttpd: \"%s\" is not a valid %s (the request gets %d)\n", bad_host ? host : uri,
                bad_host ? "host" : "request target", st);
        return 1;
    }
    route_sizes rs;
    route_sizes_of(c, &rs);
    char *scratch = malloc(rs.scratch), *parts = malloc(rs.parts);
    void *ls = loc_scratch_new();
    if (!scratch || !parts || !ls) {
        fputs("ephttpd: out of memory\n", out);
        free(scratch);
        free(parts);
        loc_scratch_free(ls);
        return 1;
    }
    /* A status page shows counters of its own: none here, all zero. */
    mx_region *mx = mx_open();
    route_env env = { .cf = c, .now = time(NULL), .loc_scratch = ls, .scratch = scratch,
                      .scratch_len = rs.scratch, .parts = parts, .parts_len = rs.parts, .mx = mx };
    route rt;
    route_begin(&rt, &env, &rq);
    const cfg_listen *lis = &c->listens[0];
    size_t si = loc_server(c, 0, rq.info.host.p, rq.info.host.len);
    const cfg_server *s = &c->servers[si];
    fprintf(out, "request:     GET %s, Host: %s\n", uri, host);
    fprintf(out, "  listener:  %s:%u (its default server: #%zu%s%s)\n", lis->addr, lis->port,
            lis->default_server + 1, c->servers[lis->default_server].nnames ? " " : "",
            c->servers[lis->default_server].nnames ? c->servers[lis->default_server].names[0] : "");
    fprintf(out, "  server:    #%zu %s%s%s\n", si + 1, s->nnames ? s->names[0] : "(no name)",
            s->where ? " at " : "", s->where ? s->where : "");
    explain_tls(lis, s, host, out);
    fprintf(out, "  path:      %s\n", path);
    const cfg_location *l = loc_match(s, path, rq.path_len, ls);
    if (l)
        fprintf(out, "  location:  \"%s%s\" at %s\n", kind_mod[l->kind], l->pattern, l->where ? l->where : "?");
    else
        fputs("  location:  none matches; the server's own rules apply\n", out);
    const cfg_rules *r = l ? &l->r : &s->r;
    rules_summary(r, out);
    if (r->nacl)
        fputs("  access:    depends on the client address (allow/deny rules above)\n", out);
    if (explain_run(c, &rt, out) == ROUTE_DONE)
        explain_plan(c, &rt, out);
    if (rt.plan.fd >= 0)
        close(rt.plan.fd);
    route_abandon(&rt);
    plan_clear(&rt.plan);
    free(scratch);
    free(parts);
    loc_scratch_free(ls);
    mx_close(mx);
    return 0;
}

int explain(const cfg *c, const char *host, const char *uri, FILE *out)
{
    char *text = malloc(strlen(uri) + strlen(host) + 64);
    char *path = malloc(c->max_uri_len + 1);
    int rc = 1;
    if (text && path)
        rc = explain_route(c, host, uri, text, path, out);
    else
        fputs("ephttpd: out of memory\n", out);
    free(text);
    free(path);
    return rc;
}
