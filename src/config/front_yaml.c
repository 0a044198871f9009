/* config/front_yaml.c: YAML text to the neutral node tree (config/node.h), from libyaml's event stream. */
#include "config/front.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define Y_STR2(x) #x
#define Y_STR(x) Y_STR2(x)

/* An open mapping or sequence. Built with an explicit stack rather than
 * recursion so that hostile nesting costs an error, not the C stack. */
typedef struct {
    cfg_node *n;
    char *anchor; /* registered only when the node closes: an alias inside
                   * its own anchored node must not copy a half-built tree */
    char *key;    /* mapping only: a key waiting for its value */
    int kline, kcol;
} y_frame;

typedef struct {
    char *name;
    const cfg_node *n; /* owned by the tree being built */
} y_anchor;

typedef struct {
    node_doc *d;
    const char *file; /* interned */
    const char *text;
    size_t len;
    char *err;
    size_t errlen;
    cfg_node *root;
    y_frame stack[FRONT_MAX_DEPTH];
    int depth;
    y_anchor *anchors;
    size_t nanchors, capanchors;
    size_t nodes; /* made so far, alias copies included */
    int docs;
    const char *why; /* why y_budget or y_copy stopped */
} y_ctx;

static int y_fail(y_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int y_fail(y_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    node_error(c->err, c->errlen, c->file, (int)m->line + 1, (int)m->column + 1, msg);
    return -1;
}

static int y_oom(y_ctx *c, const yaml_mark_t *m)
{
    return y_fail(c, m, "out of memory");
}

/* Counts one more node against the budget that stops alias bombs. */
static bool y_budget(y_ctx *c)
{
    if (c->nodes >= FRONT_MAX_NODES) {
        c->why = "more than " Y_STR(FRONT_MAX_NODES) " nodes (alias expansion?)";
        return false;
    }
    c->nodes++;
    return true;
}

static int y_clamp(size_t v)
{
    return v >= (size_t)1 << 30 ? 1 << 30 : (int)v;
}

static cfg_node *y_copy(y_ctx *c, const cfg_node *src, const char *name, int line, int col,
                        int depth)
{
    cfg_node *n;

    if (src->kind != NODE_SCALAR && depth >= FRONT_MAX_DEPTH) {
        c->why = "nesting too deep after alias expansion";
        return NULL;
    }
    if (!y_budget(c))
        return NULL;
    if (src->kind == NODE_SCALAR)
        n = node_new_scalar(src->sc, name, src->text, strlen(src->text), src->file, line, col);
    else
        n = node_new(src->kind, name, src->file, line, col);
    if (!n) {
        c->why = "out of memory";
        return NULL;
    }
    for (size_t i = 0; i < src->nkids; i++) {
        const cfg_node *k = src->kids[i];
        cfg_node *kid = y_copy(c, k, k->name, k->line, k->col, depth + 1);
        if (kid && node_add(n, kid) != 0) {
            node_free(kid);
            kid = NULL;
            c->why = "out of memory";
        }
        if (!kid) {
            node_free(n);
            return NULL;
        }
    }
    return n;
}

static const y_anchor *y_find_anchor(const y_ctx *c, const char *name)
{
    /* From the end: a redefined anchor means its latest node. */
    for (size_t i = c->nanchors; i-- > 0;)
        if (strcmp(c->anchors[i].name, name) == 0)
            return &c->anchors[i];
    return NULL;
}

/* Takes anchor (malloc'd) in every case. */
static int y_add_anchor(y_ctx *c, char *anchor, const cfg_node *n, const yaml_mark_t *m)
{
    if (c->nanchors == c->capanchors) {
        size_t cap = c->capanchors ? c->capanchors * 2 : 8;
        y_anchor *grown = realloc(c->anchors, cap * sizeof *grown);
        if (!grown) {
            free(anchor);
            return y_oom(c, m);
        }
        c->anchors = grown;
        c->capanchors = cap;
    }
    c->anchors[c->nanchors++] = (y_anchor){ anchor, n };
    return 0;
}

/* Name and position for a value about to be added under the top frame;
 * the waiting key (if any) moves to *name, which the caller frees. */
static void y_slot(y_ctx *c, const yaml_mark_t *m, char **name, int *line, int *col)
{
    y_frame *f = &c->stack[c->depth - 1];

    *name = f->key;
    if (f->key) {
        *line = f->kline;
        *col = f->kcol;
        f->key = NULL;
    } else {
        *line = y_clamp(m->line + 1);
        *col = y_clamp(m->column + 1);
    }
}

/* Adds a new value node n (NULL: allocation failed) to the top frame. */
static int y_attach(y_ctx *c, cfg_node *n, const yaml_mark_t *m)
{
    if (!n)
        return y_oom(c, m);
    if (node_add(c->stack[c->depth - 1].n, n) != 0) {
        node_free(n);
        return y_oom(c, m);
    }
    return 0;
}

static bool y_key_expected(const y_ctx *c)
{
    const y_frame *f = &c->stack[c->depth - 1];
    return f->n->kind == NODE_GROUP && !f->key;
}

static int y_set_key(y_ctx *c, const char *text, size_t len, const yaml_mark_t *m)
{
    y_frame *f = &c->stack[c->depth - 1];

    f->key = strndup(text, len);
    if (!f->key)
        return y_oom(c, m);
    f->kline = y_clamp(m->line + 1);
    f->kcol = y_clamp(m->column + 1);
    return 0;
}

static bool y_is_string_tag(const yaml_char_t *tag)
{
    /* "!!str", or the non-specific "!" which YAML resolves to a string. */
    return tag && (strcmp((const char *)tag, YAML_STR_TAG) == 0 ||
                   strcmp((const char *)tag, "!") == 0);
}

static int y_scalar(y_ctx *c, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const yaml_mark_t *m = &ev->start_mark;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

    if (memchr(text, '\0', len))
        return y_fail(c, m, "a NUL character in a scalar");
    if (c->depth == 0) {
        if (plain && len == 0)
            return 0; /* an empty document: the root stays an empty group */
        return y_fail(c, m, "the top level must be a mapping, not a scalar");
    }
    if (y_key_expected(c)) {
        /* A key is a name, not a node an alias could copy. */
        if (ev->data.scalar.anchor)
            return y_fail(c, m, "an anchor on a mapping key is not supported");
        /* YAML 1.1's merge key: silently taking "<<" as a setting name
         * would only say "unknown setting" of what the user meant. */
        if (plain && len == 2 && memcmp(text, "<<", 2) == 0)
            return y_fail(c, m, "YAML merge keys (<<) are not supported; repeat the settings, or "
                          "alias a whole group (add_header: *common)");
        return y_set_key(c, text, len, m);
    }
    if (!y_budget(c))
        return y_fail(c, m, "%s", c->why);

    char *name;
    int line, col;
    y_slot(c, m, &name, &line, &col);
    node_scalar sc = plain && !y_is_string_tag(ev->data.scalar.tag) ? SC_PLAIN : SC_STRING;
    cfg_node *n = node_new_scalar(sc, name, text, len, c->file, line, col);
    free(name);
    if (y_attach(c, n, m) != 0)
        return -1;
    if (ev->data.scalar.anchor) {
        char *anchor = strdup((const char *)ev->data.scalar.anchor);
        if (!anchor)
            return y_oom(c, m);
        return y_add_anchor(c, anchor, n, m);
    }
    return 0;
}

static int y_alias(y_ctx *c, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const yaml_mark_t *m = &ev->start_mark;
    const y_anchor *a = y_find_anchor(c, name);

    if (!a) {
        for (int i = 0; i < c->depth; i++)
            if (c->stack[i].anchor && strcmp(c->stack[i].anchor, name) == 0)
                return y_fail(c, m, "alias *%s is inside the node it names", name);
        return y_fail(c, m, "unknown anchor *%s", name);
    }
    if (c->depth == 0)
        return y_fail(c, m, "the top level must be a mapping");
    if (y_key_expected(c)) {
        if (a->n->kind != NODE_SCALAR)
            return y_fail(c, m, "a mapping key must be a scalar, not a %s", node_kind_name(a->n));
        return y_set_key(c, a->n->text, strlen(a->n->text), m);
    }

    char *key;
    int line, col;
    y_slot(c, m, &key, &line, &col);
    c->why = "out of memory";
    cfg_node *n = y_copy(c, a->n, key, line, col, c->depth);
    free(key);
    if (!n)
        return y_fail(c, m, "%s", c->why);
    /* The copy's top node is where the alias is written. */
    n->file = c->file;
    return y_attach(c, n, m);
}

static int y_open(y_ctx *c, const yaml_event_t *ev, node_kind kind)
{
    const yaml_mark_t *m = &ev->start_mark;
    const yaml_char_t *anchor = kind == NODE_GROUP ? ev->data.mapping_start.anchor
                                                   : ev->data.sequence_start.anchor;
    const char *what = kind == NODE_GROUP ? "mapping" : "sequence";
    cfg_node *n;

    if (c->depth == 0) {
        if (kind != NODE_GROUP)
            return y_fail(c, m, "the top level must be a mapping, not a sequence");
        n = c->root;
    } else {
        if (y_key_expected(c))
            return y_fail(c, m, "a mapping key must be a scalar, not a %s", what);
        if (c->depth >= FRONT_MAX_DEPTH)
            return y_fail(c, m, "nesting deeper than %d levels", FRONT_MAX_DEPTH);
        if (!y_budget(c))
            return y_fail(c, m, "%s", c->why);
        char *name;
        int line, col;
        y_slot(c, m, &name, &line, &col);
        n = node_new(kind, name, c->file, line, col);
        free(name);
        if (y_attach(c, n, m) != 0)
            return -1;
    }
    y_frame *f = &c->stack[c->depth];
    *f = (y_frame){ .n = n };
    if (anchor && !(f->anchor = strdup((const char *)anchor)))
        return y_oom(c, m);
    c->depth++;
    return 0;
}

static int y_close(y_ctx *c, const yaml_event_t *ev)
{
    if (c->depth == 0) /* libyaml pairs its events; be safe anyway */
        return y_fail(c, &ev->start_mark, "unbalanced end of a collection");
    y_frame *f = &c->stack[--c->depth];
    free(f->key);
    f->key = NULL;
    if (!f->anchor)
        return 0;
    char *anchor = f->anchor;
    f->anchor = NULL;
    return y_add_anchor(c, anchor, f->n, &ev->start_mark);
}

static int y_event(y_ctx *c, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++c->docs > 1)
            return y_fail(c, &ev->start_mark, "more than one YAML document");
        return 0;
    case YAML_SCALAR_EVENT:
        return y_scalar(c, ev);
    case YAML_ALIAS_EVENT:
        return y_alias(c, ev);
    case YAML_MAPPING_START_EVENT:
        return y_open(c, ev, NODE_GROUP);
    case YAML_SEQUENCE_START_EVENT:
        return y_open(c, ev, NODE_LIST);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return y_close(c, ev);
    default:
        return 0;
    }
}

