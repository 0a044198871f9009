/* worker/conn.c: an HTTP/1.1 connection's life: read a head, route it to a plan, have it executed, keep alive or close.
 *
 * Ownership: the loop thread owns a connection, except for what its
 * executor's task touches while c->task_busy is set (worker/exec.h); the
 * loop then merely records readiness (can_read/can_write) until the
 * completion comes back through the queue. A request is always read
 * completely before its response starts, and the next request is parsed
 * only after the previous response is finished, so a response can never
 * race its own request. */
#include "worker/conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "http/parser.h"
#include "http/proxyproto.h"
#include "http/request.h"
#include "http/response.h"
#include "log/log.h"
#include "util/cidr.h"
#include "util/sys.h"
#include "worker/exec.h"
#include "worker/h2.h"

#define LINGER_BUF 4096

/* Everything a request needs, at the start of its connection's block. */
typedef struct conn_req {
    conn *c;
    char *rbuf;              /* the request head as read, then what follows it */
    size_t rlen, rcap, consumed;
    bool need_parse;         /* a line ended since the last parse */
    bool keep_alive;         /* the connection stays after this response */
    bool framing_error;      /* answered with an error that ends the connection */
    bool expect_continue;    /* Expect: 100-continue: send the interim 100 with the response */
    bool discard_chunked;    /* a chunked request body is still to skip */
    int status;              /* the response's, for the access log; 0: nothing to log */
    int64_t discard_left;    /* Content-Length body bytes still to skip */
    uint64_t body_skipped;   /* chunked body bytes skipped, against max_body_size */
    hp_chunked chunk;
    hp_request *head;
    char *path;              /* the decoded path's buffer: max_uri_len + 1 */
    route_env env;           /* the block's scratch and part-head space */
    http_req req;
    exec x;
    struct conn_req *rx_next; /* worker's list of heads received in this batch (conn_rx_run) */
    bool rx_queued;
} conn_req;

static void conn_finish_response(conn *c);
static void conn_drive(conn *c);
static void conn_on_event(loop_io *io, uint32_t events);
static bool conn_back(exec *x);
static void conn_carry_on(exec *x, enum exec_result r);
static void conn_note(exec *x, const char *line);
static const exec_hooks conn_hooks = { conn_back, conn_carry_on, conn_note };

/* ---- life cycle ---------------------------------------------------------- */

/* The chunk a file is read in when the kernel does not encrypt (no kTLS):
 * four TLS records' plaintext per pread and SSL_write. Measured on the
 * 954 KB file against 16 KB chunks: 7% more requests per CPU-second
 * (bench.sh tls-large, BASE=); nginx's output_buffers hold as much. */
#define CONN_TLS_CHUNK 65536

static bool conn_any_tls(const cfg *cf)
{
    for (size_t i = 0; i < cf->nlistens; i++)
        if (cf->listens[i].tls)
            return true;
    return false;
}

size_t conn_block_size(const cfg *cf, route_sizes *rs)
{
    route_sizes_of(cf, rs);
    return sizeof(conn_req) + cf->max_header_size + sizeof(hp_request) + cf->max_uri_len + 1 +
           exec_setup_size(cf, rs) + (conn_any_tls(cf) ? CONN_TLS_CHUNK : 0) + 5 * 16;
}

static bool conn_acquire_buffers(conn *c)
{
    if (c->rq)
        return true;
    worker *w = c->w;
    void *block = arena_pool_get(&w->arenas);
    if (!block)
        return false;
    arena ar;
    arena_init(&ar, block, w->block_size);
    conn_req *b = arena_alloc(&ar, sizeof *b);
    b->c = c;
    b->rcap = w->cfg->max_header_size;
    b->rbuf = arena_alloc(&ar, b->rcap);
    b->rlen = b->consumed = 0;
    b->need_parse = b->keep_alive = b->framing_error = b->expect_continue = b->discard_chunked = false;
    b->status = 0;
    b->discard_left = 0;
    b->body_skipped = 0;
    b->rx_queued = false;
    b->head = arena_alloc(&ar, sizeof(hp_request));
    b->path = arena_alloc(&ar, w->cfg->max_uri_len + 1);
    b->req = (http_req){ .head = b->head, .path = b->path };
    exec_setup(&b->x, &ar, w, &conn_hooks, c->io.fd, &b->env, &b->req, c->listen_idx, &c->peer.sa);
    if (c->ssl)
        exec_use_tls(&b->x, c->ssl, arena_alloc(&ar, CONN_TLS_CHUNK), CONN_TLS_CHUNK);
    c->rq = b;
    return true;
}

