/* tests/fuzz/fuzz_conf_yaml.c: libFuzzer target for the YAML config front-end and the tree it returns. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/front.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

/* What every tree must satisfy, whatever the input. */
static size_t check_tree(const cfg_node *n, const node_doc *d, int depth)
{
    size_t count = 1;
    check(depth <= FRONT_MAX_DEPTH);
    check(n->file != NULL && n->line >= 1 && n->col >= 0);
    int interned = 0;
    for (size_t i = 0; i < d->nfiles; i++)
        interned |= d->files[i] == n->file;
    check(interned);
    check((n->kind == NODE_SCALAR) == (n->text != NULL));
    for (size_t i = 0; i < n->nkids; i++) {
        const cfg_node *k = n->kids[i];
        check((n->kind == NODE_GROUP) == (k->name != NULL));
        count += check_tree(k, d, depth + 1);
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so ASan sees any read past the end. */
    char *in = malloc(size ? size : 1);
    node_doc d;
    char err[256];

    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);
    node_doc_init(&d);
    err[0] = 'x';
    cfg_node *root = front_yaml_parse(&d, in, size, "fuzz.yaml", err, sizeof err);
    if (root) {
        check(root->kind == NODE_GROUP && root->name == NULL);
        check(check_tree(root, &d, 0) <= FRONT_MAX_NODES + 1);
        d.root = root;
    } else {
        /* One line, naming the file. */
        check(strncmp(err, "fuzz.yaml:", 10) == 0);
        check(strchr(err, '\n') == NULL);
    }
    node_doc_free(&d);
    free(in);
    return 0;
}
