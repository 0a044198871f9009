/* log/access.c: Combined Log Format lines, escaped like nginx, written in batches. */
#include "log/access.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int access_log_open(access_log *al, const char *path, size_t bufsize)
{
    memset(al, 0, sizeof *al);
    al->fd = -1;
    if (!path || strcmp(path, "off") == 0)
        return 0;
    snprintf(al->path, sizeof al->path, "%s", path);
    char err[128];
    if (lf_compile(&al->combined, LF_COMBINED, LF_ESC_DEFAULT, err, sizeof err) < 0)
        return -1;
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
    while (off < al->len) {
        ssize_t w = write(al->fd, al->buf + off, al->len - off);
        if (w <= 0)
            break; /* a full disk must not stop serving; the lines are dropped */
        off += (size_t)w;
    }
    al->len = 0;
}

void access_log_close(access_log *al)
{
    if (al->fd >= 0) {
        access_log_flush(al);
        if (al->own_fd)
            close(al->fd);
    }
    free(al->buf);
    al->buf = NULL;
    al->fd = -1;
    lf_free(&al->combined);
}

void access_log_write_fmt(access_log *al, const lf_format *f, const access_entry *e)
{
    if (al->fd < 0)
        return;
    if (al->len + f->line_max > al->cap)
        access_log_flush(al);
    if (f->line_max > al->cap) { /* a format longer than the buffer: once */
        char *b = realloc(al->buf, f->line_max);
        if (!b)
            return; /* the line is dropped; serving goes on */
        al->buf = b;
        al->cap = f->line_max;
    }
    al->len += lf_write(f, e, al->buf + al->len);
}

void access_log_write(access_log *al, const access_entry *e)
{
    access_log_write_fmt(al, &al->combined, e);
}
