/* config/directives.c: the one table of settings (name, where allowed, type, setter, field) for both syntaxes. */
#include "config/directives.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/front.h"
#include "util/str.h"
#include "util/time.h"

/* Where a setting may appear. */
enum {
    X_TOP = 1u << 0,
    X_LISTEN = 1u << 1,
    X_SERVER = 1u << 2,
    X_LOC = 1u << 3,
    X_RETURN = 1u << 4,
    X_ERRPAGE = 1u << 5,
};

/* Which struct a directive's offset is relative to. */
typedef enum { B_CFG, B_LISTEN, B_SERVER, B_RULES, B_LOC, B_ERRPAGE, B_COUNT } dbase;

typedef enum { T_INT, T_SIZE, T_DURATION, T_BOOL, T_STR, T_STRLIST, T_ENUM, T_CUSTOM } dtype;

/* An error_page entry while it is being read: several codes, one URI. */
typedef struct {
    int codes[32];
    size_t ncodes;
    char *uri;
} errpage_tmp;

typedef struct apply_ctx apply_ctx;
typedef struct directive directive;

struct directive {
    const char *name;
    unsigned where;  /* X_* */
    dbase base;
    dtype type;
    size_t off;      /* field offset within the base struct */
    size_t size;     /* T_ENUM: sizeof the field (a bool or an int-sized enum) */
    size_t off_n;    /* T_STRLIST: offset of the count */
    uint32_t rbit;   /* R_* bit for rules, 0 otherwise */
    int64_t min, max; /* T_INT, T_SIZE, T_DURATION (ms) */
    const char *const *names; /* T_ENUM: value names, index = stored int */
    int (*set)(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
    bool multi;      /* may appear more than once in a group (lists that append) */
};

struct apply_ctx {
    cfg *c;
    const char *setting; /* the directive being applied, for its list items */
    void *base[B_COUNT];
    char *err;
    size_t errlen;
};

/* Values quoted in messages come from the file and may hold a line break
 * (a quoted YAML scalar can); the message must stay one line, so control
 * characters are written as \n, \t, \r or \xNN (cut to size). */
static void one_line(char *s, size_t size)
{
    const unsigned char *p = (const unsigned char *)s;
    if (size == 0)
        return;
    while (*p && *p >= 0x20 && *p != 0x7f)
        p++;
    if (!*p)
        return;
    char *out = malloc(size);
    if (!out) {
        for (char *q = s; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f)
                *q = '?';
        return;
    }
    size_t o = 0;
    for (p = (const unsigned char *)s; *p && o + 5 < size; p++) {
        if (*p >= 0x20 && *p != 0x7f)
            out[o++] = (char)*p;
        else if (*p == '\n' || *p == '\t' || *p == '\r')
            out[o++] = '\\', out[o++] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
        else
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
    }
    out[o] = '\0';
    memcpy(s, out, o + 1);
    free(out);
}

__attribute__((format(printf, 3, 4))) static int fail(apply_ctx *a, const cfg_node *n,
                                                      const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    node_error(a->err, a->errlen, n->file, n->line, n->col, msg);
    one_line(a->err, a->errlen);
    return -1;
}

static int oom(apply_ctx *a, const cfg_node *n)
{
    return fail(a, n, "out of memory");
}

/* The setting an error is about: a list item has no name of its own, so it
 * borrows the name of the setting being applied. */
static const char *setting_name(const apply_ctx *a, const cfg_node *n)
{
    return n->name ? n->name : a->setting ? a->setting : "list item";
}

/* "a string", "an integer", ... for "got ..." in messages. */
static const char *a_kind(const cfg_node *n)
{
    static const struct {
        const char *kind, *with_article;
    } names[] = { { "group", "a group" },     { "list", "a list" },     { "string", "a string" },
                  { "integer", "an integer" }, { "number", "a number" }, { "boolean", "a boolean" } };
    const char *k = node_kind_name(n);
    for (size_t i = 0; i < EP_ARRAY_LEN(names); i++)
        if (strcmp(k, names[i].kind) == 0)
            return names[i].with_article;
    return "a value";
}

/* ------------------------------------------------------------------ scalars */

/* The want_* helpers set *out even when they fail, so that no caller can
 * read an indeterminate value (and the optimiser can see that). */
static int want_string(apply_ctx *a, const cfg_node *n, const char **out)
{
    *out = "";
    if (n->kind != NODE_SCALAR || (n->sc != SC_STRING && n->sc != SC_PLAIN))
        return fail(a, n, "\"%s\": expected a string, got %s", setting_name(a, n), a_kind(n));
    *out = n->text;
    return 0;
}

static int want_int(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    *out = 0;
    if (n->kind != NODE_SCALAR || (n->sc != SC_INT && n->sc != SC_PLAIN))
        return fail(a, n, "\"%s\": expected an integer, got %s", setting_name(a, n), a_kind(n));
    errno = 0;
    long long v = strtoll(n->text, &end, 10);
    if (errno || end == n->text || *end)
        return fail(a, n, "\"%s\": expected an integer, got \"%s\"", setting_name(a, n), n->text);
    if (v < min || v > max)
        return fail(a, n, "\"%s\": %lld is out of range (%lld to %lld)", setting_name(a, n), v,
                    (long long)min, (long long)max);
    *out = v;
    return 0;
}

/* Sizes: a byte count, or a number with k, m or g (powers of 1024). */
static int want_size(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out)
{
    if (n->kind == NODE_SCALAR && n->sc == SC_INT)
        return want_int(a, n, min, max, out);
    if (n->kind != NODE_SCALAR || (n->sc != SC_STRING && n->sc != SC_PLAIN))
        return fail(a, n, "\"%s\": expected a size, got %s", setting_name(a, n), a_kind(n));
    char *end;
    errno = 0;
    unsigned long long v = strtoull(n->text, &end, 10);
    int shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (errno || end == n->text || n->text[0] < '0' || n->text[0] > '9' || (shift && end[1]) ||
        (!shift && *end))
        return fail(a, n, "\"%s\": bad size \"%s\" (use bytes, or a number with k, m or g)",
                    setting_name(a, n), n->text);
    if (v > (unsigned long long)max >> shift || (int64_t)(v << shift) < min)
        return fail(a, n, "\"%s\": %s is out of range (%lld to %lld bytes)", setting_name(a, n), n->text,
                    (long long)min, (long long)max);
    *out = (int64_t)(v << shift);
    return 0;
}

/* Durations: seconds as an integer, or "500ms", "10s", "2m", "1h", "30d". */
static int want_duration(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out)
{
    if (n->kind != NODE_SCALAR || n->sc == SC_BOOL || n->sc == SC_FLOAT)
        return fail(a, n, "\"%s\": expected a duration, got %s", setting_name(a, n), a_kind(n));
    if (time_parse_duration(n->text, max, out) < 0)
        return fail(a, n, "\"%s\": bad duration \"%s\" (use seconds, or 500ms, 10s, 2m, 1h, 30d; at most %llds)",
                    setting_name(a, n), n->text, (long long)(max / 1000));
    if (*out < min)
        return fail(a, n, "\"%s\": %s is too short (at least %lldms)", setting_name(a, n), n->text,
                    (long long)min);
    return 0;
}

static int want_bool(apply_ctx *a, const cfg_node *n, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
    /* YAML writers use True and Yes too; libconfig booleans arrive as
     * "true"/"false" already. */
    if (n->kind == NODE_SCALAR && (n->sc == SC_BOOL || n->sc == SC_PLAIN))
        for (size_t i = 0; i < EP_ARRAY_LEN(yes); i++) {
            if (strcasecmp(n->text, yes[i]) == 0)
                return *out = true, 0;
            if (strcasecmp(n->text, no[i]) == 0)
                return *out = false, 0;
        }
    if (n->kind == NODE_SCALAR)
        return fail(a, n, "\"%s\": expected true or false, got \"%s\"", setting_name(a, n), n->text);
    return fail(a, n, "\"%s\": expected true or false, got %s", setting_name(a, n), a_kind(n));
}

/* A string or a list of strings, as an array the caller owns (never NULL,
 * even when empty). */
static int want_strlist(apply_ctx *a, const cfg_node *n, char ***out, size_t *nout)
{
    const cfg_node *const *items = (const cfg_node *const *)&n;
    size_t count = 1;
    if (n->kind == NODE_LIST) {
        items = (const cfg_node *const *)n->kids;
        count = n->nkids;
    }
    char **v = calloc(count ? count : 1, sizeof *v);
    if (!v)
        return oom(a, n);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const char *s;
        rc = want_string(a, items[i], &s);
        if (rc == 0 && !(v[i] = strdup(s)))
            rc = oom(a, n);
    }
    if (rc < 0) {
        for (size_t j = 0; j < count; j++)
            free(v[j]);
        free(v);
        return -1;
    }
    *out = v;
    *nout = count;
    return 0;
}

