/* util/arena.h: fixed-size per-connection memory blocks, bump-allocated and freed in one go. */
#ifndef EP_UTIL_ARENA_H
#define EP_UTIL_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* A worker-local pool of equal blocks. A connection takes one block when
 * bytes arrive and gives it back when it goes idle, so idle keep-alive
 * connections hold no buffers; the pool keeps up to max_free blocks around so
 * that busy workers do not call malloc per request. Not thread-safe: only the
 * loop thread uses it. */
typedef struct {
    size_t block_size;
    void **free;
    size_t nfree, max_free;
} arena_pool;

int arena_pool_init(arena_pool *p, size_t block_size, size_t max_free);
void arena_pool_destroy(arena_pool *p);
void *arena_pool_get(arena_pool *p); /* NULL when out of memory */
void arena_pool_put(arena_pool *p, void *block);

/* Bump allocator over one block. */
typedef struct {
    char *base, *cur, *end;
} arena;

static inline void arena_init(arena *a, void *block, size_t size)
{
    a->base = a->cur = block;
    a->end = (char *)block + size;
}

/* 16-byte aligned; NULL when the block is exhausted. */
static inline void *arena_alloc(arena *a, size_t n)
{
    size_t pad = (size_t)(-(uintptr_t)a->cur) & 15;
    if ((size_t)(a->end - a->cur) < n + pad)
        return NULL;
    void *p = a->cur + pad;
    a->cur += pad + n;
    return p;
}

#endif
