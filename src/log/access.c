/* log/access.c: Combined Log Format lines, escaped like nginx, written in batches. */
#include "log/access.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cidr.h"
#include "util/escape.h"
#include "util/logfile.h"
#include "util/time.h"

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
}

/* Quotes, backslashes and bytes outside printable ASCII become \xHH, as in
 * nginx, so a hostile User-Agent cannot forge or break a line. A field that
 * would take more than ACCESS_FIELD_MAX bytes so written is cut at a whole
 * byte and ends in "...[+N bytes]", N the bytes of it left out: every
 * request gets its line, and the line stays one line of balanced quotes. */
static size_t put_escaped(char *out, ep_str s)
{
    if (s.len == 0) {
        *out = '-';
        return 1;
    }
    size_t whole = esc_log_len(s, ACCESS_FIELD_MAX), used;
    /* The marker is at most 3 + "[+" + 20 digits + " bytes]" = 32 bytes. */
    size_t n = esc_log(s, out, whole > ACCESS_FIELD_MAX ? ACCESS_FIELD_MAX - 32 : whole, &used);
    if (used < s.len)
        n += (size_t)sprintf(out + n, "...[+%zu bytes]", s.len - used);
    return n;
}

_Static_assert(128 + INET6_ADDRSTRLEN + TIME_LOG_LEN + 3 * (ACCESS_FIELD_MAX + 1) <= ACCESS_LINE_MAX,
               "the longest line must fit ACCESS_LINE_MAX");

/* What put_escaped may write for s, at most. */
static size_t field_need(ep_str s)
{
    return s.len < ACCESS_FIELD_MAX / 4 ? 4 * s.len + 1 : ACCESS_FIELD_MAX + 1;
}

void access_log_write(access_log *al, const access_entry *e)
{
    if (al->fd < 0)
        return;
    /* Worst case: every byte of a field escaped to 4, a field cut to
     * ACCESS_FIELD_MAX; so need <= ACCESS_LINE_MAX <= cap, and every
     * line fits the buffer. */
    size_t need = 128 + INET6_ADDRSTRLEN + TIME_LOG_LEN + field_need(e->request_line) +
                  field_need(e->referer) + field_need(e->user_agent);
    if (al->len + need > al->cap)
        access_log_flush(al);
    char *p = al->buf + al->len;
    p += cidr_peer_text(e->peer, p);
    memcpy(p, " - - [", 6);
    p += 6;
    time_log_date(e->when, p);
    p += TIME_LOG_LEN;
    memcpy(p, "] \"", 3);
    p += 3;
    p += put_escaped(p, e->request_line);
    p += sprintf(p, "\" %d %llu \"", e->status, (unsigned long long)e->bytes);
    p += put_escaped(p, e->referer);
    memcpy(p, "\" \"", 3);
    p += 3;
    p += put_escaped(p, e->user_agent);
    memcpy(p, "\"\n", 2);
    p += 2;
    al->len = (size_t)(p - al->buf);
}
