/* worker/h2.c: an HTTP/2 connection: frames in and out (http/h2sess.c), each stream a request routed to a plan and pulled as DATA.
 *
 * Input is read into a stack buffer and fed to the session, whose
 * callbacks collect each stream's header fields into its block; at the end
 * of the headers the stream becomes an http_req and goes through the same
 * routing as HTTP/1.1. Output is what h2s_send writes into one buffer per
 * write (the connection holds it only while it has something to send: an
 * idle HTTP/2 connection keeps no buffer). The DATA of a response is
 * pulled from the stream's executor (exec_pull) straight into that buffer;
 * when it answers "a task reads the chunk", the stream's data is deferred
 * and resumed when the task is back. */
#include "worker/h2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <nghttp2/nghttp2.h>

#include "http/h2fields.h"
#include "http/h2sess.h"
#include "http/parser.h"
#include "http/request.h"
#include "http/response.h"
#include "log/log.h"
#include "worker/exec.h"

/* The most received bytes a batch keeps for h2_rx_run, all connections
 * together; beyond it a connection's bytes are decoded as they come. */
#define H2_RX_MAX (256 * 1024)
/* Bytes gathered per write: four full DATA frames (and TLS records). Half
 * as many made a 954 KB response over TLS cost 585 us of CPU instead of
 * 455 (a write, and an SSL_write, per 32 KB); a connection holds it only
 * while it has output waiting. */
#define H2_OUT 65536
/* A stream's chunk buffer for cold file reads: one DATA frame's payload. */
#define H2_CHUNK 16384
/* How long the graceful GOAWAY waits for its PING's answer once the
 * client opens streams regardless (as H2O's second GOAWAY, after 1 s). */
#define H2_ACK_WAIT_MS 1000
/* Bytes read per recv into the stack. */
#define H2_IN 16384

typedef struct h2_stream {
    exec x;                       /* first: the hooks find the stream from it */
    struct h2_conn *h;
    struct h2_stream *prev, *next; /* the connection's streams */
    int32_t id;
    int64_t start_ms;             /* when its HEADERS came: the request's time runs from there */
    int64_t moved_ms;             /* when its response last moved: HEADERS queued, DATA out, a read back */
    bool gone;                    /* the session closed the stream while a task ran */
    int status;                   /* answered with; 0: not yet (nothing to log) */
    int bad;                      /* a status the header fields earned (431, 400), 0: none */
    bool malformed;               /* a field broke RFC 9113 8.2-8.3: reset, never answered */
    h2f_state fields;             /* what those rules have seen (http/h2fields.h) */
    ep_str method, path, authority, line;
    char *store;                  /* the header fields' bytes, then the cookies joined and the request line */
    size_t slen, scap;
    size_t list;                  /* the header list's size as RFC 9113 6.5.2 counts it */
    size_t crumbs, crumb_bytes;   /* cookie fields and their values' bytes (h2_crumb) */
    size_t crumb_last;            /* the last one's record: its store offset + 1; 0: none */
    hp_request *head;
    char *pathbuf;
    route_env env;
    http_req req;
    resp_nv *nv;
    h2s_stream hs;                /* the session's state of it */
} h2_stream;

#define H2_ST(p) ((h2_stream *)(void *)((char *)(p) - offsetof(h2_stream, hs)))

typedef struct h2_conn {
    conn *c;
    h2s s;
    h2_stream *streams;
    uint32_t nstreams;            /* blocks taken, reset ones with a task in flight included */
    uint32_t tasks;               /* streams whose task is in flight */
    char *out;                    /* H2_OUT bytes while there is output, else NULL */
    size_t olen, osent;
    bool draining;                /* the shutdown notice is submitted */
    bool pinged;                  /* ... and sent, and the PING after it */
    int64_t ping_ms;              /* when that PING went */
    int64_t swept_ms;             /* when streams were last checked for send_timeout (h2_sweep) */
    bool closing;                 /* the final GOAWAY is queued: close once the session is done */
    bool logged;                  /* the connection's error reason is logged (once) */
    timer_list *armed;            /* the list c->timer was last armed on */
    uint8_t *in;                  /* bytes received in this batch, not yet decoded (h2_rx_run) */
    size_t inlen;
    struct h2_conn *rx_next;      /* the worker's list of those connections */
} h2_conn;

