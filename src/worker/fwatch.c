/* worker/fwatch.c: the worker's inotify instance: watches added for cached paths, events read and told to their owners. */
#include "worker/fwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/openat2.h>
#include <unistd.h>

/* A folder on the path: its own mode and fate, and the names in it
 * (created, deleted, moved in or out, their mode changed). Writes to other
 * files in it are not asked for: a busy log beside the pages costs nothing. */
#define FW_DIR_MASK                                                                                        \
    (IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |    \
     IN_ONLYDIR)
/* The file: its bytes and length, mode, times and links (an unlink or an
 * mv over it drops a link). */
#define FW_FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct fw_node {
    int wd;
    int refs;       /* links */
    bool dead;      /* the kernel dropped the watch (IN_IGNORED): nothing to remove */
    fw_link *links;
    fw_node *hnext;
};

int fw_init(fwatch *fw)
{
    memset(fw, 0, sizeof *fw);
    fw->io.fd = fw->mio.fd = -1;
    fw->nbuckets = 256;
    fw->buckets = calloc(fw->nbuckets, sizeof *fw->buckets);
    if (!fw->buckets)
        return -1;
    fw->io.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fw->io.fd < 0)
        return -1;
    /* The mount table signals a change with POLLPRI before the mount call
     * returns; whichever poll sees it first takes it (fw_mounts). */
    fw->mio.fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    return 0;
}

void fw_destroy(fwatch *fw)
{
    for (size_t i = 0; i < fw->nbuckets; i++)
        for (fw_node *n = fw->buckets ? fw->buckets[i] : NULL, *next; n; n = next) {
            next = n->hnext;
            free(n);
        }
    free(fw->buckets);
    if (fw->io.fd >= 0)
        close(fw->io.fd); /* the watches go with it */
    if (fw->mio.fd >= 0)
        close(fw->mio.fd);
    memset(fw, 0, sizeof *fw);
    fw->io.fd = fw->mio.fd = -1;
}

/* File systems whose changes made elsewhere (another client, another
 * host) never reach this kernel's inotify. */
static bool fw_remote(long type)
{
    switch ((unsigned long)type) {
    case 0x6969UL:     /* NFS */
    case 0x517BUL:     /* SMB */
    case 0xFF534D42UL: /* CIFS */
    case 0xFE534D42UL: /* SMB2 */
    case 0x65735546UL: /* FUSE */
    case 0x00C36400UL: /* Ceph */
    case 0x01021997UL: /* 9P */
    case 0x5346414FUL: /* AFS */
    case 0x73757245UL: /* Coda */
    case 0x0BD00BD0UL: /* Lustre */
    case 0x01161970UL: /* GFS2 */
    case 0x7461636FUL: /* OCFS2 */
        return true;
    default:
        return false;
    }
}

static bool fw_step_add(int ifd, const char *at, uint32_t mask, fw_arm_result *out, size_t off, size_t len)
{
    int wd = inotify_add_watch(ifd, at, mask);
    if (wd < 0) {
        out->err = errno;
        return false;
    }
    out->step[out->n++] = (fw_step){ wd, (uint16_t)off, (uint16_t)len };
    return true;
}

bool fw_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void fw_arm(int ifd, int rootfd, const char *path, const char *index, const struct stat *st,
            fw_arm_result *out)
{
    out->n = out->err = 0;
    struct statfs sf;
    if (ifd < 0) {
        out->err = ENOSYS;
        return;
    }

    /* Watches take a path, not a folder descriptor: the root is reached
     * through its descriptor's /proc link, so the watched folders are the
     * ones the lookup used even if the root's path has moved on. */
    char buf[PATH_MAX + 64];
    int base = rootfd >= 0 ? snprintf(buf, 64, "/proc/self/fd/%d", rootfd) : 0;
    size_t plen = strlen(path), ilen = index ? strlen(index) : 0;
    if (base < 0 || (size_t)base + plen + ilen >= sizeof buf || plen == 0 || path[0] != '/') {
        out->err = ENAMETOOLONG;
        return;
    }
    memcpy(buf + base, path, plen);
    memcpy(buf + base + plen, index ? index : "", ilen + 1);
    if (st) {
        /* The file's own file system (a network one may be mounted below a
         * local root): its changes made elsewhere never reach inotify. */
        if (statfs(buf, &sf) == 0 && fw_remote(sf.f_type)) {
            out->err = EREMOTE;
            return;
        }
        /* A symlink on the path: watching the folders the path names
         * misses a swap of a link inside the target's own path; fstatat
         * re-resolves every hop, so such a file is checked per request. */
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS };
        int fd = (int)syscall(SYS_openat2, rootfd, buf + base + 1, &how, sizeof how);
        if (fd < 0 && errno == ELOOP) {
            out->err = ELOOP;
            return;
        }
        if (fd >= 0)
            close(fd);
    }
    /* Each folder from the root down, with the name below it that the path
     * goes on with: for an index (the path ends in '/'), any name, since
     * an earlier index name appearing changes the answer. */
    for (size_t i = 0; i < plen; i++) {
        if (path[i] != '/')
            continue;
        if (out->n == FW_MAX_DEPTH + 1) {
            out->err = ENAMETOOLONG;
            return;
        }
        size_t end = i + 1;
        while (end < plen && path[end] != '/')
            end++;
        char save = buf[base + i];
        buf[base + i] = '\0';
        bool ok = fw_step_add(ifd, base + i == 0 ? "/" : buf, FW_DIR_MASK, out, i + 1, end - i - 1);
        buf[base + i] = save;
        if (!ok)
            return;
    }
    if (!st) /* folders only (the roots' paths) */
        return;
    if (!fw_step_add(ifd, buf, FW_FILE_MASK, out, 0, 0))
        return;
    struct stat now;
    if (fstatat(rootfd, buf + base + 1, &now, 0) < 0 || !fw_same_file(&now, st))
        out->err = ESTALE; /* changed between the open and the watches: not cached this time */
}

