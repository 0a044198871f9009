/* config/node.c: building and freeing the neutral config tree. */
#include "config/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void node_doc_init(node_doc *d)
{
    memset(d, 0, sizeof *d);
}

void node_doc_free(node_doc *d)
{
    node_free(d->root);
    for (size_t i = 0; i < d->nfiles; i++)
        free(d->files[i]);
    free(d->files);
    memset(d, 0, sizeof *d);
}

const char *node_intern_file(node_doc *d, const char *file)
{
    for (size_t i = 0; i < d->nfiles; i++)
        if (strcmp(d->files[i], file) == 0)
            return d->files[i];
    char **grown = realloc(d->files, (d->nfiles + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    d->files = grown;
    char *copy = strdup(file);
    if (!copy)
        return NULL;
    d->files[d->nfiles++] = copy;
    return copy;
}

cfg_node *node_new(node_kind kind, const char *name, const char *file, int line, int col)
{
    cfg_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->file = file;
    n->line = line;
    n->col = col;
    if (name && !(n->name = strdup(name))) {
        free(n);
        return NULL;
    }
    return n;
}

cfg_node *node_new_scalar(node_scalar sc, const char *name, const char *text, size_t len,
                          const char *file, int line, int col)
{
    cfg_node *n = node_new(NODE_SCALAR, name, file, line, col);
    if (!n)
        return NULL;
    n->sc = sc;
    n->text = malloc(len + 1);
    if (!n->text) {
        node_free(n);
        return NULL;
    }
    if (len)
        memcpy(n->text, text, len);
    n->text[len] = '\0';
    return n;
}

void node_free(cfg_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->name);
    free(n->text);
    free(n);
}

int node_add(cfg_node *parent, cfg_node *kid)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        cfg_node **grown = realloc(parent->kids, cap * sizeof *grown);
        if (!grown)
            return -1;
        parent->kids = grown;
        parent->cap = cap;
    }
    parent->kids[parent->nkids++] = kid;
    return 0;
}

cfg_node *node_get(const cfg_node *group, const char *name)
{
    for (size_t i = 0; group && i < group->nkids; i++)
        if (group->kids[i]->name && strcmp(group->kids[i]->name, name) == 0)
            return group->kids[i];
    return NULL;
}

const char *node_kind_name(const cfg_node *n)
{
    switch (n->kind) {
    case NODE_GROUP:
        return "group";
    case NODE_LIST:
        return "list";
    case NODE_SCALAR:
        break;
    }
    switch (n->sc) {
    case SC_STRING:
        return "string";
    case SC_INT:
        return "integer";
    case SC_FLOAT:
        return "number";
    case SC_BOOL:
        return "boolean";
    case SC_PLAIN:
        break;
    }
    return "value";
}

void node_error(char *err, size_t errlen, const char *file, int line, int col, const char *msg)
{
    if (col > 0)
        snprintf(err, errlen, "%s:%d:%d: %s", file, line, col, msg);
    else
        snprintf(err, errlen, "%s:%d: %s", file, line, msg);
}
