/* http/status.c: the status page's bodies (nginx's stub_status text, Prometheus text exposition 0.0.4, JSON) from the shared counters. */
#include "http/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/escape.h"
#include "util/grow.h"

typedef struct {
    char *p;
    size_t len, cap;
    bool failed;
} sbuf;

__attribute__((format(printf, 2, 3))) static void put(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (int pass = 0; pass < 2 && !b->failed; pass++) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
        } else if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        } else if (ep_grow((void **)&b->p, &b->cap, b->len, (size_t)n + 1, 1) < 0) {
            b->failed = true;
        }
    }
}

typedef unsigned long long ull;

static const char *const class_names[MX_CLASSES] = { "1xx", "2xx", "3xx", "4xx", "5xx" };

/* A server name as a label value (Prometheus: backslash, quote and
 * newline escaped) or a JSON string's inside (util/escape.h, valid UTF-8
 * whatever the bytes): the names are the administrator's, but may hold
 * what either escapes. */
static void put_escaped(sbuf *b, const char *s, bool json)
{
    if (json) {
        char out[6 * MX_NAME_MAX];
        size_t used, n = esc_json(ep_str_make(s, strlen(s)), out, sizeof out, &used);
        put(b, "%.*s", (int)n, out);
        return;
    }
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            put(b, "\\%c", *s);
        else if (*s == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *s);
    }
}

/* nginx's ngx_http_stub_status_module, byte for byte (the trailing spaces
 * included): exporters and dashboards parse exactly this. */
static void render_stub(sbuf *b, const mx_counters *c)
{
    put(b, "Active connections: %llu \n", (ull)(c->reading + c->writing + c->waiting));
    put(b, "server accepts handled requests\n");
    put(b, " %llu %llu %llu \n", (ull)c->accepted, (ull)c->handled, (ull)c->requests);
    put(b, "Reading: %llu Writing: %llu Waiting: %llu \n", (ull)c->reading, (ull)c->writing, (ull)c->waiting);
}

static void head(sbuf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP ephttpd_%s %s\n# TYPE ephttpd_%s %s\n", name, help, name, type);
}

static void metric(sbuf *b, const char *name, const char *type, const char *help, ull v)
{
    head(b, name, type, help);
    put(b, "ephttpd_%s %llu\n", name, v);
}

static void seconds(sbuf *b, const char *name, const char *help, uint64_t ns)
{
    head(b, name, "counter", help);
    put(b, "ephttpd_%s %llu.%09llu\n", name, (ull)(ns / 1000000000u), (ull)(ns % 1000000000u));
}