/* libyaml's own error as "FILE:LINE:COL: problem (context)". */
static void y_parser_error(y_ctx *c, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "syntax error";
    yaml_mark_t m = p->problem_mark;

    if (p->error == YAML_MEMORY_ERROR) {
        snprintf(c->err, c->errlen, "%s: out of memory", c->file);
        return;
    }
    if (p->error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark. */
        size_t off = p->problem_offset < c->len ? p->problem_offset : c->len;
        m = (yaml_mark_t){ 0 };
        for (size_t i = 0; i < off; i++) {
            if (c->text[i] == '\n') {
                m.line++;
                m.column = 0;
            } else {
                m.column++;
            }
        }
        if (p->problem_value >= 0) {
            y_fail(c, &m, "%s (#%X)", problem, (unsigned)p->problem_value);
            return;
        }
    }
    if (p->context)
        y_fail(c, &m, "%s (%s)", problem, p->context);
    else
        y_fail(c, &m, "%s", problem);
}

static int y_run(y_ctx *c, yaml_parser_t *p)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev)) {
            y_parser_error(c, p);
            return -1;
        }
        int rc = y_event(c, &ev);
        bool end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (rc != 0 || end)
            return rc;
    }
}

static void y_cleanup(y_ctx *c)
{
    for (int i = 0; i < c->depth; i++) {
        free(c->stack[i].key);
        free(c->stack[i].anchor);
    }
    for (size_t i = 0; i < c->nanchors; i++)
        free(c->anchors[i].name);
    free(c->anchors);
}

cfg_node *front_yaml_parse(node_doc *d, const char *text, size_t len, const char *file,
                           char *err, size_t errlen)
{
    y_ctx c = { .d = d, .text = text, .len = len, .err = err, .errlen = errlen };
    yaml_parser_t p;

    if (errlen)
        err[0] = '\0';
    c.file = node_intern_file(d, file);
    if (!c.file || !(c.root = node_new(NODE_GROUP, NULL, c.file, 1, 0))) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "%s: out of memory", file);
        node_free(c.root);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = y_run(&c, &p);
    yaml_parser_delete(&p);
    y_cleanup(&c);
    if (rc != 0) {
        node_free(c.root);
        return NULL;
    }
    return c.root;
}
