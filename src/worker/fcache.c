/* worker/fcache.c: a hash + LRU of open files and small bodies, so hot files skip openat2, fstat and pread; watched, so never stale. */
#include "worker/fcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fc_init(fcache *fc, size_t cap, int64_t valid_ms, size_t body_cap, fwatch *fw)
{
    memset(fc, 0, sizeof *fc);
    fc->body_cap = body_cap;
    fc->fw = fw;
    if (cap == 0)
        return 0;
    size_t n = 16;
    while (n < cap * 2)
        n *= 2;
    fc->buckets = calloc(n, sizeof *fc->buckets);
    fc->seen = calloc(n / 2, sizeof *fc->seen);
    if (!fc->buckets || !fc->seen) {
        free(fc->buckets);
        free(fc->seen);
        fc->buckets = NULL;
        fc->seen = NULL;
        return -1;
    }
    fc->nbuckets = n;
    fc->nseen = n / 2;
    fc->cap = cap;
    fc->valid_ms = valid_ms;
    return 0;
}

/* Digits of v in base 16, lowest first is fine: the key only has to be
 * one to one, and this runs per request (no snprintf). */
static char *put_hex(char *p, uint64_t v)
{
    do {
        *p++ = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    return p;
}

static size_t make_key(char *buf, size_t cap, uint64_t root, enum file_links links, uint64_t variant,
                       const char *path)
{
    if (root == 0)
        return 0;
    size_t plen = strlen(path);
    if (plen + 3 * 17 + 1 > cap)
        return 0;
    char *p = put_hex(buf, root);
    *p++ = ':';
    p = put_hex(p, (uint64_t)links);
    *p++ = ':';
    p = put_hex(p, variant);
    *p++ = ':';
    memcpy(p, path, plen + 1);
    return (size_t)(p - buf) + plen;
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

static void entry_free(fcache *fc, fc_entry *e)
{
    close(e->fd);
    if (e->body)
        fc->body_bytes -= (size_t)e->st.st_size;
    free(e->body);
    free(e);
}

/* Make e unfindable and unwatched; it is freed now or when its last
 * reference goes. */
static void evict(fcache *fc, fc_entry *e)
{
    fc_entry **pp = &fc->buckets[e->hash & (fc->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(fc, e);
    e->cached = false;
    fc->count--;
    if (e->watched)
        fw_release(fc->fw, e->links, e->nlinks);
    e->watched = false;
    if (e->refs == 0)
        entry_free(fc, e);
}


/* The entry with this key (of hash h), or NULL. */
static fc_entry *find(fcache *fc, const char *key, uint64_t h)
{
    for (fc_entry *e = fc->buckets[h & (fc->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* An unwatched entry still names the file on disk (inode, size, times).
 * -1: its check is due but would wait on a file server. */
static int still_valid(fcache *fc, fc_entry *e, int dirfd, int64_t now_ms)
{
    if (e->watched)
        return 1;
    if (fc->valid_ms > 0 && now_ms - e->checked_ms < fc->valid_ms)
        return 1;
    if (e->remote)
        return -1; /* due, but the fstatat would wait on a file server */
    struct stat st;
    fc->checks++;
    if (fstatat(dirfd, e->rel, &st, 0) < 0 || !fw_same_file(&st, &e->st))
        return 0;
    e->checked_ms = now_ms;
    return 1;
}

/* Admission once the cache is full. A file is asked for a second time
 * while its hash still holds its slot among recent misses (a doorkeeper:
 * one-off requests never displace anything), and then only within a
 * budget of a tenth of the cache a second. A working set far larger than
 * the cache, requested uniformly, passes the doorkeeper on about one miss
 * in ten (about ten keys share a slot): without the budget each such miss
 * armed watches and dropped another entry's, 4x the cost of no cache. A
 * new hot set still moves in within seconds. */
static bool fc_admit(fcache *fc, uint64_t h, int64_t now_ms)
{
    if (fc->count < fc->cap)
        return true;
    uint64_t *slot = &fc->seen[h & (fc->nseen - 1)];
    if (*slot != h) {
        *slot = h;
        fc->refused++;
        return false;
    }
    size_t rate = fc->cap / 10 ? fc->cap / 10 : 1;
    int64_t add = (now_ms - fc->admit_ms) * (int64_t)rate / 1000;
    if (add > 0) {
        fc->admit_tokens = fc->admit_tokens + (size_t)add < rate ? fc->admit_tokens + (size_t)add : rate;
        /* the fraction of a token the division dropped is kept for later */
        fc->admit_ms = fc->admit_tokens == rate ? now_ms : fc->admit_ms + add * 1000 / (int64_t)rate;
    }
    if (fc->admit_tokens == 0) {
        fc->refused++;
        return false;
    }
    /* The token is spent by fc_put, when a file is kept: a missing path or
     * a listing asked for twice would otherwise spend the budget, and a
     * client asking for 404s could keep every new file out. */
    *slot = 0;
    return true;
}

fc_entry *fc_get(fcache *fc, int dirfd, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                 int64_t now_ms, bool *admit, bool *afresh)
{
    char key[4200];
    size_t n;
    *admit = *afresh = false;
    if (!fc->cap || !(n = make_key(key, sizeof key, root, links, variant, path)))
        return NULL;
    uint64_t h = hash_key(key, n);
    fc_entry *e = find(fc, key, h);
    int valid = e && !e->stale ? still_valid(fc, e, dirfd, now_ms) : 0;
    if (valid > 0) {
        lru_unlink(fc, e);
        lru_push(fc, e);
        e->refs++;
        e->used_ms = now_ms;
        fc->hits++;
        return e;
    }
    fc->misses++;
    if (valid < 0) { /* kept (not counted as used) until the new lookup replaces it, in its place */
        *admit = *afresh = true;
        return NULL;
    }
    if (e) /* look afresh */
        evict(fc, e);
    *admit = fc_admit(fc, h, now_ms);
    return NULL;
}

void fc_drop(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path)
{
    char key[4200];
    size_t n;
    if (!fc->cap || !(n = make_key(key, sizeof key, root, links, variant, path)))
        return;
    fc_entry *e = find(fc, key, hash_key(key, n));
    if (e)
        evict(fc, e);
}

/* One allocation: the entry, its links, its key, its rel. */
static fc_entry *entry_new(const char *key, size_t n, const char *path, const char *index_name, int nlinks)
{
    size_t plen = strlen(path), ilen = index_name ? strlen(index_name) : 0;
    size_t links_at = (sizeof(fc_entry) + n + 1 + plen + ilen + 1 + 15) & ~(size_t)15;
    fc_entry *e = malloc(links_at + (size_t)nlinks * sizeof(fw_link));
    if (!e)
        return NULL;
    memcpy(e->key, key, n + 1);
    char *rel = e->key + n + 1;
    memcpy(rel, path + 1, plen - 1); /* below the root: no leading '/' */
    memcpy(rel + plen - 1, index_name ? index_name : "", ilen + 1);
    e->rel = rel;
    e->links = (fw_link *)((char *)e + links_at);
    e->nlinks = nlinks;
    return e;
}

fc_entry *fc_put(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                 const char *index_name, const file_result *res, const fw_arm_result *arm, int64_t now_ms,
                 bool *unwatched)
{
    char key[4200];
    size_t n;
    *unwatched = false;
    if (!fc->cap || !(n = make_key(key, sizeof key, root, links, variant, path))) {
        if (arm && fc->fw)
            fw_discard(fc->fw, arm);
        return NULL;
    }
    fc_entry *e = entry_new(key, n, path, index_name, arm ? arm->n : 0);
    if (!e) {
        if (arm && fc->fw)
            fw_discard(fc->fw, arm);
        return NULL;
    }
    e->hash = hash_key(key, n);
    e->fd = res->fd;
    e->st = res->st;
    e->index = res->index;
    e->root = root;
    e->refs = 1;
    e->cached = true;
    e->stale = false;
    e->body = NULL;
    e->checked_ms = e->used_ms = now_ms;
    e->remote = arm && arm->err == EREMOTE;
    /* the key's path is the one fw_arm was given: the links' names point into it */
    e->watched = arm && fc->fw && fw_adopt(fc->fw, arm, e->links, e, e->key + n - strlen(path));
    if (!e->watched) {
        e->nlinks = 0;
        /* It changed as it was opened: serve it, keep nothing. An index
         * file found by fstatat alone cannot tell an earlier index name
         * appearing: not kept either. */
        if ((arm && arm->err == ESTALE) || index_name) {
            free(e);
            return NULL;
        }
        fc->unwatched++;
        *unwatched = true;
    }
    /* A concurrent miss for the same path may have filled it: keep the newer. */
    fc_entry *o = find(fc, e->key, e->hash);
    if (o)
        evict(fc, o);
    if (fc->count >= fc->cap && fc->admit_tokens > 0) /* taking another's place (fc_admit) */
        fc->admit_tokens--;
    while (fc->count >= fc->cap && fc->lru_tail)
        evict(fc, fc->lru_tail);
    fc_entry **b = &fc->buckets[e->hash & (fc->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
    lru_push(fc, e);
    fc->count++;
    return e;
}

bool fc_keep_body(fcache *fc, fc_entry *e, const void *data, size_t len)
{
    if (!e->cached || e->body || (off_t)len != e->st.st_size || len == 0 || len > fc->body_cap)
        return false;
    for (fc_entry *o = fc->lru_tail; o && fc->body_bytes + len > fc->body_cap; o = o->lru_prev)
        if (o->body && o->refs == 0) { /* a response in flight may be sending from it */
            fc->body_bytes -= (size_t)o->st.st_size;
            free(o->body);
            o->body = NULL;
        }
    if (fc->body_bytes + len > fc->body_cap || !(e->body = malloc(len)))
        return false;
    memcpy(e->body, data, len);
    fc->body_bytes += len;
    return true;
}

void fc_mark(fcache *fc, fc_entry *e)
{
    if (!e->cached || e->stale)
        return;
    e->stale = true;
    e->stale_next = fc->stale;
    fc->stale = e;
}

void fc_mark_all(fcache *fc)
{
    for (fc_entry *e = fc->lru_head; e; e = e->lru_next)
        fc_mark(fc, e);
}

void fc_sweep(fcache *fc)
{
    while (fc->stale) {
        fc_entry *e = fc->stale;
        fc->stale = e->stale_next;
        if (e->cached) {
            evict(fc, e);
            fc->invalidated++;
        }
    }
}

void fc_expire(fcache *fc, int64_t now_ms)
{
    while (fc->inactive_ms > 0 && fc->lru_tail && now_ms - fc->lru_tail->used_ms >= fc->inactive_ms) {
        evict(fc, fc->lru_tail);
        fc->expired++;
    }
}

void fc_destroy(fcache *fc)
{
    while (fc->lru_head)
        evict(fc, fc->lru_head);
    free(fc->buckets);
    free(fc->seen);
    memset(fc, 0, sizeof *fc);
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
    if (--e->refs == 0 && !e->cached)
        entry_free(fc, e);
}
