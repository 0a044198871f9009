/* worker/roots.h: the root and alias directories a worker serves from, re-resolved by path so that a deploy that swaps a symlink is served without a reload.
 *
 * The master opens every cfg->dirs entry once per generation. A deploy that
 * points a symlink in the path at a new release ("current -> releases/2",
 * swapped with rename) changes what the path names, not what those
 * descriptors name. So a worker resolves each path again every
 * ROOTS_CHECK_MS (on the loop when the page cache can answer, else in a
 * write-queue task), compares the directory's (st_dev, st_ino) with the one
 * it serves, and swaps only when it changed.
 *
 * A request takes one reference to the current view (every directory at
 * once) before its first lookup and keeps it until its response is done:
 * the lookup, a try_files candidate, an index, a precompressed sibling and
 * an internal redirect (try_files fallback, error_page) all resolve beneath
 * the same directories, so one request never mixes two releases. A
 * directory replaced by a swap stays open until the last view that lists it
 * goes, so a task never sees its descriptor closed or reused.
 *
 * Loop thread only, except the task's work(), which touches only its own
 * roots_task. */
#ifndef EP_WORKER_ROOTS_H
#define EP_WORKER_ROOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "worker/wq.h"

/* How often a path is resolved again. A swap is served at most about this
 * long after it happened (plus one loop iteration), well within a second
 * even when a busy loop runs its tick late. */
#define ROOTS_CHECK_MS 250

typedef struct root_dir {
    int fd;        /* O_PATH|O_DIRECTORY */
    dev_t dev;
    ino_t ino;
    uint64_t id;   /* unique in this worker and never reused (from 1): the open-file cache's key */
    int refs;      /* views that list it */
    bool owned;    /* false: the master's descriptor, which the worker never closes */
    bool retired;  /* a newer directory serves the path */
} root_dir;

typedef struct root_view {
    int refs;      /* requests using it, plus one while it is the current view */
    size_t n;
    root_dir *dir[]; /* one per cfg->dirs entry */
} root_view;

/* The part a write-queue task may touch: which paths to resolve, and the outcome. */
typedef struct {
    wq_task base;
    size_t n;
    char *const *paths;
    /* set once by roots_init, read by work() */
    ssize_t *under;      /* the configured path paths[i] lies below, or -1 */
    const char **rel;    /* paths[i] from there on */
    size_t *order;       /* those before what lies below them */
    int *fd, *err;   /* out: the opened directory, or -1 and errno */
    dev_t *dev;
    ino_t *ino;
} roots_task;

typedef struct roots {
    size_t n;
    char **paths;      /* copies of cfg->dirs */
    root_view *cur;
    int *last_err;     /* per path: errno of the failing resolution, 0 when fine; logs once per change */
    uint64_t next_id;
    int64_t next_check_ms;
    bool cached;       /* openat2 RESOLVE_CACHED works: try on the loop first */
    bool busy;         /* the task is in the queue */
    roots_task task;
    /* Told the id of a directory a swap retired (the open-file cache forgets its files). */
    void (*on_retire)(void *arg, uint64_t id);
    void *arg;
} roots;

/* What roots_apply did with one resolution's outcome. */
enum roots_outcome {
    ROOTS_SAME,         /* the same directory: nothing changed */
    ROOTS_SWAPPED,      /* a new directory serves the path from now on */
    ROOTS_FAILED,       /* the path cannot be opened, for a new reason: keep the last good one, warn */
    ROOTS_STILL_FAILED, /* failing as before: already warned */
    ROOTS_BACK,         /* the path works again and names the directory still served */
    ROOTS_RETRY,        /* no answer this time (out of descriptors or memory): the next check tries again */
};

/* paths[i] is opened as master_fds[i] (kept open by the caller); cached:
 * RESOLVE_CACHED lookups work. Returns 0, or -1 with errno. */
int roots_init(roots *rs, char *const *paths, size_t n, const int *master_fds, bool cached);
/* After every request has given its view back and the queue is drained. */
void roots_destroy(roots *rs);

/* The current view, with a reference taken for the caller. */
root_view *roots_acquire(roots *rs);
/* Give *v back (NULL is fine) and set it to NULL. */
void roots_put(root_view **v);

/* The open-file cache key of directory dir in v: 0 (never cached) once a
 * newer directory serves its path, so a lookup that finishes after a swap
 * does not put a file of the old release back into the cache. */
static inline uint64_t roots_cache_key(const root_view *v, int dir)
{
    return v->dir[dir]->retired ? 0 : v->dir[dir]->id;
}

/* A watched folder on a path changed (worker/fwatch.h): resolve the paths
 * now, on the loop, so that the next request is served from what they
 * name (while a queued check is out, as soon as it is back). */
void roots_check_now(roots *rs, wq *q, int64_t now_ms);

/* At every loop tick: resolve the paths again when ROOTS_CHECK_MS has passed
 * (q takes the lookups that would wait on a disk). */
void roots_check(roots *rs, wq *q, int64_t now_ms);
/* ms, or less when the next check is due sooner (an idle worker still checks). */
int64_t roots_wait_ms(const roots *rs, int64_t now_ms, int64_t ms);

/* For each of paths[n]: the longest other one it lies below by whole
 * components (trailing '/' aside), or -1, and the rest of it from there
 * ("." for the same folder); order lists each after what it lies below. A
 * check resolves them in that order, each below the descriptor just
 * resolved for the one it lies below, so that an alias inside the root
 * always comes from the same release as the root. For roots_init; open for tests. */
void roots_plan(char *const *paths, size_t n, ssize_t *under, const char **rel, size_t *order);
/* Take the outcome of resolving path i: fd (taken over) with its dev and
 * ino, or fd < 0 and err. The bookkeeping of roots_check, open for tests. */
enum roots_outcome roots_apply(roots *rs, size_t i, int fd, dev_t dev, ino_t ino, int err);

#endif
