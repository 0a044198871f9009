/* util/arena.c: the per-worker pool of connection blocks. */
#include "util/arena.h"

#include <stdlib.h>

int arena_pool_init(arena_pool *p, size_t block_size, size_t max_free)
{
    p->block_size = block_size;
    p->nfree = 0;
    p->max_free = max_free;
    p->free = calloc(max_free ? max_free : 1, sizeof(void *));
    return p->free ? 0 : -1;
}

void arena_pool_destroy(arena_pool *p)
{
    for (size_t i = 0; i < p->nfree; i++)
        free(p->free[i]);
    free(p->free);
    p->free = NULL;
    p->nfree = 0;
}

void *arena_pool_get(arena_pool *p)
{
    if (p->nfree > 0)
        return p->free[--p->nfree];
    return malloc(p->block_size);
}

void arena_pool_put(arena_pool *p, void *block)
{
    if (!block)
        return;
    if (p->nfree < p->max_free)
        p->free[p->nfree++] = block;
    else
        free(block);
}
