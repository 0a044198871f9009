/* http/explain.c: --explain HOST URI: route a made-up request through the configuration and say what happens. */
#include "http/explain.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/loc.h"
#include "http/static.h"
#include "http/uri.h"
#include "util/str.h"

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
static void explain_file(FILE *out, const char *dir, const char *rel, const char *name,
                         const char *note)
{
    size_t n = strlen(dir);
    while (n > 0 && dir[n - 1] == '/')
        n--;
    while (*rel == '/')
        rel++;
    size_t rl = strlen(rel);
    fprintf(out, "  outcome:   200, the file %.*s/%s%s%s%s\n", (int)n, dir, rel,
            *name && rl && rel[rl - 1] != '/' ? "/" : "", name, note);
}

static void outcome(const cfg *c, const cfg_location *l, const cfg_rules *r, const char *path, FILE *out)
{
    if (r->return_status) {
        fprintf(out, "  outcome:   return %d%s%s\n", r->return_status, r->return_text ? " " : "",
                r->return_text ? r->return_text : "");
        return;
    }
    if (!r->hidden_allow && loc_hidden(l, path, strlen(path))) {
        fputs("  outcome:   404 (a hidden path: hidden = \"deny\")\n", out);
        return;
    }
    const char *dir = c->dirs[r->dir];
    /* Laid out as a worker's (static_scratch), each slice a path and more. */
    size_t part = c->max_uri_len + 256;
    char *scratch = malloc(3 * part);
    static_scratch sc = static_scratch_of(scratch, 3 * part);
    char *relbuf = sc.rel;
    if (!scratch) {
        fputs("  outcome:   500 (out of memory)\n", out);
        return;
    }
    if (!r->alias) {
        snprintf(relbuf, part, "%s", path);
    } else if (!loc_alias_path(l, path, strlen(path), relbuf, part)) { /* path <= max_uri_len: it fits */
        fputs("  outcome:   404 (the path climbs above the alias)\n", out);
        free(scratch);
        return;
    }
    int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fprintf(out, "  outcome:   500 (cannot open %s)\n", dir);
        free(scratch);
        return;
    }
    static_req q = { .dirfd = dirfd, .links = r->links, .path = relbuf, .uri = path,
                     .index = (const char *const *)r->index, .nindex = r->nindex,
                     .try_files = (const char *const *)r->try_files, .ntry = r->ntry_files,
                     .autoindex = r->autoindex, .autoindex_json = r->autoindex_json,
                     .sc = sc };
    static_lookup(&q, 0);
    close(dirfd);
    if (q.status == 200 && q.listing)
        fprintf(out, "  outcome:   200, a directory listing of %s%s\n", dir, relbuf);
    else if (q.status == 200 && (q.name == q.path || q.name[0] == '/'))
        explain_file(out, dir, q.name == q.path ? relbuf : q.name, "", "");
    else if (q.status == 200) /* an index name, in the directory relbuf names */
        explain_file(out, dir, relbuf, q.name, " (index)");
    else if (q.status == STATIC_FALLBACK)
        fprintf(out, "  outcome:   no try_files candidate exists: fallback %s\n", r->try_files[r->ntry_files - 1]);
    else
        fprintf(out, "  outcome:   %d%s\n", q.status, q.status == 301 ? " (a directory: redirect to add '/')" : "");
    if (q.res.fd >= 0)
        close(q.res.fd);
    free(q.out.data);
    free(scratch);
}

int explain(const cfg *c, const char *host, const char *uri, FILE *out)
{
    ep_str h, raw, query;
    size_t max = c->max_uri_len + 1, len;
    char *path = malloc(max);
    if (!path || uri_split(ep_str_make(uri, strlen(uri)), &h, &raw, &query) != 0 ||
        uri_decode_path(raw.p, raw.len, path, max, &len) != 0) {
        fprintf(out, "ephttpd: \"%s\" is not a valid request target (the request gets 400)\n", uri);
        free(path);
        return 1;
    }
    /* The host a worker would route by: an absolute-form target's
     * authority wins over Host, and either must be a valid host. */
    ep_str name;
    if (uri_host(h.len ? h : ep_str_make(host, strlen(host)), &name) != 0) {
        fprintf(out, "ephttpd: \"%s\" is not a valid host (the request gets 400)\n",
                h.len ? "the target's authority" : host);
        free(path);
        return 1;
    }
    const cfg_listen *lis = &c->listens[0];
    size_t si = loc_server(c, 0, name.p, name.len);
    const cfg_server *s = &c->servers[si];
    fprintf(out, "request:     GET %s, Host: %s\n", uri, host);
    fprintf(out, "  listener:  %s:%u (its default server: #%zu%s%s)\n", lis->addr, lis->port,
            lis->default_server + 1, c->servers[lis->default_server].nnames ? " " : "",
            c->servers[lis->default_server].nnames ? c->servers[lis->default_server].names[0] : "");
    fprintf(out, "  server:    #%zu %s%s%s\n", si + 1, s->nnames ? s->names[0] : "(no name)",
            s->where ? " at " : "", s->where ? s->where : "");
    fprintf(out, "  path:      %s\n", path);
    void *scratch = loc_scratch_new();
    const cfg_location *l = scratch ? loc_match(s, path, len, scratch) : NULL;
    loc_scratch_free(scratch);
    if (l)
        fprintf(out, "  location:  \"%s%s\" at %s\n", kind_mod[l->kind], l->pattern, l->where ? l->where : "?");
    else
        fputs("  location:  none matches; the server's own rules apply\n", out);
    const cfg_rules *r = l ? &l->r : &s->r;
    rules_summary(r, out);
    if (r->nacl)
        fputs("  access:    depends on the client address (allow/deny rules above)\n", out);
    if (r->dir < 0 && !r->return_status)
        fputs("  outcome:   404 (no root)\n", out);
    else
        outcome(c, l, r, path, out);
    free(path);
    return 0;
}