static bool h2_back(exec *x);
static void h2_carry_on(exec *x, enum exec_result r);
static void h2_note(exec *x, const char *line);
static const exec_hooks h2_hooks = { h2_back, h2_carry_on, h2_note };

/* ---- sizes and the worker's callbacks -------------------------------------- */

size_t h2_block_size(const cfg *cf, const route_sizes *rs)
{
    return sizeof(h2_stream) + 2 * cf->http2_max_header_list_size + sizeof(hp_request) + cf->max_uri_len + 1 +
           rs->fields * sizeof(resp_nv) + exec_setup_size(cf, rs) + H2_CHUNK + 8 * 16;
}

static void h2_log(h2_conn *h, h2_stream *st, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void h2_log(h2_conn *h, h2_stream *st, enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    conn_vlog(h->c, st ? st->x.rt.srv : NULL, st ? st->x.rt.peer : NULL, st ? st->line : (ep_str){ 0 }, level, fmt, ap);
    va_end(ap);
}

static void h2_note(exec *x, const char *line)
{
    h2_stream *st = (h2_stream *)x;
    h2_log(st->h, st, LOGL_ERROR, "%s", line);
}

/* ---- streams ----------------------------------------------------------------- */

static h2_stream *h2_stream_new(h2_conn *h, int32_t id)
{
    worker *w = h->c->w;
    void *block = h->nstreams < w->cfg->http2_max_concurrent_streams ? arena_pool_get(&w->arenas) : NULL;
    if (!block)
        return NULL;
    arena ar;
    arena_init(&ar, block, w->block_size);
    h2_stream *st = arena_alloc(&ar, sizeof *st);
    st->h = h;
    st->id = id;
    st->gone = st->malformed = false;
    st->status = st->bad = 0;
    h2f_begin(&st->fields);
    st->method = st->path = st->authority = st->line = (ep_str){ 0 };
    /* The fields take at most the list's size (each is counted with 32
     * bytes more than it stores); the joined cookies and the request line,
     * made from fields of their own, take at most as much again. */
    st->scap = 2 * w->cfg->http2_max_header_list_size;
    st->store = arena_alloc(&ar, st->scap);
    st->slen = st->list = 0;
    st->crumbs = st->crumb_bytes = st->crumb_last = 0;
    st->head = arena_alloc(&ar, sizeof(hp_request));
    st->head->nheaders = 0;
    st->pathbuf = arena_alloc(&ar, w->cfg->max_uri_len + 1);
    st->nv = arena_alloc(&ar, w->sizes.fields * sizeof(resp_nv));
    st->req = (http_req){ .head = st->head, .path = st->pathbuf };
    exec_setup(&st->x, &ar, w, &h2_hooks, -1, &st->env, &st->req, h->c->listen_idx, &h->c->peer.sa);
    exec_use_pull(&st->x, arena_alloc(&ar, H2_CHUNK), H2_CHUNK);
    st->prev = NULL;
    st->next = h->streams;
    if (h->streams)
        h->streams->prev = st;
    h->streams = st;
    if (h->nstreams++ == 0) { /* waiting -> writing, as nginx counts a busy HTTP/2 connection */
        mx_add(&w->mx->c.waiting, (uint64_t)-1);
        mx_add(&w->mx->c.writing, 1);
    }
    st->start_ms = st->moved_ms = w->now_ms;
    return st;
}

/* The stream's response is over or abandoned: log it, give its block back. */
static void h2_stream_free(h2_conn *h, h2_stream *st)
{
    if (st->status) {
        access_entry e = { .status = st->status, .ms = h->c->w->now_ms - st->start_ms, .bytes = st->x.body_bytes,
                           .bytes_sent = st->x.body_bytes, .request_line = st->line };
        conn_access(h->c, &st->x.rt, &st->req, &e);
    }
    exec_end(&st->x);
    if (st->prev)
        st->prev->next = st->next;
    else
        h->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    if (--h->nstreams == 0) {
        mx_add(&h->c->w->mx->c.writing, (uint64_t)-1);
        mx_add(&h->c->w->mx->c.waiting, 1);
    }
    arena_pool_put(&h->c->w->arenas, st);
}

/* ---- output -------------------------------------------------------------------- */

static void h2_fatal(h2_conn *h);

/* A connection's output buffer goes back when it has nothing to send: the
 * worker keeps one for the next connection that needs one (connections
 * flush one after another, so one spare saves a malloc and a free of
 * 32 KB per flush), the rest are freed. */
static void h2_out_put(worker *w, char *out)
{
    if (!w->h2_out_spare)
        w->h2_out_spare = out;
    else
        free(out);
}

/* Write what the session has to send, until the socket is full or nothing
 * is left. Returns false when the connection went. */
static bool h2_flush(h2_conn *h)
{
    conn *c = h->c;
    for (;;) {
        if (h->osent < h->olen) {
            if (!c->can_write)
                return true;
            ssize_t n = conn_write(c, h->out + h->osent, h->olen - h->osent);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                return true;
            if (n <= 0) {
                conn_close(c);
                return false;
            }
            h->osent += (size_t)n;
            continue;
        }
        h->olen = h->osent = 0;
        if (h2s_want_write(&h->s)) {
            if (!h->out && (h->out = c->w->h2_out_spare))
                c->w->h2_out_spare = NULL;
            if (!h->out && !(h->out = malloc(H2_OUT))) {
                h2_log(h, NULL, LOGL_ERROR, "HTTP/2 output buffer: out of memory");
                conn_close(c);
                return false;
            }
            h->olen = h2s_send(&h->s, (uint8_t *)h->out, H2_OUT);
        }
        if (h->olen == 0) {
            if (h->out)
                h2_out_put(c->w, h->out); /* nothing to send: an idle connection holds no buffer */
            h->out = NULL;
            return true;
        }
    }
}

/* ---- responses ------------------------------------------------------------------ */

/* The send timeout runs from the last progress a client's window allows:
 * DATA leaving, or a stream finished. Frames it can provoke at will (a
 * PING's ACK, a SETTINGS ACK) are no progress: a client that holds its
 * window at zero and pings cannot keep streams (and their blocks) forever. */
static void h2_arm(h2_conn *h, timer_list *tl)
{
    timer_arm(tl, &h->c->timer, h->c->w->now_ms);
    h->armed = tl;
}

static void h2_progress(h2_conn *h)
{
    if (h->nstreams)
        h2_arm(h, &h->c->w->t_send);
}

/* Progress is the connection's: a client that finishes a HEAD now and then
 * while it holds other streams at a zero window keeps the timer above from
 * firing. Each answered stream therefore has a deadline of its own: no
 * movement for send_timeout and it is reset (CANCEL), the others go on,
 * as nginx times out such a stream's request alone. Checked at most once a
 * second, after the session's callbacks. */
static void h2_sweep(h2_conn *h)
{
    worker *w = h->c->w;
    if (w->now_ms - h->swept_ms < 1000)
        return;
    h->swept_ms = w->now_ms;
    unsigned n = 0;
    for (h2_stream *st = h->streams; st; st = st->next)
        if (st->status && !st->x.task_busy && !st->gone && !st->hs.closing &&
            w->now_ms - st->moved_ms >= w->cfg->send_timeout_ms) {
            h2s_reset(&h->s, &st->hs, H2E_CANCEL);
            n++;
        }
    if (n)
        h2_log(h, NULL, LOGL_INFO, "client timed out reading %u stream(s) of %u; the others go on", n, h->nstreams);
}

static ssize_t h2_pull(void *user, h2s_stream *hs, uint8_t *buf, size_t len, bool *eof)
{
    h2_conn *h = user;
    h2_stream *st = H2_ST(hs);
    exec *x = &st->x;
    ssize_t n = x->seg < x->rt.plan.nseg ? exec_pull(x, (char *)buf, len) : 0;
    if (n < 0)
        return H2S_FAIL; /* the stream is reset; the others go on */
    if (n == 0 && x->task_busy) {
        h->tasks++;
        h->c->task_busy = true;
        return H2S_DEFER;
    }
    *eof = x->seg >= x->rt.plan.nseg;
    st->moved_ms = h->c->w->now_ms;
    h2_progress(h);
    return n;
}

/* The plan is complete: HEADERS, and DATA pulled from the plan. */
static void h2_respond(h2_conn *h, h2_stream *st)
{
    exec *x = &st->x;
    http_plan *p = &x->rt.plan;
    p->f.date = h->c->w->date;
    p->f.dates = &h->c->w->dates;
    size_t n = resp_fields_h2(x->hbuf, x->hcap, p->status, &p->f, st->nv, h->c->w->sizes.fields);
    if (n == 0) { /* cannot happen: h2_block_size sized both for any head */
        h2_log(h, st, LOGL_ERROR, "response head for status %d does not fit", p->status);
        x->rt.rules = NULL;
        route_error(&x->rt, 500, false);
        p->f.date = h->c->w->date;
        n = resp_fields_h2(x->hbuf, x->hcap, 500, &p->f, st->nv, h->c->w->sizes.fields);
    }
    st->status = p->status;
    st->moved_ms = h->c->w->now_ms;
    if (h->c->ssl) /* frames interleave: OpenSSL encrypts all of it, kTLS or not */
        h->c->w->stats.tls_user++;
    exec_prepare(x);
    h2s_respond(&h->s, &st->hs, st->nv, n, p->nseg > 0); /* (on failure the stream is reset) */
}

/* Routing went on: respond once the plan is complete (else a lookup runs). */
static void h2_routed(h2_conn *h, h2_stream *st, enum exec_result r)
{
    if (r == EXEC_READY) {
        h2_respond(h, st);
    } else {
        h->tasks++;
        h->c->task_busy = true;
    }
}

/* A task is back: the stream and the connection must still want it. */
static bool h2_back(exec *x)
{
    h2_stream *st = (h2_stream *)x;
    h2_conn *h = st->h;
    conn *c = h->c;
    h->tasks--;
    c->task_busy = h->tasks > 0;
    if (!st->gone && !c->closed)
        return true;
    exec_abandon(x);
    st->status = 0; /* reset before it was answered, or the connection went */
    h2_stream_free(h, st);
    if (c->closed && !c->task_busy)
        conn_release_closed(c);
    return false;
}

static void h2_carry_on(exec *x, enum exec_result r)
{
    h2_stream *st = (h2_stream *)x;
    h2_conn *h = st->h;
    st->moved_ms = h->c->w->now_ms; /* the disk's time is not the client's */
    if (r == EXEC_ERROR)
        h2s_reset(&h->s, &st->hs, H2E_INTERNAL_ERROR);
    else if (r == EXEC_READY || x->task_busy)
        h2_routed(h, st, r);
    else /* a cold chunk is in tbuf */
        h2s_resume(&h->s, &st->hs);
    h2_drive(h->c);
}

/* ---- requests -------------------------------------------------------------------- */

static void h2_drain(h2_conn *h);
static void h2_drain_ack(h2_conn *h);

/* Copy n bytes into the stream's store; an empty slice when it is full. */
static ep_str h2_keep(h2_stream *st, const uint8_t *p, size_t n)
{
    if (st->scap - st->slen < n) {
        st->bad = 431;
        return (ep_str){ 0 };
    }
    char *at = st->store + st->slen;
    memcpy(at, p, n);
    st->slen += n;
    return ep_str_make(at, n);
}

/* A cookie field (browsers send one per cookie, RFC 9113 8.2.3) goes
 * into the store as a record linked to the one before, not into one of
 * the head's HP_MAX_HEADERS slots: h2_cookies joins them at the end. */
typedef struct {
    size_t prev, len;
} h2_crumb_rec;

static void h2_crumb(h2_stream *st, const uint8_t *value, size_t vlen)
{
    h2_crumb_rec r = { st->crumb_last, vlen };
    if (st->scap - st->slen < sizeof r + vlen) {
        st->bad = 431;
        return;
    }
    st->crumb_last = st->slen + 1;
    memcpy(st->store + st->slen, &r, sizeof r);
    memcpy(st->store + st->slen + sizeof r, value, vlen);
    st->slen += sizeof r + vlen;
    st->crumbs++;
    st->crumb_bytes += vlen;
}

/* One Cookie field, the crumbs joined with "; " in the order they came:
 * filled from its end, walking the records back. 0 or a status. */
static int h2_cookies(h2_stream *st)
{
    if (!st->crumbs)
        return 0;
    size_t len = st->crumb_bytes + 2 * (st->crumbs - 1);
    if (st->head->nheaders == HP_MAX_HEADERS || st->scap - st->slen < len)
        return 431;
    char *v = st->store + st->slen, *end = v + len;
    for (size_t at = st->crumb_last; at; ) {
        h2_crumb_rec r;
        memcpy(&r, st->store + at - 1, sizeof r);
        end -= r.len;
        memcpy(end, st->store + at - 1 + sizeof r, r.len);
        if (end > v) {
            *--end = ' ';
            *--end = ';';
        }
        at = r.prev;
    }
    st->slen += len;
    st->head->headers[st->head->nheaders++] = (hp_header){ EP_STR_LIT("cookie"), ep_str_make(v, len) };
    return 0;
}

/* Host comes from :authority (RFC 9113 8.3.1); a Host field that names
 * another authority makes the request malformed. 0 or a status. */
static int h2_host(h2_stream *st)
{
    hp_request *hd = st->head;
    for (size_t i = 0; i < hd->nheaders; i++) {
        if (hd->headers[i].name.len != 4 || memcmp(hd->headers[i].name.p, "host", 4) != 0)
            continue;
        if (st->authority.p && (st->authority.len != hd->headers[i].value.len ||
                                strncasecmp(st->authority.p, hd->headers[i].value.p, st->authority.len) != 0))
            return 400;
        return 0;
    }
    if (!st->authority.p)
        return 0; /* hp_analyze answers a request without a host */
    if (hd->nheaders == HP_MAX_HEADERS)
        return 431;
    hd->headers[hd->nheaders++] = (hp_header){ EP_STR_LIT("host"), st->authority };
    return 0;
}

/* The headers are complete: the stream is a request, routed as any other. */
static void h2_request(h2_conn *h, h2_stream *st)
{
    conn *c = h->c;
    worker *w = c->w;
    hp_request *hd = st->head;
    /* the request line the logs quote, as HTTP/1.1's are; CONNECT has
     * no :path, its target is the authority (RFC 9113 8.5) */
    ep_str target = st->path.p ? st->path : st->authority;
    size_t need = st->method.len + target.len + 10; /* "M T HTTP/2.0" (snprintf was 2% of a stream) */
    if (st->scap - st->slen >= need) {
        char *at = st->store + st->slen, *o = at;
        o = (char *)memcpy(o, st->method.p, st->method.len) + st->method.len;
        *o++ = ' ';
        o = (char *)memcpy(o, target.p, target.len) + target.len;
        memcpy(o, " HTTP/2.0", 9);
        st->line = ep_str_make(at, need);
        st->slen += need;
    } else {
        st->line = target;
    }
    hd->method = st->method;
    hd->target = st->path;
    hd->minor = 1; /* HTTP/1.1's rules: a host is required, connections persist */
    c->requests++;
    w->stats.requests++;
    w->stats.h2_streams++;
    mx_add(&w->mx->c.requests, 1);
    /* keepalive_requests bounds an HTTP/2 connection too, as in nginx: the
     * client finishes what it has opened and goes on on a new one. */
    if ((int64_t)c->requests >= (int64_t)w->cfg->keepalive_requests)
        h2_drain(h);
    /* A client that never answers the PING but keeps opening streams gets
     * the final GOAWAY anyway once it had time to: this stream is the last. */
    if (h->pinged && w->now_ms - h->ping_ms >= H2_ACK_WAIT_MS)
        h2_drain_ack(h);
    int status = st->bad ? st->bad : h2_cookies(st);
    if (!status)
        status = h2_host(st);
    if (!status)
        status = http_req_make(&st->req, hd, w->cfg, st->pathbuf);
    st->env.now = w->now_sec;
    st->env.seq = w->stats.requests;
    st->env.tls_srv = c->ssl ? &w->cfg->servers[c->tls_srv] : NULL;
    route_begin(&st->x.rt, &st->env, &st->req);
    if (status) {
        route_error(&st->x.rt, status, false);
        h2_respond(h, st);
        return;
    }
    log_debug("h2 stream %d \"%.*s\" → \"%s\"", st->id, (int)st->line.len, st->line.p, st->pathbuf);
    h2_routed(h, st, exec_route(&st->x, route_request(&st->x.rt)));
}

/* ---- the session's callbacks ----------------------------------------------------- */

/* A malformed request (RFC 9113 8.1.1): a stream error PROTOCOL_ERROR, the
 * request never served; logged once per connection (the field itself is
 * not logged: its bytes are what was wrong with it). */
static void h2_malformed(h2_conn *h, h2_stream *st, const char *why)
{
    st->malformed = true;
    if (!h->logged) {
        h->logged = true;
        h2_log(h, NULL, LOGL_INFO, "HTTP/2 client error: Invalid HTTP header field was received: stream %u, %s",
               st->id, why);
    }
    h2s_reset(&h->s, &st->hs, H2E_PROTOCOL_ERROR);
}

static h2s_stream *h2_on_open(void *user, uint32_t id)
{
    h2_stream *st = h2_stream_new(user, (int32_t)id);
    return st ? &st->hs : NULL; /* NULL: every slot taken (reset streams whose task is still out count) */
}

static void h2_on_field(void *user, h2s_stream *hs, const uint8_t *name, size_t nlen, const uint8_t *value,
                        size_t vlen, bool trailer)
{
    h2_conn *h = user;
    h2_stream *st = H2_ST(hs);
    /* Past the list's limit the answer is 431 whatever comes: the rest of
     * the block is not looked at (a block of 1-byte references to one 4 KB
     * table entry decodes to 590 MB of values, each checked byte by byte). */
    if (st->malformed || st->bad == 431)
        return;
    if (h2f_field(&st->fields, name, nlen, value, vlen, trailer) < 0) {
        h2_malformed(h, st, "a field that RFC 9113 8.2-8.3 forbids");
        return;
    }
    /* RFC 9113's measure of a header list (6.5.2), the one the client was
     * told, trailers included; the session decodes the whole block whatever
     * we answer (the HPACK state stays shared), and the answer is 431. */
    st->list += nlen + vlen + 32;
    if (st->list > h->c->w->cfg->http2_max_header_list_size) {
        st->bad = 431;
        return;
    }
    if (trailer || st->bad)
        return;
    if (name[0] == ':') { /* h2f_field has checked which may come, and once */
        ep_str *slot = nlen == 7 && memcmp(name, ":method", 7) == 0      ? &st->method
                       : nlen == 5 && memcmp(name, ":path", 5) == 0       ? &st->path
                       : nlen == 10 && memcmp(name, ":authority", 10) == 0 ? &st->authority
                                                                          : NULL;
        if (slot)
            *slot = h2_keep(st, value, vlen);
        return;
    }
    if (nlen == 6 && memcmp(name, "cookie", 6) == 0) {
        h2_crumb(st, value, vlen);
        return;
    }
    hp_request *hd = st->head;
    if (hd->nheaders == HP_MAX_HEADERS) {
        st->bad = 431;
        return;
    }
    ep_str n = h2_keep(st, name, nlen), v = h2_keep(st, value, vlen);
    if (!st->bad)
        hd->headers[hd->nheaders++] = (hp_header){ n, v };
}

static void h2_on_fields_end(void *user, h2s_stream *hs, bool trailer, bool ended)
{
    h2_conn *h = user;
    h2_stream *st = H2_ST(hs);
    if (st->malformed)
        return;
    if (trailer) {
        if (!ended)
            h2_malformed(h, st, "trailers that do not end the stream");
        else if (h2f_end(&st->fields) < 0)
            h2_malformed(h, st, "a body shorter than its content-length");
    } else if (h2f_request(&st->fields) < 0) {
        h2_malformed(h, st, "a pseudo-header missing, or one too many");
    } else if (ended && h2f_end(&st->fields) < 0) {
        h2_malformed(h, st, "a body shorter than its content-length");
    } else {
        h2_request(h, st);
    }
}

/* A request's body counts against its content-length (8.1.1). */
static void h2_on_data(void *user, h2s_stream *hs, size_t len, bool ended)
{
    h2_stream *st = H2_ST(hs);
    if (!st->malformed && h2f_data(&st->fields, len) < 0)
        h2_malformed(user, st, "a body longer than its content-length");
    else if (!st->malformed && ended && h2f_end(&st->fields) < 0)
        h2_malformed(user, st, "a body shorter than its content-length");
}

static void h2_on_close(void *user, h2s_stream *hs, uint32_t code)
{
    h2_conn *h = user;
    h2_stream *st = H2_ST(hs);
    if (code == H2E_NO_ERROR)
        h2_progress(h);
    if (st->x.task_busy)
        st->gone = true; /* its task owns the block: h2_back gives it back */
    else
        h2_stream_free(h, st);
}

static void h2_on_ping_ack(void *user)
{
    h2_drain_ack(user);
}

/* What the client did wrong, before the session answers it: one line per
 * connection, as nginx logs a client's protocol error once. */
static void h2_on_error(void *user, uint32_t code, const char *why)
{
    h2_conn *h = user;
    if (!h->logged) {
        h->logged = true;
        h2_log(h, NULL, LOGL_INFO, "HTTP/2 client error: %s (%s)", why, h2fr_error_name(code));
    }
}

static const h2s_cbs h2_cbs = { h2_on_open, h2_on_field, h2_on_fields_end, h2_on_data,
                                h2_on_close, h2_pull, h2_on_ping_ack, h2_on_error };

/* nghttp2's memory through the worker's free lists (util/freelist.h). */
static void *h2_malloc(size_t size, void *ud)
{
    return fl_alloc(ud, size);
}

static void h2_mfree(void *ptr, void *ud)
{
    fl_free(ud, ptr);
}

static void *h2_calloc(size_t n, size_t size, void *ud)
{
    return fl_calloc(ud, n, size);
}

static void *h2_realloc(void *ptr, size_t size, void *ud)
{
    return fl_realloc(ud, ptr, size);
}

/* Blocks kept per size class: enough for every stream of dozens of busy
 * connections (five blocks a stream), at most 4 MB. */
#define H2_FL_MAX 1024

int h2_worker_init(worker *w)
{
    nghttp2_mem *mem = malloc(sizeof *mem);
    if (!mem)
        return -1;
    fl_init(&w->h2_fl, H2_FL_MAX);
    *mem = (nghttp2_mem){ &w->h2_fl, h2_malloc, h2_mfree, h2_calloc, h2_realloc };
    w->h2_mem = mem;
    return 0;
}

void h2_worker_free(worker *w)
{
    free(w->h2_out_spare);
    w->h2_out_spare = NULL;
    if (w->h2_mem) /* every session is gone: what the lists keep is free */
        fl_destroy(&w->h2_fl);
    free(w->h2_mem);
    w->h2_mem = NULL;
}

/* ---- the connection ------------------------------------------------------------- */

/* The session ended the connection (its GOAWAY is queued, the reason
 * logged): the GOAWAY goes if it can, then the close. */
static void h2_fatal(h2_conn *h)
{
    conn *c = h->c;
    if (c->closed)
        return;
    h->c->w->stats.h2_errors++;
    h->closing = true;
    h2_flush(h);
    conn_close(c);
}

/* Graceful shutdown, second step: the client has seen the notice (its
 * PING came back), so every stream it opened before is known: GOAWAY
 * names the last, and those finish. */
static void h2_drain_ack(h2_conn *h)
{
    if (h->closing || !h->pinged)
        return;
    h->closing = true;
    h2s_goaway(&h->s, H2E_NO_ERROR);
}

/* Graceful end, first step: a GOAWAY that refuses nothing yet (RFC 9113
 * 6.8), then a PING whose answer proves the client has read it
 * (h2_drain_ack). Callable from the session's callbacks. */
static void h2_drain(h2_conn *h)
{
    if (h->draining || h->closing)
        return;
    h->draining = true;
    h2s_notice(&h->s);
    h->pinged = true;
    h->ping_ms = h->c->w->now_ms;
    h2s_ping(&h->s);
}

void h2_shutdown(conn *c, bool graceful)
{
    if (!graceful) {
        conn_close(c);
        return;
    }
    h2_drain(c->h2);
    h2_drive(c);
}

int h2_start(conn *c, const char *in, size_t len)
{
    worker *w = c->w;
    const cfg *cf = w->cfg;
    h2_conn *h = calloc(1, sizeof *h);
    h2s_settings local = { cf->http2_max_concurrent_streams, cf->http2_max_header_list_size,
                           cf->http2_initial_window_size, cf->http2_connection_window_size };
    if (!h || h2s_init(&h->s, &h2_cbs, h, &local, w->h2_mem) != 0) {
        free(h);
        conn_close(c);
        return -1;
    }
    h->c = c;
    c->h2 = h;
    conn_set_state(c, CS_H2);
    w->stats.h2_conns++;
    /* Frames are small and many (a WINDOW_UPDATE's answer, a last DATA
     * frame): Nagle would hold them for the peer's delayed ACK. */
    if (!c->nodelay) {
        int one = 1;
        setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->nodelay = true;
    }
    h2_arm(h, &w->t_keepalive);
    if (len && h2s_recv(&h->s, (const uint8_t *)in, len, w->now_ms) < 0) {
        h2_fatal(h);
        return -1;
    }
    if (w->graceful)
        h2_shutdown(c, true);
    else
        h2_drive(c);
    return 0;
}

/* Which timer watches c now: the send timeout while streams are open or
 * output waits (armed on the way in; progress re-arms it), else the idle
 * timeout (armed on the way out; nothing a client sends extends it). */
static void h2_timers(h2_conn *h)
{
    worker *w = h->c->w;
    bool busy = h->nstreams > 0 || h->osent < h->olen;
    if (busy && h->armed != &w->t_send)
        h2_arm(h, &w->t_send);
    else if (!busy && h->armed == &w->t_send)
        h2_arm(h, w->graceful ? &w->t_linger : &w->t_keepalive);
}

void h2_drive(conn *c)
{
    h2_conn *h = c->h2;
    if (c->closed)
        return;
    worker *w = c->w;
    while (!h->in && (c->can_read || (c->ssl && SSL_has_pending(c->ssl))) && !h->s.dead) {
        uint8_t buf[H2_IN];
        ssize_t n = conn_recv(c, buf, sizeof buf);
        bool batch = n > 0 && w->batching && w->fw.io.fd >= 0;
        if (batch && w->h2rx_bytes + (size_t)n > H2_RX_MAX)
            worker_fs_catch_up(w); /* the batch holds enough: these are decoded now, after the events */
        else if (batch) {
            /* Inside a batch, bytes are only received: h2_rx_run decodes
             * them after one reading of the file-system events (which
             * covers them), and the batch's answers leave together, as
             * HTTP/1.1's do (conn_rx_run). Kept at their size, and at most
             * H2_RX_MAX in a batch: thousands of connections sending at
             * once must not cost a copy of each one's read. */
            w->h2rx_bytes += (size_t)n;
            h->in = malloc((size_t)n);
            if (!h->in) {
                conn_close(c);
                return;
            }
            memcpy(h->in, buf, (size_t)n);
            h->inlen = (size_t)n;
            h->rx_next = w->h2rx;
            w->h2rx = h;
            return;
        }
        if (n > 0) {
            if (h2s_recv(&h->s, buf, (size_t)n, w->now_ms) < 0) {
                h2_fatal(h);
                return;
            }
            /* answers leave while more requests come in */
            if (c->closed || !h2_flush(h))
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        conn_close(c); /* EOF or reset: nobody to answer */
        return;
    }
    h2_sweep(h);
    if (!h2_flush(h))
        return;
    if (h2s_done(&h->s) && h->osent == h->olen) {
        conn_wind_down(c); /* GOAWAY went and every stream is done */
        return;
    }
    h2_timers(h);
}

void h2_timeout(conn *c, timer_list *which)
{
    h2_conn *h = c->h2;
    worker *w = c->w;
    if (which == &w->t_send) {
        h2_log(h, NULL, LOGL_INFO, "client timed out reading (%u stream(s) open)", h->nstreams);
        conn_close(c);
        return;
    }
    /* idle: say goodbye properly, then close */
    h->closing = true;
    h2s_goaway(&h->s, H2E_NO_ERROR);
    h2_flush(h);
    conn_close(c);
}

/* Decode what the batch received, in the order it came, then go on as
 * h2_drive (the caller has read the file-system events). */
void h2_rx_run(worker *w)
{
    h2_conn *list = NULL;
    while (w->h2rx) {
        h2_conn *h = w->h2rx;
        w->h2rx = h->rx_next;
        h->rx_next = list;
        list = h;
    }
    w->h2rx_bytes = 0;
    while (list) {
        h2_conn *h = list;
        list = h->rx_next;
        uint8_t *in = h->in;
        h->in = NULL;
        /* Closed (a task is out) or wound down since: nobody to answer. */
        bool live = !h->c->closed && h->c->state == CS_H2;
        int rv = live ? h2s_recv(&h->s, in, h->inlen, w->now_ms) : 0;
        free(in);
        if (!live)
            continue;
        if (rv < 0)
            h2_fatal(h);
        else if (!h->c->closed && h2_flush(h))
            h2_drive(h->c); /* it may close, and free h: list no longer holds it */
    }
}

void h2_free(conn *c)
{
    h2_conn *h = c->h2;
    if (h->in) { /* closed before its turn: off the list (rare, and the list is short) */
        h2_conn **pp = &c->w->h2rx;
        while (*pp != h)
            pp = &(*pp)->rx_next;
        *pp = h->rx_next;
        free(h->in);
    }
    while (h->streams)
        h2_stream_free(h, h->streams);
    h2s_free(&h->s);
    free(h->out);
    free(h);
    c->h2 = NULL;
}
