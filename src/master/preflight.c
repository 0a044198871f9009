/* master/preflight.c: what a generation needs that can fail, checked before it may serve: its logs, and its directories as the workers' user sees them. */
#include "master/preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool log_is_file(const char *path)
{
    return path && strcmp(path, "off") != 0 && strcmp(path, "-") != 0;
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
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    struct stat st;
    const char *why = e == ENOENT && stat(dir, &st) < 0 ? ": its folder does not exist" : "";
    snprintf(err, errlen, "%s\"%s\" \"%s\": %s: %s%s%s", where, setting, path, what, strerror(e), why,
             sandbox_hint(e));
}

/* The group a new log gets: its folder's, as a set-group-ID folder would
 * give it, so /var/log/ephttpd (root:adm) yields www-data:adm 0640, the
 * owner and mode logrotate's "create" gives the rotated files. */
gid_t preflight_log_group(const char *path, gid_t fallback)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    struct stat st;
    return stat(dirname(copy), &st) == 0 ? st.st_gid : fallback;
}

static int preflight_log(const char *setting, const char *where, const char *path,
                         const priv_target *p, bool create, char *err, size_t errlen)
{
    if (!create) {
        /* -t creates nothing: an existing file must open for appending (not
         * a directory, not a FIFO nobody reads; opening writes nothing), a
         * missing one must be creatable in its folder. */
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", path);
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (errno == ENOENT && access(dirname(copy), W_OK | X_OK) == 0)
            return 0;
        log_fail(err, errlen, setting, where, path, "cannot be opened for writing", errno);
        return -1;
    }
    /* O_NONBLOCK: a FIFO with no reader must be refused (ENXIO), not hang the master. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0640);
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
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        log_fail(err, errlen, setting, where, path, "cannot be opened", errno);
        return -1;
    }
    /* Workers reopen it as their user after a rotation: a file left by an
     * earlier user (the setting changed) is given to the current one, as
     * nginx's master does. Only regular files: a FIFO or a device stays. */
    struct stat st;
    if (p->change && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid != p->uid &&
        fchown(fd, p->uid, (gid_t)-1) < 0) {
        log_fail(err, errlen, setting, where, path, "giving it to the workers' user", errno);
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int preflight_logs(const cfg *c, const priv_target *p, const char *error_log, bool create, char *err,
                   size_t errlen)
{
    char where[512] = "";
    if (c->source)
        snprintf(where, sizeof where, "%s: ", c->source);
    if (log_is_file(error_log) && preflight_log("error_log", where, error_log, p, create, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < c->nservers; i++) {
        const cfg_server *s = &c->servers[i];
        if (!log_is_file(s->access_log))
            continue;
        if (s->where)
            snprintf(where, sizeof where, "%s: ", s->where);
        if (preflight_log("access_log", where, s->access_log, p, create, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int preflight_pidfile(const cfg *c, char *err, size_t errlen)
{
    if (!c->pid_file)
        return 0;
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", c->pid_file);
    if (access(dirname(copy), W_OK | X_OK) == 0)
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
        close(fds[0]);
        prctl(PR_SET_NAME, "ephttpd-check"); /* not a worker, to whoever lists the master's children */
        _exit(dirs_as_user(c, p, fds[1]));
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < errlen && ((r = read(fds[0], err + n, errlen - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
        n += r > 0 ? (size_t)r : 0;
    err[n] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (n == 0)
        snprintf(err, errlen, "checking the roots as the workers' user failed");
    return -1;
}
