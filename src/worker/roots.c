/* worker/roots.c: re-resolving root and alias paths now and then, and the refcounted views requests resolve beneath. */
#include "worker/roots.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log/log.h"

/* Open path as a directory; with cached, only from the dentry cache
 * (RESOLVE_CACHED: EAGAIN when a lookup would wait on a disk). Its dev and
 * ino come from statx with AT_STATX_DONT_SYNC: what the kernel already
 * knows, never a round trip to a network file server. The path is resolved
 * as the master resolved it: relative paths (quick mode) against the same
 * working directory, every symlink followed. */
static int roots_open(int at, const char *path, bool cached, dev_t *dev, ino_t *ino)
{
    int fd;
    if (cached) {
        struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_CACHED };
        fd = (int)syscall(SYS_openat2, at, path, &how, sizeof how);
    } else {
        fd = openat(at, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0)
        return -1;
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &sx) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    *ino = (ino_t)sx.stx_ino;
    return fd;
}

static root_view *view_new(size_t n)
{
    root_view *v = calloc(1, sizeof *v + n * sizeof v->dir[0]);
    if (v)
        v->n = n;
    return v;
}

static void dir_unref(root_dir *d)
{
    if (--d->refs > 0)
        return;
    if (d->owned)
        close(d->fd);
    free(d);
}

void roots_put(root_view **vp)
{
    root_view *v = *vp;
    *vp = NULL;
    if (!v || --v->refs > 0)
        return;
    for (size_t i = 0; i < v->n; i++)
        if (v->dir[i])
            dir_unref(v->dir[i]);
    free(v);
}

root_view *roots_acquire(roots *rs)
{
    rs->cur->refs++;
    return rs->cur;
}

/* Resolve every path, in one pass and in k->order, a path that lies below
 * another configured one relative to what that one just resolved to: an
 * alias under the root ("current/assets" beside "current") then always
 * comes from the same release as the root, whenever the swap lands. With
 * cached, false (nothing kept open) when some lookup would wait on a disk. */
static bool resolve_all(roots_task *k, bool cached)
{
    for (size_t o = 0; o < k->n; o++) {
        size_t i = k->order[o];
        ssize_t b = k->under[i];
        bool below = b >= 0 && k->fd[b] >= 0;
        k->fd[i] = roots_open(below ? k->fd[b] : AT_FDCWD, below ? k->rel[i] : k->paths[i], cached, &k->dev[i],
                              &k->ino[i]);
        k->err[i] = k->fd[i] < 0 ? errno : 0;
        if (cached && k->err[i] == EAGAIN) {
            for (size_t p = 0; p < o; p++)
                if (k->fd[k->order[p]] >= 0)
                    close(k->fd[k->order[p]]);
            return false;
        }
    }
    return true;
}

static void task_work(wq_task *t)
{
    resolve_all(EP_CONTAINER_OF(t, roots_task, base), false);
}

static void roots_note(roots *rs, size_t i, int fd, dev_t dev, ino_t ino, int err);

static void task_done(wq_task *t)
{
    roots *rs = EP_CONTAINER_OF(t, roots, task.base);
    roots_task *k = &rs->task;
    rs->busy = false;
    for (size_t i = 0; i < k->n; i++)
        roots_note(rs, i, k->fd[i], k->dev[i], k->ino[i], k->err[i]);
}

/* A path's length without its trailing '/' ("/" stays "/"). */
static size_t trimmed_len(const char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    return n;
}

void roots_plan(char *const *paths, size_t n, ssize_t *under, const char **rel, size_t *order)
{
    for (size_t i = 0; i < n; i++) {
        size_t li = trimmed_len(paths[i]), best = 0;
        under[i] = -1;
        for (size_t j = 0; j < n; j++) {
            size_t lj = trimmed_len(paths[j]);
            if (lj < li && lj > best && strncmp(paths[i], paths[j], lj) == 0 &&
                (paths[i][lj] == '/' || paths[j][lj - 1] == '/')) {
                best = lj;
                under[i] = (ssize_t)j;
            }
        }
        const char *r = paths[i] + best;
        while (*r == '/')
            r++;
        rel[i] = *r ? r : ".";
        order[i] = i;
    }
    /* shorter first: what a path lies below is strictly shorter */
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && trimmed_len(paths[order[b - 1]]) > trimmed_len(paths[order[b]]); b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
}