static void render_requests(sbuf *b, const mx_region *r, const mx_counters *c)
{
    head(b, "requests_total", "counter", "Requests answered, by server (its first name) and status class.");
    uint32_t n = __atomic_load_n(&r->nservers, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < MX_SERVERS; i++) {
        if (i >= n && i != MX_SERVERS - 1)
            continue;
        if (i == MX_SERVERS - 1 && n < MX_SERVERS - 1) {
            bool any = false; /* "(other)" only once something counted there */
            for (int k = 0; k < MX_CLASSES; k++)
                any |= c->by_status[i][k] != 0;
            if (!any)
                continue;
        }
        for (int k = 0; k < MX_CLASSES; k++) {
            put(b, "ephttpd_requests_total{server=\"");
            put_escaped(b, r->names[i], false);
            put(b, "\",code=\"%s\"} %llu\n", class_names[k], (ull)c->by_status[i][k]);
        }
    }
    head(b, "request_duration_seconds", "histogram",
         "Time from a request's first byte to its last response byte handed to the kernel.");
    uint64_t cum = 0;
    for (int k = 0; k < MX_DUR_BUCKETS; k++) {
        cum += c->dur[k];
        if (k < MX_DUR_BUCKETS - 1)
            put(b, "ephttpd_request_duration_seconds_bucket{le=\"%d.%03d\"} %llu\n", mx_dur_le_ms[k] / 1000,
                mx_dur_le_ms[k] % 1000, (ull)cum);
        else
            put(b, "ephttpd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (ull)cum);
    }
    put(b, "ephttpd_request_duration_seconds_sum %llu.%03llu\n", (ull)(c->dur_sum_ms / 1000),
        (ull)(c->dur_sum_ms % 1000));
    put(b, "ephttpd_request_duration_seconds_count %llu\n", (ull)cum);
}

static void render_prometheus(sbuf *b, const mx_region *r, const mx_counters *c, int workers)
{
    head(b, "build_info", "gauge", "The ephttpd version serving, as a label.");
    put(b, "ephttpd_build_info{version=\"%s\"} 1\n", EP_VERSION);
    metric(b, "start_time_seconds", "gauge", "When the master process started, in Unix time.", (ull)r->started);
    metric(b, "generation", "gauge", "The configuration generation serving (1 at start, one more a reload).",
           (ull)mx_get(&r->gen));
    metric(b, "generation_start_time_seconds", "gauge", "When that generation began serving, in Unix time.",
           (ull)__atomic_load_n(&r->gen_started, __ATOMIC_RELAXED));
    head(b, "reloads_total", "counter", "Reloads, by result (failed: the running configuration stayed).");
    put(b, "ephttpd_reloads_total{result=\"ok\"} %llu\n", (ull)mx_get(&r->reloads_ok));
    put(b, "ephttpd_reloads_total{result=\"failed\"} %llu\n", (ull)mx_get(&r->reloads_failed));
    metric(b, "worker_restarts_total", "counter", "Workers that died and were started again.", (ull)mx_get(&r->restarts));
    metric(b, "workers", "gauge", "Worker processes counting now (draining ones of an old generation included).",
           (ull)workers);
    metric(b, "connections_accepted_total", "counter", "Client connections accepted.", (ull)c->accepted);
    metric(b, "connections_handled_total", "counter", "Client connections taken on.", (ull)c->handled);
    head(b, "connections", "gauge", "Open client connections, by state (as nginx's Reading, Writing, Waiting).");
    put(b, "ephttpd_connections{state=\"reading\"} %llu\n", (ull)c->reading);
    put(b, "ephttpd_connections{state=\"writing\"} %llu\n", (ull)c->writing);
    put(b, "ephttpd_connections{state=\"waiting\"} %llu\n", (ull)c->waiting);
    render_requests(b, r, c);
    metric(b, "response_body_bytes_total", "counter", "Response body bytes sent.", (ull)c->body_bytes);
    metric(b, "write_queue_tasks_total", "counter", "Tasks the write queue ran (work that may block).",
           (ull)c->wq_tasks);
    seconds(b, "write_queue_wait_seconds_total", "Time tasks waited in the write queue for a thread.",
            c->wq_wait_ns);
    seconds(b, "write_queue_run_seconds_total", "Time write-queue threads spent running tasks.", c->wq_run_ns);
    head(b, "file_lookups_total", "counter", "File lookups, by where they ran: the event loop or the write queue.");
    put(b, "ephttpd_file_lookups_total{where=\"loop\"} %llu\n", (ull)c->lookup_loop);
    put(b, "ephttpd_file_lookups_total{where=\"queue\"} %llu\n", (ull)c->lookup_queue);
    metric(b, "open_file_cache_hits_total", "counter", "Open-file cache hits.", (ull)c->fc_hits);
    metric(b, "open_file_cache_misses_total", "counter", "Open-file cache misses.", (ull)c->fc_misses);
    metric(b, "open_file_cache_invalidations_total", "counter",
           "Open-file cache entries dropped because their file changed on disk.", (ull)c->fc_invalidations);
    metric(b, "tls_handshakes_total", "counter", "TLS handshakes completed.", (ull)c->tls_handshakes);
    metric(b, "tls_resumptions_total", "counter", "TLS handshakes that resumed a session.", (ull)c->tls_resumed);
    metric(b, "http2_connections_total", "counter", "HTTP/2 connections.", (ull)c->h2_conns);
    metric(b, "http2_streams_total", "counter", "HTTP/2 requests (streams).", (ull)c->h2_streams);
    metric(b, "log_dropped_lines_total", "counter",
           "Log lines lost: a full disk, a write error, a syslog or journal socket gone or full.",
           (ull)c->log_drops);
}

static void json_counters(sbuf *b, const mx_counters *c)
{
    put(b, "\"connections\":{\"active\":%llu,\"reading\":%llu,\"writing\":%llu,\"waiting\":%llu,"
           "\"accepted\":%llu,\"handled\":%llu},\"requests\":%llu",
        (ull)(c->reading + c->writing + c->waiting), (ull)c->reading, (ull)c->writing, (ull)c->waiting,
        (ull)c->accepted, (ull)c->handled, (ull)c->requests);
}

static void render_json(sbuf *b, const mx_region *r, const mx_counters *c)
{
    put(b, "{\"version\":\"%s\",\"started\":%lld,\"generation\":%llu,\"generation_started\":%lld,"
           "\"reloads\":{\"ok\":%llu,\"failed\":%llu},\"worker_restarts\":%llu,",
        EP_VERSION, (long long)r->started, (ull)mx_get(&r->gen), (long long)__atomic_load_n(&r->gen_started, __ATOMIC_RELAXED), (ull)mx_get(&r->reloads_ok),
        (ull)mx_get(&r->reloads_failed), (ull)mx_get(&r->restarts));
    json_counters(b, c);
    put(b, ",\"responses\":{");
    uint32_t n = __atomic_load_n(&r->nservers, __ATOMIC_ACQUIRE);
    bool first = true;
    for (uint32_t i = 0; i < MX_SERVERS; i++) {
        if (i >= n && i != MX_SERVERS - 1)
            continue;
        uint64_t sum = 0;
        for (int k = 0; k < MX_CLASSES; k++)
            sum += c->by_status[i][k];
        if (i == MX_SERVERS - 1 && n < MX_SERVERS - 1 && sum == 0)
            continue;
        put(b, "%s\"", first ? "" : ",");
        put_escaped(b, r->names[i], true);
        put(b, "\":{");
        for (int k = 0; k < MX_CLASSES; k++)
            put(b, "%s\"%s\":%llu", k ? "," : "", class_names[k], (ull)c->by_status[i][k]);
        put(b, "}");
        first = false;
    }
    put(b, "},\"response_body_bytes\":%llu,\"request_duration_ms\":{\"buckets\":{", (ull)c->body_bytes);
    for (int k = 0; k < MX_DUR_BUCKETS; k++) {
        if (k < MX_DUR_BUCKETS - 1)
            put(b, "%s\"%d\":%llu", k ? "," : "", mx_dur_le_ms[k], (ull)c->dur[k]);
        else
            put(b, ",\"+Inf\":%llu", (ull)c->dur[k]);
    }
    put(b, "},\"sum\":%llu},\"write_queue\":{\"tasks\":%llu,\"wait_ns\":%llu,\"run_ns\":%llu},"
           "\"lookups\":{\"loop\":%llu,\"queue\":%llu},"
           "\"open_file_cache\":{\"hits\":%llu,\"misses\":%llu,\"invalidations\":%llu},"
           "\"tls\":{\"handshakes\":%llu,\"resumptions\":%llu},\"http2\":{\"connections\":%llu,\"streams\":%llu},"
           "\"log_dropped_lines\":%llu,\"workers\":[",
        (ull)c->dur_sum_ms, (ull)c->wq_tasks, (ull)c->wq_wait_ns, (ull)c->wq_run_ns, (ull)c->lookup_loop,
        (ull)c->lookup_queue, (ull)c->fc_hits, (ull)c->fc_misses, (ull)c->fc_invalidations,
        (ull)c->tls_handshakes, (ull)c->tls_resumed, (ull)c->h2_conns, (ull)c->h2_streams, (ull)c->log_drops);
    uint32_t ns = __atomic_load_n(&r->nslots, __ATOMIC_ACQUIRE);
    first = true;
    for (uint32_t i = 0; i < ns && i < MX_SLOTS; i++) {
        const mx_slot *s = &r->slots[i];
        int64_t pid = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);
        if (pid <= 0)
            continue;
        mx_counters one;
        mx_read(s, &one);
        put(b, "%s{\"slot\":%u,\"pid\":%lld,\"generation\":%llu,\"started\":%lld,", first ? "" : ",", i,
            (long long)pid, (ull)mx_get(&s->gen), (long long)__atomic_load_n(&s->started, __ATOMIC_RELAXED));
        json_counters(b, &one);
        put(b, "}");
        first = false;
    }
    put(b, "]}\n");
}

char *status_render(enum cfg_status_page kind, const mx_region *r, size_t *len, const char **ctype)
{
    mx_counters *c = malloc(sizeof *c);
    sbuf b = { 0 };
    if (!c)
        return NULL;
    mx_sum(r, c);
    int workers = 0;
    uint32_t ns = __atomic_load_n(&r->nslots, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < ns && i < MX_SLOTS; i++)
        workers += __atomic_load_n(&r->slots[i].pid, __ATOMIC_RELAXED) > 0;
    switch (kind) {
    case CFG_STATUS_STUB:
        render_stub(&b, c);
        *ctype = "text/plain";
        break;
    case CFG_STATUS_PROMETHEUS:
        render_prometheus(&b, r, c, workers);
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        break;
    default:
        render_json(&b, r, c);
        *ctype = "application/json";
        break;
    }
    free(c);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