/* ------------------------------------------------------------------ generic setters */

static int set_scalar(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    int64_t v;
    bool b = false;
    const char *s;
    switch (d->type) {
    case T_INT:
        if (want_int(a, n, d->min, d->max, &v) < 0)
            return -1;
        *(int *)field = (int)v;
        return 0;
    case T_SIZE:
        if (want_size(a, n, d->min, d->max, &v) < 0)
            return -1;
        *(size_t *)field = (size_t)v;
        return 0;
    case T_DURATION:
        return want_duration(a, n, d->min, d->max, (int64_t *)field);
    case T_BOOL:
        if (want_bool(a, n, &b) < 0)
            return -1;
        *(bool *)field = b;
        return 0;
    case T_STR:
        if (want_string(a, n, &s) < 0)
            return -1;
        if (!*s)
            return fail(a, n, "\"%s\": must not be empty", d->name);
        return cfg_set_str((char **)field, s) < 0 ? oom(a, n) : 0;
    case T_STRLIST: {
        /* The field holds NULL or a shared default (duplicates were refused
         * before), never something this level owns: forget it. */
        char ***arr = field;
        size_t *cnt = (size_t *)((char *)field - d->off + d->off_n);
        *arr = NULL;
        *cnt = 0;
        return want_strlist(a, n, arr, cnt);
    }
    case T_ENUM:
        if (want_string(a, n, &s) < 0)
            return -1;
        for (int i = 0; d->names[i]; i++)
            if (strcmp(s, d->names[i]) == 0) {
                /* Two-valued enums live in bools: an int store would
                 * overwrite the fields after them. */
                if (d->size == sizeof(bool))
                    *(bool *)field = i != 0;
                else
                    *(int *)field = i;
                return 0;
            }
        {
            char opts[256] = "";
            for (int i = 0; d->names[i]; i++)
                snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s\"%s\"", i ? ", " : "",
                         d->names[i]);
            return fail(a, n, "\"%s\": unknown value \"%s\" (one of %s)", d->name, s, opts);
        }
    case T_CUSTOM:
        break;
    }
    return fail(a, n, "\"%s\": internal error", d->name);
}

