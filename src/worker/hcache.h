/* worker/hcache.h: content hashes for etag = "content", by file identity (device, inode, size, mtime and ctime to the nanosecond). */
#ifndef EP_WORKER_HCACHE_H
#define EP_WORKER_HCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Two-way set-associative, fixed size: a lookup is two compares; a file
 * whose identity changed (a new inode, size, mtime or ctime) simply misses,
 * and its old hash is overwritten in time. The ctime is there because a
 * deploy can rewrite a file in place keeping its size and mtime (cp -p,
 * rsync -t of a reproducible build): only the ctime, which no one can set,
 * moves then. Per worker, loop thread only. */
typedef struct {
    uint64_t dev, ino;
    int64_t size, sec, nsec, csec, cnsec;
    uint8_t h[16];
    bool used;
} hc_slot;

typedef struct {
    hc_slot *slots;
    size_t mask;
    uint64_t hits, misses;
} hcache;

/* Room for at least cap hashes (a power of two, two ways). -1: no memory. */
int hc_init(hcache *c, size_t cap);
void hc_destroy(hcache *c);
/* st's hash, or NULL. */
const uint8_t *hc_get(hcache *c, const struct stat *st);
void hc_put(hcache *c, const struct stat *st, const uint8_t h[16]);

#endif
