/* worker/conn.c: a connection's life: read a head, answer it, send, keep alive or close.
 *
 * Ownership: the loop thread owns a connection, except for the I/O named in
 * c->task while c->task_busy is set; then only the task's work() touches
 * those descriptors and buffers, and the loop merely records readiness
 * (can_read/can_write) until the completion comes back through the queue.
 * A request is always read completely before its response starts, and the
 * next request is parsed only after the previous response is finished, so a
 * response can never race its own request. */
#include "worker/conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http/cond.h"
#include "http/mime.h"
#include "http/response.h"
#include "http/uri.h"
#include "log/log.h"
#include "worker/serve.h"

#define SENDFILE_CHUNK ((size_t)1 << 20)
#define LINGER_BUF 4096

static void conn_finish_response(conn *c);
static void conn_on_event(loop_io *io, uint32_t events);

/* ---- life cycle ---------------------------------------------------------- */

/* The longest Content-Type, add_header set, return text and try_files
 * fallback URI of the generation: what a head and the scratch must hold
 * beyond the request limits. */
typedef struct {
    size_t ctype, extra, ret, uri;
} conn_needs;

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static void conn_rules_needs(const cfg_rules *r, conn_needs *n)
{
    n->extra = max_size(n->extra, resp_extra_size(r->headers, r->nheaders));
    if (r->return_text)
        n->ret = max_size(n->ret, strlen(r->return_text));
    /* A fallback URI becomes the path a directory redirect names. */
    if (r->ntry_files && r->try_files[r->ntry_files - 1][0] != '=')
        n->uri = max_size(n->uri, strlen(r->try_files[r->ntry_files - 1]));
}

size_t conn_block_size(const cfg *cf, size_t *head, size_t *scratch)
{
    /* 64 covers the types ephttpd writes itself: a multipart boundary's,
     * an autoindex's, text/html for the error pages. */
    conn_needs n = { .ctype = max_size(64, mime_type_max(cf->mime)) };
    if (cf->default_type)
        n.ctype = max_size(n.ctype, strlen(cf->default_type));
    for (size_t i = 0; i < cf->nservers; i++) {
        conn_rules_needs(&cf->servers[i].r, &n);
        for (size_t j = 0; j < cf->servers[i].nlocs; j++)
            conn_rules_needs(&cf->servers[i].locs[j].r, &n);
    }
    size_t m = cf->max_uri_len;
    /* Three path-sized parts: the alias-relative path, a try_files
     * candidate, and a precompressed sibling's name; or all of it for a
     * return text being expanded, whose own bytes come on top, so that its
     * variables always have the three path sizes to grow into. */
    *scratch = 3 * (m + 256) + n.ret;
    /* A Location is a return text expanded in the scratch, or a directory
     * redirect: the path percent-encoded (3 bytes a byte at most), '/',
     * '?' and the query. Path and query share the request's max_uri_len,
     * unless the path is a fallback URI from the configuration. */
    size_t dir = max_size(3 * m, 3 * n.uri + m) + 2;
    /* A multipart response writes each part head after its head. */
    *head = resp_head_max(n.ctype, max_size(*scratch, dir), n.extra) + cond_part_head_max(n.ctype);
    return cf->max_header_size + sizeof(hp_request) + m + 1 + *head + cf->small_file_max + *scratch +
           6 * 16;
}

static bool conn_acquire_buffers(conn *c)
{
    if (c->block)
        return true;
    worker *w = c->w;
    c->block = arena_pool_get(&w->arenas);
    if (!c->block)
        return false;
    arena_init(&c->ar, c->block, w->block_size);
    c->rcap = w->cfg->max_header_size;
    c->rbuf = arena_alloc(&c->ar, c->rcap);
    c->req = arena_alloc(&c->ar, sizeof(hp_request));
    c->path = arena_alloc(&c->ar, w->cfg->max_uri_len + 1);
    c->hcap = w->head_size;
    c->hbuf = arena_alloc(&c->ar, c->hcap);
    c->body = arena_alloc(&c->ar, w->cfg->small_file_max);
    c->scratch_len = w->scratch_size;
    c->scratch = arena_alloc(&c->ar, c->scratch_len);
    c->rlen = c->consumed = 0;
    return true;
}

