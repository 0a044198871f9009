/* log/log.h: the error log: levels, one line per event, reopened on demand. */
#ifndef EP_LOG_LOG_H
#define EP_LOG_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/str.h"

enum log_level { LOGL_ERROR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

/* path: a file, "-" (stderr), or "journald" / "journald:/socket": systemd's
 * journal by its native protocol, each line with its priority and its
 * client, server and request as fields of their own. */
/* The error log is the one process-wide sink: it is set up once in main()
 * before any worker exists and only changed by log_open()/log_reopen() on the
 * loop thread. Write-queue tasks never log. path "-" or NULL means stderr. */
int log_open(const char *path, enum log_level level);
int log_reopen(void);
/* Lines the error log could not write (error_log = "journald": its socket
 * full or gone). */
uint64_t log_dropped(void);
/* If log_open created the file, give it to uid:gid, so that workers that
 * switched to that user can reopen it after a rotation. Returns 0 or -1. */
int log_give_to(uid_t uid, gid_t gid);
/* An error that ends the start: logged, and on stderr too when the log is a
 * file (the journal, or stderr itself, has it already). */
void log_startup_error(const char *msg);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Who a message is about, when a request caused it: appended as nginx does,
 * ", client: 1.2.3.4, server: example.org, request: \"GET /x HTTP/1.1\"".
 * Plain data, so that the log needs to know nothing of connections. */
typedef struct {
    const char *client; /* the peer's address; NULL: left out */
    const char *server; /* the virtual server's name, or its listener; NULL: left out */
    ep_str request;     /* the request line as sent, escaped when written; len 0: left out */
} log_ctx;

/* log_msg with the context of ctx (NULL: none) after the message. The
 * message is cut short if need be so that the context always fits. */
void log_ctx_msg(enum log_level level, const log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_ctx_vmsg(enum log_level level, const log_ctx *ctx, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
/* The level test is inline so that debug formatting costs nothing when off. */
#define log_debug(...)                          \
    do {                                        \
        if (log_get_level() >= LOGL_DEBUG)      \
            log_msg(LOGL_DEBUG, __VA_ARGS__);   \
    } while (0)

#endif
