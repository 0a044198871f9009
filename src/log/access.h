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
    const struct sockaddr_storage *peer;
    time_t when;
    ep_str request_line; /* "GET /x HTTP/1.1", or empty when none was parsed */
    int status;
    uint64_t bytes;      /* body bytes sent */
    ep_str referer, user_agent;
} access_entry;

/* path: "off" or NULL → disabled, "-" → stdout, else a file opened for append. */
int access_log_open(access_log *al, const char *path, size_t bufsize);
int access_log_reopen(access_log *al);
void access_log_write(access_log *al, const access_entry *e);
void access_log_flush(access_log *al);
void access_log_close(access_log *al);

#endif
