/* worker/fwatch.h: inotify watches that tell the open-file cache, and the roots, what changed on disk.
 *
 * A cached file is watched itself (content, length, mode, links: a write,
 * a truncate, a chmod, an unlink or an mv over it) and so is every folder
 * on its path from the root (a folder renamed, replaced, made unreadable,
 * or a name on the path created, deleted or moved: an mv of a new version
 * into place, a symlink swapped). Each watch is linked to what depends on
 * it; a change marks those owners stale. The kernel queues the event before
 * the file-system call that caused it returns, and the worker drains the
 * queue before it serves anything else in a loop iteration: a request that
 * starts after a change never sees the cache from before it.
 *
 * fw_arm runs where the lookup ran (the loop, or a write-queue task: it
 * touches only its arguments) and checks, after adding the watches, that
 * the path still names the file that was opened: a change between the open
 * and the watches is caught that way, every later one by an event. The
 * rest is loop-only. */
#ifndef EP_WORKER_FWATCH_H
#define EP_WORKER_FWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "worker/loop.h"

/* Folders a watched path may have below its root; a deeper file is
 * revalidated per request instead. */
#define FW_MAX_DEPTH 30

/* One watch a path depends on, as fw_arm found it. */
typedef struct {
    int wd;
    uint16_t off, len; /* the name within the path that matters in this folder; len 0: any change */
} fw_step;

/* What fw_arm did: filled where the lookup ran, adopted on the loop. */
typedef struct {
    int n;                           /* watches added (even when err is set: fw_adopt gives them back) */
    int err;                         /* 0: watched; ENOSPC: out of watches; EREMOTE: a file system
                                      * without change notification; ESTALE: the path changed while
                                      * being watched; else the errno of a failed step */
    fw_step step[FW_MAX_DEPTH + 2];  /* the root folder first, the file last */
} fw_arm_result;

/* What depends on a watch: one per step of each owner. */
typedef struct fw_link {
    struct fw_link *prev, *next; /* the node's links */
    struct fw_node *node;
    void *owner;
    const char *name; /* within the owner's own copy of the path */
    uint16_t len;     /* 0: any event on the watch concerns the owner */
} fw_link;

typedef struct fw_node fw_node;

typedef struct fwatch {
    loop_io io;         /* the inotify descriptor, read first in each loop iteration */
    loop_io mio;        /* /proc/self/mountinfo, or fd -1: a mount or unmount in the worker's
                         * namespace (a bind mount over a folder below a root raises no
                         * inotify event); its poll reports a change once */
    fw_node **buckets;  /* wd -> node */
    size_t nbuckets, nnodes;
    uint64_t seq;       /* bumped by every event read and every watch removed */
    /* An owner's watch saw a change (called while draining; mark, do not free). */
    void (*stale)(void *arg, void *owner);
    /* Too many events at once (the kernel dropped some), or the mounts
     * changed: every owner is stale. */
    void (*overflow)(void *arg);
    void *arg;
    uint64_t events, overflows;
} fwatch;

/* -1 with errno when inotify is unavailable: fw->io.fd stays -1 and every
 * fw_arm answers ENOSYS. */
int fw_init(fwatch *fw);
void fw_destroy(fwatch *fw);

/* Watch path (beneath the root folder rootfd, starting with '/'; a path
 * ending in '/' is a folder whose index file, index, was opened) and check
 * that it still names st. Thread-safe: only ifd, the arguments and out. */
void fw_arm(int ifd, int rootfd, const char *path, const char *index, const struct stat *st,
            fw_arm_result *out);

/* Link owner to r's watches through links (r->n of them), names pointing
 * into path (the same path fw_arm was given, owned by owner). Returns true
 * when owner is watched; false (links unused, watches given back) when r
 * says it is not. */
bool fw_adopt(fwatch *fw, const fw_arm_result *r, fw_link *links, void *owner, const char *path);
/* Remove the watches r added, linking nothing. */
void fw_discard(fwatch *fw, const fw_arm_result *r);
/* Unlink n links; a watch nobody needs any more is removed. */
void fw_release(fwatch *fw, fw_link *links, int n);

/* The same file, unchanged: inode, mode, size and times. */
bool fw_same_file(const struct stat *a, const struct stat *b);

/* Read every queued event and tell the owners; a change of the mounts
 * (seen = true: the loop already saw it) tells them all. */
void fw_mounts(fwatch *fw, bool seen);
void fw_drain(fwatch *fw);

#endif
