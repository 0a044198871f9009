/* config/dump.c: -T, the effective configuration in libconfig syntax, each block under a "# from FILE:LINE" comment. */
#include "config/dump.h"
#include "util/cidr.h"

#include <inttypes.h>
#include <string.h>

#include "util/str.h"

static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_strs(FILE *f, char *const *v, size_t n)
{
    fputs("[", f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : " ", f);
        put_str(f, v[i]);
    }
    fputs(n ? " ];\n" : "];\n", f);
}

/* In the largest unit that keeps it exact: "30d" reads better than
 * "2592000s", and both read back the same. */
static void put_duration(FILE *f, int64_t ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = { { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 } };
    for (size_t i = 0; ms && i < EP_ARRAY_LEN(units); i++)
        if (ms % units[i].ms == 0) {
            fprintf(f, "\"%" PRId64 "%s\";\n", ms / units[i].ms, units[i].unit);
            return;
        }
    fprintf(f, ms ? "\"%" PRId64 "ms\";\n" : "\"%" PRId64 "s\";\n", ms);
}

static void put_size(FILE *f, uint64_t v)
{
    static const char units[] = "kmg";
    int u = -1;
    while (u < 2 && v && v % 1024 == 0)
        v /= 1024, u++;
    if (u < 0)
        fprintf(f, "\"%" PRIu64 "\";\n", v);
    else
        fprintf(f, "\"%" PRIu64 "%c\";\n", v, units[u]);
}

static void ind(FILE *f, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("  ", f);
}

static void put_methods(FILE *f, unsigned m)
{
    const char *v[CFG_NMETHODS];
    size_t n = 0;
    for (size_t i = 0; i < CFG_NMETHODS; i++)
        if (m & (1u << i))
            v[n++] = cfg_method_names[i];
    put_strs(f, (char *const *)v, n);
}

static void put_return(FILE *f, int d, const cfg_rules *r)
{
    ind(f, d);
    fprintf(f, "return = { status = %d;", r->return_status);
    if (r->return_text) {
        fputs(r->return_status >= 300 && r->return_status < 400 ? " url = " : " body = ", f);
        put_str(f, r->return_text);
        fputc(';', f);
    }
    fputs(" };\n", f);
}

static void put_headers(FILE *f, int d, const cfg_rules *r)
{
    ind(f, d);
    fputs("add_header = {", f);
    for (size_t i = 0; i < r->nheaders; i++) {
        fprintf(f, r->headers[i].always ? " %s = { value = " : " %s = ", r->headers[i].name);
        put_str(f, r->headers[i].value);
        fputs(r->headers[i].always ? "; always = true; };" : ";", f);
    }
    fputs(" };\n", f);
}

static void put_acl(FILE *f, int d, const cfg_rules *r)
{
    ind(f, d);
    fputs("access = [", f);
    for (size_t i = 0; i < r->nacl; i++) {
        char net[64], rule[80];
        cidr_format(&r->acl[i].net, net, sizeof net);
        snprintf(rule, sizeof rule, "%s %s", r->acl[i].allow ? "allow" : "deny", net);
        fputs(i ? ", " : " ", f);
        put_str(f, rule);
    }
    fputs(r->nacl ? " ];\n" : "];\n", f);
}

static void put_error_pages(FILE *f, int d, const cfg_rules *r)
{
    ind(f, d);
    fputs("error_page = (", f);
    for (size_t i = 0; i < r->nerror_pages; i++) {
        fprintf(f, "%s{ codes = [ %d ]; uri = ", i ? ", " : " ", r->error_pages[i].status);
        put_str(f, r->error_pages[i].uri);
        fputs("; }", f);
    }
    fputs(r->nerror_pages ? " );\n" : ");\n", f);
}

/* "off", one path (the Combined format, every status), or the list form. */
static void put_alogs(FILE *f, int d, const cfg_log_format *fmts, const cfg_rules *r)
{
    fputs("access_log = ", f);
    if (r->nalogs == 0 || (r->nalogs == 1 && r->alogs[0].fmt == 0 && !r->alogs[0].min_status)) {
        put_str(f, r->nalogs ? r->alogs[0].path : "off");
        fputs(";\n", f);
        return;
    }
    fputs("(\n", f);
    for (size_t i = 0; i < r->nalogs; i++) {
        ind(f, d + 1);
        fputs("{ path = ", f);
        put_str(f, r->alogs[i].path);
        fputs("; format = ", f);
        put_str(f, fmts ? fmts[r->alogs[i].fmt].name : r->alogs[i].format ? r->alogs[i].format : "combined");
        if (r->alogs[i].min_status)
            fprintf(f, "; min_status = %d", r->alogs[i].min_status);
        fputs(i + 1 < r->nalogs ? "; },\n" : "; }\n", f);
    }
    ind(f, d);
    fputs(");\n", f);
}

