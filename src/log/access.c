/* log/access.c: Combined Log Format lines, escaped like nginx, written in batches. */
#include "log/access.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/logfile.h"

static int open_target(const char *path, bool *own)
{
    *own = false;
    if (strcmp(path, "-") == 0)
        return 1;
    *own = true;
    /* O_NONBLOCK: a FIFO whose reader went away fails (ENXIO) instead of
     * blocking a starting worker; writes then block as for a file. */
    int fd = logfile_open(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, 0640);
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* The syslog target, connected again now (NULL: none, or it failed: the
 * caller's lines are dropped until the next second's try). */
static void slog_reach(access_log *al, time_t now)
{
    if (al->fd >= 0 || now < al->retry)
        return;
    al->fd = slog_connect(al->slog);
    if (al->fd < 0) {
        al->drop_errno = errno;
        al->retry = now + 1;
    }
}

int access_log_open(access_log *al, const char *path, size_t bufsize)
{
    memset(al, 0, sizeof *al);
    al->fd = -1;
    if (!path || strcmp(path, "off") == 0)
        return 0;
    snprintf(al->path, sizeof al->path, "%s", path);
    char err[256];
    if (lf_compile(&al->combined, LF_COMBINED, LF_ESC_DEFAULT, err, sizeof err) < 0)
        return -1;
    if (slog_is(path)) {
        if (!(al->slog = malloc(sizeof *al->slog)) || slog_parse(path, al->slog, err, sizeof err) < 0 ||
            !(al->buf = malloc(SLOG_HEAD_MAX + ACCESS_LINE_MAX))) {
            errno = al->slog ? EINVAL : ENOMEM;
            return -1;
        }
        al->cap = SLOG_HEAD_MAX + ACCESS_LINE_MAX;
        slog_reach(al, time(NULL));
        return 0;
    }
    if (bufsize < ACCESS_LINE_MAX)
        bufsize = ACCESS_LINE_MAX;
    al->buf = malloc(bufsize);
    if (!al->buf)
        return -1;
    al->cap = bufsize;
    al->fd = open_target(path, &al->own_fd);
    return al->fd < 0 ? -1 : 0;
}

int access_log_reopen(access_log *al)
{
    if (al->slog) { /* a rotated syslog daemon: connect afresh */
        if (al->fd >= 0)
            close(al->fd);
        al->fd = -1;
        al->retry = 0;
        slog_reach(al, time(NULL));
        return 0;
    }
    if (al->fd < 0 || !al->own_fd)
        return 0;
    access_log_flush(al);
    bool own;
    int fd = open_target(al->path, &own);
    if (fd < 0)
        return -1;
    close(al->fd);
    al->fd = fd;
    return 0;
}

void access_log_flush(access_log *al)
{
    size_t off = 0;
    while (off < al->len && !al->slog) {
        ssize_t w = write(al->fd, al->buf + off, al->len - off);
        if (w <= 0) { /* a full disk must not stop serving: the lines are dropped, and counted */
            al->dropped += al->lines;
            al->drop_errno = w < 0 ? errno : ENOSPC;
            break;
        }
        off += (size_t)w;
    }
    al->len = al->lines = 0;
}

void access_log_close(access_log *al)
{
    if (al->fd >= 0) {
        access_log_flush(al);
        if (al->own_fd || al->slog)
            close(al->fd);
    }
    free(al->slog);
    al->slog = NULL;
    free(al->buf);
    al->buf = NULL;
    al->fd = -1;
    lf_free(&al->combined);
}

/* One datagram a line, never waiting: a full or absent syslog socket
 * drops it (and counts it). */
static void slog_write(access_log *al, const lf_format *f, const access_entry *e)
{
    slog_reach(al, e->when);
    if (al->fd < 0) {
        al->dropped++;
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t h = slog_header(al->slog, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, (int)getpid(), al->buf);
    size_t n = lf_write(f, e, al->buf + h) - 1; /* no newline: the datagram is the line */
    if (slog_send(&al->fd, al->buf, h + n) < 0) {
        al->dropped++;
        al->drop_errno = errno;
        al->retry = e->when + 1; /* if it is gone (ECONNREFUSED): connect again then */
    }
}

/* A buffer of at least need bytes (a format longer than the usual: once). */
static bool access_log_room(access_log *al, size_t need)
{
    if (need <= al->cap)
        return true;
    char *b = realloc(al->buf, need);
    if (!b)
        return false;
    al->buf = b;
    al->cap = need;
    return true;
}

void access_log_write_fmt(access_log *al, const lf_format *f, const access_entry *e)
{
    if (al->slog) {
        if (!access_log_room(al, f->line_max + SLOG_HEAD_MAX)) {
            al->dropped++;
            return;
        }
        slog_write(al, f, e);
        return;
    }
    if (al->fd < 0)
        return;
    if (al->len + f->line_max > al->cap)
        access_log_flush(al);
    if (!access_log_room(al, f->line_max)) {
        al->dropped++; /* serving goes on */
        return;
    }
    al->len += lf_write(f, e, al->buf + al->len);
    al->lines++;
}

void access_log_write(access_log *al, const access_entry *e)
{
    access_log_write_fmt(al, &al->combined, e);
}
