/* util/arena.h: fixed-size per-connection memory blocks, bump-allocated and freed in one go. */
#ifndef EP_UTIL_ARENA_H
#define EP_UTIL_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* A worker-local pool of equal blocks. A connection (or an HTTP/2 stream)
 * takes one block when bytes arrive and gives it back when it goes idle, so
 * idle keep-alive connections hold no buffers. Blocks are mapped pages of
 * their own, outside malloc's heap: a block costs memory only for the pages
 * it touched, and a freed one goes back to the system whole (blocks of
 * ~150 KB in malloc's heap fragmented it: a worker kept its peak and crept
 * up burst after burst). The pool keeps the free blocks a busy worker
 * reuses (no system call per request) and arena_pool_trim gives back those
 * a whole interval did not need. Not thread-safe: only the loop uses it. */
typedef struct {
    size_t block_size; /* rounded up to whole pages */
    void **free;
    size_t nfree, max_free;
    size_t low; /* fewest free blocks since the last trim */
} arena_pool;

int arena_pool_init(arena_pool *p, size_t block_size, size_t max_free);
void arena_pool_destroy(arena_pool *p);
void *arena_pool_get(arena_pool *p); /* NULL when out of memory */
void arena_pool_put(arena_pool *p, void *block);
/* Called once an interval (a second): unmaps the free blocks that stayed
 * free all the interval. Returns how many. */
size_t arena_pool_trim(arena_pool *p);

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