/* ------------------------------------------------------------------ custom setters */

static int apply_group(apply_ctx *a, const cfg_node *g, unsigned where);

static int expect_group(apply_ctx *a, const cfg_node *n, const char *what)
{
    if (n->kind != NODE_GROUP)
        return fail(a, n, "\"%s\": expected a group (%s), got %s", setting_name(a, n), what,
                    a_kind(n));
    return 0;
}

/* A group, or a list of groups: calls each(a, item) for every group. */
static int each_group(apply_ctx *a, const cfg_node *n, const char *what,
                      int (*each)(apply_ctx *, const cfg_node *))
{
    if (n->kind == NODE_GROUP)
        return each(a, n);
    if (n->kind != NODE_LIST)
        return fail(a, n, "\"%s\": expected a list of groups (%s), got %s", setting_name(a, n), what,
                    a_kind(n));
    for (size_t i = 0; i < n->nkids; i++)
        if (expect_group(a, n->kids[i], what) < 0 || each(a, n->kids[i]) < 0)
            return -1;
    return 0;
}

/* "file:line", or "file:line:col" when the syntax gives columns (YAML), so
 * cfg_validate's errors read like the ones from here. */
static char *where_of(const cfg_node *n)
{
    char buf[512];
    if (n->col > 0)
        snprintf(buf, sizeof buf, "%s:%d:%d", n->file, n->line, n->col);
    else
        snprintf(buf, sizeof buf, "%s:%d", n->file, n->line);
    return strdup(buf);
}