/* The rules in `mask` (a location: those it sets; a server: all). */
static void put_rules(FILE *f, int d, const cfg_log_format *fmts, const cfg_rules *r, uint32_t mask)
{
#define LINE(bit, ...)                  \
    if (mask & (bit)) {                 \
        ind(f, d);                      \
        __VA_ARGS__;                    \
    }
    LINE(R_ROOT, fputs("root = ", f); put_str(f, r->root ? r->root : ""); fputs(";\n", f));
    LINE(R_ALIAS, fputs("alias = ", f); put_str(f, r->alias); fputs(";\n", f));
    LINE(R_INDEX, fputs("index = ", f); put_strs(f, r->index, r->nindex));
    LINE(R_AUTOINDEX, fprintf(f, "autoindex = %s;\n", r->autoindex ? "true" : "false"));
    LINE(R_AUTOINDEX_FORMAT, fprintf(f, "autoindex_format = \"%s\";\n", r->autoindex_json ? "json" : "html"));
    LINE(R_METHODS, fputs("methods = ", f); put_methods(f, r->methods));
    if ((mask & R_RETURN) && r->return_status)
        put_return(f, d, r);
    if (mask & R_HEADERS)
        put_headers(f, d, r);
    LINE(R_EXPIRES, fputs("expires = ", f);
         r->expires == CFG_EXPIRES_OFF ? (void)fputs("\"off\";\n", f) : put_duration(f, r->expires * 1000));
    LINE(R_ETAG, fprintf(f, "etag = %s;\n", r->etag_content ? "\"content\"" : r->etag ? "true" : "false"));
    if (mask & R_PRECOMPRESSED) {
        const char *v[CFG_MAX_ENCODINGS];
        for (size_t i = 0; i < r->nenc; i++)
            v[i] = cfg_encoding_names[r->enc[i]];
        ind(f, d);
        fputs("precompressed = ", f);
        put_strs(f, (char *const *)v, r->nenc);
    }
    if (mask & R_ACCESS)
        put_acl(f, d, r);
    if (mask & R_ERROR_PAGES)
        put_error_pages(f, d, r);
    LINE(R_TRY_FILES, fputs("try_files = ", f); put_strs(f, r->try_files, r->ntry_files));
    LINE(R_LINKS, fprintf(f, "symlinks = \"%s\";\n", cfg_links_names[r->links]));
    LINE(R_OFFLOAD, fprintf(f, "offload = \"%s\";\n", r->offload_always ? "always" : "auto"));
    LINE(R_SENDFILE_CHUNK, fputs("sendfile_chunk = ", f); put_size(f, r->sendfile_chunk));
    LINE(R_HIDDEN, fprintf(f, "hidden = \"%s\";\n", r->hidden_allow ? "allow" : "deny"));
    LINE(R_STATUS_PAGE, fprintf(f, "status_page = \"%s\";\n", cfg_status_names[r->status_page]));
    LINE(R_ACCESS_LOG, put_alogs(f, d, fmts, r));
    LINE(R_HEALTH_CHECK, fprintf(f, "health_check = %s;\n", r->health_check ? "true" : "false"));
    LINE(R_LAST_MODIFIED, fprintf(f, "last_modified = \"%s\";\n", r->last_modified ? "on" : "off"));
#undef LINE
}

/* "# from FILE:LINE" on its own line before a block, so that with include
 * an administrator sees which file defined it. libconfig skips comments,
 * so the dump still reads back; a control character in the name (a
 * newline would end the comment and let the rest be read as settings) is
 * written as \xNN. Nothing for a block from the command line. */
