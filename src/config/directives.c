/* config/directives.c: the one table of settings (name, where allowed, type, setter, field) for both syntaxes. */
#include "config/directives.h"
#include "config/directive.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/str.h"
#include "util/time.h"

#include "config/front.h"
#include "config/logs.h"

/* ------------------------------------------------------------------ custom setters */


int dir_expect_group(apply_ctx *a, const cfg_node *n, const char *what)
{
    if (n->kind != NODE_GROUP)
        return dir_fail(a, n, "\"%s\": expected a group (%s), got %s", dir_name(a, n), what,
                    dir_kind(n));
    return 0;
}

/* A group, or a list of groups: calls each(a, item) for every group. */
int dir_each_group(apply_ctx *a, const cfg_node *n, const char *what,
                      int (*each)(apply_ctx *, const cfg_node *))
{
    if (n->kind == NODE_GROUP)
        return each(a, n);
    if (n->kind != NODE_LIST)
        return dir_fail(a, n, "\"%s\": expected a list of groups (%s), got %s", dir_name(a, n), what,
                    dir_kind(n));
    for (size_t i = 0; i < n->nkids; i++)
        if (dir_expect_group(a, n->kids[i], what) < 0 || each(a, n->kids[i]) < 0)
            return -1;
    return 0;
}

/* "file:line", or "file:line:col" when the syntax gives columns (YAML), so
 * cfg_validate's errors read like the ones from here. */
char *dir_where(const cfg_node *n)
{
    char buf[512];
    if (n->col > 0)
        snprintf(buf, sizeof buf, "%s:%d:%d", n->file, n->line, n->col);
    else
        snprintf(buf, sizeof buf, "%s:%d", n->file, n->line);
    return strdup(buf);
}

/* A block's origin for -T: the file and line alone, so that both syntaxes
 * print the same kind of comment. 0, or -1 on OOM. */
static int origin_of(const cfg_node *n, cfg_origin *o)
{
    o->line = n->line;
    return (o->file = strdup(n->file)) ? 0 : -1;
}

static int one_listen(apply_ctx *a, const cfg_node *g)
{
    cfg *c = a->c;
    cfg_listen *grown = realloc(c->listens, (c->nlistens + 1) * sizeof *grown);
    if (!grown)
        return dir_oom(a, g);
    c->listens = grown;
    cfg_listen *l = &c->listens[c->nlistens++];
    memset(l, 0, sizeof *l);
    l->backlog = 511;
    l->deferred = true;
    if (!(l->where = dir_where(g)) || cfg_set_str(&l->addr, "0.0.0.0") < 0)
        return dir_oom(a, g);
    a->base[B_LISTEN] = l;
    if (dir_apply_group(a, g, X_LISTEN) < 0)
        return -1;
    if (!node_get(g, "port"))
        return dir_fail(a, g, "\"listen\": a listener needs a \"port\"");
    return 0;
}

static int set_listen(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    return dir_each_group(a, n, "address, port, ...", one_listen);
}

static int set_port(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    int64_t v;
    if (dir_want_int(a, n, 1, 65535, &v) < 0)
        return -1;
    *(uint16_t *)field = (uint16_t)v;
    return 0;
}

/* Checked here rather than only in cfg_validate so the error names the line. */
static int set_address(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    const char *s;
    unsigned char buf[16];
    if (dir_want_string(a, n, &s) < 0)
        return -1;
    if (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1)
        return dir_fail(a, n, "\"address\": \"%s\" is not a numeric IPv4 or IPv6 address", s);
    return cfg_set_str(field, s) < 0 ? dir_oom(a, n) : 0;
}

static int one_location(apply_ctx *a, const cfg_node *g);

static int one_server(apply_ctx *a, const cfg_node *g)
{
    cfg *c = a->c;
    cfg_server *grown = realloc(c->servers, (c->nservers + 1) * sizeof *grown);
    if (!grown)
        return dir_oom(a, g);
    c->servers = grown;
    cfg_server *s = &c->servers[c->nservers++];
    memset(s, 0, sizeof *s);
    cfg_rules_defaults(&s->r);
    if (!(s->where = dir_where(g)) || origin_of(g, &s->from) < 0)
        return dir_oom(a, g);
    a->base[B_SERVER] = s;
    a->base[B_RULES] = &s->r;
    return dir_apply_group(a, g, X_SERVER);
}