static int one_listen(apply_ctx *a, const cfg_node *g)
{
    cfg *c = a->c;
    cfg_listen *grown = realloc(c->listens, (c->nlistens + 1) * sizeof *grown);
    if (!grown)
        return oom(a, g);
    c->listens = grown;
    cfg_listen *l = &c->listens[c->nlistens++];
    memset(l, 0, sizeof *l);
    l->backlog = 511;
    l->deferred = true;
    if (!(l->where = where_of(g)) || cfg_set_str(&l->addr, "0.0.0.0") < 0)
        return oom(a, g);
    a->base[B_LISTEN] = l;
    if (apply_group(a, g, X_LISTEN) < 0)
        return -1;
    if (!node_get(g, "port"))
        return fail(a, g, "\"listen\": a listener needs a \"port\"");
    return 0;
}

static int set_listen(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    return each_group(a, n, "address, port, ...", one_listen);
}

static int set_port(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    int64_t v;
    if (want_int(a, n, 1, 65535, &v) < 0)
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
    if (want_string(a, n, &s) < 0)
        return -1;
    if (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1)
        return fail(a, n, "\"address\": \"%s\" is not a numeric IPv4 or IPv6 address", s);
    return cfg_set_str(field, s) < 0 ? oom(a, n) : 0;
}

static int one_location(apply_ctx *a, const cfg_node *g);

static int one_server(apply_ctx *a, const cfg_node *g)
{
    cfg *c = a->c;
    cfg_server *grown = realloc(c->servers, (c->nservers + 1) * sizeof *grown);
    if (!grown)
        return oom(a, g);
    c->servers = grown;
    cfg_server *s = &c->servers[c->nservers++];
    memset(s, 0, sizeof *s);
    cfg_rules_defaults(&s->r);
    if (!(s->where = where_of(g)) || cfg_set_str(&s->access_log, "off") < 0)
        return oom(a, g);
    a->base[B_SERVER] = s;
    a->base[B_RULES] = &s->r;
    return apply_group(a, g, X_SERVER);
}

static int set_servers(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    return each_group(a, n, "names, root, locations, ...", one_server);
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
    if (want_string(a, n, &s) < 0)
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
        return fail(a, n, "\"match\": empty pattern");
    if (l->kind != LOC_REGEX && l->kind != LOC_REGEX_ICASE && *s != '/')
        return fail(a, n, "\"match\": \"%s\" must start with '/' (or use \"~ regex\")", s);
    return cfg_set_str(&l->pattern, s) < 0 ? oom(a, n) : 0;
}

static int one_location(apply_ctx *a, const cfg_node *g)
{
    cfg_server *s = a->base[B_SERVER];
    cfg_location *grown = realloc(s->locs, (s->nlocs + 1) * sizeof *grown);
    if (!grown)
        return oom(a, g);
    s->locs = grown;
    cfg_location *l = &s->locs[s->nlocs++];
    memset(l, 0, sizeof *l);
    l->r.dir = -1;
    if (!(l->where = where_of(g)))
        return oom(a, g);
    if (!node_get(g, "match"))
        return fail(a, g, "\"locations\": a location needs \"match\" (e.g. \"/images/\", \"= /\", \"~ \\\\.png$\")");
    void *saved = a->base[B_RULES];
    a->base[B_LOC] = l;
    a->base[B_RULES] = &l->r;
    int rc = apply_group(a, g, X_LOC);
    a->base[B_RULES] = saved;
    return rc;
}

static int set_locations(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    return each_group(a, n, "match, root, ...", one_location);
}

static int set_workers(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    int64_t v;
    if (n->kind == NODE_SCALAR && strcmp(n->text, "auto") == 0 && n->sc != SC_INT)
        return *(int *)field = 0, 0;
    if (n->kind == NODE_SCALAR && (n->sc == SC_STRING))
        return fail(a, n, "\"workers\": expected a number or \"auto\", got \"%s\"", n->text);
    if (want_int(a, n, 1, 1024, &v) < 0)
        return -1;
    *(int *)field = (int)v;
    return 0;
}

static int set_log_level(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    const char *s;
    if (want_string(a, n, &s) < 0)
        return -1;
    if (log_level_parse(s, field) < 0)
        return fail(a, n, "\"log_level\": unknown level \"%s\" (error, warn, info or debug)", s);
    return 0;
}

