/* config/model.c: defaults, ownership and whole-model validation of the settings. */
#include "config/model.h"

#include "config/logs.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const cfg_method_names[CFG_NMETHODS] = { "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE",
                                                     "PATCH" };
const char *const cfg_encoding_names[CFG_MAX_ENCODINGS + 1] = { "", "zstd", "br", "gzip" };
const char *const cfg_links_names[4] = { "within_root", "follow", "off", NULL };
const char *const cfg_status_names[5] = { "off", "stub", "json", "prometheus", NULL };

static char index_html[] = "index.html";
static char *default_index[] = { index_html };

void cfg_rules_defaults(cfg_rules *r)
{
    memset(r, 0, sizeof *r);
    r->dir = -1;
    r->index = default_index;
    r->nindex = EP_ARRAY_LEN(default_index);
    r->methods = M_GET | M_HEAD;
    r->expires = CFG_EXPIRES_OFF;
    r->etag = true;
    r->last_modified = true;
    r->links = FILE_LINKS_BENEATH;
    r->sendfile_chunk = 1 << 20;
}

int cfg_set_str(char **field, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

cfg *cfg_new(void)
{
    cfg *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    /* Defaults follow nginx where it has an equivalent. */
    c->workers = 1;
    c->wq_threads = 4;
    c->worker_connections = 4096;
    c->header_timeout_ms = 60000;
    c->keepalive_timeout_ms = 75000;
    c->send_timeout_ms = 60000;
    c->lingering_time_ms = 2000;
    c->shutdown_timeout_ms = 60000;
    c->stop_timeout_ms = 5000;
    c->drain_delay_ms = 5000;
    c->max_header_size = 16384;
    c->max_uri_len = 8192;
    c->max_body_size = 1 << 20;
    c->keepalive_requests = 1000;
    c->small_file_max = 16384;
    c->open_file_cache = 16384;
    c->open_file_cache_inactive_ms = 60000;
    c->open_file_cache_memory = 64 << 20;
    c->log_level = LOGL_INFO;
    c->tls_protocols = CFG_TLS12 | CFG_TLS13;
    c->tls_session_tickets = true;
    c->tls_ktls = true;
    c->http2_max_concurrent_streams = CFG_H2_STREAMS_DEFAULT;
    c->http2_max_header_list_size = CFG_H2_HEADER_LIST_DEFAULT;
    c->http2_initial_window_size = CFG_H2_WINDOW_DEFAULT;
    c->http2_connection_window_size = CFG_H2_CONN_WINDOW_DEFAULT;
    c->listens = calloc(1, sizeof *c->listens);
    c->servers = calloc(1, sizeof *c->servers);
    if (!c->listens || !c->servers)
        goto oom;
    c->nlistens = c->nservers = 1;
    c->listens[0].port = 8080;
    c->listens[0].backlog = 511;
    c->listens[0].deferred = true;
    cfg_rules_defaults(&c->servers[0].r);
    if (cfg_set_str(&c->listens[0].addr, "0.0.0.0") < 0 ||
        cfg_alog_set(&c->servers[0].r, "-") < 0 || cfg_set_str(&c->error_log, "-") < 0 ||
        cfg_set_str(&c->default_type, "application/octet-stream") < 0)
        goto oom;
    return c;
oom:
    cfg_free(c);
    return NULL;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Frees what this level set itself; inherited fields are its parent's. */
static void rules_free(cfg_rules *r)
{
    if (r->set & R_ROOT)
        free(r->root);
    if (r->set & R_ALIAS)
        free(r->alias);
    if (r->set & R_INDEX)
        free_strs(r->index, r->nindex);
    if (r->set & R_RETURN)
        free(r->return_text);
    if (r->set & R_HEADERS) {
        for (size_t i = 0; i < r->nheaders; i++)
            free(r->headers[i].name), free(r->headers[i].value);
        free(r->headers);
        free(r->headers_where);
    }
    if (r->set & R_ACCESS)
        free(r->acl);
    if (r->set & R_ERROR_PAGES) {
        for (size_t i = 0; i < r->nerror_pages; i++)
            free(r->error_pages[i].uri);
        free(r->error_pages);
    }
    if (r->set & R_TRY_FILES)
        free_strs(r->try_files, r->ntry_files);
    if (r->set & R_ACCESS_LOG)
        cfg_alogs_free(r);
}

void cfg_free_servers(cfg *c)
{
    for (size_t i = 0; i < c->nservers; i++) {
        cfg_server *s = &c->servers[i];
        for (size_t j = 0; j < s->nlocs; j++) {
            rules_free(&s->locs[j].r);
            free(s->locs[j].pattern);
            free(s->locs[j].where);
            free(s->locs[j].from.file);
        }
        free(s->locs);
        rules_free(&s->r);
        free_strs(s->names, s->nnames);
        free_strs(s->listen_refs, s->nlisten_refs);
        free_strs(s->tls_certs, s->ntls_certs);
        free_strs(s->tls_keys, s->ntls_keys);
        free(s->listens);
        free(s->real_ip_from);
        free(s->real_ip_header);
        free(s->where);
        free(s->from.file);
    }
    free(c->servers);
    c->servers = NULL;
    c->nservers = 0;
}

void cfg_free(cfg *c)
{
    if (!c)
        return;
    if (c->unprepare)
        c->unprepare(c);
    for (size_t i = 0; i < c->nlistens; i++) {
        free(c->listens[i].addr);
        free(c->listens[i].default_name);
        free(c->listens[i].where);
    }
    free(c->listens);
    cfg_free_servers(c);
    cfg_log_formats_free(c);
    free_strs(c->dirs, c->ndirs);
    free(c->user);
    free(c->group);
    free(c->mime_types);
    free(c->default_type);
    free(c->error_log);
    free(c->pid_file);
    free(c->tls_ciphers);
    free(c->tls_ciphers_where);
    free(c->source);
    free(c);
}

int cfg_worker_count(const cfg *c)
{
    if (c->workers > 0)
        return c->workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* "file:line: " of a definition, or "" for the command line. */
static const char *at(const char *where, char *buf, size_t len)
{
    if (!where)
        return "";
    snprintf(buf, len, "%s: ", where);
    return buf;
}

static int check_dir(const char *where, const char *what, const char *path, char *err, size_t errlen)
{
    struct stat st;
    char w[300];
    if (path[0] != '/' && where) {
        snprintf(err, errlen, "%s\"%s\": \"%s\" must be an absolute path", at(where, w, sizeof w), what, path);
        return -1;
    }
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s\"%s\": \"%s\": %s", at(where, w, sizeof w), what, path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s\"%s\": \"%s\": not a directory", at(where, w, sizeof w), what, path);
        return -1;
    }
    if (access(path, R_OK | X_OK) < 0) {
        snprintf(err, errlen, "%s\"%s\": \"%s\" cannot be read: %s", at(where, w, sizeof w), what, path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* The index of path in c->dirs, adding it; -1 on OOM. */
static int dir_id(cfg *c, const char *path)
{
    for (size_t i = 0; i < c->ndirs; i++)
        if (strcmp(c->dirs[i], path) == 0)
            return (int)i;
    char **grown = realloc(c->dirs, (c->ndirs + 1) * sizeof *grown);
    if (!grown)
        return -1;
    c->dirs = grown;
    if (!(c->dirs[c->ndirs] = strdup(path)))
        return -1;
    return (int)c->ndirs++;
}

/* A location takes every rule it does not set from its server. */
static void rules_inherit(cfg_rules *r, const cfg_rules *from)
{
    uint32_t set = r->set;
    cfg_rules own = *r;
    *r = *from;
    r->set = set;
    r->dir = -1;
    r->alias = own.alias;
#define TAKE(bit, ...)                                   \
    do {                                                 \
        if (set & (bit)) {                               \
            __VA_ARGS__;                                 \
        }                                                \
    } while (0)
    TAKE(R_ROOT, r->root = own.root);
    /* An alias replaces the inherited root; with a root of its own too,
     * keep that so it is freed (rules_check then refuses the pair). */
    TAKE(R_ALIAS, if (!(set & R_ROOT)) r->root = NULL);
    TAKE(R_INDEX, r->index = own.index, r->nindex = own.nindex);
    TAKE(R_AUTOINDEX, r->autoindex = own.autoindex);
    TAKE(R_AUTOINDEX_FORMAT, r->autoindex_json = own.autoindex_json);
    TAKE(R_METHODS, r->methods = own.methods);
    TAKE(R_RETURN, r->return_status = own.return_status, r->return_text = own.return_text);
    TAKE(R_HEADERS, r->headers = own.headers, r->nheaders = own.nheaders,
         r->headers_where = own.headers_where);
    TAKE(R_EXPIRES, r->expires = own.expires);
    TAKE(R_ETAG, r->etag = own.etag, r->etag_content = own.etag_content);
    TAKE(R_PRECOMPRESSED, memcpy(r->enc, own.enc, sizeof r->enc), r->nenc = own.nenc);
    TAKE(R_ACCESS, r->acl = own.acl, r->nacl = own.nacl);
    TAKE(R_ERROR_PAGES, r->error_pages = own.error_pages, r->nerror_pages = own.nerror_pages);
    TAKE(R_TRY_FILES, r->try_files = own.try_files, r->ntry_files = own.ntry_files);
    TAKE(R_LINKS, r->links = own.links);
    TAKE(R_OFFLOAD, r->offload_always = own.offload_always);
    TAKE(R_SENDFILE_CHUNK, r->sendfile_chunk = own.sendfile_chunk);
    TAKE(R_HIDDEN, r->hidden_allow = own.hidden_allow);
    TAKE(R_STATUS_PAGE, r->status_page = own.status_page);
    TAKE(R_ACCESS_LOG, r->alogs = own.alogs, r->nalogs = own.nalogs);
    TAKE(R_HEALTH_CHECK, r->health_check = own.health_check);
    TAKE(R_LAST_MODIFIED, r->last_modified = own.last_modified);
#undef TAKE
}

/* Where "expires" is in effect, ephttpd writes Cache-Control and Expires
 * itself: an add_header of either (set here or inherited) would send it
 * twice, with two answers. what: "the server", or "the location at X". */
static int check_cache_headers(const cfg_rules *r, const char *what, char *err, size_t errlen)
{
    char w[300];
    if (r->expires == CFG_EXPIRES_OFF)
        return 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        const cfg_header *h = &r->headers[i];
        if (strcasecmp(h->name, "cache-control") != 0 && strcasecmp(h->name, "expires") != 0)
            continue;
        snprintf(err, errlen, "%s\"add_header\": \"%s\" would be sent twice in %s, where \"expires\" "
                 "sends its own; drop it, or set expires = \"off\" there", at(r->headers_where, w, sizeof w),
                 h->name, what);
        return -1;
    }
    return 0;
}

/* Rules that make sense only together, and the directory files come from. */
static int rules_check(cfg *c, cfg_rules *r, const char *where, const char *what, bool need_dir,
                       char *err, size_t errlen)
{
    char w[300];
    if ((r->set & R_ALIAS) && (r->set & R_ROOT)) {
        snprintf(err, errlen, "%s%s sets both \"root\" and \"alias\"", at(where, w, sizeof w), what);
        return -1;
    }
    if ((r->methods & ~(unsigned)(M_GET | M_HEAD | M_OPTIONS)) && !r->return_status) {
        snprintf(err, errlen, "%s\"methods\": POST, PUT, DELETE and PATCH need a \"return\" in %s; files "
                 "are served to GET and HEAD only", at(where, w, sizeof w), what);
        return -1;
    }
    if (r->health_check && (r->return_status || r->status_page)) {
        snprintf(err, errlen, "%s\"health_check\" and \"%s\" both answer in %s: keep one", at(where, w, sizeof w),
                 r->return_status ? "return" : "status_page", what);
        return -1;
    }
    if (r->status_page && r->return_status) {
        snprintf(err, errlen, "%s\"status_page\" and \"return\" both answer in %s: keep one",
                 at(where, w, sizeof w), what);
        return -1;
    }
    /* A location that answers every request itself and also says where
     * files come from: one of the two would never apply (what a careless
     * copy of a location makes); rules inherited from the server are fine.
     * (A server sets every rule once -T has written it out: not checked.) */
    bool in_location = strcmp(what, "the location") == 0;
    const char *answers = !in_location ? NULL
                          : r->health_check && (r->set & R_HEALTH_CHECK) ? "health_check"
                          : r->status_page && (r->set & R_STATUS_PAGE) ? "status_page"
                                                                        : NULL;
    const char *files = (r->set & R_TRY_FILES) ? "try_files"
                        : (r->set & R_ALIAS)   ? "alias"
                        : (r->set & R_INDEX)   ? "index"
                        : (r->set & R_AUTOINDEX) && r->autoindex ? "autoindex"
                                                                 : NULL;
    if (answers && files) {
        snprintf(err, errlen, "%s\"%s\" answers every request in %s: its \"%s\" would never apply; keep one",
                 at(where, w, sizeof w), answers, what, files);
        return -1;
    }
    const char *dir = r->alias ? r->alias : r->root;
    if (!dir) {
        if (r->return_status || r->status_page || r->health_check || !need_dir)
            return 0;
        bool loc = strcmp(what, "the location") == 0;
        snprintf(err, errlen, "%s%s has no \"root\" (nor %s)", at(where, w, sizeof w), what,
                 loc ? "\"alias\" or \"return\"" : "\"return\", nor a location \"/\" for every path");
        return -1;
    }
    if (check_dir(where, r->alias ? "alias" : "root", dir, err, errlen) < 0)
        return -1;
    if ((r->dir = dir_id(c, dir)) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* "/x" and "^~ /x" are the same prefix (as in nginx): only the first could
 * ever be chosen. */
static bool same_match(const cfg_location *a, const cfg_location *b)
{
    bool pa = a->kind == LOC_PREFIX || a->kind == LOC_PREFIX_NOREGEX;
    bool pb = b->kind == LOC_PREFIX || b->kind == LOC_PREFIX_NOREGEX;
    return (a->kind == b->kind || (pa && pb)) && strcmp(a->pattern, b->pattern) == 0;
}

static int check_locations(cfg *c, cfg_server *s, char *err, size_t errlen)
{
    char w[300];
    for (size_t j = 0; j < s->nlocs; j++) {
        cfg_location *l = &s->locs[j];
        rules_inherit(&l->r, &s->r);
        bool regex = l->kind == LOC_REGEX || l->kind == LOC_REGEX_ICASE;
        if (regex && l->r.alias) {
            snprintf(err, errlen, "%s\"alias\" is allowed only in prefix and exact locations, not in \"%s %s\"",
                     at(l->where, w, sizeof w), l->kind == LOC_REGEX ? "~" : "~*", l->pattern);
            return -1;
        }
        for (size_t k = 0; k < j; k++)
            if (same_match(&s->locs[k], l)) {
                snprintf(err, errlen, "%slocation \"%s\" is defined twice (first at %s)", at(l->where, w, sizeof w), l->pattern,
                         s->locs[k].where);
                return -1;
            }
        if (rules_check(c, &l->r, l->where, "the location", true, err, errlen) < 0)
            return -1;
        char what[320];
        snprintf(what, sizeof what, "the location at %s", l->where ? l->where : "?");
        if (check_cache_headers(&l->r, what, err, errlen) < 0)
            return -1;
    }
    return 0;
}

bool cfg_same_addr(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    int fam = strchr(a, ':') ? AF_INET6 : AF_INET;
    return (strchr(b, ':') ? AF_INET6 : AF_INET) == fam && inet_pton(fam, a, x) == 1 &&
           inet_pton(fam, b, y) == 1 && memcmp(x, y, fam == AF_INET ? 4 : 16) == 0;
}

/* "addr:port", "[v6]:port" or "port": does listener l match ref? */
static bool listen_ref_matches(const cfg_listen *l, const char *ref)
{
    const char *colon = strrchr(ref, ':');
    char addr[64];
    if (!colon) /* a port alone */
        return strtoul(ref, NULL, 10) == l->port && ref[0] >= '0' && ref[0] <= '9';
    size_t alen = (size_t)(colon - ref);
    if (ref[0] == '[' && alen >= 2 && ref[alen - 1] == ']')
        ref++, alen -= 2;
    if (alen >= sizeof addr)
        return false;
    memcpy(addr, ref, alen);
    addr[alen] = '\0';
    return strtoul(colon + 1, NULL, 10) == l->port && cfg_same_addr(addr, l->addr);
}

static int bind_servers(cfg *c, cfg_server *s, char *err, size_t errlen)
{
    char w[300];
    if (!(s->listens = calloc(c->nlistens, sizeof *s->listens)))
        return snprintf(err, errlen, "out of memory"), -1;
    for (size_t k = 0; k < c->nlistens; k++) {
        bool on = s->nlisten_refs == 0;
        for (size_t r = 0; r < s->nlisten_refs; r++)
            on |= listen_ref_matches(&c->listens[k], s->listen_refs[r]);
        if (on)
            s->listens[s->nlistens++] = k;
    }
    for (size_t r = 0; r < s->nlisten_refs; r++) {
        bool found = false;
        for (size_t k = 0; k < c->nlistens; k++)
            found |= listen_ref_matches(&c->listens[k], s->listen_refs[r]);
        if (!found) {
            snprintf(err, errlen, "%s\"listen_on\": no listener \"%s\" (declare it in \"listen\")",
                     at(s->where, w, sizeof w), s->listen_refs[r]);
            return -1;
        }
    }
    return 0;
}

static bool server_on(const cfg_server *s, size_t listen)
{
    for (size_t i = 0; i < s->nlistens; i++)
        if (s->listens[i] == listen)
            return true;
    return false;
}


static int check_listeners(cfg *c, char *err, size_t errlen)
{
    char w[300];
    for (size_t k = 0; k < c->nlistens; k++) {
        cfg_listen *l = &c->listens[k];
        unsigned char buf[16];
        if (inet_pton(AF_INET, l->addr, buf) != 1 && inet_pton(AF_INET6, l->addr, buf) != 1) {
            snprintf(err, errlen, "%s\"address\": \"%s\" is not a numeric IPv4 or IPv6 address",
                     at(l->where, w, sizeof w), l->addr);
            return -1;
        }
        for (size_t j = 0; j < k; j++)
            if (c->listens[j].port == l->port && cfg_same_addr(c->listens[j].addr, l->addr)) {
                snprintf(err, errlen, "%s\"listen\": %s:%u is declared twice (first at %s)",
                         at(l->where, w, sizeof w), l->addr, l->port,
                         c->listens[j].where ? c->listens[j].where : "the command line");
                return -1;
            }
        bool have = false;
        for (size_t i = c->nservers; i-- > 0;)
            if (server_on(&c->servers[i], k))
                l->default_server = i, have = true;
        if (!have) {
            snprintf(err, errlen, "%s\"listen\": no server uses %s:%u (see \"listen_on\")",
                     at(l->where, w, sizeof w), l->addr, l->port);
            return -1;
        }
        for (size_t i = 0; l->default_name && i <= c->nservers; i++) {
            if (i == c->nservers) {
                snprintf(err, errlen, "%s\"default_server\": no server named \"%s\" on %s:%u",
                         at(l->where, w, sizeof w), l->default_name, l->addr, l->port);
                return -1;
            }
            const cfg_server *s = &c->servers[i];
            bool named = false;
            for (size_t n = 0; n < s->nnames; n++)
                named |= strcasecmp(s->names[n], l->default_name) == 0;
            if (named && server_on(s, k)) {
                l->default_server = i;
                break;
            }
        }
    }
    return 0;
}

/* ' "name"' of a server for messages, or "" when it has no name. */
static const char *server_name(const cfg_server *s, char *buf, size_t len)
{
    if (!s->nnames || !s->names[0][0])
        return "";
    snprintf(buf, len, " \"%s\"", s->names[0]);
    return buf;
}

/* Each certificate comes with its key, in the same order. */
static int check_tls_pairs(const cfg_server *s, char *err, size_t errlen)
{
    char w[300];
    if (s->ntls_certs == s->ntls_keys)
        return 0;
    if (!s->ntls_keys)
        snprintf(err, errlen, "%s\"tls_certificate\" without \"tls_certificate_key\": give the private key "
                 "of each certificate, in the same order", at(s->where, w, sizeof w));
    else if (!s->ntls_certs)
        snprintf(err, errlen, "%s\"tls_certificate_key\" without \"tls_certificate\": give the certificate "
                 "(chain) of each key, in the same order", at(s->where, w, sizeof w));
    else
        snprintf(err, errlen, "%s\"tls_certificate\" lists %zu files but \"tls_certificate_key\" %zu: "
                 "each certificate needs its key, in the same order", at(s->where, w, sizeof w),
                 s->ntls_certs, s->ntls_keys);
    return -1;
}

/* After the listeners are bound: a server a TLS listener reaches (by
 * listen_on, by having none, or as a default_server, which is one of
 * those) needs a certificate; a certificate no TLS listener reaches
 * would do nothing. */
static int check_tls(const cfg *c, char *err, size_t errlen)
{
    char w[300], name[300];
    bool any_tls = false;
    for (size_t k = 0; k < c->nlistens; k++)
        any_tls |= c->listens[k].tls;
    for (size_t i = 0; i < c->nservers; i++) {
        const cfg_server *s = &c->servers[i];
        if (check_tls_pairs(s, err, errlen) < 0)
            return -1;
        const cfg_listen *tls = NULL;
        for (size_t k = 0; k < s->nlistens && !tls; k++)
            if (c->listens[s->listens[k]].tls)
                tls = &c->listens[s->listens[k]];
        if (tls && !s->ntls_certs) {
            snprintf(err, errlen, "%sthe server%s has no \"tls_certificate\", but the TLS listener %s:%u (at %s) "
                     "reaches it (give it \"tls_certificate\" and \"tls_certificate_key\", or name only other listeners "
                     "in its \"listen_on\")",
                     at(s->where, w, sizeof w), server_name(s, name, sizeof name), tls->addr, tls->port,
                     tls->where ? tls->where : "the command line");
            return -1;
        }
        if (!tls && s->ntls_certs) {
            snprintf(err, errlen, "%s\"tls_certificate\": %s, so it would do nothing", at(s->where, w, sizeof w),
                     any_tls ? "the server's \"listen_on\" leaves out every TLS listener"
                             : "no listener has tls = true");
            return -1;
        }
    }
    return 0;
}

/* Global settings keep no line of their own: errors name the file. */
static int check_globals(cfg *c, char *err, size_t errlen)
{
    char w[300];
    if (c->max_uri_len + 64 > c->max_header_size) {
        snprintf(err, errlen, "%s\"max_header_size\" (%zu) must exceed \"max_uri_length\" (%zu) by at "
                 "least 64 bytes", at(c->source, w, sizeof w), c->max_header_size, c->max_uri_len);
        return -1;
    }
    if (c->user && !getpwnam(c->user)) {
        snprintf(err, errlen, "%s\"user\": no user \"%s\" on this system", at(c->source, w, sizeof w),
                 c->user);
        return -1;
    }
    if (c->group && !getgrnam(c->group)) {
        snprintf(err, errlen, "%s\"group\": no group \"%s\" on this system", at(c->source, w, sizeof w),
                 c->group);
        return -1;
    }
    return 0;
}

int cfg_validate(cfg *c, char *err, size_t errlen)
{
    char w[300];
    err[0] = '\0';
    if (c->nlistens == 0 || c->nservers == 0) {
        snprintf(err, errlen, "%s%s", at(c->source, w, sizeof w),
                 c->nlistens == 0 ? "no listener configured (\"listen\" is empty)"
                                  : "no server configured (add \"servers\")");
        return -1;
    }
    if (check_globals(c, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < c->nservers; i++) {
        cfg_server *s = &c->servers[i];
        if (!s->where && !s->r.root) {
            snprintf(err, errlen, "no document root given (use -r DIR or -c FILE)");
            return -1;
        }
        /* A server whose locations catch every path ("/") needs no root itself. */
        bool catch_all = false;
        for (size_t j = 0; j < s->nlocs; j++)
            catch_all |= s->locs[j].kind <= LOC_PREFIX_NOREGEX && s->locs[j].kind != LOC_EXACT &&
                         strcmp(s->locs[j].pattern, "/") == 0;
        if (s->real_ip_header && !s->nreal_ip_from) {
            snprintf(err, errlen, "%s\"real_ip_header\" without \"real_ip_from\": no proxy is trusted to name "
                     "the client", at(s->where, w, sizeof w));
            return -1;
        }
        if (bind_servers(c, s, err, errlen) < 0 ||
            rules_check(c, &s->r, s->where, "the server", !catch_all, err, errlen) < 0 ||
            check_cache_headers(&s->r, "the server", err, errlen) < 0 ||
            check_locations(c, s, err, errlen) < 0)
            return -1;
    }
    /* Listeners first: a TLS and a plain one on the same address and port
     * are one socket, and that is the error to report. */
    if (check_listeners(c, err, errlen) < 0 || cfg_check_logs(c, err, errlen) < 0)
        return -1;
    return check_tls(c, err, errlen);
}
