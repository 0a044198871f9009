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
    uint64_t hash;
    struct fc_entry *hnext;           /* hash chain */
    struct fc_entry *lru_prev, *lru_next;
    char key[];         /* dir id, links, path */
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

/* A fresh entry for (dir, links, path) with a reference taken, or NULL. */
fc_entry *fc_get(fcache *fc, int dir, enum file_links links, const char *path, int64_t now_ms);

/* Cache an opened file; the entry takes res->fd and is returned with one
 * reference. NULL (and res->fd still the caller's) when off or out of memory. */
fc_entry *fc_put(fcache *fc, int dir, enum file_links links, const char *path, const file_result *res,
                 int64_t now_ms);

/* Drop a reference. */
void fc_release(fcache *fc, fc_entry *e);

#endif
