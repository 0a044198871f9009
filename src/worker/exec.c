/* worker/exec.c: carrying out a response plan: lookups on the loop or the queue, then head and segments through a transport. */
#include "worker/exec.h"

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: a task allocates nothing */
#include <xxhash.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "http/file.h"
#include "util/sys.h"

#define SENDFILE_CHUNK ((size_t)1 << 20)
#define EXEC_IOV 16 /* the head and up to this many memory segments less one per write */
#define EXEC_PACK_MAX 2048 /* memory segments up to this long are copied after the head (exec_pack) */

/* ---- TCP ------------------------------------------------------------------ */

static ssize_t tcp_writev(exec *x, const struct iovec *iov, int n, bool more)
{
    if (n == 1) /* send's path in the kernel is shorter than sendmsg's */
        return sys_send(x->sock, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
    return sendmsg(x->sock, &mh, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
}

static ssize_t tcp_sendfile(exec *x, int fd, off_t *off, size_t len)
{
    return sendfile(x->sock, fd, off, len);
}

const exec_transport exec_tcp = { tcp_writev, tcp_sendfile };

/* ---- TLS ------------------------------------------------------------------- */

/* OpenSSL's verdict as errno: EAGAIN for "try again when the socket lets
 * you" (either way: TLS may need to read to write), else EPIPE/EIO. */
static ssize_t tls_failed(exec *x, int rc, size_t done)
{
    if (done)
        return (ssize_t)done;
    int e = SSL_get_error(x->ssl, rc);
    errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? EAGAIN : e == SSL_ERROR_SYSCALL && errno ? errno : EIO;
    ERR_clear_error();
    return -1;
}

/* Each slice a record or more; partial writes are on (SSL_MODE_ENABLE_
 * PARTIAL_WRITE), so a full socket returns what went, as send() would. */
static ssize_t tls_writev(exec *x, const struct iovec *iov, int n, bool more)
{
    (void)more;
    /* A head and a small body in one record: one write(2), one record's
     * overhead, as nginx's output buffer gives. tbuf is free between file
     * chunks; a retry after WANT_WRITE rebuilds the very same bytes. */
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (n > 1 && x->tbuf && x->tlen == x->tsent && total <= x->tcap) {
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            memcpy(x->tbuf + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        size_t w;
        int rc = SSL_write_ex(x->ssl, x->tbuf, total, &w);
        return rc == 1 ? (ssize_t)w : tls_failed(x, rc, 0);
    }
    size_t done = 0;
    for (int i = 0; i < n; i++) {
        size_t w;
        int rc = SSL_write_ex(x->ssl, iov[i].iov_base, iov[i].iov_len, &w);
        if (rc != 1)
            return tls_failed(x, rc, done);
        done += w;
        if (w < iov[i].iov_len)
            break;
    }
    return (ssize_t)done;
}

static ssize_t ktls_sendfile(exec *x, int fd, off_t *off, size_t len)
{
    ossl_ssize_t n = SSL_sendfile(x->ssl, fd, *off, len, 0);
    if (n < 0 && errno == EINTR) {
        /* OpenSSL files an interrupted sendfile under "retry when
         * writable"; it is a retry now, as for sendfile(2). */
        ERR_clear_error();
        return -1;
    }
    if (n < 0)
        return tls_failed(x, (int)n, 0);
    *off += n;
    return n;
}

const exec_transport exec_tls = { tls_writev, NULL };
const exec_transport exec_ktls = { tls_writev, ktls_sendfile };

void exec_use_tls(exec *x, SSL *ssl, char *tbuf, size_t tcap)
{
    x->ssl = ssl;
    x->tbuf = tbuf;
    x->tcap = tcap;
    x->tlen = x->tsent = 0;
    x->tp = BIO_get_ktls_send(SSL_get_wbio(ssl)) ? &exec_ktls : &exec_tls;
}

void exec_init(exec *x, worker *w, const exec_hooks *hooks, int sock, char *hbuf, size_t hcap, char *body,
               size_t body_cap)
{
    /* Field by field: the struct is 3 KB, most of it routing state that
     * route_begin sets per request, and a block is taken per busy spell of
     * a keep-alive connection. */
    x->w = w;
    x->tp = &exec_tcp;
    x->hooks = hooks;
    x->sock = sock;
    x->ssl = NULL;
    x->tbuf = NULL;
    x->tcap = x->tlen = x->tsent = 0;
    x->hbuf = hbuf;
    x->hcap = hcap;
    x->hlen = x->hsent = x->hpacked = 0;
    x->body = body;
    x->body_cap = body_cap;
    x->seg = x->seg_sent = x->copy_want = 0;
    x->body_bytes = 0;
    x->fin_follows = x->progressed = x->task_busy = false;
    x->view = NULL;
    x->fce = NULL;
    x->fc_afresh = false;
    x->arm.n = 0;
    /* What exec_end and route_abandon release, and what the logs read
     * before a request has a place. */
    x->rt.srv = NULL;
    x->rt.rules = NULL;
    x->rt.peer = NULL;
    x->rt.plan.fd = -1;
    x->rt.plan.listing = NULL;
    x->rt.lookup.res.fd = -1;
    x->rt.lookup.out = (ai_buf){ 0 };
}

size_t exec_setup_size(const cfg *cf, const route_sizes *rs)
{
    return rs->head + cf->small_file_max + rs->scratch + rs->parts + 4 * 16;
}

void exec_setup(exec *x, arena *ar, worker *w, const exec_hooks *hooks, int sock, route_env *env,
                http_req *req, int listen_idx, const struct sockaddr *peer)
{
    const cfg *cf = w->cfg;
    char *hbuf = arena_alloc(ar, w->sizes.head);
    char *body = arena_alloc(ar, cf->small_file_max);
    *env = (route_env){ .cf = cf, .listen_idx = listen_idx, .peer = peer, .loc_scratch = w->loc_scratch,
                        .mx = w->mx_region,
                        .scratch_len = w->sizes.scratch, .parts_len = w->sizes.parts, .body = body,
                        .body_len = cf->small_file_max };
    env->scratch = arena_alloc(ar, env->scratch_len);
    env->parts = arena_alloc(ar, env->parts_len);
    exec_init(x, w, hooks, sock, hbuf, w->sizes.head, body, cf->small_file_max);
    x->rt.rq = req;
}

/* ---- tasks ----------------------------------------------------------------- */

static void exec_submit(exec *x, void (*work)(wq_task *t), void (*done)(wq_task *t))
{
    x->task.base.work = work;
    x->task.base.done = done;
    x->task_busy = true;
    /* The queue holds one slot per connection, and a connection has one
     * task at most: this cannot fail. */
    if (wq_submit(&x->w->q, &x->task.base) < 0)
        x->task_busy = false;
}

static void lookup_done(wq_task *t);
static void sendfile_done(wq_task *t);
static void read_done(wq_task *t);
static void hash_done(wq_task *t);

/* A cold chunk read into tbuf, on a queue thread: it touches task.* and
 * tbuf only. */
static void read_work(wq_task *t)
{
    exec *x = EP_CONTAINER_OF(t, exec, task.base);
    x->task.err = 0;
    do
        x->task.sent = pread(x->task.fd, x->tbuf, x->task.len, x->task.off);
    while (x->task.sent < 0 && errno == EINTR);
    if (x->task.sent < 0)
        x->task.err = errno;
}

/* XXH3-128 over fd's first len bytes into out; 0 or an errno. Thread
 * stack only: a task's context and this. */
static int hash_file(int fd, off_t len, uint8_t out[16])
{
    XXH3_state_t st;
    char buf[65536];
    XXH3_128bits_reset(&st);
    for (off_t off = 0; off < len;) {
        ssize_t n = pread(fd, buf, (size_t)(len - off) < sizeof buf ? (size_t)(len - off) : sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO; /* shorter than its stat: changed under us */
        XXH3_128bits_update(&st, buf, (size_t)n);
        off += n;
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
    memcpy(out, c.digest, 16);
    return 0;
}

/* etag = "content": a file's bytes hashed on a queue thread (task.* only). */
static void hash_work(wq_task *t)
{
    exec *x = EP_CONTAINER_OF(t, exec, task.base);
    x->task.err = hash_file(x->task.fd, (off_t)x->task.len, x->task.hash);
}

/* A large file served without an ETag is hashed in the background for the
 * next requests: a task of the worker's own, on a descriptor of its own,
 * at most a few at once. */
typedef struct {
    wq_task base;
    worker *w;
    int fd;
    struct stat st;
    uint8_t hash[16];
    int err;
} bg_hash;

static void bg_hash_work(wq_task *t)
{
    bg_hash *b = (bg_hash *)t;
    b->err = hash_file(b->fd, b->st.st_size, b->hash);
}

static void bg_hash_done(wq_task *t)
{
    bg_hash *b = (bg_hash *)t;
    if (!b->err)
        hc_put(&b->w->hc, &b->st, b->hash);
    b->w->hashing--;
    close(b->fd);
    free(b);
}

static void exec_hash_later(exec *x)
{
    worker *w = x->w;
    const struct stat *st = &x->rt.lookup.res.st;
    if (!x->rt.hash_later || w->hashing >= EXEC_HASHING_MAX || x->rt.plan.fd < 0)
        return;
    x->rt.hash_later = false;
    bg_hash *b = calloc(1, sizeof *b);
    if (!b || (b->fd = fcntl(x->rt.plan.fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        free(b);
        return;
    }
    b->w = w;
    b->st = *st;
    b->base.work = bg_hash_work;
    b->base.done = bg_hash_done;
    w->hashing++;
    if (wq_submit(&w->q, &b->base) < 0) { /* the queue is full: the next request tries again */
        w->hashing--;
        close(b->fd);
        free(b);
    }
}

/* The name the lookup resolved a folder's path to, or NULL. */
static const char *exec_index_name(const static_req *q)
{
    return q->res.index >= 0 ? q->index[q->res.index] : NULL;
}

/* A lookup that may block, on a queue thread: it touches rt.lookup and
 * arm only; a file the cache will keep is watched here too, off the loop. */
static void lookup_work(wq_task *t)
{
    exec *x = EP_CONTAINER_OF(t, exec, task.base);
    static_req *q = &x->rt.lookup;
    static_lookup(q, 0);
    if (x->admit && x->w->fc.fw && q->status == 200 && !q->listing)
        fw_arm(x->w->fw.io.fd, q->dirfd, q->path, exec_index_name(q), &q->res.st, &x->arm);
}

/* A cold or large file chunk, on a queue thread: it touches task.* only. */
static void sendfile_work(wq_task *t)
{
    exec *x = EP_CONTAINER_OF(t, exec, task.base);
    x->task.sent = 0;
    x->task.err = 0;
    while ((size_t)x->task.sent < x->task.len) {
        ssize_t n = x->tp->sendfile(x, x->task.fd, &x->task.off, x->task.len - (size_t)x->task.sent);
        if (n > 0) {
            x->task.sent += n;
        } else if (n == 0) {
            x->task.err = EIO; /* the file shrank under us */
            break;
        } else if (errno != EINTR) {
            x->task.err = errno;
            break;
        }
    }
}

/* ---- lookups --------------------------------------------------------------- */

static void exec_note(exec *x)
{
    if (x->rt.note[0]) {
        x->hooks->note(x, x->rt.note);
        x->rt.note[0] = '\0';
    }
}

/* Whether the open-file cache takes part in the pending lookup. */
static bool exec_cacheable(const exec *x)
{
    return x->w->fc.cap && x->rt.cacheable;
}

/* A folder's path finds whichever name of the rules' index list exists
 * first: other rules over the same folder (another server, an alias) may
 * try another list, so their lookups must not share the entry. The list's
 * identity stands for its names (the configuration never changes under a
 * worker); any other path's result does not depend on the rules. */
static uint64_t exec_cache_variant(const exec *x)
{
    const static_req *q = &x->rt.lookup;
    size_t n = strlen(q->path);
    if (n == 0 || q->path[n - 1] != '/')
        return 0;
    return (uint64_t)(uintptr_t)q->index ^ ((uint64_t)q->nindex << 56);
}

/* The lookup ran: keep a plain file in the open-file cache, watched. A
 * task armed the watches itself (on_loop false); if any event or removed
 * watch came between, what it found may be stale already: not kept. */
static enum route_state exec_lookup_ran(exec *x, bool on_loop)
{
    static_req *q = &x->rt.lookup;
    worker *w = x->w;
    if (x->fc_afresh) { /* whatever it found, the entry it was sent for goes */
        x->fc_afresh = false;
        fc_drop(&w->fc, roots_cache_key(x->view, x->rt.dir), q->links, exec_cache_variant(x), q->path);
    }
    if (x->admit && q->status == 200 && !q->listing && !x->fce) {
        const fw_arm_result *arm = NULL;
        if (w->fc.fw) {
            if (on_loop)
                fw_arm(w->fw.io.fd, q->dirfd, q->path, exec_index_name(q), &q->res.st, &x->arm);
            else if (x->arm_seq != w->fw.seq && x->arm.err == 0)
                x->arm.err = ESTALE;
            arm = &x->arm;
        }
        bool unwatched;
        x->fce = fc_put(&w->fc, roots_cache_key(x->view, x->rt.dir), q->links, exec_cache_variant(x), q->path,
                        exec_index_name(q), &q->res, arm, w->now_ms, &unwatched);
        x->arm.n = 0; /* its watches are the entry's now, or given back */
        if (unwatched && !w->fc_warned && arm && (arm->err == ENOSPC || arm->err == EREMOTE || arm->err == ENOSYS)) {
            w->fc_warned = true;
            if (arm->err == EREMOTE)
                log_warn("open-file cache: cannot watch a network file system: such files are looked up "
                         "afresh on the write queue when a check is due (every request, or after "
                         "open_file_cache_valid)");
            else
                log_warn("open-file cache: %s%s: such files are checked on every request (one fstatat)%s",
                         arm->err == ENOSPC ? "out of inotify watches" : "cannot watch ",
                         arm->err == ENOSPC ? "" : strerror(arm->err),
                         arm->err == ENOSPC ? "; raise fs.inotify.max_user_watches" : "");
        }
    }
    if (x->rt.rules->etag_content && q->status == 200 && !q->listing)
        route_offer_hash(&x->rt, hc_get(&w->hc, &q->res.st));
    return route_lookup_done(&x->rt);
}

enum exec_result exec_route(exec *x, enum route_state s)
{
    worker *w = x->w;
    route *rt = &x->rt;
    while (s == ROUTE_LOOKUP || s == ROUTE_HASH) {
        if (s == ROUTE_HASH) { /* never on the loop: a task reads and hashes the file */
            x->task.fd = rt->plan.fd;
            x->task.len = (size_t)rt->lookup.res.st.st_size;
            exec_submit(x, hash_work, hash_done);
            if (x->task_busy)
                return EXEC_WAIT;
            s = route_hash_done(rt, NULL); /* the queue is full: no ETag this time */
            continue;
        }
        exec_note(x);
        /* What changed on disk is known first (a swapped root too, when
         * its path resolves from the page cache); then the request's
         * directories, taken once: its internal redirects resolve beneath
         * them too. */
        if (!x->view || (exec_cacheable(x) && !x->fce))
            worker_fs_catch_up(w);
        if (!x->view)
            x->view = roots_acquire(&w->roots);
        static_req *q = &rt->lookup;
        q->dirfd = x->view->dir[rt->dir]->fd;
        x->admit = false;
        bool afresh = false;
        fc_entry *e = exec_cacheable(x) && !x->fce ? fc_get(&w->fc, q->dirfd, roots_cache_key(x->view, rt->dir),
                                                            q->links, exec_cache_variant(x), q->path, w->now_ms,
                                                            &x->admit, &afresh)
                                                   : NULL;
        if (e && e->index >= (int)q->nindex) { /* cannot be, the variant says: look afresh */
            fc_release(&w->fc, e);
            e = NULL;
        }
        if (e) {
            x->fce = e;
            if (rt->rules->etag_content)
                route_offer_hash(rt, hc_get(&w->hc, &e->st));
            s = route_lookup_cached(rt, &(file_result){ .fd = e->fd, .st = e->st, .status = 200, .index = e->index });
            continue;
        }
        /* A network file system's entry that is due: not even a cached
         * lookup on the loop (its fstat may ask the server). */
        if (w->cached_open && !rt->rules->offload_always && !afresh &&
            static_lookup(q, FILE_CACHED_ONLY) != FILE_WOULDBLOCK) {
            w->stats.open_loop++;
            s = exec_lookup_ran(x, true);
            continue;
        }
        w->stats.open_queue++;
        x->arm = (fw_arm_result){ .n = 0, .err = ENOSYS };
        x->arm_seq = w->fw.seq;
        x->fc_afresh = afresh;
        exec_submit(x, lookup_work, lookup_done);
        if (x->task_busy)
            return EXEC_WAIT;
        x->fc_afresh = false;
        route_error(rt, 503, true);
        s = ROUTE_DONE;
    }
    exec_note(x);
    exec_hash_later(x);
    return EXEC_READY;
}

/* ---- sending --------------------------------------------------------------- */

void exec_prepare(exec *x)
{
    http_plan *p = &x->rt.plan;
    x->hsent = x->hpacked = x->seg = x->seg_sent = 0;
    x->copy_want = 0; /* a response starts with the whole chunk: the socket has drained */
    x->body_bytes = 0;
    x->progressed = false;
    /* A lone small range whose pages are cached: read it now (RWF_NOWAIT)
     * so that head and body leave in one write. */
    const cfg_rules *r = x->rt.rules;
    fc_entry *e = x->fce && x->fce->fd == p->fd ? x->fce : NULL;
    if (p->nseg == 1 && !p->seg[0].mem && e && e->body) { /* kept by the cache: no read at all */
        p->seg[0].mem = e->body + p->seg[0].off;
        return;
    }
    if (p->nseg == 1 && !p->seg[0].mem && p->seg[0].len <= x->body_cap && !(r && r->offload_always)) {
        ssize_t n = file_read_nowait(p->fd, x->body, p->seg[0].len, p->seg[0].off);
        if (n == (ssize_t)p->seg[0].len) {
            p->seg[0].mem = x->body;
            x->w->stats.read_loop++;
            /* the whole file, read: the cache keeps it for the next requests */
            if (e && p->seg[0].off == 0 && (off_t)n == e->st.st_size)
                fc_keep_body(&x->w->fc, e, x->body, (size_t)n);
        }
    }
}

/* Bytes gone: through the head (and the body bytes packed after it),
 * then the segments. */
static void exec_advance(exec *x, size_t n)
{
    http_plan *p = &x->rt.plan;
    size_t end = x->hlen + x->hpacked;
    size_t h = end - x->hsent < n ? end - x->hsent : n;
    x->body_bytes += x->hsent + h > x->hlen ? x->hsent + h - (x->hsent > x->hlen ? x->hsent : x->hlen) : 0;
    x->hsent += h;
    n -= h;
    x->body_bytes += n;
    while (n) {
        size_t left = p->seg[x->seg].len - x->seg_sent;
        size_t k = left < n ? left : n;
        x->seg_sent += k;
        n -= k;
        if (x->seg_sent == p->seg[x->seg].len) {
            x->seg++;
            x->seg_sent = 0;
        }
    }
    x->progressed = true;
}

/* Bytes of the head, and of the body packed after it, not sent yet. */
static size_t exec_head_left(const exec *x)
{
    return x->hlen + x->hpacked - x->hsent;
}

/* Short memory segments go into the head's buffer before its first byte
 * leaves: one buffer is one send(), cheaper than sendmsg of several (the
 * kernel copies the bytes either way). A hot small file is then recv and
 * send. */
static void exec_pack(exec *x)
{
    http_plan *p = &x->rt.plan;
    while (x->seg < p->nseg && p->seg[x->seg].mem && p->seg[x->seg].len <= EXEC_PACK_MAX &&
           p->seg[x->seg].len <= x->hcap - x->hlen - x->hpacked) {
        memcpy(x->hbuf + x->hlen + x->hpacked, p->seg[x->seg].mem, p->seg[x->seg].len);
        x->hpacked += p->seg[x->seg].len;
        x->seg++;
    }
}

/* The rest of the head and the memory segments that follow, in one write.
 * 1: bytes went (the caller goes on until EAGAIN: with edge-triggered
 * events, a short write alone does not mean another edge will come),
 * 0: the socket is full, -1: error. */
static int exec_send_mem(exec *x)
{
    http_plan *p = &x->rt.plan;
    struct iovec iov[EXEC_IOV];
    int n = 0;
    size_t s = x->seg;
    if (exec_head_left(x))
        iov[n++] = (struct iovec){ x->hbuf + x->hsent, exec_head_left(x) };
    for (size_t off = x->seg_sent; s < p->nseg && p->seg[s].mem && n < EXEC_IOV; s++, off = 0)
        iov[n++] = (struct iovec){ (char *)p->seg[s].mem + off, p->seg[s].len - off };
    /* MSG_MORE when more bytes follow at once (a file range, another part),
     * and when close() does: the kernel then puts the FIN on the response's
     * own segment, one packet fewer (what nginx gets from tcp_nopush). */
    bool more = s < p->nseg || x->fin_follows;
    for (;;) {
        ssize_t w = x->tp->writev(x, iov, n, more);
        if (w >= 0) {
            exec_advance(x, (size_t)w);
            return 1;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? 0 : -1;
    }
}

/* Whether sendfile of the next chunk would find its pages cached. cachestat
 * answers exactly in one call where the kernel has it (6.5+); elsewhere two
 * 1-byte RWF_NOWAIT probes, of the first and the last page, stand in. */
static bool exec_range_cached(exec *x, int fd, off_t off, size_t chunk)
{
    if (x->w->has_cachestat) {
        int r = file_range_cachestat(fd, off, chunk);
        if (r >= 0)
            return r == 1;
        x->w->has_cachestat = false;
    }
    return file_range_cached(fd, off, chunk);
}

/* A chunk of the plan's file at off goes to a task (work, done): 0 while
 * it runs, -1 if the queue refused it. */
static int exec_queue_chunk(exec *x, off_t off, size_t chunk, void (*work)(wq_task *t), void (*done)(wq_task *t))
{
    x->w->stats.send_queue++;
    x->task.fd = x->rt.plan.fd;
    x->task.off = off;
    x->task.len = chunk;
    exec_submit(x, work, done);
    return x->task_busy ? 0 : -1;
}

/* A chunk of the current file range: sendfile from the loop while the
 * pages are cached, else a task, so that the loop never waits on a disk.
 * 1: the range went, 0: wait (socket full, or a task runs), -1: error. */
static int exec_send_file(exec *x)
{
    worker *w = x->w;
    http_plan *p = &x->rt.plan;
    const cfg_rules *r = x->rt.rules;
    size_t max = r ? r->sendfile_chunk : SENDFILE_CHUNK;
    size_t cur = x->seg;
    while (x->seg == cur) {
        const plan_seg *sg = &p->seg[x->seg];
        off_t off = sg->off + (off_t)x->seg_sent;
        size_t chunk = sg->len - x->seg_sent < max ? sg->len - x->seg_sent : max;
        if ((r && r->offload_always) || !exec_range_cached(x, p->fd, off, chunk))
            return exec_queue_chunk(x, off, chunk, sendfile_work, sendfile_done);
        w->stats.send_loop++;
        ssize_t n = x->tp->sendfile(x, p->fd, &off, chunk);
        if (n > 0) {
            exec_advance(x, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        return -1; /* error, or the file shrank: the length we promised is a lie */
    }
    return 1;
}

/* A file range over plain TCP, from the loop: the next bytes read with
 * RWF_NOWAIT into the worker's copy buffer and sent with what is left of
 * the head, one write. On this kernel a copy costs less than sendfile's
 * splice (the 954 KB file: about 130 against 160 us of server CPU a
 * request, at twice the rate; the 98 KB one 4% less), the head shares the
 * write, and the read itself says whether the pages are cached (no
 * cachestat call). Pages not cached go to a task (sendfile_work), so the
 * loop never waits on a disk. The buffer is the worker's: bytes the socket did not take are
 * read again when it drains, nothing is kept per connection. Same returns
 * as exec_send_file. */
static int exec_send_copy(exec *x)
{
    worker *w = x->w;
    http_plan *p = &x->rt.plan;
    const cfg_rules *r = x->rt.rules;
    size_t chunk = r ? r->sendfile_chunk : SENDFILE_CHUNK; /* a task's, and the most a copy takes */
    size_t max = chunk < w->copy_cap ? chunk : w->copy_cap;
    if (x->copy_want && x->copy_want < max)
        max = x->copy_want;
    size_t cur = x->seg;
    while (x->seg == cur) {
        const plan_seg *sg = &p->seg[x->seg];
        off_t off = sg->off + (off_t)x->seg_sent;
        size_t left = sg->len - x->seg_sent;
        size_t head = exec_head_left(x);
        size_t want = left < max ? left : max;
        bool offload = r && r->offload_always;
        ssize_t n = offload ? -1 : file_read_nowait(p->fd, w->copy_buf, want, off);
        if (n == 0)
            return -1; /* the file shrank: the length we promised is a lie */
        if (n < 0 && !offload && errno == EINTR)
            continue;
        if (n < 0 && !offload && errno == EOPNOTSUPP) /* no RWF_NOWAIT here (tmpfs): cachestat tells */
            return head ? exec_send_mem(x) : exec_send_file(x);
        if (n < 0 && !offload && errno != EAGAIN)
            return -1;
        if (n < 0) /* not cached: the head goes alone, the chunk (sendfile_chunk's) by a task */
            return head ? exec_send_mem(x) : exec_queue_chunk(x, off, left < chunk ? left : chunk, sendfile_work, sendfile_done);
        w->stats.send_loop++;
        w->stats.copy_read += (uint64_t)n;
        struct iovec iov[2];
        int k = 0;
        if (head)
            iov[k++] = (struct iovec){ x->hbuf + x->hsent, head };
        iov[k++] = (struct iovec){ w->copy_buf, (size_t)n };
        bool more = (size_t)n < left || x->seg + 1 < p->nseg || x->fin_follows;
        ssize_t sent = x->tp->writev(x, iov, k, more);
        if (sent < 0)
            return errno == EAGAIN ? 0 : errno == EINTR ? 1 : -1;
        exec_advance(x, (size_t)sent);
        /* A short write left the socket full (TCP marks it so, and says
         * EPOLLOUT when it drains): reading again now would only find
         * EAGAIN after a copy. What it took says what the next wake-up
         * will take: a socket with a small buffer (a slow client's) would
         * otherwise have up to 256 KiB read for each 32 KB it accepts. */
        if ((size_t)sent < head + (size_t)n) {
            size_t took = (size_t)sent > head ? (size_t)sent - head : 0;
            x->copy_want = took < 8192 ? 16384 : 2 * took < w->copy_cap ? 2 * took : w->copy_cap;
            return 0;
        }
        if (x->copy_want) { /* it took all: the next read may be twice as long */
            x->copy_want = 2 * x->copy_want < w->copy_cap ? 2 * x->copy_want : w->copy_cap;
            max = x->copy_want < chunk ? x->copy_want : chunk;
        }
    }
    return 1;
}

/* A file range through a transport without sendfile: a chunk read into
 * tbuf (RWF_NOWAIT on the loop; a cold one by a task, so the loop never
 * waits on a disk), then written as memory until it is gone. Same returns
 * as exec_send_file. */
static int exec_send_buffered(exec *x)
{
    http_plan *p = &x->rt.plan;
    const cfg_rules *r = x->rt.rules;
    size_t cur = x->seg;
    while (x->seg == cur) {
        const plan_seg *sg = &p->seg[x->seg];
        if (x->tsent == x->tlen) {
            off_t off = sg->off + (off_t)x->seg_sent;
            size_t chunk = sg->len - x->seg_sent < x->tcap ? sg->len - x->seg_sent : x->tcap;
            ssize_t n = r && r->offload_always ? -1 : file_read_nowait(p->fd, x->tbuf, chunk, off);
            if (n == 0)
                return -1; /* the file shrank: the length we promised is a lie */
            if (n < 0)
                return exec_queue_chunk(x, off, chunk, read_work, read_done);
            x->w->stats.send_loop++;
            x->tlen = (size_t)n;
            x->tsent = 0;
        }
        struct iovec iov = { x->tbuf + x->tsent, x->tlen - x->tsent };
        ssize_t w = x->tp->writev(x, &iov, 1, true);
        if (w < 0)
            return errno == EAGAIN ? 0 : errno == EINTR ? 1 : -1;
        x->tsent += (size_t)w;
        exec_advance(x, (size_t)w);
    }
    return 1;
}

enum exec_result exec_send(exec *x, bool *can_write)
{
    http_plan *p = &x->rt.plan;
    while (exec_head_left(x) || x->seg < p->nseg) {
        if (!*can_write)
            return EXEC_WAIT;
        bool head = exec_head_left(x) > 0;
        /* Before the first byte: what is packed after the head decides
         * whether a memory write or a file path comes next. */
        if (head && x->hsent == 0 && x->seg_sent == 0)
            exec_pack(x);
        bool mem = x->seg < p->nseg ? p->seg[x->seg].mem != NULL : head;
        int r = mem ? exec_send_mem(x)
                : x->tp == &exec_tcp && x->w->copy_buf ? exec_send_copy(x)
                : head ? exec_send_mem(x)
                : x->tp->sendfile ? exec_send_file(x) : exec_send_buffered(x);
        if (r < 0)
            return EXEC_ERROR;
        if (r == 0) {
            /* Full, or a chunk went to a task: any EPOLLOUT from now on is
             * recorded afresh. */
            *can_write = false;
            return EXEC_WAIT;
        }
    }
    return EXEC_DONE;
}

/* ---- pulling (HTTP/2) ------------------------------------------------------ */

void exec_use_pull(exec *x, char *tbuf, size_t tcap)
{
    x->tp = NULL;
    x->tbuf = tbuf;
    x->tcap = tcap;
    x->tlen = x->tsent = 0;
}

ssize_t exec_pull(exec *x, char *buf, size_t len)
{
    http_plan *p = &x->rt.plan;
    const cfg_rules *r = x->rt.rules;
    size_t got = 0;
    while (got < len && x->seg < p->nseg) {
        const plan_seg *sg = &p->seg[x->seg];
        size_t n = len - got < sg->len - x->seg_sent ? len - got : sg->len - x->seg_sent;
        if (sg->mem) {
            memcpy(buf + got, sg->mem + x->seg_sent, n);
        } else if (x->tsent < x->tlen) { /* what a task read */
            n = n < x->tlen - x->tsent ? n : x->tlen - x->tsent;
            memcpy(buf + got, x->tbuf + x->tsent, n);
            x->tsent += n;
        } else {
            off_t off = sg->off + (off_t)x->seg_sent;
            ssize_t k = r && r->offload_always ? -1 : file_read_nowait(p->fd, buf + got, n, off);
            if (k == 0)
                return -1; /* the file shrank: the length we promised is a lie */
            if (k < 0) {
                if (got)
                    break; /* these go now; the next pull hands the cold chunk over */
                size_t chunk = sg->len - x->seg_sent < x->tcap ? sg->len - x->seg_sent : x->tcap;
                return exec_queue_chunk(x, off, chunk, read_work, read_done) == 0 ? 0 : -1;
            }
            x->w->stats.send_loop++;
            n = (size_t)k;
        }
        exec_advance(x, n);
        got += n;
    }
    return (ssize_t)got;
}

/* ---- task completions, on the loop -------------------------------------- */

/* The lookup is back on the loop: routing goes on from its result. */
static void lookup_done(wq_task *t)
{
    exec *x = EP_CONTAINER_OF(t, exec, task.base);
    x->task_busy = false;
    if (!x->hooks->back(x))
        return;
    x->w->stats.read_queue += x->rt.lookup.nread >= 0;
    x->hooks->carry_on(x, exec_route(x, exec_lookup_ran(x, false)));
}

/* The hash is back: kept for the file's identity, and routing goes on. */
static void hash_done(wq_task *t)
{
    exec *x = EP_CONTAINER_OF(t, exec, task.base);
    x->task_busy = false;
    if (!x->hooks->back(x))
        return;
    if (x->task.err == 0)
        hc_put(&x->w->hc, &x->rt.lookup.res.st, x->task.hash);
    x->hooks->carry_on(x, exec_route(x, route_hash_done(&x->rt, x->task.err ? NULL : x->task.hash)));
}

/* The chunk is back on the loop: count what went, say how to go on. */
static void sendfile_done(wq_task *t)
{
    exec *x = EP_CONTAINER_OF(t, exec, task.base);
    x->task_busy = false;
    if (!x->hooks->back(x))
        return;
    if (x->task.sent > 0)
        exec_advance(x, (size_t)x->task.sent);
    /* After an EAGAIN, readiness stays as the events since submission left
     * it, so no edge is lost; without one, the socket still takes bytes. */
    int err = x->task.err;
    x->hooks->carry_on(x, err == 0 ? EXEC_SENDING : err == EAGAIN ? EXEC_WAIT : EXEC_ERROR);
}

/* The chunk is in tbuf: it goes out from the loop. The task wrote nothing,
 * so no EPOLLOUT edge may ever come for the readiness exec_send cleared
 * when it handed the chunk over: go on as if writable, and a full socket
 * says EAGAIN (and then an edge does come). */
static void read_done(wq_task *t)
{
    exec *x = EP_CONTAINER_OF(t, exec, task.base);
    x->task_busy = false;
    if (!x->hooks->back(x))
        return;
    if (x->task.sent <= 0) { /* an error, or the file shrank */
        x->hooks->carry_on(x, EXEC_ERROR);
        return;
    }
    x->tlen = (size_t)x->task.sent;
    x->tsent = 0;
    x->hooks->carry_on(x, EXEC_SENDING);
}

void exec_end(exec *x)
{
    x->tlen = x->tsent = 0;
    http_plan *p = &x->rt.plan;
    if (x->fce)
        fc_release(&x->w->fc, x->fce);
    else if (p->fd >= 0)
        close(p->fd);
    x->fce = NULL;
    x->fc_afresh = false;
    p->fd = -1;
    plan_clear(p);
    roots_put(&x->view); /* the next request takes the directories current then */
}

void exec_abandon(exec *x)
{
    /* A lookup task that armed watches for a file nobody will cache: they
     * go back, or they would stay until the worker exits (a client that
     * resets its streams could pile them up). */
    if (x->arm.n > 0 && x->w->fc.fw)
        fw_discard(&x->w->fw, &x->arm);
    x->arm.n = 0;
    route_abandon(&x->rt);
    exec_end(x);
}
