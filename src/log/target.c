/* log/target.c: syslog and journal destinations: parsing their paths, connecting, framing a line. */
#include "log/target.h"
#include "util/cidr.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *const facilities[] = { "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
                                          "uucp", "cron", "authpriv", "ftp", NULL };
static const char *const severities[] = { "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
                                          NULL };

bool slog_is(const char *path)
{
    return path && strncmp(path, SLOG_PREFIX, strlen(SLOG_PREFIX)) == 0;
}

bool journal_is(const char *path)
{
    return path && strncmp(path, JOURNAL_PREFIX, strlen(JOURNAL_PREFIX)) == 0 &&
           (path[strlen(JOURNAL_PREFIX)] == '\0' || path[strlen(JOURNAL_PREFIX)] == ':');
}

static int unix_addr(slog_target *t, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&t->addr;
    if (path[0] != '/' || strlen(path) >= sizeof un->sun_path) {
        snprintf(err, errlen, "\"%s\": a socket path must be absolute and shorter than %zu bytes", path,
                 sizeof un->sun_path);
        return -1;
    }
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, strlen(path) + 1);
    t->alen = (socklen_t)sizeof *un;
    return 0;
}

/* "127.0.0.1", "127.0.0.1:514", "::1", "[::1]:514", "unix:/dev/log". */
static int server_addr(slog_target *t, const char *v, char *err, size_t errlen)
{
    if (strncmp(v, "unix:", 5) == 0)
        return unix_addr(t, v + 5, err, errlen);
    const char *h = v, *he, *port = NULL;
    if (v[0] == '[') { /* [IPv6] with an optional :port */
        h = v + 1;
        if (!(he = strchr(h, ']')) || (he[1] && he[1] != ':'))
            goto bad;
        port = he[1] ? he + 2 : NULL;
    } else if ((he = strchr(v, ':')) && !strchr(he + 1, ':')) { /* IPv4:port */
        port = he + 1;
    } else { /* IPv4, or a bare IPv6 */
        he = v + strlen(v);
    }
    unsigned long pn = 514;
    if (port) {
        char *end;
        pn = strtoul(port, &end, 10);
        if (!*port || *end || pn == 0 || pn > 65535)
            goto bad;
    }
    if ((t->alen = cidr_sockaddr(h, (size_t)(he - h), (uint16_t)pn, &t->addr)) != 0)
        return 0;
bad:
    snprintf(err, errlen, "syslog \"server=%s\": a numeric address ([IPv6] with a port), an optional :port, "
                          "or unix:/path", v);
    return -1;
}

static int name_index(const char *const *names, const char *v)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], v) == 0)
            return i;
    if (names == facilities && strncmp(v, "local", 5) == 0 && v[5] >= '0' && v[5] <= '7' && !v[6])
        return 16 + (v[5] - '0');
    return -1;
}

