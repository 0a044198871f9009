/* worker/fcache.c: a small hash + LRU of open files, so hot files skip openat2 and fstat. */
#include "worker/fcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fc_init(fcache *fc, size_t cap, int64_t valid_ms)
{
    memset(fc, 0, sizeof *fc);
    if (cap == 0)
        return 0;
    size_t n = 16;
    while (n < cap * 2)
        n *= 2;
    fc->buckets = calloc(n, sizeof *fc->buckets);
    if (!fc->buckets)
        return -1;
    fc->nbuckets = n;
    fc->cap = cap;
    fc->valid_ms = valid_ms;
    return 0;
}

static size_t make_key(char *buf, size_t cap, uint64_t root, enum file_links links, uint64_t variant,
                       const char *path)
{
    if (root == 0)
        return 0;
    int n = snprintf(buf, cap, "%llu:%d:%llx:%s", (unsigned long long)root, (int)links,
                     (unsigned long long)variant, path);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static uint64_t hash_key(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h;
}

static void lru_unlink(fcache *fc, fc_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        fc->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        fc->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push(fcache *fc, fc_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = fc->lru_head;
    if (fc->lru_head)
        fc->lru_head->lru_prev = e;
    fc->lru_head = e;
    if (!fc->lru_tail)
        fc->lru_tail = e;
}

static void entry_free(fc_entry *e)
{
    close(e->fd);
    free(e);
}

/* Make e unfindable; it is freed now or when its last reference goes. */
static void evict(fcache *fc, fc_entry *e)
{
    fc_entry **pp = &fc->buckets[e->hash & (fc->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(fc, e);
    e->cached = false;
    fc->count--;
    if (e->refs == 0)
        entry_free(e);
}

void fc_destroy(fcache *fc)
{
    while (fc->lru_head)
        evict(fc, fc->lru_head);
    free(fc->buckets);
    memset(fc, 0, sizeof *fc);
}

fc_entry *fc_get(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                 int64_t now_ms)
{
    char key[4200];
    size_t n;
    if (!fc->cap || !(n = make_key(key, sizeof key, root, links, variant, path)))
        return NULL;
    uint64_t h = hash_key(key, n);
    for (fc_entry *e = fc->buckets[h & (fc->nbuckets - 1)]; e; e = e->hnext) {
        if (e->hash != h || strcmp(e->key, key) != 0)
            continue;
        if (now_ms >= e->expires_ms) { /* revalidate by opening afresh */
            evict(fc, e);
            break;
        }
        lru_unlink(fc, e);
        lru_push(fc, e);
        e->refs++;
        fc->hits++;
        return e;
    }
    fc->misses++;
    return NULL;
}

fc_entry *fc_put(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                 const file_result *res, int64_t now_ms)
{
    char key[4200];
    size_t n;
    if (!fc->cap || !(n = make_key(key, sizeof key, root, links, variant, path)))
        return NULL;
    fc_entry *e = malloc(sizeof *e + n + 1);
    if (!e)
        return NULL;
    memcpy(e->key, key, n + 1);
    e->hash = hash_key(key, n);
    e->fd = res->fd;
    e->st = res->st;
    e->index = res->index;
    e->root = root;
    e->refs = 1;
    e->cached = true;
    e->expires_ms = now_ms + fc->valid_ms;
    /* A concurrent miss for the same path may have filled it: keep the newer. */
    for (fc_entry *o = fc->buckets[e->hash & (fc->nbuckets - 1)]; o; o = o->hnext)
        if (o->hash == e->hash && strcmp(o->key, e->key) == 0) {
            evict(fc, o);
            break;
        }
    while (fc->count >= fc->cap && fc->lru_tail)
        evict(fc, fc->lru_tail);
    fc_entry **b = &fc->buckets[e->hash & (fc->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
    lru_push(fc, e);
    fc->count++;
    return e;
}

void fc_flush_root(fcache *fc, uint64_t root)
{
    for (fc_entry *e = fc->lru_head, *next; e; e = next) {
        next = e->lru_next;
        if (e->root == root)
            evict(fc, e);
    }
}

void fc_release(fcache *fc, fc_entry *e)
{
    (void)fc;
    if (--e->refs == 0 && !e->cached)
        entry_free(e);
}
