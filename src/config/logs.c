/* config/logs.c: log_formats and access_log (a path, "off", or a list of { path, format, min_status }): reading, checking, compiling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/directive.h"
#include "config/logs.h"
#include "log/format.h"
#include "log/target.h"

const char *const cfg_escape_names[4] = { "default", "json", "none", NULL };
_Static_assert(LF_ESC_DEFAULT == 0 && LF_ESC_JSON == 1 && LF_ESC_NONE == 2, "cfg_escape_names follows lf_escape");

static void alogs_free(cfg_alog *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].format);
        free(v[i].where);
    }
    free(v);
}

void cfg_alogs_free(cfg_rules *r)
{
    alogs_free(r->alogs, r->nalogs);
    r->alogs = NULL;
    r->nalogs = 0;
}

int cfg_alog_set(cfg_rules *r, const char *path)
{
    cfg_alog *a = NULL;
    if (strcmp(path, "off") != 0 && (!(a = calloc(1, sizeof *a)) || !(a->path = strdup(path)))) {
        free(a);
        return -1;
    }
    if (r->set & R_ACCESS_LOG)
        cfg_alogs_free(r);
    r->alogs = a;
    r->nalogs = a != NULL;
    r->set |= R_ACCESS_LOG;
    return 0;
}

static int one_alog(apply_ctx *a, const cfg_node *g)
{
    cfg_rules *r = a->base[B_RULES];
    cfg_alog t = { 0 };
    a->base[B_ALOG] = &t;
    int rc = dir_apply_group(a, g, X_ALOG);
    if (rc == 0 && !t.path)
        rc = dir_fail(a, g, "\"access_log\": each entry needs a \"path\"");
    if (rc == 0 && strcmp(t.path, "off") == 0)
        rc = dir_fail(a, g, "\"access_log\": \"off\" is the whole setting (access_log = \"off\";), not an entry");
    cfg_alog *grown = rc ? NULL : realloc(r->alogs, (r->nalogs + 1) * sizeof *grown);
    if (rc == 0 && (!grown || !(t.where = dir_where(g))))
        rc = dir_oom(a, g);
    if (rc) {
        free(t.path), free(t.format), free(t.where);
        return rc;
    }
    r->alogs = grown;
    r->alogs[r->nalogs++] = t;
    return 0;
}

int rule_access_log(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    cfg_rules *r = a->base[B_RULES];
    r->alogs = NULL; /* this level's own, from nothing */
    r->nalogs = 0;
    if (n->kind == NODE_SCALAR) {
        const char *s;
        if (dir_want_string(a, n, &s) < 0)
            return -1;
        if (!*s)
            return dir_fail(a, n, "\"access_log\": an empty path (\"off\" turns it off)");
        if (cfg_alog_set(r, s) < 0 || (r->nalogs && !(r->alogs[0].where = dir_where(n))))
            return dir_oom(a, n);
        return 0;
    }
    return dir_each_group(a, n, "path, format, min_status", one_alog);
}

static int one_format(apply_ctx *a, const cfg_node *g)
{
    cfg *c = a->c;
    cfg_log_format t = { 0 };
    a->base[B_LOGFMT] = &t;
    int rc = dir_apply_group(a, g, X_LOGFMT);
    if (rc == 0 && (!t.name || !t.format))
        rc = dir_fail(a, g, "\"log_formats\": each entry needs a \"name\" and a \"format\"");
    if (rc == 0 && (!t.name[0] || strcmp(t.name, "combined") == 0))
        rc = dir_fail(a, g, "\"log_formats\": \"%s\" is %s", t.name,
                      t.name[0] ? "the built-in format's name" : "not a name");
    for (size_t i = 0; rc == 0 && i < c->nlog_formats; i++)
        if (strcmp(c->log_formats[i].name, t.name) == 0)
            rc = dir_fail(a, g, "\"log_formats\": \"%s\" is defined twice (first at %s)", t.name,
                          c->log_formats[i].where ? c->log_formats[i].where : "?");
    cfg_log_format *grown = rc ? NULL : realloc(c->log_formats, (c->nlog_formats + 1) * sizeof *grown);
    if (rc == 0 && (!grown || !(t.where = dir_where(g))))
        rc = dir_oom(a, g);
    if (rc) {
        free(t.name), free(t.format), free(t.where);
        return rc;
    }
    c->log_formats = grown;
    c->log_formats[c->nlog_formats++] = t;
    return 0;
}

