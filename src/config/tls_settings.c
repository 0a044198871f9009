/* config/tls_settings.c: the TLS settings as plain data: their setters, and the checks that they would take effect (no OpenSSL here). */
#include "config/directive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

/* The items of a string-or-list node, so that an error can point at the
 * one that is wrong (YAML gives each its column). */
static const cfg_node *const *items_of(const cfg_node *const *n, size_t *count)
{
    if ((*n)->kind == NODE_LIST) {
        *count = (*n)->nkids;
        return (const cfg_node *const *)(*n)->kids;
    }
    *count = 1;
    return n;
}

/* Names as OpenSSL and nginx write them; the bit is cfg.tls_protocols'. */
static const struct {
    const char *name;
    unsigned bit;
} protocols[] = { { "TLSv1.2", CFG_TLS12 }, { "TLSv1.3", CFG_TLS13 } };

int tls_set_protocols(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    size_t count;
    const cfg_node *const *items = items_of(&n, &count);
    unsigned set = 0;
    if (n->kind == NODE_LIST && count == 0)
        return dir_fail(a, n, "\"tls_protocols\": the list is empty (give \"TLSv1.2\", \"TLSv1.3\" or both)");
    for (size_t i = 0; i < count; i++) {
        const char *s;
        if (dir_want_string(a, items[i], &s) < 0)
            return -1;
        size_t k = 0;
        while (k < EP_ARRAY_LEN(protocols) && strcmp(s, protocols[k].name) != 0)
            k++;
        /* SSLv3, TLSv1 and TLSv1.1 have known attacks and no browser
         * offers them: there is no way to turn them on. */
        if (k == EP_ARRAY_LEN(protocols))
            return dir_fail(a, items[i], "\"tls_protocols\": \"%s\" is not accepted: only \"TLSv1.2\" and "
                            "\"TLSv1.3\" are", s);
        if (set & protocols[k].bit)
            return dir_fail(a, items[i], "\"tls_protocols\": \"%s\" is listed twice", s);
        set |= protocols[k].bit;
    }
    *(unsigned *)field = set;
    return 0;
}

/* Only the syntax: whether OpenSSL knows the suites is for the side that
 * builds the TLS context (at -t and at every start or reload). A space
 * is refused although OpenSSL would read it as a separator, so that the
 * list reads as OpenSSL's documentation writes one. */
int tls_set_ciphers(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    (void)d;
    const char *s;
    if (dir_want_string(a, n, &s) < 0)
        return -1;
    if (!*s)
        return dir_fail(a, n, "\"tls_ciphers\": must not be empty (leave it out for the built-in list)");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == ' ')
            return dir_fail(a, n, "\"tls_ciphers\": \"%s\" has a space; separate the suites with ':' "
                            "(OpenSSL's cipher list syntax)", s);
        if (*p < 0x21 || *p > 0x7e)
            return dir_fail(a, n, "\"tls_ciphers\": \"%s\" has a character that is not printable ASCII", s);
    }
    free(a->c->tls_ciphers_where);
    if (!(a->c->tls_ciphers_where = dir_where(n)))
        return dir_oom(a, n);
    return cfg_set_str(field, s) < 0 ? dir_oom(a, n) : 0;
}

/* tls_certificate and tls_certificate_key: absolute paths, each once.
 * Relative ones are refused, as root's are: the master reads them after
 * it may have changed its working directory, and a reload must read the
 * same files. Whether they exist and parse is checked where they are
 * loaded. */
int tls_set_paths(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    if (dir_set_scalar(a, d, n, field) < 0)
        return -1;
    char **v = *(char ***)field;
    size_t count;
    const cfg_node *const *items = items_of(&n, &count);
    if (count == 0)
        return dir_fail(a, n, "\"%s\": the list is empty", d->name);
    for (size_t i = 0; i < count; i++) {
        if (!v[i][0])
            return dir_fail(a, items[i], "\"%s\": must not be empty", d->name);
        if (v[i][0] != '/')
            return dir_fail(a, items[i], "\"%s\": \"%s\" must be an absolute path", d->name, v[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[i], v[j]) == 0)
                return dir_fail(a, items[i], "\"%s\": \"%s\" is listed twice", d->name, v[i]);
    }
    return 0;
}

/* The global TLS settings apply to TLS listeners only: set in a file with
 * none, they would do nothing. So would tls_ciphers without TLS 1.2 (the
 * TLS 1.3 suites are OpenSSL's own). Checked once the whole file is
 * applied, at the setting's own line. */
int tls_check_globals(apply_ctx *a, const cfg_node *root)
{
    static const char *const globals[] = { "tls_protocols", "tls_ciphers", "tls_session_tickets", "tls_ktls" };
    const cfg *c = a->c;
    bool any = false;
    for (size_t i = 0; i < c->nlistens; i++)
        any |= c->listens[i].tls;
    for (size_t i = 0; i < EP_ARRAY_LEN(globals) && !any; i++) {
        const cfg_node *n = node_get(root, globals[i]);
        if (n)
            return dir_fail(a, n, "\"%s\": no listener has tls = true, so it would do nothing", globals[i]);
    }
    const cfg_node *ciphers = node_get(root, "tls_ciphers");
    if (ciphers && !(c->tls_protocols & CFG_TLS12))
        return dir_fail(a, ciphers, "\"tls_ciphers\" is for TLS 1.2, which \"tls_protocols\" leaves out, so it "
                        "would do nothing (TLS 1.3 suites are OpenSSL's own)");
    return 0;
}
