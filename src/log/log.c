/* log/log.c: the error log: "2026/11/24 23:40:01 [error] 1234: message" lines. */
#include "log/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log/target.h"
#include "util/escape.h"
#include "util/logfile.h"

static struct {
    int fd;
    enum log_level level;
    bool created; /* log_open made the file: log_give_to may hand it over */
    bool journal; /* stderr is systemd's journal: errors and warnings go there too */
    bool native;  /* error_log = "journald": fd is the journal's socket */
    uint64_t dropped; /* lines the journal's socket did not take */
    slog_target jt;   /* where that socket is, to connect again */
    char path[4096];
} sink = { 2, LOGL_INFO, false, false, false, 0, { .alen = 0 }, "" };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static int open_path(const char *path, bool *created)
{
    *created = false;
    if (!path || !*path || strcmp(path, "-") == 0)
        return 2;
    int fd = logfile_open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0640);
    if (fd >= 0) {
        *created = true;
        return fd;
    }
    return errno == EEXIST ? logfile_open(path, O_WRONLY | O_APPEND, 0) : -1;
}

/* systemd sets JOURNAL_STREAM to "device:inode" of the stream it connected
 * to stderr; a match means stderr is the journal (not a pipe or file the
 * administrator redirected it to). */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* The journal's socket at path ("journald[:/socket]"), connected; -1. */
static int journal_open(const char *path)
{
    char err[256];
    if (slog_parse(path, &sink.jt, err, sizeof err) < 0) {
        errno = EINVAL;
        return -1;
    }
    return slog_connect(&sink.jt);
}

int log_open(const char *path, enum log_level level)
{
    bool created = false, native = journal_is(path);
    int fd = native ? journal_open(path) : -1;
    /* "-" under systemd (stderr is the journal): the journal's own protocol,
     * so that each line keeps its priority and fields; stderr if that fails. */
    if (!native && (!path || !*path || strcmp(path, "-") == 0) && stderr_is_journal())
        native = (fd = journal_open(JOURNAL_PREFIX)) >= 0;
    if (!native)
        fd = open_path(path, &created);
    if (fd < 0)
        return -1;
    if (sink.fd > 2)
        close(sink.fd);
    sink.fd = fd;
    sink.level = level;
    sink.created = created;
    sink.native = native;
    sink.journal = fd != 2 && !sink.native && stderr_is_journal();
    snprintf(sink.path, sizeof sink.path, "%s", path && *path ? path : "-");
    return 0;
}

int log_give_to(uid_t uid, gid_t gid)
{
    if (!sink.created || sink.fd <= 2)
        return 0;
    return fchown(sink.fd, uid, gid);
}

uint64_t log_dropped(void) { return sink.dropped; }

int log_reopen(void)
{
    if (sink.fd <= 2 || sink.native)
        return 0;
    bool created;
    int fd = open_path(sink.path, &created);
    if (fd < 0)
        return -1;
    /* dup2 keeps the descriptor number, which stderr redirects and the
     * workers forked later rely on. Running workers hold their own copy of
     * the old one: each reopens too, on the USR1 the master passes on. */
    dup2(fd, sink.fd);
    close(fd);
    return 0;
}

void log_startup_error(const char *msg)
{
    log_msg(LOGL_ERROR, "%s", msg);
    /* Whoever started us (a shell, an init script) sees why on its terminal,
     * as with nginx's [emerg] lines; stderr and the journal have it already. */
    if (sink.fd != 2 && !sink.journal && !sink.native)
        dprintf(2, "ephttpd: %s\n", msg);
}

void log_set_level(enum log_level level) { sink.level = level; }
enum log_level log_get_level(void) { return sink.level; }
const char *log_level_name(enum log_level level) { return level_names[level]; }

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i <= LOGL_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Appends printf output at *n, never past cap - 1 (the '\n' goes there). */
static void put_fmt(char *line, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put_fmt(char *line, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + *n, cap - 1 - *n, fmt, ap);
    va_end(ap);
    if (m > 0)
        *n = *n + (size_t)m < cap - 2 ? *n + (size_t)m : cap - 2;
}

/* s with quotes, backslashes and bytes outside printable ASCII as \xHH, as
 * the access log writes it, so a hostile request line cannot forge a line of
 * its own; cut short (with "...") where it would pass cap - 2. */