int set_log_formats(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d, (void)field;
    return dir_each_group(a, n, "name, format, escape", one_format);
}

void cfg_log_formats_free(cfg *c)
{
    for (size_t i = 0; i < c->nlog_formats; i++) {
        cfg_log_format *f = &c->log_formats[i];
        free(f->name), free(f->format), free(f->where);
        if (f->fmt)
            lf_free(f->fmt);
        free(f->fmt);
    }
    free(c->log_formats);
    c->log_formats = NULL;
    c->nlog_formats = 0;
}

/* "combined" first, then every format compiled: an unknown variable is the
 * format's file and line. */
static int compile_formats(cfg *c, char *err, size_t errlen)
{
    cfg_log_format *grown = realloc(c->log_formats, (c->nlog_formats + 1) * sizeof *grown);
    if (!grown)
        goto nomem;
    c->log_formats = grown;
    memmove(grown + 1, grown, c->nlog_formats * sizeof *grown);
    grown[0] = (cfg_log_format){ .name = strdup("combined"), .format = strdup(LF_COMBINED) };
    c->nlog_formats++;
    if (!grown[0].name || !grown[0].format)
        goto nomem;
    for (size_t i = 0; i < c->nlog_formats; i++) {
        cfg_log_format *f = &c->log_formats[i];
        char why[256];
        if (!(f->fmt = calloc(1, sizeof *f->fmt)))
            goto nomem;
        if (lf_compile(f->fmt, f->format, (enum lf_escape)f->escape, why, sizeof why) < 0) {
            free(f->fmt);
            f->fmt = NULL;
            snprintf(err, errlen, "%s%s\"log_formats\" \"%s\": %s", f->where ? f->where : "", f->where ? ": " : "",
                     f->name, why);
            return -1;
        }
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Each place's own logs name formats that exist. */
static int resolve(cfg *c, cfg_rules *r, char *err, size_t errlen)
{
    if (!(r->set & R_ACCESS_LOG))
        return 0;
    for (size_t i = 0; i < r->nalogs; i++) {
        cfg_alog *l = &r->alogs[i];
        slog_target t;
        char why[256] = "the journal is for the error log; access logs go to a file or \"syslog:...\"";
        if ((slog_is(l->path) && slog_parse(l->path, &t, why, sizeof why) < 0) || journal_is(l->path)) {
            snprintf(err, errlen, "%s%s\"access_log\" \"%s\": %s", l->where ? l->where : "", l->where ? ": " : "",
                     l->path, why);
            return -1;
        }
        const char *want = l->format ? l->format : "combined";
        size_t k = 0;
        while (k < c->nlog_formats && strcmp(c->log_formats[k].name, want) != 0)
            k++;
        if (k == c->nlog_formats) {
            snprintf(err, errlen, "%s%s\"access_log\": unknown format \"%s\" (not in \"log_formats\")",
                     l->where ? l->where : "", l->where ? ": " : "", want);
            return -1;
        }
        l->fmt = k;
    }
    if (r->nalogs)
        r->alogs[0].set = c->nalog_sets++;
    return 0;
}

int cfg_check_logs(cfg *c, char *err, size_t errlen)
{
    slog_target t;
    char why[256] = "syslog is for access logs; the error log goes to a file, \"-\" or \"journald\"";
    if ((journal_is(c->error_log) && slog_parse(c->error_log, &t, why, sizeof why) < 0) || slog_is(c->error_log)) {
        snprintf(err, errlen, "%s%s\"error_log\" \"%s\": %s", c->source ? c->source : "", c->source ? ": " : "",
                 c->error_log, why);
        return -1;
    }
    if (compile_formats(c, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < c->nservers; i++) {
        cfg_server *s = &c->servers[i];
        if (resolve(c, &s->r, err, errlen) < 0)
            return -1;
        for (size_t j = 0; j < s->nlocs; j++)
            if (resolve(c, &s->locs[j].r, err, errlen) < 0)
                return -1;
    }
    return 0;
}