/* Idle keep-alive connections give their block back: they cost only the struct. */
static void conn_release_buffers(conn *c)
{
    if (!c->block)
        return;
    arena_pool_put(&c->w->arenas, c->block);
    c->block = NULL;
    c->rbuf = c->path = c->hbuf = c->body = c->scratch = NULL;
    c->req = NULL;
    c->rlen = c->consumed = 0;
}

conn *conn_new(worker *w, int fd, const struct sockaddr_storage *peer, size_t listen_idx)
{
    conn *c = w->free_conns;
    if (c)
        w->free_conns = c->next;
    else if (!(c = malloc(sizeof *c))) {
        close(fd);
        return NULL;
    }
    memset(c, 0, offsetof(conn, task));
    c->w = w;
    c->io.fd = fd;
    c->io.on_event = conn_on_event;
    c->peer = *peer;
    c->listen_idx = listen_idx;
    c->fd = -1;
    c->state = CS_IDLE;
    timer_node_init(&c->timer);
    c->live_prev = NULL;
    c->live_next = w->live;
    if (w->live)
        w->live->live_prev = c;
    w->live = c;
    w->nconns++;
    /* The first request gets the header timeout, as in nginx. */
    timer_arm(&w->t_header, &c->timer, w->now_ms);
    return c;
}

void conn_drop_file(conn *c)
{
    if (c->fce)
        fc_release(&c->w->fc, c->fce);
    else if (c->fd >= 0)
        close(c->fd);
    c->fce = NULL;
    c->fd = -1;
}

/* Which server a message is about: its first name, as nginx's "server:"
 * names server_name, or for a server without names its listener. */
static const char *conn_server_label(const conn *c, char *buf, size_t len)
{
    const cfg *cf = c->w->cfg;
    const cfg_listen *l = &cf->listens[c->listen_idx];
    const cfg_server *s = c->srv ? c->srv : &cf->servers[l->default_server];
    for (size_t i = 0; i < s->nnames; i++)
        if (s->names[i][0])
            return s->names[i];
    snprintf(buf, len, strchr(l->addr, ':') ? "[%s]:%u" : "%s:%u", l->addr, (unsigned)l->port);
    return buf;
}

void conn_log_msg(conn *c, enum log_level level, const char *fmt, ...)
{
    if (level > log_get_level())
        return; /* the context costs an inet_ntop: only for lines that are written */
    char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN + 16];
    cidr_peer_text(&c->peer, client);
    log_ctx ctx = { .client = client, .server = conn_server_label(c, server, sizeof server) };
    if (c->rbuf) /* the head being read or answered starts rbuf */
        ctx.request = hp_request_line(c->rbuf, c->rlen);
    va_list ap;
    va_start(ap, fmt);
    log_ctx_vmsg(level, &ctx, fmt, ap);
    va_end(ap);
}

static void conn_log(conn *c)
{
    if (c->status == 0)
        return;
    worker *w = c->w;
    access_entry e = { .peer = &c->peer, .when = w->now_sec, .status = c->status,
                       .bytes = c->body_bytes };
    /* rbuf still holds this request's head, or as much of it as arrived
     * before a 400, 408 or 414: the log quotes that, as sent. */
    if (c->rbuf)
        e.request_line = hp_request_line(c->rbuf, c->rlen);
    e.referer = c->info.referer;
    e.user_agent = c->info.user_agent;
    size_t srv = c->srv ? (size_t)(c->srv - w->cfg->servers) : w->cfg->listens[c->listen_idx].default_server;
    if (w->srv_alog[srv]) {
        access_log_write(w->srv_alog[srv], &e);
        /* A line reaches the file at most ALOG_FLUSH_MS after it was written. */
        if (w->alog_flush_ms < 0)
            w->alog_flush_ms = w->now_ms + ALOG_FLUSH_MS;
    }
    c->status = 0;
}

static void conn_release(conn *c)
{
    worker *w = c->w;
    conn_log(c);
    free(c->listing);
    c->listing = NULL;
    conn_drop_file(c);
    roots_put(&c->view);
    close(c->io.fd); /* also drops it from the epoll set */
    conn_release_buffers(c);
    if (c->live_prev)
        c->live_prev->live_next = c->live_next;
    else
        w->live = c->live_next;
    if (c->live_next)
        c->live_next->live_prev = c->live_prev;
    c->next = w->dead;
    w->dead = c;
    w->nconns--;
    worker_conn_released(w);
}

static void conn_close(conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    timer_disarm(&c->timer);
    if (!c->task_busy)
        conn_release(c); /* else the task's completion does it */
}

