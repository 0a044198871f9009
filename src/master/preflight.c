/* master/preflight.c: what a generation needs that can fail, checked before it may serve: its logs, its directories as the workers' user sees them, its TLS pairs. */
#include "master/preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "log/log.h"
#include "log/target.h"
#include "tls/tls.h"
#include "util/logfile.h"
#include "util/time.h"

#define CHECK_LIMIT_MS 10000

static bool log_is_file(const char *path)
{
    return path && strcmp(path, "off") != 0 && strcmp(path, "-") != 0 && !slog_is(path) && !journal_is(path);
}

/* The folder path is in, written into buf (dirname edits its argument). */
static const char *folder_of(const char *path, char buf[4096])
{
    snprintf(buf, 4096, "%s", path);
    return dirname(buf);
}

/* Under systemd a path outside the unit's writable ones fails with EROFS
 * (ProtectSystem=strict) or EACCES/ENOENT (ProtectHome): say where to look. */
static const char *sandbox_hint(int err)
{
    if (!getenv("INVOCATION_ID") || (err != EROFS && err != EACCES && err != ENOENT && err != EPERM))
        return "";
    return " (under systemd only the unit's ReadWritePaths are writable: see ephttpd(8), SANDBOX)";
}

static void log_fail(char *err, size_t errlen, const char *setting, const char *where,
                     const char *path, const char *what, int e)
{
    char buf[4096];
    struct stat st;
    const char *why = e == ENOENT && stat(folder_of(path, buf), &st) < 0 ? ": its folder does not exist" : "";
    snprintf(err, errlen, "%s\"%s\" \"%s\": %s: %s%s%s", where, setting, path, what, strerror(e), why,
             sandbox_hint(e));
}

/* The group a new log gets: its folder's, as a set-group-ID folder would
 * give it, so /var/log/ephttpd (root:adm) yields www-data:adm 0640, the
 * owner and mode logrotate's "create" gives the rotated files. */
gid_t preflight_log_group(const char *path, gid_t fallback)
{
    char buf[4096];
    struct stat st;
    return stat(folder_of(path, buf), &st) == 0 ? st.st_gid : fallback;
}

/* A reload that changed the workers' user gives it the logs the previous
 * user had, so that the new workers can reopen them after a rotation. Only
 * a plain file of that user's, reached without a symbolic link and with no
 * other name: whoever can write a log folder must not make the root master
 * hand over a file it reaches through a link (CVE-2016-1247's kind). */
static int give_log(int fd, const char *path, const priv_target *p, const priv_target *prev)
{
    struct stat st, lst;
    if (!p->change || !prev || !prev->change || prev->uid == p->uid || fstat(fd, &st) < 0 ||
        lstat(path, &lst) < 0 || !S_ISREG(lst.st_mode) || st.st_ino != lst.st_ino ||
        st.st_dev != lst.st_dev || st.st_nlink != 1 || st.st_uid != prev->uid)
        return 0;
    return fchown(fd, p->uid, (gid_t)-1);
}

