/* util/arena.c: the per-worker pool of connection blocks. */
#include "util/arena.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* AddressSanitizer guards malloc'd blocks with red zones and cannot see
 * into mappings of our own, so its builds keep malloc: a bug that writes
 * past a block is caught there. */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_MALLOC 1
#endif
#endif

static void *block_new(size_t size)
{
#ifdef ARENA_MALLOC
    return malloc(size);
#else
    void *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return b == MAP_FAILED ? NULL : b;
#endif
}

static void block_free(void *b, size_t size)
{
#ifdef ARENA_MALLOC
    (void)size;
    free(b);
#else
    munmap(b, size);
#endif
}

int arena_pool_init(arena_pool *p, size_t block_size, size_t max_free)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    p->block_size = (block_size + page - 1) / page * page;
    p->nfree = p->low = 0;
    p->max_free = max_free;
    p->free = calloc(max_free ? max_free : 1, sizeof(void *));
    return p->free ? 0 : -1;
}

void arena_pool_destroy(arena_pool *p)
{
    for (size_t i = 0; i < p->nfree; i++)
        block_free(p->free[i], p->block_size);
    free(p->free);
    p->free = NULL;
    p->nfree = p->low = 0;
}

void *arena_pool_get(arena_pool *p)
{
    if (p->nfree > 0) {
        void *b = p->free[--p->nfree];
        if (p->nfree < p->low)
            p->low = p->nfree;
        return b;
    }
    return block_new(p->block_size);
}

void arena_pool_put(arena_pool *p, void *block)
{
    if (!block)
        return;
    if (p->nfree < p->max_free)
        p->free[p->nfree++] = block;
    else
        block_free(block, p->block_size);
}

size_t arena_pool_trim(arena_pool *p)
{
    /* The free list is a stack: the blocks below the low mark are the ones
     * nobody took since the last trim. They go first; the top stays for
     * the next burst, whose pages are still warm. */
    size_t n = p->low;
    for (size_t i = 0; i < n; i++)
        block_free(p->free[i], p->block_size);
    for (size_t i = n; i < p->nfree; i++)
        p->free[i - n] = p->free[i];
    p->nfree -= n;
    p->low = p->nfree;
    return n;
}
