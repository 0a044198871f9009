/* config/values.c: typed values (integers, sizes, durations, booleans, strings, lists) read from config nodes, and the one-line errors. */
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

/* Values quoted in messages come from the file and may hold a line break
 * (a quoted YAML scalar can); the message must stay one line, so control
 * characters are written as \n, \t, \r or \xNN (cut to size). */
void dir_one_line(char *s, size_t size)
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

int dir_fail(apply_ctx *a, const cfg_node *n,
                                                      const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    node_error(a->err, a->errlen, n->file, n->line, n->col, msg);
    dir_one_line(a->err, a->errlen);
    return -1;
}

int dir_oom(apply_ctx *a, const cfg_node *n)
{
    return dir_fail(a, n, "out of memory");
}

/* The setting an error is about: a list item has no name of its own, so it
 * borrows the name of the setting being applied. */
const char *dir_name(const apply_ctx *a, const cfg_node *n)
{
    return n->name ? n->name : a->setting ? a->setting : "list item";
}

/* "a string", "an integer", ... for "got ..." in messages. */
const char *dir_kind(const cfg_node *n)
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
int dir_want_string(apply_ctx *a, const cfg_node *n, const char **out)
{
    *out = "";
    if (n->kind != NODE_SCALAR || (n->sc != SC_STRING && n->sc != SC_PLAIN))
        return dir_fail(a, n, "\"%s\": expected a string, got %s", dir_name(a, n), dir_kind(n));
    *out = n->text;
    return 0;
}

/* An integer as either syntax writes one: [-+]?[0-9]+, or 0[xX][0-9a-fA-F]+
 * (unsigned, as libconfig reads hex); a libconfig literal (SC_INT) may end
 * in its L or LL (64 bits), which YAML has no use for. The node keeps the
 * text as written, so that a message can quote it so. */
typedef enum { INT_OK, INT_RANGE, INT_NOT, INT_SUFFIX } int_form;

static int_form read_int(const cfg_node *n, long long *out)
{
    const char *p = n->text;
    size_t len = strlen(p), suffix = 0;
    unsigned base = 10;
    bool neg = false;
    uint64_t v = 0;

    *out = 0;
    while (suffix < 2 && len > suffix && p[len - suffix - 1] == 'L')
        suffix++;
    len -= suffix;
    if (len > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2, len -= 2;
    else if (len > 0 && (*p == '-' || *p == '+'))
        neg = *p == '-', p++, len--;
    if (len == 0)
        return INT_NOT;
    bool range = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        unsigned dig = ch >= '0' && ch <= '9' ? ch - '0'
                       : base == 16 && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                       : base == 16 && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : 99;
        if (dig >= base)
            return INT_NOT;
        if (v > (UINT64_MAX - dig) / base)
            range = true; /* keep going: "1...1x" is not a number at all */
        else
            v = v * base + dig;
    }
    if (suffix && n->sc != SC_INT)
        return INT_SUFFIX;
    if (range || v > (uint64_t)INT64_MAX + neg)
        return INT_RANGE;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return INT_OK;
}

/* Is n an integer, written as either syntax writes one (YAML's with a
 * stray L included, so that the message can say why)? */
static bool is_int_node(const cfg_node *n)
{
    long long v;
    return n->kind == NODE_SCALAR && (n->sc == SC_INT || (n->sc == SC_PLAIN && read_int(n, &v) != INT_NOT));
}

/* dir_want_int, with the unit of the range in its message (" bytes"). */
static int want_int(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out,
                    const char *unit)
{
    long long v;
    *out = 0;
    if (n->kind != NODE_SCALAR || (n->sc != SC_INT && n->sc != SC_PLAIN))
        return dir_fail(a, n, "\"%s\": expected an integer, got %s", dir_name(a, n), dir_kind(n));
    switch (read_int(n, &v)) {
    case INT_OK:
        if (v >= min && v <= max)
            break;
        /* fall through */
    case INT_RANGE:
        /* Quoted as written (0x80000000, 2147483648L), not as read. */
        return dir_fail(a, n, "\"%s\": %s is out of range (%lld to %lld%s)", dir_name(a, n), n->text,
                        (long long)min, (long long)max, unit);
    case INT_SUFFIX:
        return dir_fail(a, n, "\"%s\": expected an integer, got \"%s\" (L is libconfig's 64-bit "
                        "suffix; a YAML integer has none)", dir_name(a, n), n->text);
    case INT_NOT:
        return dir_fail(a, n, "\"%s\": expected an integer, got \"%s\"", dir_name(a, n), n->text);
    }
    *out = v;
    return 0;
}

int dir_want_int(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out)
{
    return want_int(a, n, min, max, out, "");
}