static int set_servers(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    return dir_each_group(a, n, "names, root, locations, ...", one_server);
}

/* "= /x", "^~ /x", "~ regex", "~* regex" or a plain "/x" prefix. */
static int set_match(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_location *l = a->base[B_LOC];
    static const struct {
        const char *mod;
        loc_kind kind;
    } mods[] = { { "= ", LOC_EXACT }, { "^~ ", LOC_PREFIX_NOREGEX }, { "~* ", LOC_REGEX_ICASE },
                 { "~ ", LOC_REGEX } };
    const char *s;
    if (dir_want_string(a, n, &s) < 0)
        return -1;
    l->kind = LOC_PREFIX;
    for (size_t i = 0; i < EP_ARRAY_LEN(mods); i++)
        if (strncmp(s, mods[i].mod, strlen(mods[i].mod)) == 0) {
            l->kind = mods[i].kind;
            s += strlen(mods[i].mod);
            while (*s == ' ')
                s++;
            break;
        }
    if (!*s)
        return dir_fail(a, n, "\"match\": empty pattern");
    if (l->kind != LOC_REGEX && l->kind != LOC_REGEX_ICASE && *s != '/')
        return dir_fail(a, n, "\"match\": \"%s\" must start with '/' (or use \"~ regex\")", s);
    return cfg_set_str(&l->pattern, s) < 0 ? dir_oom(a, n) : 0;
}

static int one_location(apply_ctx *a, const cfg_node *g)
{
    cfg_server *s = a->base[B_SERVER];
    cfg_location *grown = realloc(s->locs, (s->nlocs + 1) * sizeof *grown);
    if (!grown)
        return dir_oom(a, g);
    s->locs = grown;
    cfg_location *l = &s->locs[s->nlocs++];
    memset(l, 0, sizeof *l);
    l->r.dir = -1;
    if (!(l->where = dir_where(g)) || origin_of(g, &l->from) < 0)
        return dir_oom(a, g);
    if (!node_get(g, "match"))
        return dir_fail(a, g, "\"locations\": a location needs \"match\" (e.g. \"/images/\", \"= /\", \"~ \\\\.png$\")");
    void *saved = a->base[B_RULES];
    a->base[B_LOC] = l;
    a->base[B_RULES] = &l->r;
    int rc = dir_apply_group(a, g, X_LOC);
    a->base[B_RULES] = saved;
    return rc;
}

static int set_locations(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    return dir_each_group(a, n, "match, root, ...", one_location);
}

static int set_workers(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    int64_t v;
    if (n->kind == NODE_SCALAR && strcmp(n->text, "auto") == 0 && n->sc != SC_INT)
        return *(int *)field = 0, 0;
    if (n->kind == NODE_SCALAR && (n->sc == SC_STRING))
        return dir_fail(a, n, "\"workers\": expected a number or \"auto\", got \"%s\"", n->text);
    if (dir_want_int(a, n, 1, 1024, &v) < 0)
        return -1;
    *(int *)field = (int)v;
    return 0;
}

static int set_log_level(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    const char *s;
    if (dir_want_string(a, n, &s) < 0)
        return -1;
    if (log_level_parse(s, field) < 0)
        return dir_fail(a, n, "\"log_level\": unknown level \"%s\" (error, warn, info or debug)", s);
    return 0;
}

/* ------------------------------------------------------------------ the table */

#define F(type, field) offsetof(type, field)
#define RULE(n, t, fld, bit) .name = n, .where = X_SERVER | X_LOC, .base = B_RULES, .type = t, \
                             .off = F(cfg_rules, fld), .size = sizeof(((cfg_rules *)0)->fld), .rbit = bit
#define DAY_MS 86400000LL

_Static_assert(sizeof(enum file_links) == sizeof(int), "symlinks is stored as an int");
static const char *const offload_names[] = { "auto", "always", NULL };
static const char *const aiformat_names[] = { "html", "json", NULL };
static const char *const hidden_names[] = { "deny", "allow", NULL };
static const char *const onoff_names[] = { "off", "on", NULL };

