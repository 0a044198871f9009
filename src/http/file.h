/* http/file.h: opening a request path beneath the document root, and page-cache probes.
 *
 * file_open() may block on the disk unless FILE_CACHED_ONLY is given, so the
 * worker calls it with that flag on the event loop and, when it answers
 * FILE_WOULDBLOCK, again without it in a write-queue task. It touches only
 * its arguments: no globals, no logging. */
#ifndef EP_HTTP_FILE_H
#define EP_HTTP_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "config/model.h" /* enum file_links: the "symlinks" setting */

enum file_flags {
    FILE_CACHED_ONLY = 1u << 0, /* openat2 RESOLVE_CACHED: never wait on a disk */
    FILE_NO_OPENAT2 = 1u << 1,  /* resolve by hand, as where openat2 is missing (tests) */
};

#define FILE_WOULDBLOCK 1 /* res->status: the lookup needs I/O; retry off the loop */

typedef struct {
    int fd;          /* open regular file (O_RDONLY|O_CLOEXEC), or -1 */
    struct stat st;  /* of fd, valid when fd >= 0 */
    int status;      /* 200, 301 (directory named without trailing '/'), 403, 404, 500, FILE_WOULDBLOCK */
    int err;         /* errno behind a non-200 status, 0 otherwise */
    int index;       /* which index[] entry was opened, or -1 */
} file_result;

/* Open path (normally as uri_decode_path leaves it: starts with '/', no "."
 * or ".." segments) relative to rootfd (an O_PATH|O_DIRECTORY descriptor of
 * the document root), under the given symlink policy. A ".." segment is
 * refused by name (404, err ENOENT) under every policy, so nothing climbs
 * above rootfd, not even with FILE_LINKS_ALL. A path ending in '/' names a
 * directory: each index[] name is tried in order, opened from rootfd as
 * path + name would be (an index symlink is judged against the root, not
 * the directory); none found → 403.
 * A directory named without the trailing '/' → 301. Anything that is not a
 * regular file or directory (FIFO, socket, device) → 403; opening never
 * blocks on a FIFO. ENOENT/ENOTDIR → 404, EACCES/EPERM and a symlink refused
 * by the policy → 403, other errors → 500. Always returns res->status. */
int file_open(int rootfd, const char *path, const char *const *index, size_t nindex,
              enum file_links links, unsigned flags, file_result *res);

/* Open the directory path names beneath rootfd (O_RDONLY|O_DIRECTORY), for
 * a listing, under the same rules as file_open. Returns the fd, or -1 with
 * errno (EAGAIN under FILE_CACHED_ONLY when the lookup needs I/O). */
int file_open_dir(int rootfd, const char *path, enum file_links links, unsigned flags);

/* True when openat2() with RESOLVE_CACHED works on this kernel (5.12+). */
bool file_cached_open_supported(int rootfd);

/* Read up to len bytes at off from page cache only (preadv2 RWF_NOWAIT).
 * Returns bytes read (may be short), or -1 with errno EAGAIN when the first
 * page is not cached, or another errno. */
ssize_t file_read_nowait(int fd, void *buf, size_t len, off_t off);

/* True when both the first and the last page of [off, off+len) are in the
 * page cache, i.e. sendfile() of that range will very likely not wait on a
 * disk. Costs two 1-byte preadv2(RWF_NOWAIT) calls. */
bool file_range_cached(int fd, off_t off, size_t len);

/* The same question answered exactly by one cachestat() call (Linux 6.5+):
 * 1 when every page of [off, off+len) is cached, 0 when one is not, -1 when
 * it cannot tell (no cachestat, or not for this caller and file: then use
 * file_range_cached). The range must lie within the file: pages past its end
 * count as not cached. */
int file_range_cachestat(int fd, off_t off, size_t len);

#endif