/* Sizes: a byte count, or a number with k, m or g (powers of 1024). */
int dir_want_size(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out)
{
    /* A number is read as one, whatever the syntax, so that both say the
     * same of -1 or of one beyond 64 bits. */
    if (is_int_node(n))
        return want_int(a, n, min, max, out, " bytes");
    if (n->kind != NODE_SCALAR || (n->sc != SC_STRING && n->sc != SC_PLAIN))
        return dir_fail(a, n, "\"%s\": expected a size, got %s", dir_name(a, n), dir_kind(n));
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
    if ((errno && errno != ERANGE) || end == n->text || n->text[0] < '0' || n->text[0] > '9' ||
        (shift && end[1]) || (!shift && *end))
        return dir_fail(a, n, "\"%s\": bad size \"%s\" (use bytes, or a number with k, m or g)",
                    dir_name(a, n), n->text);
    if (errno == ERANGE || v > (unsigned long long)max >> shift || (int64_t)(v << shift) < min)
        return dir_fail(a, n, "\"%s\": %s is out of range (%lld to %lld bytes)", dir_name(a, n), n->text,
                    (long long)min, (long long)max);
    *out = (int64_t)(v << shift);
    return 0;
}

/* Durations: seconds as an integer, or "500ms", "10s", "2m", "1h", "30d". */
int dir_want_duration(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out)
{
    if (n->kind != NODE_SCALAR || n->sc == SC_BOOL || n->sc == SC_FLOAT)
        return dir_fail(a, n, "\"%s\": expected a duration, got %s", dir_name(a, n), dir_kind(n));
    long long secs;
    int_form form = is_int_node(n) ? read_int(n, &secs) : INT_NOT;
    if (form == INT_SUFFIX)
        return want_int(a, n, 0, max / 1000, out, "s"); /* says why */
    if (form == INT_OK && secs >= 0 && secs <= max / 1000)
        *out = secs * 1000; /* seconds, in hex too, as an integer setting takes them */
    else if (form != INT_NOT || time_parse_duration(n->text, max, out) < 0)
        return dir_fail(a, n, "\"%s\": bad duration \"%s\" (use seconds, or 500ms, 10s, 2m, 1h, 30d; at most %llds)",
                    dir_name(a, n), n->text, (long long)(max / 1000));
    if (*out < min)
        return dir_fail(a, n, "\"%s\": %s is too short (at least %lldms)", dir_name(a, n), n->text,
                    (long long)min);
    return 0;
}

int dir_want_bool(apply_ctx *a, const cfg_node *n, bool *out)
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
        return dir_fail(a, n, "\"%s\": expected true or false, got \"%s\"", dir_name(a, n), n->text);
    return dir_fail(a, n, "\"%s\": expected true or false, got %s", dir_name(a, n), dir_kind(n));
}

/* A string or a list of strings, as an array the caller owns (never NULL,
 * even when empty). */
int dir_want_strlist(apply_ctx *a, const cfg_node *n, char ***out, size_t *nout)
{
    const cfg_node *const *items = (const cfg_node *const *)&n;
    size_t count = 1;
    if (n->kind == NODE_LIST) {
        items = (const cfg_node *const *)n->kids;
        count = n->nkids;
    }
    char **v = calloc(count ? count : 1, sizeof *v);
    if (!v)
        return dir_oom(a, n);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const char *s;
        rc = dir_want_string(a, items[i], &s);
        if (rc == 0 && !(v[i] = strdup(s)))
            rc = dir_oom(a, n);
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

int dir_set_scalar(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    int64_t v;
    bool b = false;
    const char *s;
    switch (d->type) {
    case T_INT:
        if (dir_want_int(a, n, d->min, d->max, &v) < 0)
            return -1;
        *(int *)field = (int)v;
        return 0;
    case T_SIZE:
        if (dir_want_size(a, n, d->min, d->max, &v) < 0)
            return -1;
        *(size_t *)field = (size_t)v;
        return 0;
    case T_DURATION:
        return dir_want_duration(a, n, d->min, d->max, (int64_t *)field);
    case T_BOOL:
        if (dir_want_bool(a, n, &b) < 0)
            return -1;
        *(bool *)field = b;
        return 0;
    case T_STR:
        if (dir_want_string(a, n, &s) < 0)
            return -1;
        if (!*s)
            return dir_fail(a, n, "\"%s\": must not be empty", d->name);
        return cfg_set_str((char **)field, s) < 0 ? dir_oom(a, n) : 0;
    case T_STRLIST: {
        /* The field holds NULL or a shared default (duplicates were refused
         * before), never something this level owns: forget it. */
        char ***arr = field;
        size_t *cnt = (size_t *)((char *)field - d->off + d->off_n);
        *arr = NULL;
        *cnt = 0;
        return dir_want_strlist(a, n, arr, cnt);
    }
    case T_ENUM:
        if (dir_want_string(a, n, &s) < 0)
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
            return dir_fail(a, n, "\"%s\": unknown value \"%s\" (one of %s)", d->name, s, opts);
        }
    case T_CUSTOM:
        break;
    }
    return dir_fail(a, n, "\"%s\": internal error", d->name);
}