static int set_methods(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    static const char *const names[] = { "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH" };
    char **v;
    size_t nv;
    if (want_strlist(a, n, &v, &nv) < 0)
        return -1;
    unsigned m = 0;
    int rc = 0;
    for (size_t i = 0; i < nv; i++) {
        size_t k = 0;
        while (k < EP_ARRAY_LEN(names) && strcmp(v[i], names[k]) != 0)
            k++;
        if (k == EP_ARRAY_LEN(names) && rc == 0)
            rc = fail(a, n, "\"methods\": unknown method \"%s\" (GET, HEAD, OPTIONS, POST, PUT, DELETE, PATCH)",
                      v[i]);
        m |= 1u << k;
    }
    for (size_t i = 0; i < nv; i++)
        free(v[i]);
    free(v);
    if (rc == 0 && nv == 0)
        rc = fail(a, n, "\"methods\": the list is empty");
    *(unsigned *)field = m;
    return rc;
}

static int set_return(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_rules *r = a->base[B_RULES];
    int64_t v;
    if (n->kind == NODE_SCALAR) {
        if (want_int(a, n, 200, 599, &v) < 0)
            return -1;
        r->return_status = (int)v;
    } else {
        if (expect_group(a, n, "status, url or body") < 0 || apply_group(a, n, X_RETURN) < 0)
            return -1;
        if (!node_get(n, "status"))
            return fail(a, n, "\"return\": needs a \"status\"");
    }
    bool redirect = r->return_status >= 300 && r->return_status < 400;
    if (redirect && !(node_get(n, "url")))
        return fail(a, n, "\"return\": status %d needs a \"url\"", r->return_status);
    if (!redirect && node_get(n, "url"))
        return fail(a, n, "\"return\": \"url\" needs a 3xx status, not %d", r->return_status);
    if (redirect && node_get(n, "body"))
        return fail(a, n, "\"return\": a redirect has a \"url\", not a \"body\"");
    return 0;
}

static int set_return_text(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    const char *s;
    if (want_string(a, n, &s) < 0)
        return -1;
    for (const char *p = s; *p; p++)
        if ((*p == '\r' || *p == '\n') && strcmp(d->name, "url") == 0)
            return fail(a, n, "\"url\": must not contain a line break");
    return cfg_set_str(field, s) < 0 ? oom(a, n) : 0;
}

static bool is_tchar(unsigned char ch)
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

static int set_headers(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    /* Headers that framing and validators depend on stay ephttpd's own. */
    static const char *const owned[] = { "content-length", "transfer-encoding", "connection", "date",
                                         "content-range", "keep-alive", "upgrade", "trailer" };
    cfg_rules *r = a->base[B_RULES];
    if (expect_group(a, n, "Header-Name = \"value\"") < 0)
        return -1;
    r->headers = calloc(n->nkids ? n->nkids : 1, sizeof *r->headers);
    if (!r->headers)
        return oom(a, n);
    for (size_t i = 0; i < n->nkids; i++) {
        const cfg_node *h = n->kids[i];
        if (h->kind != NODE_SCALAR || (h->sc != SC_STRING && h->sc != SC_PLAIN))
            return fail(a, h, "\"add_header\": \"%s\": expected a string, got %s", h->name, a_kind(h));
        const char *v = h->text;
        if (!header_name_ok(h->name))
            return fail(a, h, "\"add_header\": \"%s\" is not a header name (letters, digits, '-' "
                        "and '_', starting with a letter)", h->name);
        for (size_t k = 0; k < EP_ARRAY_LEN(owned); k++)
            if (strcasecmp(h->name, owned[k]) == 0)
                return fail(a, h, "\"add_header\": \"%s\" is set by ephttpd itself", h->name);
        for (const char *p = v; *p; p++)
            if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
                return fail(a, h, "\"add_header\": the value of \"%s\" has a control character", h->name);
        cfg_header *e = &r->headers[r->nheaders++];
        if (!(e->name = strdup(h->name)) || !(e->value = strdup(v)))
            return oom(a, h);
    }
    return 0;
}