static const directive table[] = {
    { .name = "workers", .where = X_TOP, .base = B_CFG, .type = T_CUSTOM, .off = F(cfg, workers),
      .set = set_workers },
    { .name = "user", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, user) },
    { .name = "group", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, group) },
    { .name = "worker_connections", .where = X_TOP, .base = B_CFG, .type = T_INT,
      .off = F(cfg, worker_connections), .min = 16, .max = 1000000 },
    { .name = "write_queue_threads", .where = X_TOP, .base = B_CFG, .type = T_INT,
      .off = F(cfg, wq_threads), .min = 1, .max = 256 },
    { .name = "header_timeout", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, header_timeout_ms), .min = 1, .max = DAY_MS },
    { .name = "keepalive_timeout", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, keepalive_timeout_ms), .min = 0, .max = DAY_MS },
    { .name = "send_timeout", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, send_timeout_ms), .min = 1, .max = DAY_MS },
    { .name = "lingering_time", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, lingering_time_ms), .min = 0, .max = DAY_MS },
    { .name = "shutdown_timeout", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, shutdown_timeout_ms), .min = 0, .max = DAY_MS },
    { .name = "stop_timeout", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, stop_timeout_ms), .min = 0, .max = DAY_MS },
    { .name = "drain_delay", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, drain_delay_ms), .min = 0, .max = 3600000 },
    { .name = "max_header_size", .where = X_TOP, .base = B_CFG, .type = T_SIZE,
      .off = F(cfg, max_header_size), .min = 1024, .max = 1 << 20 },
    { .name = "max_uri_length", .where = X_TOP, .base = B_CFG, .type = T_SIZE,
      .off = F(cfg, max_uri_len), .min = 256, .max = 1 << 20 },
    { .name = "max_body_size", .where = X_TOP, .base = B_CFG, .type = T_SIZE,
      .off = F(cfg, max_body_size), .min = 0, .max = INT64_MAX >> 1 },
    { .name = "keepalive_requests", .where = X_TOP, .base = B_CFG, .type = T_INT,
      .off = F(cfg, keepalive_requests), .min = 1, .max = INT_MAX },
    { .name = "small_file_max", .where = X_TOP, .base = B_CFG, .type = T_SIZE,
      .off = F(cfg, small_file_max), .min = 0, .max = 1 << 20 },
    { .name = "open_file_cache", .where = X_TOP, .base = B_CFG, .type = T_INT,
      .off = F(cfg, open_file_cache), .min = 0, .max = 1000000 },
    { .name = "open_file_cache_valid", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, open_file_cache_valid_ms), .min = 0, .max = DAY_MS },
    { .name = "open_file_cache_inactive", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, open_file_cache_inactive_ms), .min = 0, .max = DAY_MS },
    { .name = "open_file_cache_memory", .where = X_TOP, .base = B_CFG, .type = T_SIZE,
      .off = F(cfg, open_file_cache_memory), .min = 0, .max = (int64_t)1 << 40 },
    { .name = "mime_types", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, mime_types) },
    { .name = "default_type", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, default_type) },
    { .name = "error_log", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, error_log) },
    { .name = "log_formats", .where = X_TOP, .base = B_CFG, .type = T_CUSTOM, .set = set_log_formats },
    { .name = "log_level", .where = X_TOP, .base = B_CFG, .type = T_CUSTOM, .off = F(cfg, log_level),
      .set = set_log_level },
    { .name = "pid_file", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, pid_file) },
    { .name = "tls_protocols", .where = X_TOP, .base = B_CFG, .type = T_CUSTOM, .off = F(cfg, tls_protocols),
      .set = tls_set_protocols },
    { .name = "tls_ciphers", .where = X_TOP, .base = B_CFG, .type = T_CUSTOM, .off = F(cfg, tls_ciphers),
      .set = tls_set_ciphers },
    { .name = "tls_session_tickets", .where = X_TOP, .base = B_CFG, .type = T_BOOL,
      .off = F(cfg, tls_session_tickets) },
    { .name = "tls_ktls", .where = X_TOP, .base = B_CFG, .type = T_BOOL, .off = F(cfg, tls_ktls) },
    /* HTTP/2. Each stream holds a request of its own, so the stream cap
     * bounds a connection's memory; windows go up to RFC 9113's 2^31-1
     * (6.9.1), and the connection's starts at the protocol's 65,535 (6.9.2),
     * which a server can only raise. */
    { .name = "http2_max_concurrent_streams", .where = X_TOP, .base = B_CFG, .type = T_INT,
      .off = F(cfg, http2_max_concurrent_streams), .min = 1, .max = 1024, .set = h2_set_u32 },
    { .name = "http2_max_header_list_size", .where = X_TOP, .base = B_CFG, .type = T_SIZE,
      .off = F(cfg, http2_max_header_list_size), .min = 1024, .max = 1 << 20, .set = h2_set_u32 },
    { .name = "http2_initial_window_size", .where = X_TOP, .base = B_CFG, .type = T_SIZE,
      .off = F(cfg, http2_initial_window_size), .min = 0, .max = INT32_MAX, .set = h2_set_u32 },
    { .name = "http2_connection_window_size", .where = X_TOP, .base = B_CFG, .type = T_SIZE,
      .off = F(cfg, http2_connection_window_size), .min = 65535, .max = INT32_MAX, .set = h2_set_u32 },
    { .name = "listen", .where = X_TOP, .base = B_CFG, .type = T_CUSTOM, .set = set_listen, .multi = true },
    { .name = "servers", .where = X_TOP, .base = B_CFG, .type = T_CUSTOM, .set = set_servers, .multi = true },
    /* a listener */
    { .name = "address", .where = X_LISTEN, .base = B_LISTEN, .type = T_CUSTOM, .off = F(cfg_listen, addr),
      .set = set_address },
    { .name = "port", .where = X_LISTEN, .base = B_LISTEN, .type = T_CUSTOM, .off = F(cfg_listen, port),
      .set = set_port },
    { .name = "backlog", .where = X_LISTEN, .base = B_LISTEN, .type = T_INT, .off = F(cfg_listen, backlog),
      .min = 1, .max = 65535 },
    { .name = "reuseport", .where = X_LISTEN, .base = B_LISTEN, .type = T_BOOL,
      .off = F(cfg_listen, reuseport) },
    { .name = "deferred", .where = X_LISTEN, .base = B_LISTEN, .type = T_BOOL,
      .off = F(cfg_listen, deferred) },
    { .name = "default_server", .where = X_LISTEN, .base = B_LISTEN, .type = T_STR,
      .off = F(cfg_listen, default_name) },
    { .name = "tls", .where = X_LISTEN, .base = B_LISTEN, .type = T_BOOL, .off = F(cfg_listen, tls) },
    { .name = "http2", .where = X_LISTEN, .base = B_LISTEN, .type = T_BOOL, .off = F(cfg_listen, http2) },
    { .name = "proxy_protocol", .where = X_LISTEN, .base = B_LISTEN, .type = T_BOOL,
      .off = F(cfg_listen, proxy_protocol) },
    /* a server */
    { .name = "names", .where = X_SERVER, .base = B_SERVER, .type = T_STRLIST, .off = F(cfg_server, names),
      .off_n = F(cfg_server, nnames), .set = rule_names },
    { .name = "listen_on", .where = X_SERVER, .base = B_SERVER, .type = T_STRLIST,
      .off = F(cfg_server, listen_refs), .off_n = F(cfg_server, nlisten_refs) },
    { .name = "tls_certificate", .where = X_SERVER, .base = B_SERVER, .type = T_STRLIST,
      .off = F(cfg_server, tls_certs), .off_n = F(cfg_server, ntls_certs), .set = tls_set_paths },
    { .name = "tls_certificate_key", .where = X_SERVER, .base = B_SERVER, .type = T_STRLIST,
      .off = F(cfg_server, tls_keys), .off_n = F(cfg_server, ntls_keys), .set = tls_set_paths },
    { .name = "real_ip_from", .where = X_SERVER, .base = B_SERVER, .type = T_CUSTOM, .set = rule_real_ip_from },
    { .name = "real_ip_header", .where = X_SERVER, .base = B_SERVER, .type = T_STR,
      .off = F(cfg_server, real_ip_header), .set = rule_real_ip_header },
    { .name = "locations", .where = X_SERVER, .base = B_SERVER, .type = T_CUSTOM, .set = set_locations,
      .multi = true },
    /* a location */
    { .name = "match", .where = X_LOC, .base = B_LOC, .type = T_CUSTOM, .set = set_match },
    { .name = "alias", .where = X_LOC, .base = B_RULES, .type = T_STR, .off = F(cfg_rules, alias),
      .rbit = R_ALIAS },
    /* rules: servers and locations */
    { RULE("root", T_STR, root, R_ROOT) },
    { RULE("index", T_STRLIST, index, R_INDEX), .off_n = F(cfg_rules, nindex) },
    { RULE("autoindex", T_BOOL, autoindex, R_AUTOINDEX) },
    { RULE("autoindex_format", T_ENUM, autoindex_json, R_AUTOINDEX_FORMAT), .names = aiformat_names },
    { RULE("methods", T_CUSTOM, methods, R_METHODS), .set = rule_methods },
    { RULE("return", T_CUSTOM, return_status, R_RETURN), .set = rule_return },
    { RULE("add_header", T_CUSTOM, headers, R_HEADERS), .set = rule_headers },
    { RULE("expires", T_CUSTOM, expires, R_EXPIRES), .set = rule_expires },
    { RULE("etag", T_CUSTOM, etag, R_ETAG), .set = rule_etag },
    { RULE("precompressed", T_CUSTOM, enc, R_PRECOMPRESSED), .set = rule_precompressed },
    { RULE("access", T_CUSTOM, acl, R_ACCESS), .set = rule_access },
    { RULE("error_page", T_CUSTOM, error_pages, R_ERROR_PAGES), .set = rule_error_pages },
    { RULE("try_files", T_STRLIST, try_files, R_TRY_FILES), .off_n = F(cfg_rules, ntry_files),
      .set = rule_try_files },
    { RULE("symlinks", T_ENUM, links, R_LINKS), .names = cfg_links_names },
    { RULE("offload", T_ENUM, offload_always, R_OFFLOAD), .names = offload_names },
    { RULE("sendfile_chunk", T_SIZE, sendfile_chunk, R_SENDFILE_CHUNK), .min = 4096, .max = 1 << 30 },
    { RULE("hidden", T_ENUM, hidden_allow, R_HIDDEN), .names = hidden_names },
    { RULE("status_page", T_ENUM, status_page, R_STATUS_PAGE), .names = cfg_status_names },
    { RULE("health_check", T_BOOL, health_check, R_HEALTH_CHECK) },
    { RULE("last_modified", T_ENUM, last_modified, R_LAST_MODIFIED), .names = onoff_names },
    { RULE("access_log", T_CUSTOM, alogs, R_ACCESS_LOG), .set = rule_access_log },
    /* inside access_log = ( { ... } ) */
    { .name = "path", .where = X_ALOG, .base = B_ALOG, .type = T_STR, .off = F(cfg_alog, path) },
    { .name = "format", .where = X_ALOG, .base = B_ALOG, .type = T_STR, .off = F(cfg_alog, format) },
    { .name = "min_status", .where = X_ALOG, .base = B_ALOG, .type = T_INT, .off = F(cfg_alog, min_status),
      .min = 100, .max = 599 },
    /* inside log_formats = ( { ... } ) */
    { .name = "name", .where = X_LOGFMT, .base = B_LOGFMT, .type = T_STR, .off = F(cfg_log_format, name) },
    { .name = "format", .where = X_LOGFMT, .base = B_LOGFMT, .type = T_STR, .off = F(cfg_log_format, format) },
    { .name = "escape", .where = X_LOGFMT, .base = B_LOGFMT, .type = T_ENUM, .off = F(cfg_log_format, escape),
      .size = sizeof(int), .names = cfg_escape_names },
    /* inside return = { ... } */
    { .name = "status", .where = X_RETURN, .base = B_RULES, .type = T_INT,
      .off = F(cfg_rules, return_status), .min = 200, .max = 599 },
    { .name = "url", .where = X_RETURN, .base = B_RULES, .type = T_CUSTOM,
      .off = F(cfg_rules, return_text), .set = rule_return_text },
    { .name = "body", .where = X_RETURN, .base = B_RULES, .type = T_CUSTOM,
      .off = F(cfg_rules, return_text), .set = rule_return_text },
    /* inside error_page = ( { ... } ) */
    { .name = "codes", .where = X_ERRPAGE, .base = B_ERRPAGE, .type = T_CUSTOM, .set = rule_codes },
    { .name = "uri", .where = X_ERRPAGE, .base = B_ERRPAGE, .type = T_STR, .off = F(errpage_tmp, uri) },
};