void conn_reap(worker *w)
{
    while (w->dead) {
        conn *c = w->dead;
        w->dead = c->next;
        c->next = w->free_conns;
        w->free_conns = c;
    }
}

/* Close for good but let the client read what was sent. If the client has
 * sent nothing more, close at once (as nginx does); if it is still sending,
 * shut our side and drain its input briefly, so that unread bytes do not turn
 * into a reset that destroys the response in flight. */
static void conn_linger(conn *c)
{
    bool drained_some = c->state == CS_LINGER || c->rlen > c->consumed;
    if (c->state != CS_LINGER) {
        conn_log(c);
        conn_release_buffers(c);
    }
    char sink[LINGER_BUF];
    while (c->can_read) {
        ssize_t n = recv(c->io.fd, sink, sizeof sink, 0);
        if (n > 0) {
            drained_some = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->can_read = false;
            break;
        }
        conn_close(c); /* EOF or error */
        return;
    }
    if (!drained_some) {
        conn_close(c);
        return;
    }
    if (c->state != CS_LINGER) {
        c->state = CS_LINGER;
        shutdown(c->io.fd, SHUT_WR);
        timer_arm(&c->w->t_linger, &c->timer, c->w->now_ms);
    }
}

/* No parsed request is in rbuf any more (a new head, or one that failed to
 * parse): its Referer, User-Agent and server must not reach the logs; until
 * the next head is parsed, the listener's default server stands for it. */
static void conn_forget_request(conn *c)
{
    c->info = (hp_info){ 0 };
    c->srv = NULL;
}

/* ---- responses ----------------------------------------------------------- */

resp_fields conn_fields(conn *c)
{
    resp_fields f = { .date = c->w->date, .content_length = -1, .last_modified = -1,
                      .etag_size = -1, .max_age = -1, .keep_alive = c->keep_alive };
    /* Once the request has a place, its add_header set goes on every
     * answer; resp_head picks the ones the status takes. */
    if (c->rules) {
        f.extra = c->rules->headers;
        f.nextra = c->rules->nheaders;
    }
    return f;
}

void conn_start_send(conn *c)
{
    /* Expect: 100-continue with a body still to come, and the connection
     * kept: the client waits for the interim 100 before it sends the body
     * we must read past, so it goes out ahead of the final response. If the
     * connection closes instead, the client learns that from the final
     * response alone and need not send the body at all. */
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (c->expect_continue && c->keep_alive && c->hlen + sizeof cont - 1 <= c->hcap &&
        (c->discard_left > (int64_t)(c->rlen - c->consumed) || c->discard_chunked)) {
        memmove(c->hbuf + sizeof cont - 1, c->hbuf, c->hlen);
        memcpy(c->hbuf, cont, sizeof cont - 1);
        c->hlen += sizeof cont - 1;
    }
    c->expect_continue = false;
    c->state = CS_SEND;
    c->hsent = c->mem_sent = 0;
    c->body_bytes = 0;
    timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
}

/* Answer with an error page; close_after for statuses that leave the
 * connection's framing in doubt (400, 413, 414, 431, 501, ...). */
void conn_error(conn *c, int status, bool close_after)
{
    if (close_after) {
        c->keep_alive = false;
        c->framing_error = true;
    }
    conn_drop_file(c);
    c->nparts = 0;
    c->status = status;
    size_t blen;
    const char *body = resp_error_body(status, &blen);
    resp_fields f = conn_fields(c);
    f.content_type = "text/html";
    f.content_length = (int64_t)blen;
    /* The one place a 405 is answered: what the location allows, or the
     * defaults when none was chosen. */
    char allow[RESP_ALLOW_MAX];
    f.allow = status == 405 ? resp_allow(c->rules ? c->rules->methods : M_GET, allow, sizeof allow) : NULL;
    char crange[COND_CONTENT_RANGE_MAX];
    if (status == 416)
        f.content_range = ep_str_make(crange, cond_content_range(crange, NULL, c->range_size));
    if (status == 301) {
        /* A directory named without its slash. The Location is built from
         * the normalised path, percent-encoded, never from the raw one:
         * "//evil.example/..%2fdir" must send the browser to "/dir/", not to
         * another host. The query goes along as it came. */
        f.location = ep_str_make(c->path, c->path_len);
        f.location_encode = true;
        f.location_suffix = EP_STR_LIT("/");
        f.location_query = c->query;
    }
    c->hlen = resp_head(c->hbuf, c->hcap, status, &f);
    if (c->hlen == 0) { /* cannot happen: conn_block_size sized hbuf for it */
        conn_log_msg(c, LOGL_ERROR, "response head for status %d does not fit in %zu bytes", status, c->hcap);
        c->status = 500;
        c->keep_alive = false;
        f = conn_fields(c);
        f.extra = NULL;
        f.nextra = 0;
        body = resp_error_body(500, &blen);
        f.content_type = "text/html";
        f.content_length = (int64_t)blen;
        c->hlen = resp_head(c->hbuf, c->hcap, 500, &f);
    }
    c->mem = c->head_only ? NULL : body;
    c->mem_len = c->head_only ? 0 : blen;
    conn_start_send(c);
}

