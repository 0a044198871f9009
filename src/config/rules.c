/* config/rules.c: setters for the per-location rules whose shape is their own (methods, return, headers, access, error pages, ...). */
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

/* Free a list from dir_want_strlist and pass rc through. */
static int strlist_done(char **v, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return rc;
}

int rule_methods(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    char **v;
    size_t nv;
    if (dir_want_strlist(a, n, &v, &nv) < 0)
        return -1;
    unsigned m = 0;
    int rc = 0;
    for (size_t i = 0; i < nv; i++) {
        size_t k = 0;
        while (k < CFG_NMETHODS && strcmp(v[i], cfg_method_names[k]) != 0)
            k++;
        if (k == CFG_NMETHODS && rc == 0)
            rc = dir_fail(a, n, "\"methods\": unknown method \"%s\" (GET, HEAD, OPTIONS, POST, PUT, DELETE, PATCH)",
                      v[i]);
        m |= 1u << k;
    }
    for (size_t i = 0; i < nv; i++)
        free(v[i]);
    free(v);
    if (rc == 0 && nv == 0)
        rc = dir_fail(a, n, "\"methods\": the list is empty");
    *(unsigned *)field = m;
    return rc;
}

int rule_return(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_rules *r = a->base[B_RULES];
    int64_t v;
    if (n->kind == NODE_SCALAR) {
        if (dir_want_int(a, n, 200, 599, &v) < 0)
            return -1;
        r->return_status = (int)v;
    } else {
        if (dir_expect_group(a, n, "status, url or body") < 0 || dir_apply_group(a, n, X_RETURN) < 0)
            return -1;
        if (!node_get(n, "status"))
            return dir_fail(a, n, "\"return\": needs a \"status\"");
    }
    bool redirect = r->return_status >= 300 && r->return_status < 400;
    if (redirect && !(node_get(n, "url")))
        return dir_fail(a, n, "\"return\": status %d needs a \"url\"", r->return_status);
    if (!redirect && node_get(n, "url"))
        return dir_fail(a, n, "\"return\": \"url\" needs a 3xx status, not %d", r->return_status);
    if (redirect && node_get(n, "body"))
        return dir_fail(a, n, "\"return\": a redirect has a \"url\", not a \"body\"");
    return 0;
}

int rule_return_text(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    const char *s;
    if (dir_want_string(a, n, &s) < 0)
        return -1;
    for (const char *p = s; *p; p++)
        if ((*p == '\r' || *p == '\n') && strcmp(d->name, "url") == 0)
            return dir_fail(a, n, "\"url\": must not contain a line break");
    return cfg_set_str(field, s) < 0 ? dir_oom(a, n) : 0;
}

bool dir_is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* HTTP allows more (RFC 9110 tokens), but -T writes these names back as
 * libconfig setting names, which are [A-Za-z][-A-Za-z0-9_]*: accepting
 * only those keeps both syntaxes and the dump in step. */