static int set_expires(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    int64_t ms;
    if (n->kind == NODE_SCALAR && (n->sc == SC_STRING || n->sc == SC_PLAIN) && strcmp(n->text, "off") == 0)
        return *(int64_t *)field = CFG_EXPIRES_OFF, 0;
    if (want_duration(a, n, 0, 10LL * 31536000000LL, &ms) < 0)
        return -1;
    *(int64_t *)field = ms / 1000;
    return 0;
}

static int set_precompressed(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    static const char *const names[] = { NULL, "zstd", "br", "gzip" };
    cfg_rules *r = a->base[B_RULES];
    char **v;
    size_t nv;
    if (want_strlist(a, n, &v, &nv) < 0)
        return -1;
    int rc = 0;
    r->nenc = 0;
    for (size_t i = 0; i < nv && rc == 0; i++) {
        size_t k = 1;
        while (k < EP_ARRAY_LEN(names) && strcmp(v[i], names[k]) != 0)
            k++;
        bool dup = false;
        for (size_t j = 0; j < r->nenc; j++)
            dup |= r->enc[j] == k;
        if (k == EP_ARRAY_LEN(names))
            rc = fail(a, n, "\"precompressed\": unknown encoding \"%s\" (zstd, br or gzip)", v[i]);
        else if (dup)
            rc = fail(a, n, "\"precompressed\": \"%s\" is listed twice", v[i]);
        else
            r->enc[r->nenc++] = (uint8_t)k;
    }
    for (size_t i = 0; i < nv; i++)
        free(v[i]);
    free(v);
    return rc;
}

static int set_access(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_rules *r = a->base[B_RULES];
    char **v;
    size_t nv;
    if (want_strlist(a, n, &v, &nv) < 0)
        return -1;
    int rc = 0;
    r->acl = calloc(nv ? nv : 1, sizeof *r->acl);
    if (!r->acl)
        rc = oom(a, n);
    for (size_t i = 0; i < nv && rc == 0; i++) {
        char cerr[160];
        const char *rest = NULL;
        if (strncmp(v[i], "allow ", 6) == 0)
            rest = v[i] + 6, r->acl[i].allow = true;
        else if (strncmp(v[i], "deny ", 5) == 0)
            rest = v[i] + 5;
        if (!rest)
            rc = fail(a, n, "\"access\": \"%s\" must be \"allow ADDRESS[/BITS]\", \"deny ...\" or \"... all\"", v[i]);
        else if (cidr_parse(rest, &r->acl[i].net, cerr, sizeof cerr) < 0)
            rc = fail(a, n, "\"access\": %s", cerr);
        else
            r->nacl++;
    }
    for (size_t i = 0; i < nv; i++)
        free(v[i]);
    free(v);
    return rc;
}

static int set_codes(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    errpage_tmp *t = a->base[B_ERRPAGE];
    const cfg_node *const *items = (const cfg_node *const *)&n;
    size_t count = 1;
    if (n->kind == NODE_LIST)
        items = (const cfg_node *const *)n->kids, count = n->nkids;
    if (count == 0 || count > EP_ARRAY_LEN(t->codes))
        return fail(a, n, "\"codes\": give 1 to %zu status codes", EP_ARRAY_LEN(t->codes));
    for (size_t i = 0; i < count; i++) {
        int64_t v;
        if (want_int(a, items[i], 400, 599, &v) < 0)
            return -1;
        t->codes[t->ncodes++] = (int)v;
    }
    return 0;
}

static int one_error_page(apply_ctx *a, const cfg_node *g)
{
    cfg_rules *r = a->base[B_RULES];
    errpage_tmp t = { .ncodes = 0 };
    a->base[B_ERRPAGE] = &t;
    int rc = apply_group(a, g, X_ERRPAGE);
    if (rc == 0 && (!t.ncodes || !t.uri))
        rc = fail(a, g, "\"error_page\": needs \"codes\" and \"uri\"");
    if (rc == 0 && t.uri[0] != '/')
        rc = fail(a, g, "\"error_page\": uri \"%s\" must start with '/'", t.uri);
    cfg_error_page *grown = rc ? NULL : realloc(r->error_pages, (r->nerror_pages + t.ncodes) * sizeof *grown);
    if (rc == 0 && !grown)
        rc = oom(a, g);
    for (size_t i = 0; rc == 0 && i < t.ncodes; i++) {
        r->error_pages = grown;
        cfg_error_page *e = &r->error_pages[r->nerror_pages];
        e->status = t.codes[i];
        if (!(e->uri = strdup(t.uri)))
            rc = oom(a, g);
        else
            r->nerror_pages++;
    }
    free(t.uri);
    return rc;
}