static void put_origin(FILE *f, int d, const cfg_origin *o)
{
    if (!o->file)
        return;
    ind(f, d);
    fputs("# from ", f);
    for (const unsigned char *p = (const unsigned char *)o->file; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fprintf(f, ":%d\n", o->line);
}

static void put_location(FILE *f, const cfg_log_format *fmts, const cfg_location *l)
{
    static const char *const mod[] = { "= ", "", "^~ ", "~ ", "~* " };
    char match[4096];
    snprintf(match, sizeof match, "%s%s", mod[l->kind], l->pattern);
    put_origin(f, 3, &l->from);
    ind(f, 3);
    fputs("{\n", f);
    ind(f, 4);
    fputs("match = ", f);
    put_str(f, match);
    fputs(";\n", f);
    put_rules(f, 4, fmts, &l->r, l->r.set);
    ind(f, 3);
    fputs("}", f);
}

static void put_server(FILE *f, const cfg_log_format *fmts, const cfg_server *s)
{
    put_origin(f, 1, &s->from);
    fputs("  {\n    names = ", f);
    put_strs(f, s->names, s->nnames);
    if (s->nlisten_refs) {
        fputs("    listen_on = ", f);
        put_strs(f, s->listen_refs, s->nlisten_refs);
    }
    if (s->nreal_ip_from) {
        fputs("    real_ip_from = [", f);
        for (size_t i = 0; i < s->nreal_ip_from; i++) {
            char net[64];
            cidr_format(&s->real_ip_from[i], net, sizeof net);
            fprintf(f, "%s\"%s\"", i ? ", " : " ", net);
        }
        fputs(" ];\n    real_ip_header = ", f);
        put_str(f, s->real_ip_header ? s->real_ip_header : "X-Forwarded-For");
        fputs(";\n", f);
    }
    if (s->ntls_certs) {
        fputs("    tls_certificate = ", f);
        put_strs(f, s->tls_certs, s->ntls_certs);
    }
    if (s->ntls_keys) {
        fputs("    tls_certificate_key = ", f);
        put_strs(f, s->tls_keys, s->ntls_keys);
    }
    /* Every rule, except what cannot be written back: alias is location
     * only, and root, return and try_files have no "unset" value. */
    uint32_t all = ~(uint32_t)R_ALIAS;
    if (!s->r.root)
        all &= ~(uint32_t)R_ROOT;
    if (!s->r.ntry_files)
        all &= ~(uint32_t)R_TRY_FILES;
    put_rules(f, 2, fmts, &s->r, all & ~(uint32_t)(s->r.return_status ? 0 : R_RETURN));
    fputs("    locations = (", f);
    for (size_t j = 0; j < s->nlocs; j++) {
        fputs(j ? ",\n" : "\n", f);
        put_location(f, fmts, &s->locs[j]);
    }
    fputs(s->nlocs ? "\n    );\n  }" : ");\n  }", f);
}

/* Only with a TLS listener: without one, a file may not set them (they
 * would do nothing), so the dump must not either to read back. The
 * built-in cipher list is shown as a comment, so that reading the dump
 * back leaves tls_ciphers unset, as it was. */
static void put_tls(FILE *f, const cfg *c)
{
    bool any = false;
    for (size_t i = 0; i < c->nlistens; i++)
        any |= c->listens[i].tls;
    if (!any)
        return;
    const char *v[2];
    size_t n = 0;
    if (c->tls_protocols & CFG_TLS12)
        v[n++] = "TLSv1.2";
    if (c->tls_protocols & CFG_TLS13)
        v[n++] = "TLSv1.3";
    fputs("tls_protocols = ", f);
    put_strs(f, (char *const *)v, n);
    if (c->tls_ciphers)
        fputs("tls_ciphers = ", f), put_str(f, c->tls_ciphers), fputs(";\n", f);
    else if (c->tls_protocols & CFG_TLS12)
        fputs("# tls_ciphers = \"" CFG_TLS_CIPHERS_DEFAULT "\"; (built in)\n", f);
    fprintf(f, "tls_session_tickets = %s;\ntls_ktls = %s;\n", c->tls_session_tickets ? "true" : "false",
            c->tls_ktls ? "true" : "false");
}

/* Only with an HTTP/2 listener, for the same reason as put_tls. Sizes in
 * their largest exact unit, as the other sizes are. */
static void put_h2(FILE *f, const cfg *c)
{
    bool any = false;
    for (size_t i = 0; i < c->nlistens; i++)
        any |= c->listens[i].http2;
    if (!any)
        return;
    fprintf(f, "http2_max_concurrent_streams = %" PRIu32 ";\n", c->http2_max_concurrent_streams);
    fputs("http2_max_header_list_size = ", f), put_size(f, c->http2_max_header_list_size);
    fputs("http2_initial_window_size = ", f), put_size(f, c->http2_initial_window_size);
    fputs("http2_connection_window_size = ", f), put_size(f, c->http2_connection_window_size);
}

static void put_globals(FILE *f, const cfg *c)
{
    if (c->workers)
        fprintf(f, "workers = %d;\n", c->workers);
    else
        fputs("workers = \"auto\";\n", f);
    if (c->user)
        fputs("user = ", f), put_str(f, c->user), fputs(";\n", f);
    if (c->group)
        fputs("group = ", f), put_str(f, c->group), fputs(";\n", f);
    fprintf(f, "worker_connections = %d;\nwrite_queue_threads = %d;\n", c->worker_connections, c->wq_threads);
    fputs("header_timeout = ", f), put_duration(f, c->header_timeout_ms);
    fputs("keepalive_timeout = ", f), put_duration(f, c->keepalive_timeout_ms);
    fputs("send_timeout = ", f), put_duration(f, c->send_timeout_ms);
    fputs("lingering_time = ", f), put_duration(f, c->lingering_time_ms);
    fputs("shutdown_timeout = ", f), put_duration(f, c->shutdown_timeout_ms);
    fputs("stop_timeout = ", f), put_duration(f, c->stop_timeout_ms);
    fputs("drain_delay = ", f), put_duration(f, c->drain_delay_ms);
    fputs("max_header_size = ", f), put_size(f, c->max_header_size);
    fputs("max_uri_length = ", f), put_size(f, c->max_uri_len);
    fputs("max_body_size = ", f), put_size(f, (uint64_t)c->max_body_size);
    fprintf(f, "keepalive_requests = %d;\n", c->keepalive_requests);
    fputs("small_file_max = ", f), put_size(f, c->small_file_max);
    fprintf(f, "open_file_cache = %d;\n", c->open_file_cache);
    fputs("open_file_cache_valid = ", f), put_duration(f, c->open_file_cache_valid_ms);
    fputs("open_file_cache_inactive = ", f), put_duration(f, c->open_file_cache_inactive_ms);
    fputs("open_file_cache_memory = ", f), put_size(f, c->open_file_cache_memory);
    if (c->mime_types)
        fputs("mime_types = ", f), put_str(f, c->mime_types), fputs(";\n", f);
    fputs("default_type = ", f), put_str(f, c->default_type), fputs(";\n", f);
    fputs("error_log = ", f), put_str(f, c->error_log), fputs(";\n", f);
    if (c->nlog_formats > 1) { /* [0] is the built-in "combined" */
        fputs("log_formats = (\n", f);
        for (size_t i = 1; i < c->nlog_formats; i++) {
            fputs("  { name = ", f);
            put_str(f, c->log_formats[i].name);
            fputs("; escape = ", f);
            put_str(f, cfg_escape_names[c->log_formats[i].escape]);
            fputs(";\n    format = ", f);
            put_str(f, c->log_formats[i].format);
            fputs(i + 1 < c->nlog_formats ? "; },\n" : "; }\n", f);
        }
        fputs(");\n", f);
    }
    fprintf(f, "log_level = \"%s\";\n", log_level_name(c->log_level));
    if (c->pid_file)
        fputs("pid_file = ", f), put_str(f, c->pid_file), fputs(";\n", f);
    put_tls(f, c);
    put_h2(f, c);
}

void cfg_dump(const cfg *c, FILE *f)
{
    fprintf(f, "# ephttpd %s: the effective configuration, every default filled in\n", EP_VERSION);
    put_globals(f, c);
    fputs("listen = (\n", f);
    for (size_t i = 0; i < c->nlistens; i++) {
        const cfg_listen *l = &c->listens[i];
        fputs("  { address = ", f);
        put_str(f, l->addr);
        fprintf(f, "; port = %u; backlog = %d; reuseport = %s; deferred = %s; tls = %s; http2 = %s;", l->port,
                l->backlog, l->reuseport ? "true" : "false", l->deferred ? "true" : "false",
                l->tls ? "true" : "false", l->http2 ? "true" : "false");
        if (l->proxy_protocol)
            fputs(" proxy_protocol = true;", f);
        /* Without default_server the first server on the listener is its
         * default, which the server order below reproduces. */
        if (l->default_name) {
            fputs(" default_server = ", f);
            put_str(f, l->default_name);
            fputc(';', f);
        }
        fputs(i + 1 < c->nlistens ? " },\n" : " }\n", f);
    }
    fputs(");\nservers = (\n", f);
    for (size_t i = 0; i < c->nservers; i++) {
        put_server(f, c->nlog_formats ? c->log_formats : NULL, &c->servers[i]);
        fputs(i + 1 < c->nservers ? ",\n" : "\n", f);
    }
    fputs(");\n", f);
}