/* Idle keep-alive connections give their block back: they cost only the struct. */
static void conn_release_buffers(conn *c)
{
    if (!c->rq)
        return;
    if (c->rq->rx_queued) { /* closed before its turn: off the list (rare, and the list is short) */
        struct conn_req **pp = &c->w->rx;
        while (*pp != c->rq)
            pp = &(*pp)->rx_next;
        *pp = c->rq->rx_next;
    }
    arena_pool_put(&c->w->arenas, c->rq);
    c->rq = NULL;
}

/* The client's address: the accepted socket's, or a PROXY header's. */
static void conn_set_peer(conn *c, const struct sockaddr *sa)
{
    memset(&c->peer, 0, sizeof c->peer);
    memcpy(&c->peer, sa, sa->sa_family == AF_INET6 ? sizeof c->peer.in6 : sizeof c->peer.in);
}

void conn_init(conn *c, worker *w, int fd, const struct sockaddr *peer, size_t listen_idx)
{
    c->io.fd = fd;
    c->io.on_event = conn_on_event;
    c->w = w;
    c->rq = NULL;
    c->requests = 0;
    c->serial = ++w->conn_serial;
    c->listen_idx = (uint32_t)listen_idx;
    c->state = CS_IDLE;
    c->can_read = c->can_write = c->task_busy = c->closed = c->nodelay = c->plain_on_tls = c->proxied = false;
    c->rdhup = false;
    c->ssl = NULL;
    c->h2 = NULL;
    conn_set_peer(c, peer);
    /* A TLS listener's: the first byte decides between a handshake and a
     * cleartext request (conn_tls_handshake). */
    if (w->tls && w->tls->lis && w->tls->lis[listen_idx].ctx)
        c->state = CS_HANDSHAKE;
    /* Behind a load balancer: its header first, before TLS or HTTP. */
    if (w->cfg->listens[listen_idx].proxy_protocol)
        c->state = CS_PROXY;
    timer_node_init(&c->timer);
    /* The first request gets the header timeout, as in nginx; over TLS it
     * covers the handshake too, and bytes trickling in do not extend it. */
    timer_arm(&w->t_header, &c->timer, w->now_ms);
    c->req_ms = w->now_ms;
    mx_add(conn_gauge(w, c->state), 1); /* until worker.c frees it */
}

uint64_t *conn_gauge(worker *w, enum conn_state s)
{
    mx_counters *m = &w->mx->c;
    switch (s) {
    case CS_PROXY:
    case CS_HANDSHAKE:
    case CS_HEAD:
        return &m->reading;
    case CS_TASK:
    case CS_SEND:
    case CS_BODY:
        return &m->writing;
    default: /* idle, lingering, and HTTP/2 until a stream opens (h2.c moves it) */
        return &m->waiting;
    }
}

void conn_set_state(conn *c, enum conn_state s)
{
    worker *w = c->w;
    uint64_t *from = conn_gauge(w, c->state), *to = conn_gauge(w, s);
    if (from != to) {
        mx_add(from, (uint64_t)-1);
        mx_add(to, 1);
    }
    c->state = (uint8_t)s;
    if (s == CS_HEAD)
        c->req_ms = w->now_ms; /* a request's time runs from its first byte */
}

/* recv(), or SSL_read_ex over TLS, with recv's returns: bytes, 0 at the
 * end (close_notify, or the peer closing), -1 with errno (EAGAIN: wait).
 * On EAGAIN it has cleared the readiness the read waits for: readability,
 * or writability when TLS must send to go on reading (the answer to a
 * KeyUpdate into a full socket), so that the next EPOLLOUT retries it. */
ssize_t conn_recv(conn *c, void *buf, size_t len)
{
    c->w->fs_fresh = false; /* these bytes may postdate the file-system events read so far */
    if (!c->ssl) {
        ssize_t n = sys_recv(c->io.fd, buf, len, 0);
        /* Fewer bytes than asked for: the socket is empty now. Edge-
         * triggered epoll reports every later arrival, so no recv that
         * could only say EAGAIN is made (nginx's rev->ready = 0). */
        if ((n < 0 && errno == EAGAIN) || (n > 0 && (size_t)n < len && !c->rdhup))
            c->can_read = false;
        return n;
    }
    size_t n;
    int rc = SSL_read_ex(c->ssl, buf, len, &n);
    if (rc == 1)
        return (ssize_t)n;
    int e = SSL_get_error(c->ssl, rc);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (e == SSL_ERROR_WANT_READ)
            c->can_read = false;
        else
            c->can_write = false;
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
        return 0;
    errno = e == SSL_ERROR_SYSCALL ? errno : EPROTO;
    return -1;
}