static int set_error_pages(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    return each_group(a, n, "codes, uri", one_error_page);
}

static int set_try_files(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    cfg_rules *r = a->base[B_RULES];
    if (set_scalar(a, d, n, field) < 0)
        return -1;
    if (r->ntry_files < 2)
        return fail(a, n, "\"try_files\": give at least one path and a fallback (a URI or \"=404\")");
    for (size_t i = 0; i < r->ntry_files; i++) {
        const char *t = r->try_files[i];
        bool last = i + 1 == r->ntry_files;
        if (t[0] == '=' && last) {
            char *end;
            long code = strtol(t + 1, &end, 10);
            if (*end || code < 200 || code > 599)
                return fail(a, n, "\"try_files\": bad status \"%s\" (=404, =403, ...)", t);
        } else if (t[0] != '/' && t[0] != '$') {
            return fail(a, n, "\"try_files\": \"%s\" must start with '/' or $uri", t);
        }
    }
    return 0;
}

static int set_names(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    cfg_server *s = a->base[B_SERVER];
    if (set_scalar(a, d, n, field) < 0)
        return -1;
    for (size_t i = 0; i < s->nnames; i++) {
        char *name = s->names[i];
        for (char *p = name; *p; p++) {
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
            if (!(is_tchar((unsigned char)*p) || *p == ':' || *p == '[' || *p == ']') || *p == '/')
                return fail(a, n, "\"names\": \"%s\" is not a host name", name);
        }
        /* name + 1 only when there is a name[0]: "" (no Host) is a valid name. */
        if ((name[0] && strchr(name + 1, '*')) || (name[0] == '*' && name[1] != '.'))
            return fail(a, n, "\"names\": \"%s\": only a leading \"*.\" wildcard is supported", name);
    }
    return 0;
}

/* ------------------------------------------------------------------ the table */

#define F(type, field) offsetof(type, field)
#define RULE(n, t, fld, bit) .name = n, .where = X_SERVER | X_LOC, .base = B_RULES, .type = t, \
                             .off = F(cfg_rules, fld), .size = sizeof(((cfg_rules *)0)->fld), .rbit = bit
#define DAY_MS 86400000LL