static int preflight_log(const char *setting, const char *where, const char *path,
                         const priv_target *p, const priv_target *prev, bool create, char *err,
                         size_t errlen)
{
    if (!create) {
        /* -t creates nothing: an existing file must open for appending (not
         * a directory, not a FIFO nobody reads; opening writes nothing), a
         * missing one must be creatable in its folder. */
        char buf[4096];
        int fd = logfile_open(path, O_WRONLY | O_APPEND | O_NONBLOCK, 0);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (errno == ENOENT && access(folder_of(path, buf), W_OK | X_OK) == 0)
            return 0;
        log_fail(err, errlen, setting, where, path, "cannot be opened for writing", errno);
        return -1;
    }
    /* O_NONBLOCK: a FIFO with no reader must be refused (ENXIO), not hang the master. */
    int fd = logfile_open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NONBLOCK, 0640);
    if (fd >= 0) {
        if (p->change && fchown(fd, p->uid, preflight_log_group(path, p->gid)) < 0) {
            log_fail(err, errlen, setting, where, path, "giving it to the workers' user", errno);
            close(fd);
            return -1;
        }
        close(fd);
        return 0;
    }
    if (errno == EEXIST)
        fd = logfile_open(path, O_WRONLY | O_APPEND | O_NONBLOCK, 0);
    if (fd < 0) {
        log_fail(err, errlen, setting, where, path, "cannot be opened", errno);
        return -1;
    }
    if (give_log(fd, path, p, prev) < 0) {
        log_fail(err, errlen, setting, where, path, "giving it to the workers' user", errno);
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* A place's own access logs (inherited ones are its server's). */
static int preflight_alogs(const cfg_rules *r, const priv_target *p, const priv_target *prev, bool create,
                           char *err, size_t errlen)
{
    char where[512];
    for (size_t k = 0; k < r->nalogs; k++) {
        const cfg_alog *l = &r->alogs[k];
        if (!log_is_file(l->path))
            continue;
        snprintf(where, sizeof where, "%s%s", l->where ? l->where : "", l->where ? ": " : "");
        if (preflight_log("access_log", where, l->path, p, prev, create, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int preflight_logs(const cfg *c, const priv_target *p, const priv_target *prev, const char *error_log,
                   bool create, char *err, size_t errlen)
{
    char where[512] = "";
    if (c->source)
        snprintf(where, sizeof where, "%s: ", c->source);
    if (log_is_file(error_log) && preflight_log("error_log", where, error_log, p, prev, create, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < c->nservers; i++) {
        const cfg_server *s = &c->servers[i];
        if (preflight_alogs(&s->r, p, prev, create, err, errlen) < 0)
            return -1;
        for (size_t j = 0; j < s->nlocs; j++)
            if ((s->locs[j].r.set & R_ACCESS_LOG) && preflight_alogs(&s->locs[j].r, p, prev, create, err, errlen) < 0)
                return -1;
    }
    return 0;
}

int preflight_pidfile(const cfg *c, char *err, size_t errlen)
{
    if (!c->pid_file)
        return 0;
    char buf[4096];
    if (access(folder_of(c->pid_file, buf), W_OK | X_OK) == 0)
        return 0;
    int e = errno;
    snprintf(err, errlen, "%s%s\"pid_file\" \"%s\": cannot be written: %s%s%s", c->source ? c->source : "",
             c->source ? ": " : "", c->pid_file, strerror(e), e == ENOENT ? ": its folder does not exist" : "",
             sandbox_hint(e));
    return -1;
}

/* In a child that became the workers' user: each directory must be
 * searchable and listable, or every request beneath it would fail. */
static int dirs_as_user(const cfg *c, const priv_target *p, int out)
{
    if (priv_drop(p) < 0) {
        dprintf(out, "the workers' user \"%s\": %s", p->user, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < c->ndirs; i++)
        if (access(c->dirs[i], R_OK | X_OK) < 0) {
            int e = errno;
            dprintf(out, "%s%sroot \"%s\": %s for the workers' user \"%s\"%s", c->source ? c->source : "",
                    c->source ? ": " : "", c->dirs[i], strerror(e), p->user, sandbox_hint(e));
            return 1;
        }
    return 0;
}

/* The child's verdict: its message on the pipe until end-of-file, within
 * CHECK_LIMIT_MS (a hung NFS or FUSE root must not hang the master). */
static int read_verdict(int fd, pid_t pid, char *err, size_t errlen)
{
    int64_t deadline = time_now_ms() + CHECK_LIMIT_MS;
    size_t n = 0;
    for (;;) {
        int64_t left = deadline - time_now_ms();
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            kill(pid, SIGKILL); /* reaped by whoever reaps children, later */
            snprintf(err, errlen, "checking the roots as the workers' user took over %d s (a hung "
                     "file system?)", CHECK_LIMIT_MS / 1000);
            return -1;
        }
        ssize_t k = read(fd, err + n, errlen - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || (n += (size_t)k) + 1 >= errlen)
            break;
    }
    err[n] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (n == 0)
        snprintf(err, errlen, "checking the roots as the workers' user failed");
    return -1;
}

int preflight_dirs(const cfg *c, const priv_target *p, char *err, size_t errlen)
{
    if (!p->change)
        return 0; /* the master's own view, already checked by validation */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* Nothing of the master's (listeners above all) stays open in a
         * child that might hang on a file system. */
        dup2(fds[1], 3);
        close_range(4, ~0U, 0);
        prctl(PR_SET_NAME, "ephttpd-check"); /* not a worker, to whoever lists the master's children */
        _exit(dirs_as_user(c, p, 3));
    }
    close(fds[1]);
    int r = read_verdict(fds[0], pid, err, errlen);
    close(fds[0]);
    return r;
}

int preflight_tls(const cfg *c, void (*warn)(void *ctx, const char *line), void *ctx, char *err, size_t errlen)
{
    tls_tickets tk = { .nkeys = 0 };
    tls_gen g;
    if (tls_tickets_rotate(&tk) < 0) {
        snprintf(err, errlen, "TLS: no random bytes for session ticket keys");
        return -1;
    }
    int rc = tls_gen_build(&g, c, &tk, err, errlen);
    if (rc == 0 && warn)
        tls_gen_expiry(&g, time(NULL), warn, ctx);
    tls_gen_free(&g);
    OPENSSL_cleanse(&tk, sizeof tk);
    return rc;
}

void preflight_fds(const cfg *c)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    /* 1024, the usual soft limit (systemd's too), would stop a worker far
     * short of worker_connections; the hard one (systemd: 524288) costs
     * nothing with epoll. Workers inherit it. */
    if (rl.rlim_cur != rl.rlim_max) {
        struct rlimit raised = { rl.rlim_max, rl.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    rlim_t need = (rlim_t)cfg_conn_fds(c) + (rlim_t)c->open_file_cache;
    if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur)
        log_warn("%s: \"worker_connections\" %d may need %llu open files per worker (a socket and a file "
                 "each, and the open-file cache), more than the limit of %llu: beyond it new connections wait and files get 503 "
                 "(raise the hard limit: LimitNOFILE= in the service, ulimit -Hn)",
                 c->source ? c->source : "-r", c->worker_connections, (unsigned long long)need,
                 (unsigned long long)rl.rlim_cur);
}
