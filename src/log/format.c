/* log/format.c: compiling log_format text into literal and variable steps, and writing one request's line with them. */
#include "log/format.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cidr.h"
#include "util/escape.h"
#include "util/time.h"

#define LF_LIT 0xffff

enum lf_var {
    LV_REMOTE_ADDR, LV_REMOTE_USER, LV_TIME_LOCAL, LV_TIME_ISO8601, LV_REQUEST, LV_STATUS,
    LV_BODY_BYTES_SENT, LV_BYTES_SENT, LV_REQUEST_TIME, LV_HTTP_REFERER, LV_HTTP_USER_AGENT, LV_HOST,
    LV_SERVER_NAME, LV_SERVER_PORT, LV_SCHEME, LV_REQUEST_METHOD, LV_URI, LV_ARGS, LV_CONNECTION,
    LV_CONNECTION_REQUESTS, LV_PID, LV_MSEC, LV_REALIP_REMOTE_ADDR, LV_PROXY_PROTOCOL_ADDR, LV_HTTP, LV_COUNT
};

const char *const lf_var_names[] = {
    "remote_addr", "remote_user", "time_local", "time_iso8601", "request", "status",
    "body_bytes_sent", "bytes_sent", "request_time", "http_referer", "http_user_agent", "host",
    "server_name", "server_port", "scheme", "request_method", "uri", "args", "connection",
    "connection_requests", "pid", "msec", "realip_remote_addr", "proxy_protocol_addr", "http_", NULL
};
_Static_assert(sizeof lf_var_names / sizeof lf_var_names[0] == LV_COUNT + 1, "a name per variable");

const char *const lf_escape_names[4] = { "default", "json", "none", NULL };

/* The most a string value takes, as escaped and cut (put_value). */
#define STR_MAX (LF_FIELD_MAX + 1)

/* The most bytes a variable's value takes in a line. */
static size_t var_max(unsigned v)
{
    switch (v) {
    case LV_REMOTE_ADDR:
    case LV_REALIP_REMOTE_ADDR:
    case LV_PROXY_PROTOCOL_ADDR:
        return INET6_ADDRSTRLEN;
    case LV_TIME_LOCAL:
        return TIME_LOG_LEN;
    case LV_TIME_ISO8601:
        return 32;
    case LV_REMOTE_USER:
    case LV_STATUS:
    case LV_SERVER_PORT:
    case LV_SCHEME:
    case LV_PID:
    case LV_BODY_BYTES_SENT:
    case LV_BYTES_SENT:
    case LV_CONNECTION:
    case LV_CONNECTION_REQUESTS:
    case LV_REQUEST_TIME:
    case LV_MSEC:
        return 24;
    default:
        return STR_MAX;
    }
}

static int add_op(lf_format *f, unsigned var, size_t off, size_t len)
{
    lf_op *ops = realloc(f->ops, (f->nops + 1) * sizeof *ops);
    if (!ops)
        return -1;
    f->ops = ops;
    ops[f->nops++] = (lf_op){ (uint16_t)var, (uint32_t)off, (uint32_t)len };
    f->line_max += var == LF_LIT ? len : var_max(var);
    return 0;
}

static int var_of(const char *name, size_t n)
{
    for (int v = 0; v < LV_HTTP; v++)
        if (strlen(lf_var_names[v]) == n && memcmp(lf_var_names[v], name, n) == 0)
            return v;
    if (n > 5 && memcmp(name, "http_", 5) == 0)
        return LV_HTTP;
    return -1;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The text's copy holds the literals as written; $http_ names become
 * header names in place (lower case, '-' for '_'). */
int lf_compile(lf_format *f, const char *src, enum lf_escape esc, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->esc = esc;
    f->line_max = 1; /* the newline */
    size_t n = strlen(src), lit = 0, i = 0;
    if (!(f->text = malloc(n + 1)))
        goto nomem;
    memcpy(f->text, src, n + 1);
    while (i < n) {
        if (src[i] != '$') {
            i++;
            continue;
        }
        bool brace = src[i + 1] == '{';
        size_t s = i + 1 + brace, e = s;
        while (e < n && name_char(src[e]))
            e++;
        int v = e > s ? var_of(src + s, e - s) : -1;
        if (brace && (e >= n || src[e] != '}')) {
            snprintf(err, errlen, "\"${\" without a closing \"}\" at \"%.20s\"", src + i);
            goto fail;
        }
        if (v < 0) {
            if (e == s)
                snprintf(err, errlen, "a \"$\" without a variable name at \"%.20s\"", src + i);
            else
                snprintf(err, errlen, "unknown variable \"$%.*s\"", (int)(e - s), src + s);
            goto fail;
        }
        if ((i > lit && add_op(f, LF_LIT, lit, i - lit) < 0))
            goto nomem;
        size_t hoff = s + 5, hlen = e - s - 5;
        for (size_t k = hoff; v == LV_HTTP && k < hoff + hlen; k++) {
            char c = f->text[k];
            f->text[k] = c == '_' ? '-' : c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
        }
        if (add_op(f, (unsigned)v, v == LV_HTTP ? hoff : 0, v == LV_HTTP ? hlen : 0) < 0)
            goto nomem;
        i = lit = e + brace;
    }
    if (i > lit && add_op(f, LF_LIT, lit, i - lit) < 0)
        goto nomem;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    lf_free(f);
    return -1;
}

void lf_free(lf_format *f)
{
    free(f->ops);
    free(f->text);
    memset(f, 0, sizeof *f);
}

/* NONE's escaping: controls only, so that a line stays one line. */
static size_t esc_ctl(ep_str s, char *out, size_t room, size_t *used)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0, i = 0;
    for (; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        bool esc = c < 0x20 || c == 0x7f;
        if (n + (esc ? 4 : 1) > room)
            break;
        if (esc) {
            memcpy(out + n, "\\x", 2);
            out[n + 2] = hex[c >> 4];
            out[n + 3] = hex[c & 15];
            n += 4;
        } else {
            out[n++] = (char)c;
        }
    }
    *used = i;
    return n;
}