ssize_t conn_write(conn *c, const void *buf, size_t len)
{
    if (!c->ssl) {
        ssize_t n = send(c->io.fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN)
            c->can_write = false;
        return n;
    }
    size_t n;
    int rc = SSL_write_ex(c->ssl, buf, len, &n);
    if (rc == 1)
        return (ssize_t)n;
    int e = SSL_get_error(c->ssl, rc);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        if (e == SSL_ERROR_WANT_WRITE)
            c->can_write = false;
        else
            c->can_read = false;
        errno = EAGAIN;
        return -1;
    }
    errno = e == SSL_ERROR_SYSCALL && errno ? errno : EPIPE;
    return -1;
}

/* Bytes in the socket the client has not acknowledged (SIOCOUTQ): what a
 * reset from closing would destroy. 0 when the kernel does not say. */
static int32_t conn_outq(const conn *c)
{
    int n = 0;
    return ioctl(c->io.fd, SIOCOUTQ, &n) == 0 && n > 0 ? n : 0;
}

/* Whether reading could give bytes: the socket said so, or TLS holds a
 * decrypted record we have not taken yet (edge-triggered epoll would never
 * tell us of those again). */
static bool conn_readable(const conn *c)
{
    return c->can_read || (c->ssl && SSL_has_pending(c->ssl));
}

void conn_log_msg(conn *c, enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* the head being read or answered starts rbuf */
    conn_vlog(c, c->rq ? c->rq->x.rt.srv : NULL, c->rq ? c->rq->x.rt.peer : NULL,
              c->rq ? hp_request_line(c->rq->rbuf, c->rq->rlen) : (ep_str){ 0 }, level, fmt, ap);
    va_end(ap);
}

static void conn_note(exec *x, const char *line)
{
    conn_log_msg(EP_CONTAINER_OF(x, conn_req, x)->c, LOGL_ERROR, "%s", line);
}

static void conn_log(conn *c)
{
    conn_req *b = c->rq;
    if (!b || b->status == 0)
        return;
    access_entry e = { .status = b->status, .bytes = b->x.body_bytes, .bytes_sent = b->x.hsent + b->x.body_bytes,
                       .ms = c->w->now_ms - c->req_ms };
    /* rbuf still holds this request's head, or as much of it as arrived
     * before a 400, 408 or 414: the log quotes that, as sent. */
    e.request_line = hp_request_line(b->rbuf, b->rlen);
    conn_access(c, &b->x.rt, &b->req, &e);
    b->status = 0;
}

/* The struct goes to worker.c's closed list, which frees it after this
 * iteration's events and counts the slot free. */
static void conn_release(conn *c)
{
    conn_log(c);
    if (c->rq)
        exec_end(&c->rq->x);
    if (c->h2)
        h2_free(c);
    if (c->ssl) {
        /* close_notify, best effort: the socket may be full or gone. */
        if (SSL_is_init_finished(c->ssl) && !(SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN))
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        ERR_clear_error();
        c->ssl = NULL;
    }
    close(c->io.fd); /* also drops it from the epoll set */
    conn_release_buffers(c);
    c->next = c->w->dead;
    c->w->dead = c;
}

void conn_close(conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    timer_disarm(&c->timer);
    if (!c->task_busy)
        conn_release(c); /* else the task's completion does it */
}

void conn_release_closed(conn *c)
{
    if (c->closed && !c->task_busy)
        conn_release(c);
}

/* Close for good but let the client read what was sent. If the client has
 * sent nothing more, close at once (as nginx does); if it is still sending,
 * shut our side and drain its input briefly, so that unread bytes do not turn
 * into a reset that destroys the response in flight. An HTTP/2 client
 * always may be: its window updates and acknowledgements follow the data
 * it reads, so an HTTP/2 connection always lingers. So does TLS: a KeyUpdate
 * or an alert may be on its way whatever the client asked for, records that
 * no peek at the socket can foresee (the client may send a KeyUpdate while
 * the last of the response waits unread in its socket: closing before it
 * arrives turns it into a reset that destroys that tail). */