/* ------------------------------------------------------------------ applying */

static const char *where_name(unsigned where)
{
    switch (where) {
    case X_TOP:
        return "the top level";
    case X_LISTEN:
        return "a listener";
    case X_SERVER:
        return "a server";
    case X_LOC:
        return "a location";
    case X_RETURN:
        return "return";
    case X_ERRPAGE:
        return "error_page";
    case X_ALOG:
        return "access_log";
    case X_LOGFMT:
        return "log_formats";
    }
    return "?";
}

static const directive *find(const char *name, unsigned where)
{
    const directive *any = NULL;
    for (size_t i = 0; i < EP_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, name) == 0) {
            if (table[i].where & where)
                return &table[i];
            any = &table[i];
        }
    return any;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return SIZE_MAX;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (up + 1 < best)
                best = up + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *conf_suggest(const char *name)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, limit = strlen(name) / 3 > 2 ? strlen(name) / 3 : 2;
    for (size_t i = 0; i < EP_ARRAY_LEN(table); i++) {
        size_t d = edit_distance(name, table[i].name);
        if (d < best_d && d <= limit)
            best = table[i].name, best_d = d;
    }
    return best;
}

static int unknown(apply_ctx *a, const cfg_node *n, unsigned where)
{
    const directive *d = find(n->name, ~0u);
    if (d) {
        char places[128] = "";
        for (unsigned w = 1; w <= X_LOGFMT; w <<= 1)
            if (d->where & w)
                snprintf(places + strlen(places), sizeof places - strlen(places), "%s%s",
                         places[0] ? ", " : "", where_name(w));
        return dir_fail(a, n, "\"%s\" is not allowed in %s (only in %s)", n->name, where_name(where), places);
    }
    const char *s = conf_suggest(n->name);
    if (s)
        return dir_fail(a, n, "unknown setting \"%s\" in %s; did you mean \"%s\"?", n->name, where_name(where), s);
    return dir_fail(a, n, "unknown setting \"%s\" in %s", n->name, where_name(where));
}

