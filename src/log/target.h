/* log/target.h: log destinations that are sockets: syslog (RFC 5424 over /dev/log or UDP) and systemd's journal (its native protocol). */
#ifndef EP_LOG_TARGET_H
#define EP_LOG_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SLOG_PREFIX "syslog:"
#define JOURNAL_PREFIX "journald"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Where lines go when a log's path starts with "syslog:" (nginx's syntax:
 * "syslog:server=ADDR[:PORT],facility=local7,tag=ephttpd,severity=info";
 * server=unix:/PATH or no server: /dev/log), or is "journald" or
 * "journald:/PATH" (the journal's socket). */
typedef struct {
    struct sockaddr_storage addr;
    socklen_t alen;
    int sotype;           /* SOCK_DGRAM */
    int facility, severity;
    char tag[33];
    char host[65];        /* this machine's name, for RFC 5424's HOSTNAME */
} slog_target;

/* Is path one of these? */
bool slog_is(const char *path);
bool journal_is(const char *path);

/* Parse a "syslog:..." or "journald[:/path]" path; 0, or -1 with one line in err. */
int slog_parse(const char *path, slog_target *t, char *err, size_t errlen);

/* A non-blocking datagram socket connected to t; -1 (errno) when it cannot
 * be reached now (the caller counts the line dropped and tries again later). */
int slog_connect(const slog_target *t);

/* One datagram on *fd, never waiting. -1 (errno) when it was not taken:
 * a full socket (EAGAIN, ENOBUFS) leaves *fd as it is; anything else (the
 * daemon gone) closes it and sets *fd to -1, to be connected again later. */
int slog_send(int *fd, const void *buf, size_t n);

/* An RFC 5424 header for a line of t at Unix time now_ms and pid:
 * "<PRI>1 2026-11-28T15:59:31.123Z HOST TAG PID - - ". Its length (at most
 * SLOG_HEAD_MAX). */
#define SLOG_HEAD_MAX 192
size_t slog_header(const slog_target *t, int64_t now_ms, int pid, char *out);

/* A journal entry: MESSAGE, PRIORITY (syslog severity), SYSLOG_IDENTIFIER
 * and the extra KEY=value fields (NULL-terminated pairs; NULL values are
 * left out) in the native protocol, into out (cap bytes). Values with a
 * newline take the binary form. Its length, or 0 when it does not fit. */
size_t journal_entry(char *out, size_t cap, int priority, const char *ident, const char *msg, size_t mlen,
                     const char *const *fields);

#endif
