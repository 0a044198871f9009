/* http/file.c: opening request paths beneath the document root (openat2) and page-cache probes. */
#include "http/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* O_NONBLOCK: opening a FIFO for reading must not wait for a writer; it has
 * no effect on reads of regular files. O_NOCTTY: a tty node in the tree must
 * never become our controlling terminal. */
#define FILE_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* RESOLVE_BENEATH alone can answer EAGAIN when a concurrent rename makes a
 * ".." check unprovable; the kernel asks the caller to retry. */
#define FILE_BENEATH_RETRIES 4

static int sys_openat2(int dirfd, const char *path, const struct open_how *how)
{
    return (int)syscall(SYS_openat2, dirfd, path, how, sizeof *how);
}

static unsigned long long resolve_flags(enum file_links links, unsigned flags)
{
    unsigned long long r;

    switch (links) {
    case FILE_LINKS_ALL:
        r = RESOLVE_NO_MAGICLINKS;
        break;
    case FILE_LINKS_NONE:
        r = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        break;
    case FILE_LINKS_BENEATH:
    default: /* an unknown policy gets the safe one */
        r = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        break;
    }
    if (flags & FILE_CACHED_ONLY)
        r |= RESOLVE_CACHED;
    return r;
}

/* ---- without openat2 ------------------------------------------------------ */

#define WALK_DEPTH 64 /* directories held open at once while walking */
#define WALK_LINKS 40 /* symlinks followed in one lookup, the kernel's own limit */

/* Follows the symlink `name` in cur: its target, then what was left of the
 * path, become the path still to walk. */
static int walk_link(int cur, const char *name, const char *rest, char *todo, int *nlinks)
{
    char target[PATH_MAX], next[PATH_MAX];

    if (++*nlinks > WALK_LINKS)
        return ELOOP;
    ssize_t n = readlinkat(cur, name, target, sizeof target - 1);
    if (n < 0)
        return errno;
    target[n] = '\0';
    if (target[0] == '/')
        return EXDEV; /* RESOLVE_BENEATH refuses absolute targets too */
    if (snprintf(next, sizeof next, "%s%s", target, rest) >= (int)sizeof next)
        return ENAMETOOLONG;
    memcpy(todo, next, strlen(next) + 1);
    return 0;
}

/* Where openat2 is missing (before Linux 5.6) or filtered out (seccomp:
 * systemd's RestrictSUIDSGID, some container profiles), the same rules by
 * hand: one component at a time with O_NOFOLLOW, symlinks read and walked
 * here, and a step above dirfd or to an absolute target refused with EXDEV,
 * as RESOLVE_BENEATH does (FILE_LINKS_NONE: any symlink is ELOOP). Paths
 * are normalised, so only a symlink could leave the root; FILE_LINKS_ALL
 * allows that, and gets a plain openat. Returns the fd, or -1 with errno. */
static int walk_open(int dirfd, const char *path, int flags, enum file_links links)
{
    if (links == FILE_LINKS_ALL)
        return openat(dirfd, path, flags);
    char todo[PATH_MAX], name[NAME_MAX + 1];
    int stack[WALK_DEPTH], depth = 0, nlinks = 0, fd = -1, err = 0;
    if (snprintf(todo, sizeof todo, "%s", path) >= (int)sizeof todo)
        err = ENAMETOOLONG;
    for (char *p = todo; !err;) {
        int cur = depth ? stack[depth - 1] : dirfd;
        while (*p == '/')
            p++;
        char *end = strchrnul(p, '/'), *rest = end;
        while (*rest == '/')
            rest++;
        size_t len = (size_t)(end - p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
            if (*rest) {
                p = rest;
                continue;
            }
            if ((fd = openat(cur, ".", flags)) < 0) /* nothing left: this directory */
                err = errno;
            break;
        }
        if (len > NAME_MAX) {
            err = ENAMETOOLONG;
            break;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (depth == 0)
                err = EXDEV;
            else
                close(stack[--depth]);
            p = rest;
            continue;
        }
        struct stat st;
        if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            err = errno;
        } else if (S_ISLNK(st.st_mode)) {
            err = links == FILE_LINKS_NONE ? ELOOP : walk_link(cur, name, end, todo, &nlinks);
            p = todo;
        } else if (!*rest) { /* the last component: a trailing '/' asks for a directory */
            if ((fd = openat(cur, name, flags | O_NOFOLLOW | (*end ? O_DIRECTORY : 0))) < 0)
                err = errno;
            break;
        } else if (!S_ISDIR(st.st_mode)) {
            err = ENOTDIR;
        } else if (depth == WALK_DEPTH) {
            err = ENAMETOOLONG;
        } else if ((stack[depth] = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
            err = errno;
        } else {
            depth++;
            p = rest;
        }
    }
    while (depth > 0)
        close(stack[--depth]);
    if (fd < 0)
        errno = err;
    return fd;
}

