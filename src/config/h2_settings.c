/* config/h2_settings.c: the HTTP/2 settings as plain data: their setter, and the check that they would take effect (no nghttp2 here). */
#include "config/directive.h"

#include <stdint.h>
#include <string.h>

/* The model keeps the HTTP/2 settings as uint32_t, the width of a SETTINGS
 * value on the wire (RFC 9113 6.5.1), which neither T_INT (an int) nor
 * T_SIZE (a size_t) stores. The table still says which of the two a
 * setting is, so that it is read, ranged and worded as every other integer
 * or size is. */
int h2_set_u32(apply_ctx *a, const directive *d, const cfg_node *n, void *field)
{
    int64_t v;
    int rc = d->type == T_SIZE ? dir_want_size(a, n, d->min, d->max, &v) : dir_want_int(a, n, d->min, d->max, &v);
    if (rc < 0)
        return -1;
    *(uint32_t *)field = (uint32_t)v;
    return 0;
}

/* The http2_* globals are used by the listeners with http2 = true only:
 * set in a file with none, they would do nothing. Checked once the whole
 * file is applied (a listener may come after them, or from an include),
 * at the line of the first one the file sets. By their prefix, so that a
 * setting added to the table later is covered without a list to update:
 * the table has already refused any unknown name. */
int h2_check_globals(apply_ctx *a, const cfg_node *root)
{
    static const char prefix[] = "http2_";
    const cfg *c = a->c;
    for (size_t i = 0; i < c->nlistens; i++)
        if (c->listens[i].http2)
            return 0;
    for (size_t i = 0; i < root->nkids; i++) {
        const cfg_node *n = root->kids[i];
        if (n->name && strncmp(n->name, prefix, sizeof prefix - 1) == 0)
            return dir_fail(a, n, "\"%s\": no listener has http2 = true, so it would do nothing", n->name);
    }
    return 0;
}
