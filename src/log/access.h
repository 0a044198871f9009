/* log/access.h: the buffered Combined Log Format access log of one worker. */
#ifndef EP_LOG_ACCESS_H
#define EP_LOG_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "util/str.h"

/* Lines collect in a buffer that is written when it would overflow and by the
 * worker's once-a-second flush, so a busy worker makes one write() per many
 * requests. Only whole lines are written, with O_APPEND, so the workers that
 * share a file never split each other's lines. */
typedef struct {
    int fd; /* -1: off */
    bool own_fd;
    char *buf;
    size_t len, cap;
    char path[4096];
} access_log;

typedef struct {
    const struct sockaddr *peer;
    time_t when;
    ep_str request_line; /* "GET /x HTTP/1.1", or empty when none was parsed */
    int status;
    uint64_t bytes;      /* body bytes sent */
    int64_t ms;          /* the request's time: from its first byte to its last response byte sent */
    ep_str referer, user_agent;
} access_entry;

/* The request line, Referer and User-Agent each take at most this many bytes
 * of a line (as escaped); a longer one is cut and ends in "...[+N bytes]". */
#define ACCESS_FIELD_MAX 16384
/* Room for the longest line: the three fields, the address, the date, the
 * status and the byte count. */
#define ACCESS_LINE_MAX (3 * ACCESS_FIELD_MAX + 256)

/* path: "off" or NULL → disabled, "-" → stdout, else a file opened for append.
 * The buffer holds bufsize bytes, or ACCESS_LINE_MAX if that is more. */
int access_log_open(access_log *al, const char *path, size_t bufsize);
int access_log_reopen(access_log *al);
void access_log_write(access_log *al, const access_entry *e);
void access_log_flush(access_log *al);
void access_log_close(access_log *al);

#endif
