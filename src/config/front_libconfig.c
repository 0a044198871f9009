/* config/front_libconfig.c: libconfig text to the neutral node tree (config/node.h). */
#include "config/front.h"
#include "config/lc_diag.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    node_doc *d;
    const char *file; /* the top text's name, interned */
    const char *dir;  /* file up to its last '/', or NULL when it has none */
    size_t dirlen;    /* including that '/' */
    char *err;
    size_t errlen;
} lc_ctx;

static void lc_err(lc_ctx *c, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lc_err(lc_ctx *c, const char *file, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(c->err, c->errlen, "%s:%d: %s", file, line, msg);
    else
        snprintf(c->err, c->errlen, "%s: %s", file, msg);
}

/* The interned name of the file a setting (or error) came from. libconfig
 * reports NULL for the top text, and for its own @include the name as
 * written, which it opened relative to the include dir: prefix that dir so
 * the name works from here (later includes resolve against it). */
static const char *lc_file(lc_ctx *c, const char *src)
{
    if (!src)
        return c->file;
    if (src[0] == '/' || !c->dir)
        return node_intern_file(c->d, src);
    size_t n = strlen(src);
    char *full = malloc(c->dirlen + n + 1);
    if (!full)
        return NULL;
    memcpy(full, c->dir, c->dirlen);
    memcpy(full + c->dirlen, src, n + 1);
    const char *interned = node_intern_file(c->d, full);
    free(full);
    return interned;
}

/* Shortest "%.*g" text that reads back as exactly v (17 digits always do). */
static void fmt_double(char *buf, size_t size, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* A scalar setting as a node; NULL on OOM or a setting without a value. */
static cfg_node *lc_scalar(const config_setting_t *s, const char *file, int line)
{
    char buf[64];
    const char *text = buf;
    node_scalar sc;

    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
        snprintf(buf, sizeof buf, "%d", config_setting_get_int(s));
        sc = SC_INT;
        break;
    case CONFIG_TYPE_INT64:
        snprintf(buf, sizeof buf, "%lld", config_setting_get_int64(s));
        sc = SC_INT;
        break;
    case CONFIG_TYPE_FLOAT:
        fmt_double(buf, sizeof buf, config_setting_get_float(s));
        sc = SC_FLOAT;
        break;
    case CONFIG_TYPE_BOOL:
        text = config_setting_get_bool(s) ? "true" : "false";
        sc = SC_BOOL;
        break;
    case CONFIG_TYPE_STRING:
        text = config_setting_get_string(s);
        if (!text)
            text = "";
        sc = SC_STRING;
        break;
    default:
        return NULL;
    }
    return node_new_scalar(sc, config_setting_name(s), text, strlen(text), file, line, 0);
}

static cfg_node *lc_convert(lc_ctx *c, const config_setting_t *s, int depth)
{
    const char *file = lc_file(c, config_setting_source_file(s));
    int line = (int)config_setting_source_line(s);
    cfg_node *n;

    if (line < 1)
        line = 1; /* the root group has line 0 */
    if (!file) {
        lc_err(c, c->file, 0, "out of memory");
        return NULL;
    }
    if (!config_setting_is_aggregate(s)) {
        n = lc_scalar(s, file, line);
        if (!n)
            lc_err(c, file, line, config_setting_type(s) == CONFIG_TYPE_NONE
                                      ? "setting without a value" : "out of memory");
        return n;
    }
    if (depth >= FRONT_MAX_DEPTH) {
        lc_err(c, file, line, "nesting deeper than %d levels", FRONT_MAX_DEPTH);
        return NULL;
    }
    n = node_new(config_setting_is_group(s) ? NODE_GROUP : NODE_LIST, config_setting_name(s),
                 file, line, 0);
    if (!n) {
        lc_err(c, file, line, "out of memory");
        return NULL;
    }
    int len = config_setting_length(s);
    for (int i = 0; i < len; i++) {
        cfg_node *kid = lc_convert(c, config_setting_get_elem(s, (unsigned)i), depth + 1);
        if (!kid || node_add(n, kid) != 0) {
            if (kid) {
                node_free(kid);
                lc_err(c, file, line, "out of memory");
            }
            node_free(n);
            return NULL;
        }
    }
    return n;
}

/* libconfig reads C strings: a NUL would silently end the text early. */
static bool lc_check_nul(lc_ctx *c, const char *text, size_t len)
{
    const char *nul = memchr(text, '\0', len);
    if (!nul)
        return true;
    int line = 1;
    for (const char *p = text; p < nul; p++)
        line += *p == '\n';
    lc_err(c, c->file, line, "contains a NUL byte");
    return false;
}

/* libconfig's own words are "syntax error" and the line it had reached,
 * often past the mistake; lc_diagnose says what and where when it can. Its
 * other errors (duplicate setting name, mismatched element type in array,
 * cannot open include file) name the right line already. */
static void lc_syntax_error(lc_ctx *c, const config_t *cfg, const char *text)
{
    const char *src = config_error_file(cfg), *etext = config_error_text(cfg);
    const char *efile = lc_file(c, src);
    int line = config_error_line(cfg) > 0 ? config_error_line(cfg) : 1;
    char msg[224];

    if (!efile)
        efile = c->file;
    if (!etext)
        etext = "syntax error";
    if (strcmp(etext, "syntax error") != 0) {
        lc_err(c, efile, line, "%s", etext);
        return;
    }
    /* An error in a file of libconfig's own @include: not text we have. */
    int at = src ? 0 : lc_diagnose(text, line, msg, sizeof msg);
    if (at > 0)
        lc_err(c, efile, at, "%s", msg);
    else
        lc_err(c, efile, line, "syntax error on this line or shortly before it");
}

static cfg_node *lc_parse(lc_ctx *c, config_t *cfg, const char *text)
{
    if (c->dir) {
        /* The include dir is a C string: the dir without its '/', or "/". */
        char *dir = strndup(c->dir, c->dirlen > 1 ? c->dirlen - 1 : 1);
        if (!dir) {
            lc_err(c, c->file, 0, "out of memory");
            return NULL;
        }
        config_set_include_dir(cfg, dir);
        free(dir);
    }
    if (!config_read_string(cfg, text)) {
        lc_syntax_error(c, cfg, text);
        return NULL;
    }
    return lc_convert(c, config_root_setting(cfg), 0);
}

cfg_node *front_libconfig_parse(node_doc *d, const char *text, size_t len, const char *file,
                                char *err, size_t errlen)
{
    lc_ctx c = { .d = d, .err = err, .errlen = errlen };
    const char *slash = strrchr(file, '/');
    cfg_node *root = NULL;

    if (errlen)
        err[0] = '\0';
    c.file = node_intern_file(d, file);
    if (!c.file) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    if (slash) {
        c.dir = c.file;
        c.dirlen = (size_t)(slash - file) + 1;
    }
    if (!lc_check_nul(&c, text, len))
        return NULL;
    char *copy = strndup(text, len);
    if (!copy) {
        lc_err(&c, c.file, 0, "out of memory");
        return NULL;
    }
    config_t cfg;
    config_init(&cfg);
    root = lc_parse(&c, &cfg, copy);
    config_destroy(&cfg);
    free(copy);
    return root;
}