/* ---- write-queue tasks --------------------------------------------------- */

/* Sending a cold or large file range, on a queue thread. */
static void sendfile_work(wq_task *t)
{
    conn_task *k = EP_CONTAINER_OF(t, conn_task, base);
    k->sent = 0;
    k->err = 0;
    while ((size_t)k->sent < k->len) {
        ssize_t n = sendfile(k->sock, k->fd, &k->off, k->len - (size_t)k->sent);
        if (n > 0) {
            k->sent += n;
        } else if (n == 0) {
            k->err = EIO; /* the file shrank under us */
            break;
        } else if (errno != EINTR) {
            k->err = errno;
            break;
        }
    }
}

bool conn_task_back(conn *c, void (*abandon)(conn_task *k))
{
    c->task_busy = false;
    if (!c->closed)
        return true;
    if (abandon)
        abandon(&c->task);
    conn_release(c);
    return false;
}

static void sendfile_done(wq_task *t)
{
    conn *c = EP_CONTAINER_OF(t, conn, task.base);
    conn_task *k = &c->task;
    if (!conn_task_back(c, NULL))
        return;
    c->foff = k->off;
    c->body_bytes += (uint64_t)k->sent;
    c->state = CS_SEND;
    if (k->err && k->err != EAGAIN) {
        conn_close(c);
        return;
    }
    /* No EAGAIN: the socket is still writable. After an EAGAIN, can_write
     * stays as the events since submission left it, so no edge is lost. */
    if (k->err != EAGAIN)
        c->can_write = true;
    if (k->sent > 0)
        timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
    conn_drive(c);
}

void conn_submit(conn *c, void (*work)(wq_task *t), void (*done)(wq_task *t))
{
    c->task.base.work = work;
    c->task.base.done = done;
    c->task_busy = true;
    c->state = CS_TASK;
    /* The queue holds one slot per connection, so this cannot fail. */
    if (wq_submit(&c->w->q, &c->task.base) < 0) {
        c->task_busy = false;
        conn_error(c, 503, true);
    }
}

/* ---- requests ------------------------------------------------------------ */

/* "OPTIONS * HTTP/1.1": what the server as a whole supports. Any other
 * method with the asterisk-form is a malformed request. */
static void conn_options_asterisk(conn *c)
{
    if (!ep_str_eq(c->req->method, "OPTIONS")) {
        conn_error(c, 400, true);
        return;
    }
    serve_options_asterisk(c);
}

/* The request's host, into c->info.host for the virtual server and $host:
 * the absolute-form target's authority when there is one, which wins over
 * Host (RFC 9112 3.2.2), else the Host header; either without its port and
 * trailing dot. A Host header must be valid even when the target names the
 * host (RFC 9112 3.2; nginx checks both too). Returns 0 or 400. */
static int conn_choose_host(conn *c, ep_str authority)
{
    ep_str name = { 0 };
    /* The parser's slices are never NULL: a NULL p is a Host never sent. */
    if (c->info.host.p && uri_host(c->info.host, &name) != 0)
        return 400;
    if (authority.len && uri_host(authority, &name) != 0)
        return 400;
    c->info.host = name;
    return 0;
}

