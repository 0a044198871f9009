/* tests/fuzz/fuzz_conf_libconfig.c: libFuzzer target for the libconfig config front-end and the tree it returns. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/front.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5 leaks the string token it holds when it meets a syntax
 * error (e.g. the input `""`): its grammar frees no token it discards, and
 * the caller never sees the pointer. Only blocks allocated inside libconfig
 * are suppressed; a leak of ours still fails the run. */
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

static void check(int ok)
{
    if (!ok)
        abort();
}

/* libconfig's @include would open files: such inputs are not fuzzed. Its
 * scanner matches the word exactly, but be generous. */
static int has_include(const char *in, size_t size)
{
    for (size_t i = 0; i + 8 <= size; i++)
        if (in[i] == '@' && strncasecmp(in + i + 1, "include", 7) == 0)
            return 1;
    return 0;
}

/* Inputs with the word the check below looks for could put it in a
 * message themselves (a quoted token): not fuzzed. */
static int has_word(const char *in, size_t size, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= size; i++)
        if (strncasecmp(in + i, word, n) == 0)
            return 1;
    return 0;
}

static void check_tree(const cfg_node *n, const node_doc *d, int depth)
{
    check(depth < FRONT_MAX_DEPTH + 1);
    check(n->file != NULL && n->line >= 1 && n->col == 0);
    check(n->file == d->files[0]); /* no includes: all from the one text */
    check((n->kind == NODE_SCALAR) == (n->text != NULL));
    if (n->kind == NODE_SCALAR && n->sc == SC_BOOL)
        check(strcmp(n->text, "true") == 0 || strcmp(n->text, "false") == 0);
    check(n->kind == NODE_SCALAR || n->sc == SC_PLAIN);
    for (size_t i = 0; i < n->nkids; i++) {
        const cfg_node *k = n->kids[i];
        check((n->kind == NODE_GROUP) == (k->name != NULL));
        check_tree(k, d, depth + 1);
    }
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
    if (has_include(in, size) || has_word(in, size, "disagree")) {
        free(in);
        return 0;
    }
    node_doc_init(&d);
    cfg_node *root = front_libconfig_parse(&d, in, size, "fuzz.conf", err, sizeof err);
    if (root) {
        check(root->kind == NODE_GROUP && root->name == NULL);
        check_tree(root, &d, 0);
        d.root = root;
    } else {
        check(strncmp(err, "fuzz.conf:", 10) == 0);
        check(strchr(err, '\n') == NULL);
        /* The integer scan must read every text libconfig takes as it does. */
        check(strstr(err, "disagree") == NULL);
    }
    node_doc_free(&d);
    free(in);
    return 0;
}