static const char *const links_names[] = { "within_root", "follow", "off", NULL };
_Static_assert(sizeof(enum file_links) == sizeof(int), "symlinks is stored as an int");
static const char *const offload_names[] = { "auto", "always", NULL };
static const char *const aiformat_names[] = { "html", "json", NULL };

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
    { .name = "shutdown_timeout", .where = X_TOP, .base = B_CFG, .type = T_DURATION,
      .off = F(cfg, shutdown_timeout_ms), .min = 0, .max = DAY_MS },
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
    { .name = "mime_types", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, mime_types) },
    { .name = "default_type", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, default_type) },
    { .name = "error_log", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, error_log) },
    { .name = "log_level", .where = X_TOP, .base = B_CFG, .type = T_CUSTOM, .off = F(cfg, log_level),
      .set = set_log_level },
    { .name = "pid_file", .where = X_TOP, .base = B_CFG, .type = T_STR, .off = F(cfg, pid_file) },
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
    /* a server */
    { .name = "names", .where = X_SERVER, .base = B_SERVER, .type = T_STRLIST, .off = F(cfg_server, names),
      .off_n = F(cfg_server, nnames), .set = set_names },
    { .name = "listen_on", .where = X_SERVER, .base = B_SERVER, .type = T_STRLIST,
      .off = F(cfg_server, listen_refs), .off_n = F(cfg_server, nlisten_refs) },
    { .name = "access_log", .where = X_SERVER, .base = B_SERVER, .type = T_STR,
      .off = F(cfg_server, access_log) },
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
    { RULE("methods", T_CUSTOM, methods, R_METHODS), .set = set_methods },
    { RULE("return", T_CUSTOM, return_status, R_RETURN), .set = set_return },
    { RULE("add_header", T_CUSTOM, headers, R_HEADERS), .set = set_headers },
    { RULE("expires", T_CUSTOM, expires, R_EXPIRES), .set = set_expires },
    { RULE("etag", T_BOOL, etag, R_ETAG) },
    { RULE("precompressed", T_CUSTOM, enc, R_PRECOMPRESSED), .set = set_precompressed },
    { RULE("access", T_CUSTOM, acl, R_ACCESS), .set = set_access },
    { RULE("error_page", T_CUSTOM, error_pages, R_ERROR_PAGES), .set = set_error_pages },
    { RULE("try_files", T_STRLIST, try_files, R_TRY_FILES), .off_n = F(cfg_rules, ntry_files),
      .set = set_try_files },
    { RULE("symlinks", T_ENUM, links, R_LINKS), .names = links_names },
    { RULE("offload", T_ENUM, offload_always, R_OFFLOAD), .names = offload_names },
    { RULE("sendfile_chunk", T_SIZE, sendfile_chunk, R_SENDFILE_CHUNK), .min = 4096, .max = 1 << 30 },
    /* inside return = { ... } */
    { .name = "status", .where = X_RETURN, .base = B_RULES, .type = T_INT,
      .off = F(cfg_rules, return_status), .min = 200, .max = 599 },
    { .name = "url", .where = X_RETURN, .base = B_RULES, .type = T_CUSTOM,
      .off = F(cfg_rules, return_text), .set = set_return_text },
    { .name = "body", .where = X_RETURN, .base = B_RULES, .type = T_CUSTOM,
      .off = F(cfg_rules, return_text), .set = set_return_text },
    /* inside error_page = ( { ... } ) */
    { .name = "codes", .where = X_ERRPAGE, .base = B_ERRPAGE, .type = T_CUSTOM, .set = set_codes },
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
        for (unsigned w = 1; w <= X_ERRPAGE; w <<= 1)
            if (d->where & w)
                snprintf(places + strlen(places), sizeof places - strlen(places), "%s%s",
                         places[0] ? ", " : "", where_name(w));
        return fail(a, n, "\"%s\" is not allowed in %s (only in %s)", n->name, where_name(where), places);
    }
    const char *s = conf_suggest(n->name);
    if (s)
        return fail(a, n, "unknown setting \"%s\" in %s; did you mean \"%s\"?", n->name, where_name(where), s);
    return fail(a, n, "unknown setting \"%s\" in %s", n->name, where_name(where));
}

static int apply_group(apply_ctx *a, const cfg_node *g, unsigned where)
{
    for (size_t i = 0; i < g->nkids; i++) {
        const cfg_node *n = g->kids[i];
        if (!n->name)
            return fail(a, n, "unnamed value in a group");
        const directive *d = find(n->name, where);
        if (!d || !(d->where & where))
            return unknown(a, n, where);
        for (size_t j = 0; j < i && !d->multi; j++)
            if (strcmp(g->kids[j]->name, n->name) == 0) {
                char *first = where_of(g->kids[j]);
                fail(a, n, "\"%s\" is set twice (first at %s)", n->name, first ? first : "?");
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
        int rc = d->set ? d->set(a, d, n, field) : set_scalar(a, d, n, field);
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
        return fail(&a, root, "the configuration must be a group of settings");
    /* The file's listeners and servers replace the command-line defaults. */
    if (node_get(root, "listen")) {
        for (size_t i = 0; i < c->nlistens; i++)
            free(c->listens[i].addr), free(c->listens[i].where), free(c->listens[i].default_name);
        c->nlistens = 0;
    }
    cfg_free_servers(c);
    return apply_group(&a, root, X_TOP);
}

cfg *conf_read(const char *path, char *err, size_t errlen)
{
    node_doc d;
    node_doc_init(&d);
    cfg *c = NULL;
    if (conf_load_file(&d, path, err, errlen) < 0) {
        one_line(err, errlen);
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
        one_line(err, errlen); /* cfg_validate quotes paths and patterns too */
        cfg_free(c);
        c = NULL;
    }
out:
    node_doc_free(&d);
    return c;
}