/* ---- with openat2 --------------------------------------------------------- */

/* openat2 that retries what the kernel says is worth retrying, and walks by
 * hand where there is no openat2. Returns the fd, or -1 with errno; EAGAIN
 * survives only for RESOLVE_CACHED (the lookup needs I/O) or a persistent
 * rename race. */
static int open_retry(int dirfd, const char *path, const struct open_how *how,
                      enum file_links links, unsigned flags)
{
    int tries = 0;

    if (flags & FILE_NO_OPENAT2)
        return walk_open(dirfd, path, (int)how->flags, links);
    for (;;) {
        int fd = sys_openat2(dirfd, path, how);
        if (fd >= 0)
            return fd;
        if (errno == EINTR)
            continue;
        if (errno == ENOSYS) {
            if (how->resolve & RESOLVE_CACHED) {
                errno = EAGAIN; /* no cached lookups here: the write queue walks */
                return -1;
            }
            return walk_open(dirfd, path, (int)how->flags, links);
        }
        if (errno == EAGAIN && !(how->resolve & RESOLVE_CACHED) &&
            ++tries < FILE_BENEATH_RETRIES)
            continue;
        return -1;
    }
}

/* Status for a failed openat2/fstat. ELOOP and EXDEV are how RESOLVE_*
 * refuse a symlink (and ELOOP also a genuine loop): both are a 403 that a
 * client cannot tell from a permission problem, which is the intent. ENXIO
 * is what open() says for a socket node: not a regular file, so 403. */
static int errno_status(int e, bool cached)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case EPERM:
    case ELOOP:
    case EXDEV:
    case ENXIO:
    case ENODEV:
        return 403;
    case EAGAIN:
        return cached ? FILE_WOULDBLOCK : 500;
    case EMFILE: /* out of descriptors (or memory): a moment's overload */
    case ENFILE:
    case ENOMEM:
        return 503;
    default:
        return 500;
    }
}

static int fail(file_result *res, int status, int err)
{
    res->fd = -1;
    res->status = status;
    res->err = err;
    res->index = -1;
    return status;
}

/* Takes ownership of fd on every path: on success it is in res. */
static int finish_regular(int fd, const struct stat *st, file_result *res, int index)
{
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return fail(res, 403, 0);
    }
    res->fd = fd;
    res->st = *st;
    res->status = 200;
    res->err = 0;
    res->index = index;
    return 200;
}

/* Tries each index name in the directory dir (a path relative to rootfd,
 * "" or ending in '/'). Each is opened from the root, as a direct request
 * for dir + name would be: with RESOLVE_BENEATH an index symlink may go
 * anywhere beneath the root, not only beneath dir, and what a request for
 * "/d/" may read is exactly what one for "/d/index.html" may. A missing
 * index, or one that is a directory, moves on to the next name; anything
 * else decides. 404 when none is there: the caller then looks at dir. */
static int open_index(int rootfd, const char *dir, const char *const *index, size_t nindex,
                      const struct open_how *how, enum file_links links, unsigned flags,
                      file_result *res)
{
    bool cached = how->resolve & RESOLVE_CACHED;
    char name[PATH_MAX];

    for (size_t i = 0; i < nindex; i++) {
        struct stat st;
        int fd = -1;
        if (snprintf(name, sizeof name, "%s%s", dir, index[i]) >= (int)sizeof name)
            errno = ENAMETOOLONG;
        else
            fd = open_retry(rootfd, name, how, links, flags);
        if (fd < 0) {
            int e = errno, status = errno_status(e, cached);
            if (status == 404)
                continue;
            return fail(res, status, e);
        }
        if (fstat(fd, &st) < 0) {
            int e = errno;
            close(fd);
            return fail(res, 500, e);
        }
        if (S_ISDIR(st.st_mode)) {
            close(fd);
            continue;
        }
        return finish_regular(fd, &st, res, (int)i);
    }
    return fail(res, 404, ENOENT);
}

/* True when a segment of path is "..". Request paths are normalised, but an
 * alias rest or a try_files template may not be, and FILE_LINKS_ALL has no
 * RESOLVE_BENEATH to stop a ".." at the root: refusing it by name keeps
 * every policy beneath rootfd. */
static bool climbs(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return true;
    return false;
}