/* A complete head of hlen bytes is in rbuf: decide what to answer. */
static void conn_handle_request(conn *c, int hlen)
{
    worker *w = c->w;
    hp_request *r = c->req;
    c->consumed = (size_t)hlen;
    c->requests++;
    w->stats.requests++;
    c->raw_path = c->query = (ep_str){ 0 };
    c->srv = NULL;
    c->loc = NULL;
    c->rules = NULL;
    timer_disarm(&c->timer);
    c->framing_error = false;
    int st = hp_analyze(r, &c->info);
    c->head_only = ep_str_eq(r->method, "HEAD");
    c->keep_alive = st == 0 && c->info.keep_alive && !w->graceful &&
                    c->requests < w->cfg->keepalive_requests;
    if (st) {
        conn_error(c, st, true);
        return;
    }
    c->expect_continue = c->info.expect_continue;
    c->discard_left = c->info.content_length > 0 ? c->info.content_length : 0;
    c->discard_chunked = c->info.chunked;
    c->body_skipped = 0;
    memset(&c->chunk, 0, sizeof c->chunk);
    if (c->info.content_length > w->cfg->max_body_size) {
        conn_error(c, 413, true);
        return;
    }
    ep_str host;
    if (r->target.len > w->cfg->max_uri_len) {
        conn_error(c, 414, true);
        return;
    }
    if (ep_str_eq(r->target, "*")) { /* asterisk-form: OPTIONS only (RFC 9112 3.2.4) */
        conn_options_asterisk(c);
        return;
    }
    if (uri_split(r->target, &host, &c->raw_path, &c->query) != 0 || conn_choose_host(c, host) != 0) {
        conn_error(c, 400, true);
        return;
    }
    st = uri_decode_path(c->raw_path.p, c->raw_path.len, c->path, w->cfg->max_uri_len + 1,
                         &c->path_len);
    if (st) {
        conn_error(c, st, true);
        return;
    }
    log_debug("request \"%.*s %.*s\" → \"%s\"", (int)r->method.len, r->method.p,
              (int)r->target.len, r->target.p, c->path);
    serve_request(c);
}

/* Which error a head that does not fit the buffer earns. */
static int conn_overflow_status(conn *c)
{
    return memchr(c->rbuf, '\n', c->rlen) ? 431 : 414;
}

static void conn_try_parse(conn *c)
{
    c->need_parse = false;
    int r = hp_parse_request(c->rbuf, c->rlen, c->req);
    if (r > 0) {
        conn_handle_request(c, r);
        return;
    }
    conn_forget_request(c);
    if (r == HP_INVALID)
        conn_error(c, 400, true);
    else if (r == HP_TOO_MANY_HEADERS)
        conn_error(c, 431, true);
    else if (c->rlen == c->rcap ||
             (c->rlen > c->w->cfg->max_uri_len + 16 && !memchr(c->rbuf, '\n', c->rlen)))
        conn_error(c, conn_overflow_status(c), true);
}

/* Read while a head is incomplete. Returns false to wait for the next event. */
static bool conn_read_head(conn *c)
{
    worker *w = c->w;
    for (;;) {
        if (c->need_parse) {
            conn_try_parse(c);
            if (c->state != CS_HEAD && c->state != CS_IDLE)
                return true;
        }
        if (!c->can_read)
            return false;
        if (!conn_acquire_buffers(c)) {
            conn_log_msg(c, LOGL_ERROR, "out of memory for a connection buffer");
            conn_close(c);
            return false;
        }
        ssize_t n = recv(c->io.fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n > 0) {
            if (c->state == CS_IDLE) {
                c->state = CS_HEAD;
                if (c->requests > 0) /* a fresh connection's deadline runs from accept */
                    timer_arm(&w->t_header, &c->timer, w->now_ms);
            }
            /* Parse only when a line has ended: a client trickling bytes
             * cannot make us rescan its head once per byte. */
            c->need_parse = memchr(c->rbuf + c->rlen, '\n', (size_t)n) != NULL ||
                            c->rlen + (size_t)n == c->rcap ||
                            c->rlen + (size_t)n > w->cfg->max_uri_len + 16;
            c->rlen += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->can_read = false;
            if (c->state == CS_IDLE && c->rlen == 0)
                conn_release_buffers(c);
            return false;
        }
        conn_close(c); /* EOF or reset: nothing to answer */
        return false;
    }
}

/* ---- sending ------------------------------------------------------------- */

/* The client asked to close and sent nothing we have not read: the
 * connection will be closed as soon as the response is out. */
static bool conn_closes_at_once(const conn *c)
{
    return !c->keep_alive && !c->info.keep_alive && !c->framing_error && c->rlen == c->consumed &&
           !c->discard_left && !c->discard_chunked;
}

/* Head and in-memory body in one writev; MSG_MORE when file data or a
 * multipart part follows so the head and the first bytes share a segment. */