/* A string value, escaped, cut at LF_FIELD_MAX bytes with a marker of what
 * was left out; "-" when empty (JSON: nothing, as nginx writes it). */
static size_t put_value(char *out, ep_str s, enum lf_escape esc)
{
    if (s.len == 0) {
        if (esc == LF_ESC_JSON)
            return 0;
        *out = '-';
        return 1;
    }
    size_t (*fn)(ep_str, char *, size_t, size_t *) = esc == LF_ESC_JSON ? esc_json
                                                     : esc == LF_ESC_NONE ? esc_ctl
                                                                          : esc_log;
    /* The marker is at most 3 + "[+" + 20 digits + " bytes]" = 32 bytes. */
    size_t used, n = fn(s, out, LF_FIELD_MAX, &used);
    if (used < s.len) {
        n = fn(s, out, LF_FIELD_MAX - 32, &used);
        n += (size_t)sprintf(out + n, "...[+%zu bytes]", s.len - used);
    }
    return n;
}

static size_t put_iso8601(char *out, time_t t)
{
    struct tm tm;
    time_t zero = 0;
    if (!gmtime_r(&t, &tm))
        gmtime_r(&zero, &tm);
    return strftime(out, 32, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

static size_t put_var(char *out, const lf_format *f, const lf_op *op, const lf_req *r)
{
    typedef unsigned long long ull;
    switch (op->var) {
    case LV_REMOTE_ADDR:
        return cidr_peer_text(r->peer, out);
    case LV_REALIP_REMOTE_ADDR:
        return cidr_peer_text(r->conn_peer ? r->conn_peer : r->peer, out);
    case LV_PROXY_PROTOCOL_ADDR:
        if (!r->proxy_peer)
            return put_value(out, ep_str_make("", 0), f->esc);
        return cidr_peer_text(r->proxy_peer, out);
    case LV_REMOTE_USER:
        return put_value(out, ep_str_make("", 0), f->esc);
    case LV_TIME_LOCAL:
        time_log_date(r->when, out);
        return TIME_LOG_LEN;
    case LV_TIME_ISO8601:
        return put_iso8601(out, r->when);
    case LV_REQUEST:
        return put_value(out, r->request_line, f->esc);
    case LV_STATUS:
        return (size_t)sprintf(out, "%d", r->status);
    case LV_BODY_BYTES_SENT:
        return (size_t)sprintf(out, "%llu", (ull)r->bytes);
    case LV_BYTES_SENT:
        return (size_t)sprintf(out, "%llu", (ull)r->bytes_sent);
    case LV_REQUEST_TIME:
        return (size_t)sprintf(out, "%lld.%03lld", (long long)(r->ms / 1000), (long long)(r->ms % 1000));
    case LV_HTTP_REFERER:
        return put_value(out, r->referer, f->esc);
    case LV_HTTP_USER_AGENT:
        return put_value(out, r->user_agent, f->esc);
    case LV_HOST:
        return put_value(out, r->host, f->esc);
    case LV_SERVER_NAME:
        return put_value(out, r->server_name, f->esc);
    case LV_SERVER_PORT:
        return (size_t)sprintf(out, "%u", r->server_port);
    case LV_SCHEME:
        return (size_t)sprintf(out, "%s", r->https ? "https" : "http");
    case LV_REQUEST_METHOD:
        return put_value(out, r->method, f->esc);
    case LV_URI:
        return put_value(out, r->uri, f->esc);
    case LV_ARGS:
        return put_value(out, r->args, f->esc);
    case LV_CONNECTION:
        return (size_t)sprintf(out, "%llu", (ull)r->connection);
    case LV_CONNECTION_REQUESTS:
        return (size_t)sprintf(out, "%llu", (ull)r->connection_requests);
    case LV_PID:
        return (size_t)sprintf(out, "%d", (int)getpid());
    case LV_MSEC: {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (size_t)sprintf(out, "%lld.%03ld", (long long)ts.tv_sec, ts.tv_nsec / 1000000);
    }
    default: /* LV_HTTP */
        return put_value(out, r->header ? r->header(r, ep_str_make(f->text + op->off, op->len)) : ep_str_make("", 0),
                         f->esc);
    }
}

size_t lf_write(const lf_format *f, const lf_req *r, char *out)
{
    char *p = out;
    for (size_t i = 0; i < f->nops; i++) {
        const lf_op *op = &f->ops[i];
        if (op->var == LF_LIT) {
            memcpy(p, f->text + op->off, op->len);
            p += op->len;
        } else {
            p += put_var(p, f, op, r);
        }
    }
    *p++ = '\n';
    return (size_t)(p - out);
}
