/* util/grow.h: making room in a doubling malloc'd array. */
#ifndef EP_UTIL_GROW_H
#define EP_UTIL_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Make room for need more elements (elem bytes each) after the used ones at
 * *p, whose capacity *cap counts elements, by doubling from 64. Returns 0, or
 * -1 with errno = ENOMEM (then *p and *cap are unchanged). */
static inline int ep_grow(void **p, size_t *cap, size_t used, size_t need, size_t elem)
{
    size_t c = *cap ? *cap : 64;

    if (need <= *cap - used)
        return 0;
    while (need > c - used) {
        if (c > SIZE_MAX / 2 / elem)
            return errno = ENOMEM, -1;
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (!q)
        return errno = ENOMEM, -1;
    *p = q;
    *cap = c;
    return 0;
}

#endif