static int conn_send_mem(conn *c)
{
    while (c->hsent < c->hlen || c->mem_sent < c->mem_len) {
        struct iovec iov[2];
        int n = 0;
        if (c->hsent < c->hlen)
            iov[n++] = (struct iovec){ c->hbuf + c->hsent, c->hlen - c->hsent };
        if (c->mem_sent < c->mem_len)
            iov[n++] = (struct iovec){ (char *)c->mem + c->mem_sent, c->mem_len - c->mem_sent };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        /* MSG_MORE also when close() follows at once: the kernel then puts
         * the FIN on the response's own segment, one packet fewer for the
         * client (what nginx gets from tcp_nopush). */
        bool more = c->fend > c->foff || (c->nparts && c->part <= c->nparts) || conn_closes_at_once(c);
        ssize_t w = sendmsg(c->io.fd, &mh, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                c->can_write = false;
                return 0;
            }
            return -1;
        }
        size_t h = c->hlen - c->hsent < (size_t)w ? c->hlen - c->hsent : (size_t)w;
        c->hsent += h;
        c->mem_sent += (size_t)w - h;
        c->body_bytes += (uint64_t)w - h;
        timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
    }
    return 1;
}

/* Whether sendfile of the next chunk would find its pages cached. cachestat
 * answers exactly in one call where the kernel has it (6.5+); elsewhere two
 * 1-byte RWF_NOWAIT probes, of the first and the last page, stand in. */
static bool conn_range_cached(conn *c, size_t chunk)
{
    if (c->w->has_cachestat) {
        int r = file_range_cachestat(c->fd, c->foff, chunk);
        if (r >= 0)
            return r == 1;
        c->w->has_cachestat = false;
    }
    return file_range_cached(c->fd, c->foff, chunk);
}

/* File data: sendfile from the loop while the pages are cached, else hand
 * the chunk to a task so the loop never waits on a disk. */