static void put_escaped(char *line, size_t cap, size_t *n, ep_str s)
{
    size_t stop = cap - 2 - 3; /* room for "..." before the closing quote and '\n' */
    if (*n > stop)
        return;
    size_t used, o = *n + esc_log(s, line + *n, stop - *n, &used);
    if (used < s.len) {
        memcpy(line + o, "...", 3);
        o += 3;
    }
    *n = o;
}

/* The room a context keeps: a long message is cut to leave it. */
#define CTX_ROOM 1024

/* The native protocol (log/target.h): the message, its priority, and the
 * context as fields of its own that journalctl can filter on
 * (EPHTTPD_CLIENT=...). Never waits: a full or gone socket drops the line
 * (counted; the status page shows it) and the next line connects again. */
static void journal_send(enum log_level level, const char *msg, size_t mlen, const log_ctx *ctx)
{
    static const int prio[] = { 3, 4, 6, 7 };
    char req[CTX_ROOM], buf[8192];
    size_t used, rn = 0;
    if (ctx && ctx->request.len)
        rn = esc_log(ctx->request, req, sizeof req - 1, &used);
    req[rn] = '\0';
    const char *fields[] = { "EPHTTPD_CLIENT", ctx ? ctx->client : NULL, "EPHTTPD_SERVER", ctx ? ctx->server : NULL,
                             "EPHTTPD_REQUEST", rn ? req : NULL, NULL };
    size_t n = journal_entry(buf, sizeof buf, prio[level], "ephttpd", msg, mlen, fields);
    if (n == 0 || (sink.fd < 0 && (sink.fd = slog_connect(&sink.jt)) < 0)) {
        sink.dropped++;
        return;
    }
    if (slog_send(&sink.fd, buf, n) < 0)
        sink.dropped++; /* journald gone: the next line connects afresh */
}

void log_ctx_vmsg(enum log_level level, const log_ctx *ctx, const char *fmt, va_list ap)
{
    if (level > sink.level)
        return;
    int saved = errno;
    char line[4096];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    size_t n = strftime(line, sizeof line, "%Y/%m/%d %H:%M:%S", &tm);
    put_fmt(line, sizeof line, &n, " [%s] %d: ", level_names[level], (int)getpid());
    size_t head = n;
    size_t msg_cap = ctx ? sizeof line - CTX_ROOM : sizeof line;
    int m = vsnprintf(line + n, msg_cap - 1 - n, fmt, ap);
    if (m > 0)
        n = n + (size_t)m < msg_cap - 2 ? n + (size_t)m : msg_cap - 2;
    if (ctx && ctx->client)
        put_fmt(line, sizeof line, &n, ", client: %s", ctx->client);
    if (ctx && ctx->server)
        put_fmt(line, sizeof line, &n, ", server: %s", ctx->server);
    if (ctx && ctx->request.len) {
        put_fmt(line, sizeof line, &n, ", request: \"");
        put_escaped(line, sizeof line, &n, ctx->request);
        line[n++] = '"';
    }
    if (sink.native) { /* the journal keeps the time and pid itself */
        journal_send(level, line + head, n - head, ctx);
        errno = saved;
        return;
    }
    line[n++] = '\n';
    /* One write per line: lines from several processes never interleave. */
    ssize_t w = write(sink.fd, line, n);
    /* Why a service failed belongs in the journal, as nginx's [emerg] lines
     * are: "<3>" and "<4>" give the journal the priority; the journal adds
     * time and pid itself. */
    if (sink.journal && level <= LOGL_WARN) {
        const char *msg = line + 20; /* past "YYYY/MM/DD HH:MM:SS " */
        char pri[4] = { '<', level == LOGL_ERROR ? '3' : '4', '>', '\0' };
        struct iovec iov[2] = { { pri, 3 }, { (void *)msg, n - 20 } };
        w = writev(2, iov, 2);
    }
    (void)w;
    errno = saved;
}

void log_ctx_msg(enum log_level level, const log_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_ctx_vmsg(level, ctx, fmt, ap);
    va_end(ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_ctx_vmsg(level, NULL, fmt, ap);
    va_end(ap);
}
