/* config/node.h: the neutral tree both config front-ends produce, each node carrying file:line.
 *
 * A front-end (libconfig, YAML) only turns its file into this tree; the one
 * directive table (config/directives.c) then checks and applies it, so the
 * two syntaxes cannot drift. Nodes are owned by a node_doc and freed with it. */
#ifndef EP_CONFIG_NODE_H
#define EP_CONFIG_NODE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    NODE_GROUP,  /* named children: libconfig group, YAML mapping */
    NODE_LIST,   /* unnamed children: libconfig array or list, YAML sequence */
    NODE_SCALAR, /* text, with the type the syntax gave it */
} node_kind;

typedef enum {
    SC_PLAIN,  /* untyped text (YAML plain scalar): the directive decides */
    SC_STRING, /* quoted string */
    SC_INT,    /* integer literal, as written (decimal or 0x hex, maybe with L) */
    SC_FLOAT,  /* floating literal */
    SC_BOOL,   /* boolean literal: text is "true" or "false" */
} node_scalar;

typedef struct cfg_node {
    node_kind kind;
    node_scalar sc;          /* NODE_SCALAR only */
    char *name;              /* key within the parent group; NULL in a list */
    char *text;              /* NODE_SCALAR only: NUL-terminated value */
    const char *file;        /* interned in the doc; never NULL */
    int line, col;           /* 1-based; col 0 when the syntax does not say */
    struct cfg_node **kids;  /* NODE_GROUP and NODE_LIST */
    size_t nkids, cap;
} cfg_node;

typedef struct {
    char **files; /* interned file names */
    size_t nfiles;
    cfg_node *root;
} node_doc;

void node_doc_init(node_doc *d);
void node_doc_free(node_doc *d);

/* The doc's copy of a file name (so nodes can point at it). NULL on OOM. */
const char *node_intern_file(node_doc *d, const char *file);

/* A new node; name and text are copied (either may be NULL). NULL on OOM. */
cfg_node *node_new(node_kind kind, const char *name, const char *file, int line, int col);
cfg_node *node_new_scalar(node_scalar sc, const char *name, const char *text, size_t len,
                          const char *file, int line, int col);
void node_free(cfg_node *n);

/* Append kid to a group or list; -1 on OOM (kid is then still the caller's). */
int node_add(cfg_node *parent, cfg_node *kid);

/* The first child of a group with that name, or NULL. */
cfg_node *node_get(const cfg_node *group, const char *name);

/* The one error format of every config message: "FILE:LINE: msg", or
 * "FILE:LINE:COL: msg" when col > 0. */
void node_error(char *err, size_t errlen, const char *file, int line, int col, const char *msg);

/* "group", "list" or "string"/"integer"/... for error messages. */
const char *node_kind_name(const cfg_node *n);

#endif
