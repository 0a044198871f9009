/* log/access.h: the buffered Combined Log Format access log of one worker. */
#ifndef EP_LOG_ACCESS_H
#define EP_LOG_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "log/format.h"
#include "log/target.h"
#include "util/str.h"

/* Lines collect in a buffer that is written when it would overflow and by the
 * worker's once-a-second flush, so a busy worker makes one write() per many
 * requests. Only whole lines are written, with O_APPEND, so the workers that
 * share a file never split each other's lines. */
typedef struct {
    int fd; /* -1: off, or a syslog target not reachable now */
    bool own_fd;
    char *buf;
    size_t len, cap;
    size_t lines;        /* in buf */
    char path[4096];
    lf_format combined;  /* what access_log_write writes */
    slog_target *slog;   /* "syslog:...": a datagram a line, no buffering */
    time_t retry;        /* when to try the syslog target again after it failed */
    uint64_t dropped;    /* lines lost: a full disk, a write error, syslog unreachable or full */
    int drop_errno;      /* why the last was */
    uint64_t dropped_told; /* ... as many as the error log has said */
    time_t told_at;
} access_log;

/* One request, as the formats see it (log/format.h). */
typedef lf_req access_entry;

/* A variable's value takes at most this many bytes of a line (as escaped);
 * a longer one is cut and ends in "...[+N bytes]". */
#define ACCESS_FIELD_MAX LF_FIELD_MAX
/* Room for the longest Combined line: the three fields, the address, the
 * date, the status and the byte count. */
#define ACCESS_LINE_MAX (3 * ACCESS_FIELD_MAX + 256)

/* path: "off" or NULL → disabled, "-" → stdout, "syslog:..." → syslog
 * (log/target.h; an unreachable one counts its lines dropped and is tried
 * again each second), else a file opened for append.
 * The buffer holds bufsize bytes, or ACCESS_LINE_MAX if that is more. */
int access_log_open(access_log *al, const char *path, size_t bufsize);
int access_log_reopen(access_log *al);
/* A Combined Log Format line for e. */
void access_log_write(access_log *al, const access_entry *e);
/* A line of format f for e (the buffer grows to f's longest line once). */
void access_log_write_fmt(access_log *al, const lf_format *f, const access_entry *e);
void access_log_flush(access_log *al);
void access_log_close(access_log *al);

#endif