static int roots_alloc(roots *rs, size_t n)
{
    roots_task *k = &rs->task;
    size_t m = n ? n : 1;
    rs->paths = calloc(m, sizeof *rs->paths);
    rs->last_err = calloc(m, sizeof *rs->last_err);
    k->under = calloc(m, sizeof *k->under);
    k->rel = calloc(m, sizeof *k->rel);
    k->order = calloc(m, sizeof *k->order);
    k->fd = calloc(m, sizeof *k->fd);
    k->err = calloc(m, sizeof *k->err);
    k->dev = calloc(m, sizeof *k->dev);
    k->ino = calloc(m, sizeof *k->ino);
    rs->cur = view_new(n);
    if (!rs->paths || !rs->last_err || !k->under || !k->rel || !k->order || !k->fd || !k->err ||
        !k->dev || !k->ino || !rs->cur)
        return -1;
    rs->cur->refs = 1;
    return 0;
}

int roots_init(roots *rs, char *const *paths, size_t n, const int *master_fds, bool cached)
{
    memset(rs, 0, sizeof *rs);
    rs->n = n;
    rs->cached = cached;
    rs->next_id = 1;
    rs->task = (roots_task){ .base = { .work = task_work, .done = task_done }, .n = n };
    if (roots_alloc(rs, n) < 0)
        goto fail;
    rs->task.paths = rs->paths;
    for (size_t i = 0; i < n; i++) {
        struct statx sx;
        root_dir *d = calloc(1, sizeof *d);
        if (!d)
            goto fail;
        rs->cur->dir[i] = d;
        *d = (root_dir){ .fd = master_fds[i], .id = rs->next_id++, .refs = 1 };
        if (!(rs->paths[i] = strdup(paths[i])) ||
            statx(d->fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &sx) < 0)
            goto fail;
        d->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
        d->ino = (ino_t)sx.stx_ino;
    }
    roots_plan(rs->paths, n, rs->task.under, rs->task.rel, rs->task.order);
    return 0;
fail:;
    int e = errno;
    roots_destroy(rs);
    errno = e;
    return -1;
}

void roots_destroy(roots *rs)
{
    roots_put(&rs->cur);
    for (size_t i = 0; rs->paths && i < rs->n; i++)
        free(rs->paths[i]);
    free(rs->paths);
    free(rs->last_err);
    free(rs->task.under);
    free(rs->task.rel);
    free(rs->task.order);
    free(rs->task.fd);
    free(rs->task.err);
    free(rs->task.dev);
    free(rs->task.ino);
    memset(rs, 0, sizeof *rs);
}

/* A new current view: the old one with directory i replaced by d. The old
 * view lives on while requests hold it. */
static int roots_swap(roots *rs, size_t i, root_dir *d)
{
    root_view *v = view_new(rs->n);
    if (!v)
        return -1;
    v->refs = 1;
    for (size_t j = 0; j < rs->n; j++) {
        v->dir[j] = j == i ? d : rs->cur->dir[j];
        v->dir[j]->refs++;
    }
    root_dir *old = rs->cur->dir[i];
    old->retired = true;
    uint64_t old_id = old->id; /* the put may free it: no request holds it */
    roots_put(&rs->cur);
    rs->cur = v;
    if (rs->on_retire)
        rs->on_retire(rs->arg, old_id);
    return 0;
}