static int conn_send_file(conn *c)
{
    worker *w = c->w;
    size_t max = c->rules ? c->rules->sendfile_chunk : SENDFILE_CHUNK;
    bool always = c->rules && c->rules->offload_always;
    while (c->foff < c->fend) {
        size_t chunk = (size_t)(c->fend - c->foff);
        if (chunk > max)
            chunk = max;
        if (always || !conn_range_cached(c, chunk)) {
            w->stats.send_queue++;
            conn_task *k = &c->task;
            k->sock = c->io.fd;
            k->fd = c->fd;
            k->off = c->foff;
            k->len = chunk;
            c->can_write = false; /* any EPOLLOUT from now on is recorded afresh */
            conn_submit(c, sendfile_work, sendfile_done);
            return 0;
        }
        w->stats.send_loop++;
        ssize_t n = sendfile(c->io.fd, c->fd, &c->foff, chunk);
        if (n > 0) {
            c->body_bytes += (uint64_t)n;
            timer_arm(&w->t_send, &c->timer, w->now_ms);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->can_write = false;
            return 0;
        }
        return -1; /* error, or the file shrank: the length we promised is a lie */
    }
    return 1;
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

/* Queue part i's head and bytes, or after the last part the closing
 * delimiter. 1 when queued, 0 when the multipart body is complete (or there
 * is none). The part head goes behind the response head in hbuf, which
 * conn_block_size sized for both; a head that did not fit would leave the
 * body shorter than its Content-Length, so that is -1, never a skipped part. */
static int conn_next_part(conn *c)
{
    if (c->nparts == 0 || c->part > c->nparts)
        return 0;
    ep_str b = ep_str_make(c->boundary, strlen(c->boundary));
    char *buf = c->hbuf + c->hlen;
    size_t cap = c->hcap - c->hlen;
    size_t i = c->part++;
    c->mem_sent = 0;
    if (i < c->nparts) {
        c->mem_len = cond_part_head(buf, cap, b, c->part_type, &c->parts[i], c->range_size);
        c->foff = c->parts[i].first;
        c->fend = c->parts[i].last + 1;
    } else {
        c->mem_len = cond_multipart_tail(buf, cap, b);
        c->foff = c->fend = 0;
    }
    c->mem = buf;
    if (c->mem_len)
        return 1;
    conn_log_msg(c, LOGL_ERROR, "multipart part head does not fit in %zu bytes", cap);
    return -1;
}

/* Part 0's head is written once the response head is out (conn_send), as
 * every later one is, so a 100 Continue put ahead of the head cannot move
 * the response head over it. */
void conn_start_parts(conn *c)
{
    c->part = 0;
    c->mem = NULL;
    c->mem_len = 0;
    c->foff = c->fend = 0;
}

static bool conn_send(conn *c)
{
    if (!c->can_write)
        return false;
    if (c->fend > c->foff || c->nparts || c->requests > 1)
        conn_nodelay(c);
    for (;;) {
        int r = conn_send_mem(c);
        if (r == 1 && c->fd >= 0)
            r = conn_send_file(c);
        if (r < 0) {
            conn_close(c);
            return false;
        }
        if (r == 0)
            return false;
        r = conn_next_part(c);
        if (r < 0) {
            conn_close(c);
            return false;
        }
        if (r == 0)
            break;
    }
    conn_finish_response(c);
    return true;
}

/* ---- between requests ---------------------------------------------------- */

/* Skip the request body in rbuf, reading more as needed. */
static bool conn_discard_body(conn *c)
{
    for (;;) {
        size_t avail = c->rlen - c->consumed;
        if (c->discard_chunked) {
            bool done = false;
            ssize_t n = hp_chunked_skip(&c->chunk, c->rbuf + c->consumed, avail, &done);
            if (n < 0) {
                conn_linger(c);
                return false;
            }
            c->consumed += (size_t)n;
            c->body_skipped += (uint64_t)n;
            if (c->body_skipped > (uint64_t)c->w->cfg->max_body_size) {
                conn_linger(c); /* an endless chunked body earns a close */
                return false;
            }
            if (done)
                c->discard_chunked = false;
        } else {
            size_t n = avail < (uint64_t)c->discard_left ? avail : (size_t)c->discard_left;
            c->consumed += n;
            c->discard_left -= (int64_t)n;
        }
        if (!c->discard_chunked && c->discard_left == 0)
            return true;
        c->rlen = c->consumed = 0; /* all of rbuf was body */
        if (!c->can_read)
            return false;
        ssize_t n = recv(c->io.fd, c->rbuf, c->rcap, 0);
        if (n > 0) {
            c->rlen = (size_t)n;
            timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
        } else if (n < 0 && errno == EAGAIN) {
            c->can_read = false;
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
    size_t left = c->rlen - c->consumed;
    memmove(c->rbuf, c->rbuf + c->consumed, left);
    c->rlen = left;
    c->consumed = 0;
    conn_forget_request(c);
    if (left) {
        c->state = CS_HEAD;
        c->need_parse = true;
        timer_arm(&w->t_header, &c->timer, w->now_ms);
    } else {
        c->state = CS_IDLE;
        c->need_parse = false;
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
    conn_log(c);
    /* The next head's errors (400, 408, 431, ...) belong to no place yet:
     * they must not take this request's add_header set. */
    c->loc = NULL;
    c->rules = NULL;
    free(c->listing);
    c->listing = NULL;
    conn_drop_file(c);
    roots_put(&c->view); /* the next request takes the directories current then */
    c->nparts = 0;
    c->mem = NULL;
    c->mem_len = c->mem_sent = 0;
    c->fend = c->foff = 0;
    if (!c->keep_alive) {
        /* The client asked to close and sent nothing we have not read: close
         * now, as nginx does. Otherwise (an error that leaves the framing in
         * doubt, a body not yet skipped, or a close the server chose while
         * the client may have sent more) drain first. */
        if (conn_closes_at_once(c))
            conn_close(c);
        else
            conn_linger(c);
        return;
    }
    if (c->discard_left || c->discard_chunked) {
        c->state = CS_BODY;
        timer_arm(&c->w->t_send, &c->timer, c->w->now_ms);
        return;
    }
    conn_next_request(c);
}

/* Run the state machine until it has to wait for an event or a task. */
void conn_drive(conn *c)
{
    while (!c->closed) {
        switch (c->state) {
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
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        c->can_write = true;
    if (!c->task_busy)
        conn_drive(c);
}

void conn_start(conn *c)
{
    c->can_read = c->can_write = true;
    conn_drive(c);
}

void conn_timeout(conn *c, timer_list *which)
{
    worker *w = c->w;
    if (which == &w->t_header && c->rlen > 0 && !c->task_busy) {
        conn_log_msg(c, LOGL_INFO, "client timed out sending its request head");
        conn_forget_request(c);
        conn_error(c, 408, true);
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
    if (!graceful) {
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