static int parse_param(slog_target *t, char *p, char *err, size_t errlen)
{
    char *eq = strchr(p, '=');
    if (!eq) {
        snprintf(err, errlen, "syslog \"%s\": expected name=value", p);
        return -1;
    }
    *eq = '\0';
    const char *v = eq + 1;
    if (strcmp(p, "server") == 0)
        return server_addr(t, v, err, errlen);
    if (strcmp(p, "facility") == 0 && (t->facility = name_index(facilities, v)) >= 0)
        return 0;
    if (strcmp(p, "severity") == 0 && (t->severity = name_index(severities, v)) >= 0)
        return 0;
    if (strcmp(p, "tag") == 0 && *v && strlen(v) < sizeof t->tag && strspn(v, "abcdefghijklmnopqrstuvwxyz"
                                                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == strlen(v)) {
        memcpy(t->tag, v, strlen(v) + 1);
        return 0;
    }
    if (strcmp(p, "server") && strcmp(p, "facility") && strcmp(p, "severity") && strcmp(p, "tag"))
        snprintf(err, errlen, "syslog: unknown parameter \"%s\" (server, facility, severity, tag)", p);
    else
        snprintf(err, errlen, "syslog \"%s\": bad value \"%s\"", p, v);
    return -1;
}

int slog_parse(const char *path, slog_target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->sotype = SOCK_DGRAM;
    t->facility = 23; /* local7, as nginx */
    t->severity = 6;  /* info */
    memcpy(t->tag, "ephttpd", sizeof "ephttpd");
    if (gethostname(t->host, sizeof t->host - 1) < 0 || !t->host[0])
        memcpy(t->host, "-", 2);
    for (char *c = t->host; *c; c++) /* PRINTUSASCII, no spaces */
        if (*c <= ' ' || *c > '~')
            *c = '-';
    if (journal_is(path)) {
        const char *p = path[strlen(JOURNAL_PREFIX)] == ':' ? path + strlen(JOURNAL_PREFIX) + 1 : JOURNAL_SOCKET;
        return unix_addr(t, p, err, errlen);
    }
    if (unix_addr(t, "/dev/log", err, errlen) < 0)
        return -1;
    char buf[512];
    if (strlen(path) >= sizeof buf) {
        snprintf(err, errlen, "syslog: the setting is too long");
        return -1;
    }
    strcpy(buf, path + strlen(SLOG_PREFIX));
    char *save = NULL;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
        if (parse_param(t, p, err, errlen) < 0)
            return -1;
    return 0;
}

int slog_connect(const slog_target *t)
{
    int fd = socket(t->addr.ss_family, t->sotype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&t->addr, t->alen) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int slog_send(int *fd, const void *buf, size_t n)
{
    if (send(*fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
        return 0;
    int e = errno;
    if (e != EAGAIN && e != ENOBUFS) {
        close(*fd);
        *fd = -1;
    }
    errno = e;
    return -1;
}

size_t slog_header(const slog_target *t, int64_t now_ms, int pid, char *out)
{
    time_t s = (time_t)(now_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&s, &tm))
        memset(&tm, 0, sizeof tm);
    int n = snprintf(out, SLOG_HEAD_MAX, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s %d - - ",
                     t->facility * 8 + t->severity, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (int)(now_ms % 1000), t->host, t->tag, pid);
    return n < 0 ? 0 : (size_t)n < SLOG_HEAD_MAX ? (size_t)n : SLOG_HEAD_MAX - 1;
}

/* One field: "KEY=value\n", or when value has a newline the binary form
 * "KEY\n" + its length as 64-bit little endian + value + "\n". */
static bool put_field(char *out, size_t cap, size_t *n, const char *key, const char *v, size_t vlen)
{
    size_t kl = strlen(key);
    bool bin = memchr(v, '\n', vlen) != NULL;
    size_t need = kl + 1 + (bin ? 8 : 0) + vlen + 1;
    if (*n + need > cap)
        return false;
    char *p = out + *n;
    memcpy(p, key, kl);
    p += kl;
    *p++ = bin ? '\n' : '=';
    if (bin) {
        uint64_t len = vlen;
        for (int i = 0; i < 8; i++)
            *p++ = (char)(len >> (8 * i));
    }
    memcpy(p, v, vlen);
    p[vlen] = '\n';
    *n += need;
    return true;
}

size_t journal_entry(char *out, size_t cap, int priority, const char *ident, const char *msg, size_t mlen,
                     const char *const *fields)
{
    size_t n = 0;
    char pri[2] = { (char)('0' + (priority & 7)), '\0' };
    if (!put_field(out, cap, &n, "MESSAGE", msg, mlen) || !put_field(out, cap, &n, "PRIORITY", pri, 1) ||
        !put_field(out, cap, &n, "SYSLOG_IDENTIFIER", ident, strlen(ident)))
        return 0;
    for (size_t i = 0; fields && fields[i]; i += 2)
        if (fields[i + 1] && !put_field(out, cap, &n, fields[i], fields[i + 1], strlen(fields[i + 1])))
            return 0;
    return n;
}