int file_open(int rootfd, const char *path, const char *const *index, size_t nindex,
              enum file_links links, unsigned flags, file_result *res)
{
    struct open_how how = {
        .flags = FILE_OPEN_FLAGS,
        .mode = 0,
        .resolve = resolve_flags(links, flags),
    };
    const char *rel = path;
    struct stat st;
    int fd;

    /* Every leading '/' must go: an absolute path would ignore rootfd
     * altogether under FILE_LINKS_ALL, which has no RESOLVE_BENEATH. */
    while (*rel == '/')
        rel++;
    if (climbs(rel))
        return fail(res, 404, ENOENT); /* as if nothing were there, under every policy */
    bool want_dir = *rel == '\0' || rel[strlen(rel) - 1] == '/';
    /* The index first: when it is there (the usual case) one open finds it,
     * and only a miss needs the directory itself, for 403 or 404. */
    if (want_dir && open_index(rootfd, rel, index, nindex, &how, links, flags, res) != 404)
        return res->status;

    fd = open_retry(rootfd, *rel ? rel : ".", &how, links, flags);
    if (fd < 0) {
        int e = errno, status = errno_status(e, flags & FILE_CACHED_ONLY);
        return fail(res, status, e);
    }
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return fail(res, 500, e);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return fail(res, want_dir ? 403 : 301, 0); /* a folder without an index, or without its '/' */
    }
    return finish_regular(fd, &st, res, -1);
}

bool file_cached_open_supported(int rootfd)
{
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC,
        .resolve = RESOLVE_CACHED | RESOLVE_BENEATH,
    };
    int fd = sys_openat2(rootfd, ".", &how);

    if (fd >= 0) {
        close(fd);
        return true;
    }
    /* EINVAL: openat2 without RESOLVE_CACHED (5.6 to 5.11); ENOSYS: no
     * openat2 at all; E2BIG: a struct open_how the kernel does not know.
     * Anything else (EAGAIN included) means the flag itself was accepted. */
    return errno != EINVAL && errno != ENOSYS && errno != E2BIG;
}

ssize_t file_read_nowait(int fd, void *buf, size_t len, off_t off)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };

    return preadv2(fd, &iov, 1, off, RWF_NOWAIT);
}

/* One byte read from page cache only: false only for "not cached". A short
 * read at EOF is cached enough; any other error is left for the real send
 * to meet and report. */
static bool byte_cached(int fd, off_t off)
{
    char c;

    return file_read_nowait(fd, &c, 1, off) >= 0 || errno != EAGAIN;
}

bool file_range_cached(int fd, off_t off, size_t len)
{
    if (len == 0 || off < 0)
        return true; /* a negative offset would make preadv2 use the file position */
    if (!byte_cached(fd, off))
        return false;
    if (len == 1)
        return true;
    /* off + len - 1 past OFF_MAX cannot be a real file offset; the send
     * fails on its own, so there is nothing useful to probe. */
    off_t max = (off_t)((1ULL << (sizeof(off_t) * 8 - 1)) - 1);
    if ((unsigned long long)(len - 1) > (unsigned long long)(max - off))
        return true;
    return byte_cached(fd, off + (off_t)(len - 1));
}

#ifndef SYS_cachestat
#define SYS_cachestat 451 /* the same number on every architecture */
#endif

struct ep_cachestat_range {
    uint64_t off, len;
};

struct ep_cachestat {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

int file_range_cachestat(int fd, off_t off, size_t len)
{
    if (len == 0 || off < 0)
        return 1;
    struct ep_cachestat_range r = { (uint64_t)off, len };
    struct ep_cachestat cs;
    /* ENOSYS before Linux 6.5; EPERM where the kernel (6.14+, and
     * stable kernels since) answers only for files the caller may write or
     * owns: a worker reading root's files as www-data. Either way the
     * probes answer instead: "cached" here would send a cold file from the
     * loop. */
    if (syscall(SYS_cachestat, fd, &r, &cs, 0) < 0)
        return -1;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t first = (uint64_t)off / page, last = ((uint64_t)off + len - 1) / page;
    /* Pages past EOF are never cached, so a range beyond the file reads as
     * "not cached": the safe answer. Callers stay within the file. */
    return cs.nr_cache >= last - first + 1;
}

int file_open_dir(int rootfd, const char *path, enum file_links links, unsigned flags)
{
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = resolve_flags(links, flags),
    };
    while (*path == '/')
        path++;
    if (climbs(path)) {
        errno = ENOENT;
        return -1;
    }
    return open_retry(rootfd, *path ? path : ".", &how, links, flags);
}