enum roots_outcome roots_apply(roots *rs, size_t i, int fd, dev_t dev, ino_t ino, int err)
{
    if (fd < 0) {
        /* The worker's own shortage says nothing about the path. */
        if (err == EMFILE || err == ENFILE || err == ENOMEM)
            return ROOTS_RETRY;
        if (err == rs->last_err[i])
            return ROOTS_STILL_FAILED;
        rs->last_err[i] = err;
        return ROOTS_FAILED;
    }
    bool was_failing = rs->last_err[i] != 0;
    rs->last_err[i] = 0;
    const root_dir *cur = rs->cur->dir[i];
    if (cur->dev == dev && cur->ino == ino) {
        close(fd);
        return was_failing ? ROOTS_BACK : ROOTS_SAME;
    }
    root_dir *d = malloc(sizeof *d);
    if (!d) {
        close(fd);
        return ROOTS_RETRY;
    }
    *d = (root_dir){ .fd = fd, .dev = dev, .ino = ino, .id = rs->next_id++, .owned = true };
    if (roots_swap(rs, i, d) < 0) {
        close(fd);
        free(d);
        return ROOTS_RETRY;
    }
    return ROOTS_SWAPPED;
}

/* Apply one outcome and say what changed: once per change, never per check. */
static void roots_note(roots *rs, size_t i, int fd, dev_t dev, ino_t ino, int err)
{
    const char *path = rs->paths[i];
    switch (roots_apply(rs, i, fd, dev, ino, err)) {
    case ROOTS_SWAPPED:
        log_info("\"%s\" names another directory now (device %u:%u, inode %llu): serving it", path,
                 major(dev), minor(dev), (unsigned long long)ino);
        break;
    case ROOTS_FAILED:
        /* The worker resolves as its own user: a folder only the master's
         * user may search is EACCES here, though the master opened it. */
        log_warn("\"%s\" cannot be opened (%s)%s; still serving the directory it named before", path,
                 strerror(err), err == EACCES ? " by the workers' user" : "");
        break;
    case ROOTS_BACK:
        log_info("\"%s\" can be opened again and names the directory being served", path);
        break;
    default:
        break;
    }
}

/* now: a watched folder on a path changed and the next request must see
 * what it names now, so the paths are resolved on the loop even where
 * that may wait (a deploy's swap, seconds apart at most; the components it
 * just made are in the dentry cache). */
static void roots_resolve(roots *rs, wq *q, int64_t now_ms, bool now)
{
    rs->next_check_ms = now_ms + ROOTS_CHECK_MS;
    roots_task *k = &rs->task;
    /* RESOLVE_CACHED also gives up when any rename anywhere raced the
     * walk (the kernel's rename seqlock): a deploy's swap just renamed, so
     * a second and third try often find every component cached after all. */
    bool done = false;
    for (int tries = 0; rs->cached && !done && tries < 3; tries++)
        done = resolve_all(k, true);
    if (!done && now)
        done = resolve_all(k, false);
    if (done) {
        for (size_t i = 0; i < rs->n; i++)
            roots_note(rs, i, k->fd[i], k->dev[i], k->ino[i], k->err[i]);
        return;
    }
    /* Some lookup would wait on a disk: all of them go to the queue, so the
     * set still comes from one pass. A full queue (it is sized for this task
     * too) only delays the check. */
    if (wq_submit(q, &k->base) == 0)
        rs->busy = true;
}

void roots_check(roots *rs, wq *q, int64_t now_ms)
{
    if (rs->busy || rs->n == 0 || now_ms < rs->next_check_ms)
        return;
    roots_resolve(rs, q, now_ms, false);
}

void roots_check_now(roots *rs, wq *q, int64_t now_ms)
{
    if (rs->n == 0)
        return;
    if (rs->busy) { /* the answer in flight may predate the change: again once it is back */
        rs->next_check_ms = INT64_MIN;
        return;
    }
    roots_resolve(rs, q, now_ms, true);
}

int64_t roots_wait_ms(const roots *rs, int64_t now_ms, int64_t ms)
{
    if (rs->n == 0 || rs->busy)
        return ms;
    int64_t d = rs->next_check_ms - now_ms;
    d = d < 0 ? 0 : d;
    return d < ms ? d : ms;
}
