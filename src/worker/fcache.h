/* worker/fcache.h: the open-file cache: descriptors, metadata and small bodies of recently served files, per worker, never stale.
 *
 * An entry is watched (worker/fwatch.h): any change to the file or to a
 * folder or name on its path marks it stale before the next request is
 * served, and a stale entry is never found again. Where watching is not
 * possible (watches exhausted, a symlink on the path), an entry is
 * revalidated on every hit (one fstatat: inode, size, times), or, when
 * open_file_cache_valid is set, once per that interval, as nginx does. On
 * a network file system that fstatat is a round trip the loop would wait
 * for: a due check is a miss instead, and the caller looks the file up
 * afresh on the write queue. */
#ifndef EP_WORKER_FCACHE_H
#define EP_WORKER_FCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "http/file.h"
#include "worker/fwatch.h"

/* An open regular file with the stat it had when opened. Connections that
 * send it hold a reference; an entry that is evicted while referenced is
 * closed when its last reference goes. Loop thread only. */
typedef struct fc_entry {
    int fd;
    struct stat st;
    int index;          /* which index name the path resolved to, or -1 */
    int refs;
    bool cached;        /* still findable; false once evicted */
    bool stale;         /* a watch saw a change: evicted at the sweep */
    bool watched;       /* else revalidated by fstatat of rel */
    bool remote;        /* unwatched for being on a network file system: never stat'ed on the loop */
    int64_t checked_ms; /* unwatched: when rel was last found unchanged */
    int64_t used_ms;    /* its last fc_get or fc_put (fc_expire) */
    uint64_t root;      /* the root directory's id (worker/roots.h) */
    uint64_t hash;
    char *body;         /* the whole file (st.st_size bytes), or NULL */
    const char *rel;    /* the file below the root (index name included) */
    int nlinks;
    fw_link *links;
    struct fc_entry *hnext;           /* hash chain */
    struct fc_entry *lru_prev, *lru_next;
    struct fc_entry *stale_next;
    char key[];         /* root id, links, variant, path; then rel */
} fc_entry;

typedef struct {
    fc_entry **buckets;
    size_t nbuckets, count, cap;
    int64_t valid_ms;   /* unwatched entries: trusted this long after a check; 0: checked every hit */
    int64_t inactive_ms; /* fc_expire closes entries unused this long; 0 (fc_init's): never */
    fwatch *fw;         /* NULL: nothing is watched */
    fc_entry *lru_head, *lru_tail; /* head: most recently used */
    fc_entry *stale;    /* marked while draining events, evicted by fc_sweep */
    size_t body_bytes, body_cap;
    uint64_t *seen;     /* hashes of recent misses, one per slot (fc_admit) */
    size_t nseen;
    size_t admit_tokens; /* admissions into a full cache left in this second's budget */
    int64_t admit_ms;
    uint64_t hits, misses, unwatched, checks, refused, expired;
    uint64_t invalidated; /* entries dropped because their file changed (fc_sweep) */
} fcache;

/* cap entries (0: the cache is off and every call below is a no-op miss);
 * bodies up to body_cap bytes in all. */
int fc_init(fcache *fc, size_t cap, int64_t valid_ms, size_t body_cap, fwatch *fw);
void fc_destroy(fcache *fc);

/* Entries are keyed by the id of the root directory the path was resolved
 * beneath (root_dir.id), not by the configured path: after a deploy swaps
 * that directory, the new one has a new id and no file of the old release
 * can be found under it. Root 0 is never cached.
 *
 * What a lookup found depends on more than its path: variant names the
 * rest (which index list a folder's path tried), so that lookups under
 * other rules do not find it. */

/* A valid entry for (root, links, variant, path) with a reference taken,
 * or NULL; dirfd is the root, for revalidating an unwatched entry. On a
 * miss *admit says whether the file, once looked up, should be kept
 * (fc_put) and so watched: always while the cache has room; when it is
 * full, only a file missed recently too, at most a tenth of the cache a
 * second, so that a working set larger than the cache costs about what
 * no cache costs, not a watch added and removed per request. NULL with
 * *afresh set: the entry is on a network file system and its check is due
 * (an fstatat there is a round trip the loop would wait for); the caller
 * looks the path up off the loop, then fc_drop and fc_put replace the
 * entry, which stays until then (other requests for it meanwhile are sent
 * off the loop too). */
fc_entry *fc_get(fcache *fc, int dirfd, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                 int64_t now_ms, bool *admit, bool *afresh);

/* Forget the entry for (root, links, variant, path), if any. */
void fc_drop(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path);

/* Cache an opened file, watched as arm says (NULL: not watched). The entry
 * takes res->fd and is returned with one reference. NULL (res->fd still
 * the caller's) when off, root is 0, the file changed while being watched
 * (arm->err ESTALE) or out of memory. *unwatched is set when the entry is
 * revalidated per hit because watching failed (arm->err says why). */
fc_entry *fc_put(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                 const char *index_name, const file_result *res, const fw_arm_result *arm, int64_t now_ms,
                 bool *unwatched);

/* Keep the whole file's bytes with e (len == its size), within body_cap:
 * bodies of the least recently used entries make room. */
bool fc_keep_body(fcache *fc, fc_entry *e, const void *data, size_t len);

/* A watch saw a change (while draining: marks only). */
void fc_mark(fcache *fc, fc_entry *e);
/* Events were lost: everything is stale. */
void fc_mark_all(fcache *fc);
/* Evict what was marked. */
void fc_sweep(fcache *fc);

/* Forget every entry under root (a swap retired it): their descriptors
 * close now, or when the responses sending them finish. */
void fc_flush_root(fcache *fc, uint64_t root);

/* Close the entries unused for inactive_ms (a response still sending one
 * keeps its descriptor until it ends): a file system below a root can be
 * unmounted, a deleted file's space comes back, descriptors are not held
 * for files nobody asks for. O(expired): the LRU list is in order of use. */
void fc_expire(fcache *fc, int64_t now_ms);

/* Drop a reference. */
void fc_release(fcache *fc, fc_entry *e);

#endif