static bool header_name_ok(const char *name)
{
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

/* One header's value: a string, or { value = "..."; always = true; } for a
 * header that goes on every response (nginx's "add_header ... always"). */
static int header_value(apply_ctx *a, const cfg_node *h, const char **value, bool *always)
{
    *value = NULL;
    *always = false;
    if (h->kind == NODE_SCALAR && (h->sc == SC_STRING || h->sc == SC_PLAIN)) {
        *value = h->text;
        return 0;
    }
    if (h->kind != NODE_GROUP)
        return dir_fail(a, h, "\"add_header\": \"%s\": expected a string, got %s", h->name, dir_kind(h));
    for (size_t i = 0; i < h->nkids; i++) {
        const cfg_node *k = h->kids[i];
        if (strcmp(k->name, "value") == 0) {
            if (dir_want_string(a, k, value) < 0)
                return -1;
        } else if (strcmp(k->name, "always") == 0) {
            if (dir_want_bool(a, k, always) < 0)
                return -1;
        } else {
            return dir_fail(a, k, "\"add_header\": \"%s\": unknown setting \"%s\" (value, always)", h->name,
                            k->name);
        }
    }
    if (!*value)
        return dir_fail(a, h, "\"add_header\": \"%s\": needs a \"value\"", h->name);
    return 0;
}

/* Headers ephttpd writes itself (http/response.c), or that framing depends
 * on: a second copy would contradict the first (two Content-Type or ETag
 * values), so they stay ephttpd's own. Cache-Control and Expires are its
 * own only where "expires" is in effect (cfg_validate checks that, after
 * inheritance). Vary is not here: it is a list, and a second Vary line
 * adds to ephttpd's "Accept-Encoding" (RFC 9110 5.3), as CORS needs. */
static const char *const owned_headers[] = {
    "accept-ranges", "allow", "connection", "content-encoding", "content-length", "content-range",
    "content-type", "date", "etag", "keep-alive", "last-modified", "location", "server",
    "trailer", "transfer-encoding", "upgrade",
};

int rule_headers(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_rules *r = a->base[B_RULES];
    if (dir_expect_group(a, n, "Header-Name = \"value\"") < 0)
        return -1;
    r->headers = calloc(n->nkids ? n->nkids : 1, sizeof *r->headers);
    if (!r->headers || !(r->headers_where = dir_where(n)))
        return dir_oom(a, n);
    for (size_t i = 0; i < n->nkids; i++) {
        const cfg_node *h = n->kids[i];
        const char *v;
        bool always;
        if (header_value(a, h, &v, &always) < 0)
            return -1;
        if (!header_name_ok(h->name))
            return dir_fail(a, h, "\"add_header\": \"%s\" is not a header name (letters, digits, '-' "
                        "and '_', starting with a letter)", h->name);
        for (size_t k = 0; k < EP_ARRAY_LEN(owned_headers); k++)
            if (strcasecmp(h->name, owned_headers[k]) == 0)
                return dir_fail(a, h, "\"add_header\": \"%s\" is set by ephttpd itself", h->name);
        /* nginx skips a header with an empty value without a word. */
        if (!*v)
            return dir_fail(a, h, "\"add_header\": \"%s\" has an empty value (it would be sent as "
                            "\"%s:\" with nothing after; leave the header out)", h->name, h->name);
        for (const char *p = v; *p; p++)
            if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
                return dir_fail(a, h, "\"add_header\": the value of \"%s\" has a control character", h->name);
        cfg_header *e = &r->headers[r->nheaders++];
        e->always = always;
        if (!(e->name = strdup(h->name)) || !(e->value = strdup(v)))
            return dir_oom(a, h);
    }
    return 0;
}

int rule_expires(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    int64_t ms;
    if (n->kind == NODE_SCALAR && (n->sc == SC_STRING || n->sc == SC_PLAIN) && strcmp(n->text, "off") == 0)
        return *(int64_t *)field = CFG_EXPIRES_OFF, 0;
    if (dir_want_duration(a, n, 0, 10LL * 31536000000LL, &ms) < 0)
        return -1;
    *(int64_t *)field = ms / 1000;
    return 0;
}

int rule_precompressed(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_rules *r = a->base[B_RULES];
    char **v;
    size_t nv;
    if (dir_want_strlist(a, n, &v, &nv) < 0)
        return -1;
    int rc = 0;
    r->nenc = 0;
    for (size_t i = 0; i < nv && rc == 0; i++) {
        size_t k = 1;
        while (k <= CFG_MAX_ENCODINGS && strcmp(v[i], cfg_encoding_names[k]) != 0)
            k++;
        bool dup = false;
        for (size_t j = 0; j < r->nenc; j++)
            dup |= r->enc[j] == k;
        if (k > CFG_MAX_ENCODINGS)
            rc = dir_fail(a, n, "\"precompressed\": unknown encoding \"%s\" (zstd, br or gzip)", v[i]);
        else if (dup)
            rc = dir_fail(a, n, "\"precompressed\": \"%s\" is listed twice", v[i]);
        else
            r->enc[r->nenc++] = (uint8_t)k;
    }
    return strlist_done(v, nv, rc);
}

int rule_access(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_rules *r = a->base[B_RULES];
    char **v;
    size_t nv;
    if (dir_want_strlist(a, n, &v, &nv) < 0)
        return -1;
    int rc = 0;
    r->acl = calloc(nv ? nv : 1, sizeof *r->acl);
    if (!r->acl)
        rc = dir_oom(a, n);
    for (size_t i = 0; i < nv && rc == 0; i++) {
        char cerr[160];
        const char *rest = NULL;
        if (strncmp(v[i], "allow ", 6) == 0)
            rest = v[i] + 6, r->acl[i].allow = true;
        else if (strncmp(v[i], "deny ", 5) == 0)
            rest = v[i] + 5;
        if (!rest)
            rc = dir_fail(a, n, "\"access\": \"%s\" must be \"allow ADDRESS[/BITS]\", \"deny ...\" or \"... all\"", v[i]);
        else if (cidr_parse(rest, &r->acl[i].net, cerr, sizeof cerr) < 0)
            rc = dir_fail(a, n, "\"access\": %s", cerr);
        else
            r->nacl++;
    }
    return strlist_done(v, nv, rc);
}

/* etag: true, false, or "content" (a hash of the file's bytes). */
int rule_etag(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_rules *r = a->base[B_RULES];
    r->etag_content = false;
    if (n->kind == NODE_SCALAR && strcmp(n->text, "content") == 0) {
        r->etag = r->etag_content = true;
        return 0;
    }
    static const char *const words[] = { "true", "yes", "on", "false", "no", "off" };
    for (size_t i = 0; n->kind == NODE_SCALAR && (n->sc == SC_BOOL || n->sc == SC_PLAIN) && i < 6; i++)
        if (strcasecmp(n->text, words[i]) == 0) {
            r->etag = i < 3;
            return 0;
        }
    return dir_fail(a, n, "\"etag\": expected true, false or \"content\", got %s%s%s",
                    n->kind == NODE_SCALAR ? "\"" : "", n->kind == NODE_SCALAR ? n->text : dir_kind(n),
                    n->kind == NODE_SCALAR ? "\"" : "");
}

/* The proxies trusted to say who the client is (http/realip.h). */
int rule_real_ip_from(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_server *s = a->base[B_SERVER];
    char **v;
    size_t nv;
    if (dir_want_strlist(a, n, &v, &nv) < 0)
        return -1;
    int rc = 0;
    if (!(s->real_ip_from = calloc(nv ? nv : 1, sizeof *s->real_ip_from)))
        rc = dir_oom(a, n);
    for (size_t i = 0; i < nv && rc == 0; i++) {
        char cerr[160];
        if (cidr_parse(v[i], &s->real_ip_from[i], cerr, sizeof cerr) < 0)
            rc = dir_fail(a, n, "\"real_ip_from\": %s", cerr);
        else
            s->nreal_ip_from++;
    }
    return strlist_done(v, nv, rc);
}

int rule_real_ip_header(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    const char *v;
    if (dir_want_string(a, n, &v) < 0)
        return -1;
    for (const char *p = v; *p; p++)
        if (!dir_is_tchar((unsigned char)*p))
            return dir_fail(a, n, "\"real_ip_header\": \"%s\" is not a header name", v);
    if (!*v)
        return dir_fail(a, n, "\"real_ip_header\": an empty name");
    /* nginx's keyword for the PROXY header's address: here it would be a
     * header any client can send */
    if (strcasecmp(v, "proxy_protocol") == 0)
        return dir_fail(a, n, "\"real_ip_header\": \"%s\" is nginx's PROXY protocol keyword, not a header; "
                              "use the listener's proxy_protocol = true", v);
    return dir_set_scalar(a, d, n, field);
}

/* Statuses ephttpd answers without going through error_page: on the
 * connection, before a location is chosen (the request could not be read),
 * or with headers the page would lose (405's Allow, 416's Content-Range,
 * 412 from the file's validators). A page for them would never be used. */
static const char *no_page_reason(int code)
{
    switch (code) {
    case 400: case 408: case 413: case 414: case 417: case 431: case 501: case 505:
        return "it is answered on the connection, before a location is chosen";
    case 405:
        return "its Allow header comes from the location's methods";
    case 412:
        return "it is answered from the file's validators";
    case 416:
        return "its Content-Range header comes from the file";
    default:
        return NULL;
    }
}

int rule_codes(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    errpage_tmp *t = a->base[B_ERRPAGE];
    const cfg_node *const *items = (const cfg_node *const *)&n;
    size_t count = 1;
    if (n->kind == NODE_LIST)
        items = (const cfg_node *const *)n->kids, count = n->nkids;
    if (count == 0 || count > EP_ARRAY_LEN(t->codes))
        return dir_fail(a, n, "\"codes\": give 1 to %zu status codes", EP_ARRAY_LEN(t->codes));
    for (size_t i = 0; i < count; i++) {
        int64_t v;
        if (dir_want_int(a, items[i], 400, 599, &v) < 0)
            return -1;
        const char *why = no_page_reason((int)v);
        if (why)
            return dir_fail(a, items[i], "\"codes\": %d cannot have an error page: ephttpd always "
                            "sends its built-in one, as %s", (int)v, why);
        t->codes[t->ncodes++] = (int)v;
    }
    return 0;
}

static int one_error_page(apply_ctx *a, const cfg_node *g)
{
    cfg_rules *r = a->base[B_RULES];
    errpage_tmp t = { .ncodes = 0 };
    a->base[B_ERRPAGE] = &t;
    int rc = dir_apply_group(a, g, X_ERRPAGE);
    if (rc == 0 && (!t.ncodes || !t.uri))
        rc = dir_fail(a, g, "\"error_page\": needs \"codes\" and \"uri\"");
    if (rc == 0 && t.uri[0] != '/')
        rc = dir_fail(a, g, "\"error_page\": uri \"%s\" must start with '/'", t.uri);
    /* The page is served as a file by an internal redirect to this path:
     * a query or fragment would become part of the file name. */
    if (rc == 0 && strpbrk(t.uri, "?#"))
        rc = dir_fail(a, node_get(g, "uri"), "\"error_page\": uri \"%s\" must be a plain path, "
                      "without '?' or '#' (the page is served as the file at that path)", t.uri);
    cfg_error_page *grown = rc ? NULL : realloc(r->error_pages, (r->nerror_pages + t.ncodes) * sizeof *grown);
    if (rc == 0 && !grown)
        rc = dir_oom(a, g);
    for (size_t i = 0; rc == 0 && i < t.ncodes; i++) {
        r->error_pages = grown;
        cfg_error_page *e = &r->error_pages[r->nerror_pages];
        e->status = t.codes[i];
        if (!(e->uri = strdup(t.uri)))
            rc = dir_oom(a, g);
        else
            r->nerror_pages++;
    }
    free(t.uri);
    return rc;
}

int rule_error_pages(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    return dir_each_group(a, n, "codes, uri", one_error_page);
}

int rule_try_files(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    cfg_rules *r = a->base[B_RULES];
    if (dir_set_scalar(a, d, n, field) < 0)
        return -1;
    if (r->ntry_files < 2)
        return dir_fail(a, n, "\"try_files\": give at least one path and a fallback (a URI or \"=404\")");
    for (size_t i = 0; i < r->ntry_files; i++) {
        const char *t = r->try_files[i];
        bool last = i + 1 == r->ntry_files;
        if (t[0] == '=' && last) {
            char *end;
            long code = strtol(t + 1, &end, 10);
            if (*end || code < 200 || code > 599)
                return dir_fail(a, n, "\"try_files\": bad status \"%s\" (=404, =403, ...)", t);
        } else if (t[0] != '/' && t[0] != '$') {
            return dir_fail(a, n, "\"try_files\": \"%s\" must start with '/' or $uri", t);
        }
    }
    return 0;
}

int rule_names(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    cfg_server *s = a->base[B_SERVER];
    if (dir_set_scalar(a, d, n, field) < 0)
        return -1;
    for (size_t i = 0; i < s->nnames; i++) {
        char *name = s->names[i];
        for (char *p = name; *p; p++) {
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
            if (!(dir_is_tchar((unsigned char)*p) || *p == ':' || *p == '[' || *p == ']') || *p == '/')
                return dir_fail(a, n, "\"names\": \"%s\" is not a host name", name);
        }
        /* name + 1 only when there is a name[0]: "" (no Host) is a valid name. */
        if ((name[0] && strchr(name + 1, '*')) || (name[0] == '*' && name[1] != '.'))
            return dir_fail(a, n, "\"names\": \"%s\": only a leading \"*.\" wildcard is supported", name);
    }
    return 0;
}
