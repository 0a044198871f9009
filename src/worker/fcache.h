/* worker/fcache.h: the open-file cache: descriptors of recently served files, kept open for a while per worker. */
#ifndef EP_WORKER_FCACHE_H
#define EP_WORKER_FCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "http/file.h"

/* An open regular file with the stat it had when opened. Connections that
 * send it hold a reference; an entry that is evicted or expires while
 * referenced is closed when its last reference goes. Loop thread only. */
typedef struct fc_entry {
    int fd;
    struct stat st;
    int index;          /* which index name the path resolved to, or -1 */
    int refs;
    bool cached;        /* still findable; false once evicted */
    int64_t expires_ms;
    uint64_t root;      /* the root directory's id (worker/roots.h) */
    uint64_t hash;
    struct fc_entry *hnext;           /* hash chain */
    struct fc_entry *lru_prev, *lru_next;
    char key[];         /* root id, links, variant, path */
} fc_entry;

typedef struct {
    fc_entry **buckets;
    size_t nbuckets, count, cap;
    int64_t valid_ms;
    fc_entry *lru_head, *lru_tail; /* head: most recently used */
    uint64_t hits, misses;
} fcache;

/* cap entries (0: the cache is off and every call below is a no-op miss). */
int fc_init(fcache *fc, size_t cap, int64_t valid_ms);
void fc_destroy(fcache *fc);

/* Entries are keyed by the id of the root directory the path was resolved
 * beneath (root_dir.id), not by the configured path: after a deploy swaps
 * that directory, the new one has a new id and no file of the old release
 * can be found under it. Root 0 is never cached. */

/* What a lookup found depends on more than its path: variant names the
 * rest (which index list a folder's path tried), so that lookups under
 * other rules do not find it. */

/* A fresh entry for (root, links, variant, path) with a reference taken, or NULL. */
fc_entry *fc_get(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                 int64_t now_ms);

/* Cache an opened file; the entry takes res->fd and is returned with one
 * reference. NULL (and res->fd still the caller's) when off, root is 0 or
 * out of memory. */
fc_entry *fc_put(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                 const file_result *res, int64_t now_ms);

/* Forget every entry under root (a swap retired it): their descriptors
 * close now, or when the responses sending them finish. */
void fc_flush_root(fcache *fc, uint64_t root);

/* Drop a reference. */
void fc_release(fcache *fc, fc_entry *e);

#endif