int dir_apply_group(apply_ctx *a, const cfg_node *g, unsigned where)
{
    for (size_t i = 0; i < g->nkids; i++) {
        const cfg_node *n = g->kids[i];
        if (!n->name)
            return dir_fail(a, n, "unnamed value in a group");
        const directive *d = find(n->name, where);
        if (!d || !(d->where & where))
            return unknown(a, n, where);
        for (size_t j = 0; j < i && !d->multi; j++)
            if (strcmp(g->kids[j]->name, n->name) == 0) {
                char *first = dir_where(g->kids[j]);
                dir_fail(a, n, "\"%s\" is set twice (first at %s)", n->name, first ? first : "?");
                free(first);
                return -1;
            }
        void *field = (char *)a->base[d->base] + d->off;
        /* Set before applying, so that whatever the setter allocated before
         * an error is freed with the level (rules_free goes by these bits). */
        if (d->base == B_RULES)
            ((cfg_rules *)a->base[B_RULES])->set |= d->rbit;
        const char *outer = a->setting;
        a->setting = d->name;
        int rc = d->set ? d->set(a, d, n, field) : dir_set_scalar(a, d, n, field);
        a->setting = outer;
        if (rc < 0)
            return -1;
    }
    return 0;
}

int conf_apply(cfg *c, const cfg_node *root, char *err, size_t errlen)
{
    apply_ctx a = { .c = c, .err = err, .errlen = errlen };
    a.base[B_CFG] = c;
    err[0] = '\0';
    if (root->kind != NODE_GROUP)
        return dir_fail(&a, root, "the configuration must be a group of settings");
    /* The file's listeners and servers replace the command-line defaults. */
    if (node_get(root, "listen")) {
        for (size_t i = 0; i < c->nlistens; i++)
            free(c->listens[i].addr), free(c->listens[i].where), free(c->listens[i].default_name);
        c->nlistens = 0;
    }
    cfg_free_servers(c);
    if (dir_apply_group(&a, root, X_TOP) < 0)
        return -1;
    if (tls_check_globals(&a, root) < 0)
        return -1;
    return h2_check_globals(&a, root);
}

cfg *conf_read(const char *path, char *err, size_t errlen)
{
    node_doc d;
    node_doc_init(&d);
    cfg *c = NULL;
    if (conf_load_file(&d, path, err, errlen) < 0) {
        dir_one_line(err, errlen);
        goto out;
    }
    if (!(c = cfg_new())) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (cfg_set_str(&c->source, path) < 0 || conf_apply(c, d.root, err, errlen) < 0 ||
        cfg_validate(c, err, errlen) < 0) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        dir_one_line(err, errlen); /* cfg_validate quotes paths and patterns too */
        cfg_free(c);
        c = NULL;
    }
out:
    node_doc_free(&d);
    return c;
}