/* ---- the loop's side ---------------------------------------------------------- */

static fw_node **fw_slot(fwatch *fw, int wd)
{
    fw_node **pp = &fw->buckets[(size_t)wd & (fw->nbuckets - 1)];
    while (*pp && (*pp)->wd != wd)
        pp = &(*pp)->hnext;
    return pp;
}

static void fw_grow(fwatch *fw)
{
    size_t n = fw->nbuckets * 2;
    fw_node **b = calloc(n, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < fw->nbuckets; i++)
        for (fw_node *nd = fw->buckets[i], *next; nd; nd = next) {
            next = nd->hnext;
            nd->hnext = b[(size_t)nd->wd & (n - 1)];
            b[(size_t)nd->wd & (n - 1)] = nd;
        }
    free(fw->buckets);
    fw->buckets = b;
    fw->nbuckets = n;
}

/* Nobody needs the watch: remove it (the kernel's IN_IGNORED that follows
 * finds no node and is ignored; wds are not reused soon). */
static void fw_node_drop(fwatch *fw, fw_node *nd)
{
    fw_node **pp = fw_slot(fw, nd->wd);
    *pp = nd->hnext;
    if (!nd->dead)
        inotify_rm_watch(fw->io.fd, nd->wd);
    fw->seq++; /* a task that added this wd meanwhile must not trust it */
    fw->nnodes--;
    free(nd);
}

/* Watches r added that nobody links to are removed again. */
static void fw_give_back(fwatch *fw, const fw_arm_result *r, int from)
{
    for (int i = from; i < r->n; i++)
        if (!*fw_slot(fw, r->step[i].wd)) {
            inotify_rm_watch(fw->io.fd, r->step[i].wd);
            fw->seq++;
        }
}

void fw_discard(fwatch *fw, const fw_arm_result *r)
{
    fw_give_back(fw, r, 0);
}

bool fw_adopt(fwatch *fw, const fw_arm_result *r, fw_link *links, void *owner, const char *path)
{
    if (r->err || r->n == 0) {
        fw_give_back(fw, r, 0);
        return false;
    }
    for (int i = 0; i < r->n; i++) {
        fw_node **pp = fw_slot(fw, r->step[i].wd);
        if (!*pp) {
            fw_node *nd = calloc(1, sizeof *nd);
            if (!nd) {
                fw_release(fw, links, i);
                fw_give_back(fw, r, i);
                return false;
            }
            nd->wd = r->step[i].wd;
            *pp = nd;
            if (++fw->nnodes > fw->nbuckets)
                fw_grow(fw);
            pp = fw_slot(fw, r->step[i].wd);
        }
        fw_node *nd = *pp;
        fw_link *l = &links[i];
        *l = (fw_link){ .prev = NULL, .next = nd->links, .node = nd, .owner = owner,
                        .name = path + r->step[i].off, .len = r->step[i].len };
        if (nd->links)
            nd->links->prev = l;
        nd->links = l;
        nd->refs++;
    }
    return true;
}

void fw_release(fwatch *fw, fw_link *links, int n)
{
    for (int i = 0; i < n; i++) {
        fw_link *l = &links[i];
        fw_node *nd = l->node;
        if (l->prev)
            l->prev->next = l->next;
        else
            nd->links = l->next;
        if (l->next)
            l->next->prev = l->prev;
        if (--nd->refs == 0)
            fw_node_drop(fw, nd);
    }
}

void fw_mounts(fwatch *fw, bool seen)
{
    struct pollfd p = { .fd = fw->mio.fd, .events = POLLPRI };
    if (fw->mio.fd < 0 || (!seen && (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLPRI | POLLERR)))))
        return;
    fw->seq++;
    fw->events++;
    fw->overflow(fw->arg);
}

void fw_drain(fwatch *fw)
{
    fw_mounts(fw, false);
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(fw->io.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EAGAIN: all read */
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            fw->seq++;
            fw->events++;
            if (ev->mask & IN_Q_OVERFLOW) {
                fw->overflows++;
                fw->overflow(fw->arg);
                continue;
            }
            fw_node *nd = *fw_slot(fw, ev->wd);
            if (!nd)
                continue;
            /* Owners are only marked here: their links stay until the
             * caller sweeps them, so this walk is safe. */
            size_t nl = ev->len ? strlen(ev->name) : 0;
            for (fw_link *l = nd->links; l; l = l->next)
                if (nl == 0 || l->len == 0 || (l->len == nl && memcmp(l->name, ev->name, nl) == 0))
                    fw->stale(fw->arg, l->owner);
            if (ev->mask & IN_IGNORED)
                nd->dead = true;
        }
    }
}