static void conn_linger(conn *c)
{
    bool drained_some = c->state == CS_LINGER || c->h2 || c->ssl || (c->rq && c->rq->rlen > c->rq->consumed);
    if (c->state != CS_LINGER) {
        conn_log(c);
        if (c->rq)
            exec_end(&c->rq->x);
        conn_release_buffers(c);
    }
    char sink[LINGER_BUF];
    while (conn_readable(c)) {
        ssize_t n = conn_recv(c, sink, sizeof sink);
        if (n > 0) {
            drained_some = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        conn_close(c); /* EOF or error */
        return;
    }
    if (!drained_some) {
        conn_close(c);
        return;
    }
    if (c->state != CS_LINGER) {
        conn_set_state(c, CS_LINGER);
        if (c->ssl && SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl); /* close_notify ahead of our FIN */
        shutdown(c->io.fd, SHUT_WR);
        c->linger_outq = 0; /* what the response just left unacknowledged is no tail yet */
        timer_arm(&c->w->t_linger, &c->timer, c->w->now_ms);
    }
}

/* The linger's time is up. While the response's tail is still on its way
 * (a slow reader, megabytes queued behind our FIN) a reset from closing
 * would destroy it: the linger goes on, and ends as any response does when
 * the client takes nothing for send_timeout. A tail that took longer than
 * the first look gets one more quiet linger once it is all across. */
static void conn_linger_expired(conn *c)
{
    worker *w = c->w;
    int32_t q = conn_outq(c), last = c->linger_outq;
    c->linger_outq = q;
    if (q == 0 && last == 0) { /* all across for a whole linger */
        conn_close(c);
        return;
    }
    if (q > 0 && (last == 0 || q < last)) /* a tail seen first, or moving */
        c->linger_moved_ms = w->now_ms;
    if (q > 0 && w->now_ms - c->linger_moved_ms >= w->cfg->send_timeout_ms) {
        conn_close(c);
        return;
    }
    timer_arm(&w->t_linger, &c->timer, w->now_ms); /* q == 0: the quiet linger after a tail */
}

int conn_reclaim(worker *w, int max)
{
    int n = 0;
    timer_list *lists[] = { &w->t_linger, &w->t_keepalive };
    for (size_t i = 0; i < 2 && n < max; i++) {
        timer_node *head = &lists[i]->head;
        for (timer_node *t = head->next, *next; t != head && n < max; t = next) {
            next = t->next;
            conn *c = EP_CONTAINER_OF(t, conn, timer);
            bool spare = c->state == CS_LINGER ? conn_outq(c) == 0
                                                : c->state == CS_IDLE && !c->rq && c->requests > 0;
            if (spare && !c->task_busy) {
                conn_close(c);
                n++;
            }
        }
    }
    return n;
}

void conn_wind_down(conn *c)
{
    conn_linger(c);
}

/* No parsed request is in rbuf any more (a new head, or one that failed to
 * parse): its Referer, User-Agent and server must not reach the logs; until
 * the next head is parsed, the listener's default server stands for it. */
static void conn_forget_request(conn_req *b)
{
    /* Until the next head is parsed, none is known (a 408's log line). */
    b->head->nheaders = 0;
    b->head->method = b->head->target = (ep_str){ 0 };
    b->req = (http_req){ .head = b->head, .path = b->path };
    b->x.rt.srv = NULL;
    b->x.rt.rules = NULL;
}

/* ---- responses ----------------------------------------------------------- */

/* The client asked to close and sent nothing we have not read: the
 * connection will be closed as soon as the response is out. */
static bool conn_closes_at_once(const conn_req *b)
{
    return !b->keep_alive && !b->req.info.keep_alive && !b->framing_error && b->rlen == b->consumed &&
           !b->discard_left && !b->discard_chunked;
}

/* Nagle would hold the last partial segment of a response until the client
 * ACKs; set TCP_NODELAY once a connection is kept alive or sends file data,
 * as nginx's tcp_nodelay does, and save the syscall on one-shot small answers. */
static void conn_nodelay(conn *c)
{
    if (c->nodelay)
        return;
    int one = 1;
    setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->nodelay = true;
}

/* The plan is complete: write its HTTP/1.1 head and start sending. */
static void conn_respond(conn *c)
{
    conn_req *b = c->rq;
    exec *x = &b->x;
    http_plan *p = &x->rt.plan;
    if (p->close) {
        b->keep_alive = false;
        b->framing_error = true;
    }
    p->f.date = c->w->date;
    p->f.dates = &c->w->dates;
    p->f.keep_alive = b->keep_alive;
    x->hlen = resp_head(x->hbuf, x->hcap, p->status, &p->f);
    if (x->hlen == 0) { /* cannot happen: conn_block_size sized hbuf for any head */
        conn_log_msg(c, LOGL_ERROR, "response head for status %d does not fit in %zu bytes", p->status, x->hcap);
        x->rt.rules = NULL; /* the bare page, without add_header */
        route_error(&x->rt, 500, true);
        b->keep_alive = p->f.keep_alive = false;
        p->f.date = c->w->date;
        x->hlen = resp_head(x->hbuf, x->hcap, 500, &p->f);
    }
    b->status = p->status;
    /* Expect: 100-continue with a body still to come, and the connection
     * kept: the client waits for the interim 100 before it sends the body
     * we must read past, so it goes out ahead of the final response. If the
     * connection closes instead, the client learns that from the final
     * response alone and need not send the body at all. */
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (b->expect_continue && b->keep_alive && x->hlen + sizeof cont - 1 <= x->hcap &&
        (b->discard_left > (int64_t)(b->rlen - b->consumed) || b->discard_chunked)) {
        memmove(x->hbuf + sizeof cont - 1, x->hbuf, x->hlen);
        memcpy(x->hbuf, cont, sizeof cont - 1);
        x->hlen += sizeof cont - 1;
    }
    b->expect_continue = false;
    exec_prepare(x);
    if (c->ssl)
        ++*(x->tp == &exec_ktls ? &c->w->stats.tls_ktls : &c->w->stats.tls_user);
    x->fin_follows = conn_closes_at_once(b);
    if (p->nseg > 1 || (p->nseg == 1 && !p->seg[0].mem) || c->requests > 1)
        conn_nodelay(c);
    conn_set_state(c, CS_SEND);
    timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
}

/* Routing went on to s: respond once the plan is complete. */
static void conn_routed(conn *c, enum exec_result r)
{
    if (r == EXEC_READY) {
        conn_respond(c);
    } else {
        c->task_busy = true;
        conn_set_state(c, CS_TASK);
    }
}

/* Answer an error found before or instead of routing (a malformed head, a
 * timeout): the built-in page, and the connection ends after it. */
static void conn_error(conn *c, int status)
{
    conn_req *b = c->rq;
    route_begin(&b->x.rt, &b->env, &b->req);
    route_error(&b->x.rt, status, true);
    conn_respond(c);
}

/* A cleartext request on a TLS listener: 400 with a page that says so,
 * and the connection ends. */
static void conn_plain_on_tls(conn *c)
{
    static const char page[] = "<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n"
                               "<center><h1>400 Bad Request</h1></center>\r\n"
                               "<center>The plain HTTP request was sent to HTTPS port</center>\r\n"
                               "<hr><center>ephttpd</center>\r\n</body>\r\n</html>\r\n";
    route *rt = &c->rq->x.rt;
    plan_begin(&rt->plan, 400, NULL, 0);
    rt->plan.close = true;
    rt->plan.f.content_type = "text/html";
    plan_mem(&rt->plan, page, sizeof page - 1);
    plan_seal(&rt->plan, rt->rq->head_only);
    conn_respond(c);
}

/* A task is back on the loop: still wanted, unless the connection closed
 * while it ran (then its struct and block go now). */
static bool conn_back(exec *x)
{
    conn *c = EP_CONTAINER_OF(x, conn_req, x)->c;
    c->task_busy = false;
    if (!c->closed)
        return true;
    exec_abandon(x);
    conn_release(c);
    return false;
}

/* After a task: respond once the plan is complete, or go on sending. */
static void conn_carry_on(exec *x, enum exec_result r)
{
    conn *c = EP_CONTAINER_OF(x, conn_req, x)->c;
    if (r == EXEC_ERROR) {
        conn_close(c);
        return;
    }
    if (r == EXEC_READY || x->task_busy) {
        conn_routed(c, r);
    } else { /* a chunk went */
        conn_set_state(c, CS_SEND);
        if (r == EXEC_SENDING)
            c->can_write = true;
        if (x->progressed) {
            x->progressed = false;
            timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
        }
    }
    conn_drive(c);
}

/* ---- requests ------------------------------------------------------------ */

/* A complete head of hlen bytes is in rbuf: decide what to answer. */
static void conn_handle_request(conn *c, int hlen)
{
    worker *w = c->w;
    conn_req *b = c->rq;
    b->consumed = (size_t)hlen;
    c->requests++;
    w->stats.requests++;
    mx_add(&w->mx->c.requests, 1);
    timer_disarm(&c->timer);
    /* The head is in: from here the request counts as Writing (nginx's
     * stub_status shows its own request there), also while it is routed. */
    conn_set_state(c, CS_SEND);
    b->framing_error = b->expect_continue = b->discard_chunked = false;
    b->discard_left = 0;
    int st = http_req_make(&b->req, b->head, w->cfg, b->path);
    b->keep_alive = st == 0 && b->req.info.keep_alive && !w->graceful && (int64_t)c->requests < (int64_t)w->cfg->keepalive_requests;
    b->env.now = w->now_sec;
    b->env.seq = w->stats.requests;
    b->env.tls_srv = c->ssl ? &w->cfg->servers[c->tls_srv] : NULL;
    route_begin(&b->x.rt, &b->env, &b->req);
    if (c->plain_on_tls) {
        conn_plain_on_tls(c);
        return;
    }
    if (st) {
        route_error(&b->x.rt, st, true);
        conn_respond(c);
        return;
    }
    b->expect_continue = b->req.info.expect_continue;
    b->discard_left = b->req.info.content_length > 0 ? b->req.info.content_length : 0;
    b->discard_chunked = b->req.info.chunked;
    b->body_skipped = 0;
    memset(&b->chunk, 0, sizeof b->chunk);
    log_debug("request \"%.*s %.*s\" → \"%s\"", (int)b->head->method.len, b->head->method.p,
              (int)b->head->target.len, b->head->target.p, b->path);
    conn_routed(c, exec_route(&b->x, route_request(&b->x.rt)));
}

/* Which error a head that does not fit the buffer earns. */
static int conn_overflow_status(const conn_req *b)
{
    return memchr(b->rbuf, '\n', b->rlen) ? 431 : 414;
}

/* The first bytes of a cleartext connection are HTTP/2's preface (h2c by
 * prior knowledge): HTTP/2 from here on, starting with them. */
static void conn_begin_h2(conn *c)
{
    timer_disarm(&c->timer);
    if (h2_start(c, c->rq->rbuf, c->rq->rlen) == 0)
        conn_release_buffers(c); /* h2.c keeps no copy of them */
}

/* Whether rbuf starts a connection preface: true when it is complete (the
 * connection turned HTTP/2) or may still be (wait for more). */
static bool conn_h2_preface(conn *c)
{
    conn_req *b = c->rq;
    if (c->requests || c->ssl || c->plain_on_tls || !c->w->cfg->listens[c->listen_idx].http2)
        return false;
    size_t n = b->rlen < H2_PREFACE_LEN ? b->rlen : H2_PREFACE_LEN;
    if (memcmp(b->rbuf, H2_PREFACE, n) != 0)
        return false;
    if (n == H2_PREFACE_LEN)
        conn_begin_h2(c);
    return true;
}

static void conn_try_parse(conn *c)
{
    conn_req *b = c->rq;
    b->need_parse = false;
    if (conn_h2_preface(c))
        return;
    int r = hp_parse_request(b->rbuf, b->rlen, b->head);
    if (r > 0) {
        conn_handle_request(c, r);
        return;
    }
    conn_forget_request(b);
    if (r == HP_INVALID)
        conn_error(c, 400);
    else if (r == HP_TOO_MANY_HEADERS)
        conn_error(c, 431);
    else if (b->rlen == b->rcap || (b->rlen > c->w->cfg->max_uri_len + 16 && !memchr(b->rbuf, '\n', b->rlen)))
        conn_error(c, conn_overflow_status(b));
}

/* Read while a head is incomplete. Returns false to wait for the next event. */
static bool conn_read_head(conn *c)
{
    worker *w = c->w;
    for (;;) {
        if (c->rq && c->rq->need_parse) {
            conn_try_parse(c);
            if (c->state != CS_HEAD && c->state != CS_IDLE)
                return true;
        }
        if (!conn_readable(c))
            return false;
        if (!conn_acquire_buffers(c)) {
            conn_log_msg(c, LOGL_ERROR, "out of memory for a connection buffer");
            conn_close(c);
            return false;
        }
        conn_req *b = c->rq;
        ssize_t n = conn_recv(c, b->rbuf + b->rlen, b->rcap - b->rlen);
        if (n > 0) {
            if (c->state == CS_IDLE) {
                conn_set_state(c, CS_HEAD);
                if (c->requests > 0) /* a fresh connection's deadline runs from accept */
                    timer_arm(&w->t_header, &c->timer, w->now_ms);
            }
            /* Parse only when a line has ended: a client trickling bytes
             * cannot make us rescan its head once per byte. */
            b->need_parse = memchr(b->rbuf + b->rlen, '\n', (size_t)n) != NULL || b->rlen + (size_t)n == b->rcap ||
                            b->rlen + (size_t)n > w->cfg->max_uri_len + 16;
            b->rlen += (size_t)n;
            /* Inside a batch, a head is only received: conn_rx_run serves
             * the batch's heads after one reading of the file-system events,
             * which covers every byte received before it. */
            if (b->need_parse && w->batching) {
                /* once: a task's completion may drive it again before its turn */
                if (!b->rx_queued) {
                    b->rx_queued = true;
                    b->rx_next = w->rx;
                    w->rx = b;
                }
                return false;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (c->state == CS_IDLE && b->rlen == 0)
                conn_release_buffers(c);
            return false;
        }
        conn_close(c); /* EOF or reset: nothing to answer */
        return false;
    }
}

/* ---- between requests ---------------------------------------------------- */

/* Skip the request body in rbuf, reading more as needed. */
static bool conn_discard_body(conn *c)
{
    conn_req *b = c->rq;
    for (;;) {
        size_t avail = b->rlen - b->consumed;
        if (b->discard_chunked) {
            bool done = false;
            ssize_t n = hp_chunked_skip(&b->chunk, b->rbuf + b->consumed, avail, &done);
            if (n < 0) {
                conn_linger(c);
                return false;
            }
            b->consumed += (size_t)n;
            b->body_skipped += (uint64_t)n;
            if (b->body_skipped > (uint64_t)c->w->cfg->max_body_size) {
                conn_linger(c); /* an endless chunked body earns a close */
                return false;
            }
            if (done)
                b->discard_chunked = false;
        } else {
            size_t n = avail < (uint64_t)b->discard_left ? avail : (size_t)b->discard_left;
            b->consumed += n;
            b->discard_left -= (int64_t)n;
        }
        if (!b->discard_chunked && b->discard_left == 0)
            return true;
        b->rlen = b->consumed = 0; /* all of rbuf was body */
        if (!conn_readable(c))
            return false;
        ssize_t n = conn_recv(c, b->rbuf, b->rcap);
        if (n > 0) {
            b->rlen = (size_t)n;
            timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
        } else if (n < 0 && errno == EAGAIN) {
            return false;
        } else if (!(n < 0 && errno == EINTR)) {
            conn_close(c);
            return false;
        }
    }
}

/* Make the bytes after this request the start of the next one. */
static void conn_next_request(conn *c)
{
    worker *w = c->w;
    conn_req *b = c->rq;
    size_t left = b->rlen - b->consumed;
    memmove(b->rbuf, b->rbuf + b->consumed, left);
    b->rlen = left;
    b->consumed = 0;
    conn_forget_request(b);
    if (left) {
        conn_set_state(c, CS_HEAD);
        b->need_parse = true;
        timer_arm(&w->t_header, &c->timer, w->now_ms);
    } else {
        conn_set_state(c, CS_IDLE);
        b->need_parse = false;
        if (!c->can_read)
            conn_release_buffers(c);
        /* A retiring worker keeps an idle connection only for a short grace;
         * a stopping server closes it at once. */
        if (w->stop_idle)
            conn_close(c);
        else
            timer_arm(w->graceful ? &w->t_linger : &w->t_keepalive, &c->timer, w->now_ms);
    }
}

static void conn_finish_response(conn *c)
{
    conn_req *b = c->rq;
    conn_log(c);
    exec_end(&b->x);
    /* The next head's errors (400, 408, 431, ...) belong to no place yet:
     * they must not take this request's add_header set. */
    b->x.rt.rules = NULL;
    b->x.rt.peer = NULL; /* nor this request's client, when real_ip_from named one */
    if (!b->keep_alive) {
        /* The client asked to close and sent nothing we have not read: close
         * now, as nginx does. Otherwise (an error that leaves the framing in
         * doubt, a body not yet skipped, a close the server chose while the
         * client may have sent more, or TLS) drain first. */
        if (conn_closes_at_once(b) && !c->ssl)
            conn_close(c);
        else
            conn_linger(c);
        return;
    }
    if (b->discard_left || b->discard_chunked) {
        conn_set_state(c, CS_BODY);
        timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
        return;
    }
    conn_next_request(c);
}

static bool conn_send(conn *c)
{
    exec *x = &c->rq->x;
    enum exec_result r = exec_send(x, &c->can_write);
    if (x->progressed) {
        x->progressed = false;
        timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
    }
    if (r == EXEC_ERROR) {
        conn_close(c);
        return false;
    }
    if (r == EXEC_WAIT) {
        if (x->task_busy) {
            c->task_busy = true;
            conn_set_state(c, CS_TASK);
        }
        return false;
    }
    conn_finish_response(c);
    return true;
}

/* The PROXY protocol header (http/proxyproto.h), taken off the socket to
 * its last byte and no further: what follows is the client's, TLS or HTTP.
 * It is peeked at until whole (edge-triggered epoll reports each new
 * arrival, so bytes left in the socket cost no busy loop), then read. The
 * client's address becomes the balancer's word for it; a connection
 * without a valid header is closed, as nginx does, with no answer.
 * Returns false to wait. */
static bool conn_read_proxy(conn *c)
{
    uint8_t buf[PP_PEEK_MAX];
    ssize_t n = recv(c->io.fd, buf, sizeof buf, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        c->can_read = false;
        return false;
    }
    pp_header h;
    int len = n > 0 ? pp_parse(buf, (size_t)n, &h) : PP_INVALID;
    if (len == PP_INCOMPLETE && c->rdhup)
        len = PP_INVALID; /* the client closed before its header was whole */
    if (len == PP_INCOMPLETE) {
        c->can_read = false;
        return false;
    }
    if (len < 0 || recv(c->io.fd, buf, (size_t)len, 0) != len) {
        if (n > 0)
            conn_log_msg(c, LOGL_INFO, "no valid PROXY protocol header (the listener has proxy_protocol = true)");
        conn_close(c);
        return false;
    }
    if (!h.local) {
        conn_set_peer(c, (const struct sockaddr *)&h.src);
        c->pp_peer = c->peer;
        c->proxied = true;
    }
    c->can_read = true; /* what followed the header may be there already */
    conn_set_state(c, c->w->tls && c->w->tls->lis && c->w->tls->lis[c->listen_idx].ctx ? CS_HANDSHAKE : CS_IDLE);
    return true;
}

/* Run the state machine until it has to wait for an event or a task. */
static void conn_drive(conn *c)
{
    while (!c->closed) {
        switch (c->state) {
        case CS_PROXY:
            if (!conn_read_proxy(c))
                return;
            break;
        case CS_HANDSHAKE:
            if (!conn_tls_handshake(c))
                return;
            break;
        case CS_IDLE:
        case CS_HEAD:
            if (!conn_read_head(c))
                return;
            break;
        case CS_SEND:
            if (!conn_send(c))
                return;
            break;
        case CS_BODY:
            if (!conn_discard_body(c))
                return;
            conn_next_request(c);
            break;
        case CS_LINGER:
            conn_linger(c);
            return;
        case CS_TASK:
            return;
        case CS_H2:
            h2_drive(c);
            return;
        }
    }
}

static void conn_on_event(loop_io *io, uint32_t events)
{
    conn *c = EP_CONTAINER_OF(io, conn, io);
    if (c->closed)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->can_read = true;
    /* The client's FIN is in: reading goes on to the end of file, however
     * short a read (the edge that said so is not repeated). */
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->rdhup = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        c->can_write = true;
    /* An HTTP/2 connection goes on while some stream's task is out. */
    if (!c->task_busy || c->state == CS_H2)
        conn_drive(c);
}

void conn_rx_run(worker *w)
{
    struct conn_req *list = NULL;
    while (w->rx) { /* in the order they came */
        struct conn_req *b = w->rx;
        w->rx = b->rx_next;
        b->rx_next = list;
        list = b;
    }
    if (list || w->h2rx)
        worker_fs_catch_up(w);
    while (list) {
        struct conn_req *b = list;
        list = b->rx_next;
        b->rx_queued = false;
        conn_drive(b->c); /* it may close, and release b: list no longer holds it */
    }
    h2_rx_run(w);
}

void conn_start(conn *c)
{
    c->can_read = c->can_write = true;
    conn_drive(c);
}

void conn_timeout(conn *c, timer_list *which)
{
    worker *w = c->w;
    if (c->state == CS_LINGER && which == &w->t_linger) {
        conn_linger_expired(c);
        return;
    }
    if (c->state == CS_H2) {
        h2_timeout(c, which);
        return;
    }
    if (which == &w->t_header && c->rq && c->rq->rlen > 0 && !c->task_busy) {
        conn_log_msg(c, LOGL_INFO, "client timed out sending its request head");
        conn_forget_request(c->rq);
        conn_error(c, 408);
        timer_arm(&w->t_linger, &c->timer, w->now_ms); /* the 408 gets a short grace */
        conn_drive(c);
        return;
    }
    conn_close(c);
}

void conn_shutdown(conn *c, bool graceful)
{
    if (c->closed)
        return;
    if (c->state == CS_H2) {
        h2_shutdown(c, graceful);
        return;
    }
    if (!graceful) {
        conn_close(c);
        return;
    }
    /* When the whole server stops, a lingering connection whose client
     * has every byte goes now (a stop would otherwise wait out its
     * linger); one still taking its response's tail lingers on. */
    if (c->state == CS_LINGER) {
        if (c->w->stop_idle && conn_outq(c) == 0)
            conn_close(c);
        return;
    }
    /* Graceful (reload or QUIT): a response in flight finishes as promised
     * (its head may already say keep-alive); the next request gets
     * "Connection: close". After a reload an idle connection is not cut at
     * once, since its client may be sending a request this very moment: it
     * gets a short grace, and a request arriving in it is answered, then the
     * connection closes. When the whole server stops, nothing would answer
     * that request anyway, so an idle connection closes at once. */
    if (c->state == CS_IDLE && c->w->stop_idle)
        conn_close(c);
    else if (c->state == CS_IDLE)
        timer_arm(&c->w->t_linger, &c->timer, c->w->now_ms);
}
