/* worker/hcache.c: the content-hash cache (see hcache.h). */
#include "worker/hcache.h"

#include <stdlib.h>
#include <string.h>

int hc_init(hcache *c, size_t cap)
{
    size_t n = 2;
    while (n < cap)
        n *= 2;
    memset(c, 0, sizeof *c);
    if (!(c->slots = calloc(n, sizeof *c->slots)))
        return -1;
    c->mask = n - 1;
    return 0;
}

void hc_destroy(hcache *c)
{
    free(c->slots);
    memset(c, 0, sizeof *c);
}

static bool same(const hc_slot *s, const struct stat *st)
{
    return s->used && s->ino == (uint64_t)st->st_ino && s->dev == (uint64_t)st->st_dev &&
           s->size == (int64_t)st->st_size && s->sec == (int64_t)st->st_mtim.tv_sec &&
           s->nsec == (int64_t)st->st_mtim.tv_nsec && s->csec == (int64_t)st->st_ctim.tv_sec &&
           s->cnsec == (int64_t)st->st_ctim.tv_nsec;
}

/* The first of the two ways; the second is its neighbour. */
static size_t way(const hcache *c, const struct stat *st)
{
    uint64_t k = (uint64_t)st->st_ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)st->st_dev * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(k >> 17) & c->mask & ~(size_t)1;
}

const uint8_t *hc_get(hcache *c, const struct stat *st)
{
    if (!c->slots)
        return NULL;
    size_t i = way(c, st);
    for (size_t k = i; k < i + 2; k++)
        if (same(&c->slots[k], st)) {
            c->hits++;
            return c->slots[k].h;
        }
    c->misses++;
    return NULL;
}

/* Same file (device and inode) as s: its newer identity replaces it. */
static bool same_file(const hc_slot *s, const struct stat *st)
{
    return s->used && s->ino == (uint64_t)st->st_ino && s->dev == (uint64_t)st->st_dev;
}

void hc_put(hcache *c, const struct stat *st, const uint8_t h[16])
{
    if (!c->slots)
        return;
    size_t i = way(c, st);
    hc_slot *s = &c->slots[i];
    /* The file's own way, a free one, or the first with its old entry moved
     * to the second (which loses the oldest of the three). */
    if (same_file(&c->slots[i + 1], st) || (s->used && !same_file(s, st) && !c->slots[i + 1].used))
        s = &c->slots[i + 1];
    else if (s->used && !same_file(s, st))
        c->slots[i + 1] = *s;
    *s = (hc_slot){ .dev = (uint64_t)st->st_dev, .ino = (uint64_t)st->st_ino, .size = (int64_t)st->st_size,
                    .sec = (int64_t)st->st_mtim.tv_sec, .nsec = (int64_t)st->st_mtim.tv_nsec,
                    .csec = (int64_t)st->st_ctim.tv_sec, .cnsec = (int64_t)st->st_ctim.tv_nsec, .used = true };
    memcpy(s->h, h, 16);
}
