/* worker/worker.c: a worker process: accept, dispatch, timers, signals, shutdown. */
#include "worker/worker.h"

#include "http/loc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log/log.h"
#include "worker/conn.h"
#include "worker/h2.h"
#include "worker/ctx.h"
#include "worker/exec.h"

#define ACCEPT_BATCH 64         /* accepts per wake-up, so one worker cannot hog a burst */
#define RECLAIM_BATCH 4         /* slots freed at a time when worker_connections are all taken */
#define ACCEPT_PAUSE_MS 100     /* out of descriptors: retry after this long */
#define TICK_MS 1000            /* date refresh */

typedef struct listener {
    loop_io io;
    struct worker *w;
    bool active; /* registered with the loop */
} listener;

/* Access-log lines lost (a full disk, syslog unreachable) are said in the
 * error log, at most once a minute a log, with how many since the last
 * time; the status page counts them all (worker_publish). */
static void worker_log_drops(worker *w)
{
    for (size_t i = 0; i < w->nalogs; i++) {
        access_log *al = &w->alogs[i];
        if (al->dropped == al->dropped_told || w->now_sec < al->told_at + 60)
            continue;
        log_warn("access log \"%s\": %llu line(s) dropped (%s); serving goes on", al->path,
                 (unsigned long long)(al->dropped - al->dropped_told), strerror(al->drop_errno));
        al->dropped_told = al->dropped;
        al->told_at = w->now_sec;
    }
}

static void worker_tick(worker *w)
{
    w->now_ms = time_now_ms();
    time_t s = time(NULL);
    if (s != w->now_sec) {
        w->now_sec = s;
        time_http_date(s, w->date);
        arena_pool_trim(&w->arenas);
        fc_expire(&w->fc, w->now_ms);
        worker_log_drops(w);
    }
}

/* Write every buffered access-log line now (the deadline passed, or a QUIT,
 * a USR1 or the exit wants them on disk). */
static void worker_flush_logs(worker *w)
{
    for (size_t i = 0; i < w->nalogs; i++)
        access_log_flush(&w->alogs[i]);
    w->alog_flush_ms = -1;
}

static void listeners_set(worker *w, bool on)
{
    for (size_t i = 0; i < w->nlisteners; i++) {
        listener *l = &w->listeners[i];
        if (l->active == on || l->io.fd < 0)
            continue;
        /* EPOLLEXCLUSIVE: see worker_run for why the listeners are shared. */
        if (on ? loop_add(&w->lp, &l->io, EPOLLIN | EPOLLEXCLUSIVE) : loop_del(&w->lp, &l->io))
            log_error("epoll_ctl on listener: %s", strerror(errno));
        else
            l->active = on;
    }
}

/* Stop accepting for ms, or (ms < 0) until a connection closes. */
static void accept_pause(worker *w, int64_t ms)
{
    if (!w->accept_paused)
        w->stats.accept_paused++;
    w->accept_paused = true;
    w->accept_resume_ms = ms < 0 ? -1 : w->now_ms + ms;
    listeners_set(w, false);
}

/* The connection registry: every open connection is on the live list and
 * counted; conn.c puts the ones it closed on w->dead, and after each
 * iteration's events this takes them off, keeps their structs for reuse and
 * lets accepting resume. */
static conn *worker_conn_new(worker *w)
{
    conn *c = w->free_conns;
    if (c)
        w->free_conns = c->next;
    else if (!(c = malloc(sizeof *c)))
        return NULL;
    c->live_prev = NULL;
    c->live_next = w->live;
    if (w->live)
        w->live->live_prev = c;
    w->live = c;
    w->nconns++;
    return c;
}

static void worker_conn_free(worker *w, conn *c)
{
    if (c->live_prev)
        c->live_prev->live_next = c->live_next;
    else
        w->live = c->live_next;
    if (c->live_next)
        c->live_next->live_prev = c->live_prev;
    w->nconns--;
    mx_add(conn_gauge(w, c->state), (uint64_t)-1);
    c->next = w->free_conns;
    w->free_conns = c;
}

/* After dispatch: no event of this iteration can name a closed struct any more. */
static void worker_reap(worker *w)
{
    if (!w->dead)
        return;
    while (w->dead) {
        conn *c = w->dead;
        w->dead = c->next;
        worker_conn_free(w, c);
    }
    /* A free slot under worker_connections lets accepting resume at once. */
    if (w->accept_paused && (w->accept_resume_ms < 0 || w->accept_full) && !w->graceful) {
        w->accept_paused = w->accept_full = false;
        listeners_set(w, true);
    }
}

conn *worker_adopt(worker *w, int fd, const struct sockaddr *peer, size_t listen_idx)
{
    conn *c = worker_conn_new(w);
    if (!c) {
        close(fd);
        return NULL;
    }
    conn_init(c, w, fd, peer, listen_idx);
    mx_add(&w->mx->c.handled, 1);
    /* The request usually arrives with the handshake: serve it now rather
     * than after a trip through epoll_wait. A one-shot connection is then
     * already closed and never costs an epoll_ctl. */
    conn_start(c);
    if (c->closed) {
        /* Closed before it ever reached epoll: no event can name it,
         * so its slot is free at once. */
        if (w->dead == c) {
            w->dead = c->next;
            worker_conn_free(w, c);
            return NULL;
        }
        return c; /* a task still holds it: its completion releases it */
    }
    /* Edge-triggered, registered once: no epoll_ctl per request. Adding
     * reports any readiness that arrived since conn_start saw EAGAIN. */
    if (loop_add(&w->lp, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
        log_error("epoll_ctl: %s", strerror(errno));
        conn_shutdown(c, false);
    }
    return c;
}

static void on_accept(loop_io *io, uint32_t events)
{
    (void)events;
    listener *l = EP_CONTAINER_OF(io, listener, io);
    worker *w = l->w;
    /* Closed by a QUIT handled earlier in the same batch of events. */
    for (int i = 0; i < ACCEPT_BATCH && io->fd >= 0; i++) {
        if (w->nconns >= w->cfg->worker_connections) {
            /* Full after accepting some: a client still waiting wakes us
             * again (the listener is level-triggered) and is seen below. */
            if (i > 0)
                return;
            /* A client is waiting: slots held by connections that need
             * them least are freed (after this batch, worker_reap), as
             * nginx reuses idle connections; else a few clients that never
             * close would keep everyone else waiting. With none to free,
             * look again soon (a connection may have gone idle) or when a
             * slot frees, whichever comes first. */
            int n = conn_reclaim(w, RECLAIM_BATCH);
            if (n && !w->reclaim_warned) {
                w->reclaim_warned = true;
                log_warn("worker_connections (%u) are not enough: closing idle and lingering connections "
                         "to make room (counted in the exit line)", (unsigned)w->cfg->worker_connections);
            }
            w->stats.reclaimed += (uint64_t)n;
            accept_pause(w, n ? -1 : ACCEPT_PAUSE_MS);
            w->accept_full = true;
            return;
        }
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(io->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Level-triggered: without a pause we would spin on the backlog. */
                log_error("accept: %s; pausing accepts for %d ms", strerror(errno), ACCEPT_PAUSE_MS);
                accept_pause(w, ACCEPT_PAUSE_MS);
            } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                log_error("accept: %s", strerror(errno));
            }
            return;
        }
        mx_add(&w->mx->c.accepted, 1);
        worker_adopt(w, fd, (struct sockaddr *)&peer, (size_t)(l - w->listeners));
    }
}

static void worker_stop_accepting(worker *w)
{
    listeners_set(w, false);
    /* Our copies of the listening sockets go too: a listener the new
     * configuration dropped must close (refusing connections, resetting
     * what is queued) once the master and every old worker let go of it. */
    for (size_t i = 0; i < w->nlisteners; i++)
        if (w->listeners[i].io.fd >= 0) {
            close(w->listeners[i].io.fd);
            w->listeners[i].io.fd = -1;
        }
    w->accept_paused = true;
    w->accept_resume_ms = -1;
    /* End-of-file tells the master that no new connection can reach us: a
     * reload it started is complete once every old worker has said so. */
    if (w->ctl_fd >= 0) {
        close(w->ctl_fd);
        w->ctl_fd = -1;
    }
}

/* QUIT retires a worker after a reload: a new generation serves, so an
 * idle connection gets a short grace. WORKER_STOP_SIGNAL (stop) says the
 * whole server stops: nothing would answer, so an idle connection closes at
 * once. The stop may follow a plain QUIT (pkill, an init system signalling
 * every process): the idle connections then close now. */
static void worker_quit(worker *w, bool stop)
{
    worker_flush_logs(w);
    if (w->graceful && (!stop || w->stop_idle))
        return;
    w->stop_idle |= stop;
    if (!w->graceful) {
        log_info("graceful %s: %d connection(s) to finish", stop ? "stop" : "retirement", w->nconns);
        w->graceful = true;
        worker_stop_accepting(w);
    }
    for (conn *c = w->live, *next; c; c = next) {
        next = c->live_next;
        conn_shutdown(c, true);
    }
}

static void on_signal(loop_io *io, uint32_t events)
{
    (void)events;
    worker *w = EP_CONTAINER_OF(io, worker, sigio);
    struct signalfd_siginfo si;
    while (read(io->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if ((int)si.ssi_signo == WORKER_STOP_SIGNAL) {
            worker_quit(w, true);
            continue;
        }
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            w->stopping = true;
            break;
        case SIGQUIT:
            worker_quit(w, false);
            break;
        case SIGUSR1:
            worker_flush_logs(w);
            if (log_reopen() < 0)
                log_error("reopening the error log: %s", strerror(errno));
            for (size_t i = 0; i < w->nalogs; i++)
                if (access_log_reopen(&w->alogs[i]) < 0)
                    log_error("reopening access log \"%s\": %s", w->alogs[i].path, strerror(errno));
            break;
        default:
            break;
        }
    }
}

static void expire(worker *w, timer_list *tl)
{
    timer_node *n;
    while ((n = timer_expired(tl, w->now_ms))) {
        timer_disarm(n);
        conn_timeout(EP_CONTAINER_OF(n, conn, timer), tl);
    }
}

static int worker_wait_ms(worker *w)
{
    int64_t ms = TICK_MS - (w->now_ms % TICK_MS);
    if (w->alog_flush_ms >= 0)
        ms = w->alog_flush_ms - w->now_ms < ms ? w->alog_flush_ms - w->now_ms : ms;
    ms = roots_wait_ms(&w->roots, w->now_ms, ms);
    ms = ms < 0 ? 0 : ms;
    ms = timer_wait_ms(&w->t_header, w->now_ms, ms);
    ms = timer_wait_ms(&w->t_keepalive, w->now_ms, ms);
    ms = timer_wait_ms(&w->t_send, w->now_ms, ms);
    ms = timer_wait_ms(&w->t_linger, w->now_ms, ms);
    if (w->accept_paused && w->accept_resume_ms >= 0) {
        int64_t d = w->accept_resume_ms - w->now_ms;
        ms = d < ms ? (d < 0 ? 0 : d) : ms;
    }
    return (int)ms;
}

/* Batches one worker_step serves before its timers and reaping. */
#define LOOP_ROUNDS_MAX 8
/* The most free blocks the pool keeps (a pointer each while unused). */
#define ARENA_FREE_MAX 65536
/* The most events one poll takes (12 bytes each). */
#define LOOP_EVENTS_MAX 16384

/* What the worker counts as it goes, into its slot of the status page's
 * counters: once a loop iteration, a dozen stores. The rest is added where
 * it happens: connections (accept, conn_set_state), requests (conn_access).
 * Totals go on from the slot's when this worker took it over. */
static void worker_publish(worker *w)
{
    mx_counters *c = &w->mx->c;
    const mx_counters *b = &w->mx_base;
    mx_set(&c->lookup_loop, b->lookup_loop + w->stats.open_loop);
    mx_set(&c->lookup_queue, b->lookup_queue + w->stats.open_queue);
    mx_set(&c->fc_hits, b->fc_hits + w->fc.hits);
    mx_set(&c->fc_misses, b->fc_misses + w->fc.misses);
    mx_set(&c->fc_invalidations, b->fc_invalidations + w->fc.invalidated);
    mx_set(&c->h2_conns, b->h2_conns + w->stats.h2_conns);
    mx_set(&c->h2_streams, b->h2_streams + w->stats.h2_streams);
    mx_set(&c->wq_tasks, b->wq_tasks + w->q.tasks_done);
    mx_set(&c->wq_wait_ns, b->wq_wait_ns + w->q.wait_ns);
    mx_set(&c->wq_run_ns, b->wq_run_ns + w->q.run_ns);
    uint64_t drops = log_dropped();
    for (size_t i = 0; i < w->nalogs; i++)
        drops += w->alogs[i].dropped;
    mx_set(&c->log_drops, b->log_drops + drops);
}

int worker_step(worker *w, int max_ms)
{
    int wait = worker_wait_ms(w);
    w->batching = true;
    int n = loop_run_once(&w->lp, max_ms >= 0 && max_ms < wait ? max_ms : wait);
    /* The heads received are served after a poll that asks the kernel for
     * changes on disk and takes the next batch at once: one system call
     * per batch, not a read of the events and a poll of the mounts. A few
     * rounds at most, so that timers and reaping still run under load. */
    for (int round = 0; n >= 0 && (w->rx || w->h2rx) && w->fw.io.fd >= 0 && round < LOOP_ROUNDS_MAX; round++) {
        if (loop_peek_first(&w->lp))
            w->fs_fresh = true; /* the events were empty when the poll began, after every byte read */
        conn_rx_run(w);
        if (loop_run_pending(&w->lp) == 0)
            break;
    }
    w->batching = false;
    conn_rx_run(w); /* before the reap: every connection on the list is alive */
    if (n < 0)
        return -1;
    worker_tick(w);
    roots_check(&w->roots, &w->q, w->now_ms);
    if (w->alog_flush_ms >= 0 && w->now_ms >= w->alog_flush_ms)
        worker_flush_logs(w);
    worker_reap(w);
    expire(w, &w->t_header);
    expire(w, &w->t_keepalive);
    expire(w, &w->t_send);
    expire(w, &w->t_linger);
    if (w->accept_paused && w->accept_resume_ms >= 0 && w->now_ms >= w->accept_resume_ms && !w->graceful) {
        w->accept_paused = w->accept_full = false;
        listeners_set(w, true);
    }
    worker_reap(w);
    worker_publish(w);
    return n;
}

static void worker_loop(worker *w)
{
    while (!w->stopping && !(w->graceful && w->nconns == 0)) {
        if (worker_step(w, -1) < 0) {
            log_error("epoll_wait: %s", strerror(errno));
            break;
        }
    }
}

/* The log at path: the one already open, or a new one (w->alogs has room
 * for every path the configuration names). NULL with err set. */
static access_log *log_at(worker *w, const cfg_alog *l, char *err, size_t errlen)
{
    for (size_t j = 0; j < w->nalogs; j++)
        if (strcmp(w->alogs[j].path, l->path) == 0)
            return &w->alogs[j];
    access_log *al = &w->alogs[w->nalogs];
    if (access_log_open(al, l->path, 128 * 1024) < 0) {
        snprintf(err, errlen, "%s%s\"access_log\" \"%s\": %s", l->where ? l->where : "", l->where ? ": " : "",
                 l->path, strerror(errno));
        access_log_close(al);
        return NULL;
    }
    w->nalogs++;
    return al;
}

/* A place's own access logs become its set's targets. */
static int open_place_logs(worker *w, const cfg *c, const cfg_rules *r, char *err, size_t errlen)
{
    if (!(r->set & R_ACCESS_LOG) || r->nalogs == 0)
        return 0;
    wlog_set *set = &w->log_sets[r->alogs[0].set];
    if (!(set->t = calloc(r->nalogs, sizeof *set->t)))
        return -1;
    for (size_t k = 0; k < r->nalogs; k++) {
        access_log *al = log_at(w, &r->alogs[k], err, errlen);
        if (!al)
            return -1;
        set->t[set->n++] = (wlog_target){ al, c->log_formats[r->alogs[k].fmt].fmt, r->alogs[k].min_status };
    }
    return 0;
}

/* One buffered log per distinct path, shared by the places that name it. */
static int worker_open_logs(worker *w, const cfg *c, char *err, size_t errlen)
{
    size_t paths = 0;
    for (size_t i = 0; i < c->nservers; i++) {
        paths += c->servers[i].r.nalogs;
        for (size_t j = 0; j < c->servers[i].nlocs; j++)
            if (c->servers[i].locs[j].r.set & R_ACCESS_LOG)
                paths += c->servers[i].locs[j].r.nalogs;
    }
    w->alogs = calloc(paths ? paths : 1, sizeof *w->alogs);
    w->log_sets = calloc(c->nalog_sets ? c->nalog_sets : 1, sizeof *w->log_sets);
    if (!w->alogs || !w->log_sets)
        return -1;
    for (size_t i = 0; i < c->nservers; i++) {
        if (open_place_logs(w, c, &c->servers[i].r, err, errlen) < 0)
            return -1;
        for (size_t j = 0; j < c->servers[i].nlocs; j++)
            if (open_place_logs(w, c, &c->servers[i].locs[j].r, err, errlen) < 0)
                return -1;
    }
    return 0;
}

/* A watch saw a change: a cached file goes stale, or a root's path is
 * resolved again at once. Marks only: fw_drain is walking the links. */
static void worker_stale(void *arg, void *owner)
{
    worker *w = arg;
    if (owner == &w->roots)
        w->roots_kicked = true;
    else
        fc_mark(&w->fc, owner);
}

/* The kernel dropped events: nothing cached can be trusted. */
static void worker_fs_overflow(void *arg)
{
    worker *w = arg;
    fc_mark_all(&w->fc);
    w->roots_kicked = true;
}

/* The mount table changed (the loop's poll took the news). */
static void on_mounts(loop_io *io, uint32_t events)
{
    (void)events;
    worker *w = EP_CONTAINER_OF(io, worker, fw.mio);
    fw_mounts(&w->fw, true);
    worker_fs_settle(w);
}

/* Dispatched before anything else in a loop iteration (loop.first). */
static void on_fs_event(loop_io *io, uint32_t events)
{
    (void)events;
    worker_fs_settle(EP_CONTAINER_OF(io, worker, fw.io));
}

/* Watch the folders on every root's path, so that a deploy that swaps a
 * symlink (or renames a folder) in it is served from the next request on,
 * not at the next periodic check. A path that cannot be watched keeps the
 * periodic check alone. */
static int worker_watch_roots(worker *w)
{
    size_t n = w->roots.n;
    w->root_links = calloc(n ? n : 1, sizeof *w->root_links);
    w->nroot_links = calloc(n ? n : 1, sizeof *w->nroot_links);
    if (!w->root_links || !w->nroot_links)
        return -1;
    for (size_t i = 0; i < n && w->fw.io.fd >= 0; i++) {
        fw_arm_result r;
        fw_arm(w->fw.io.fd, -1, w->roots.paths[i], NULL, NULL, &r);
        fw_link *links = r.err ? NULL : calloc((size_t)r.n, sizeof *links);
        if (links && fw_adopt(&w->fw, &r, links, &w->roots, w->roots.paths[i])) {
            w->root_links[i] = links;
            w->nroot_links[i] = r.n;
        } else {
            free(links);
            fw_discard(&w->fw, &r);
        }
    }
    return 0;
}

/* The file-system watches, when the cache or the roots can use them. */
static int worker_open_watches(worker *w, const cfg *c)
{
    if (fw_init(&w->fw) < 0) {
        if (!w->fw.buckets)
            return -1;
        log_warn("open-file cache: no inotify instance (%s): cached files are checked on every request "
                 "(fs.inotify.max_user_instances)", strerror(errno));
    } else {
        w->fw.stale = worker_stale;
        w->fw.overflow = worker_fs_overflow;
        w->fw.arg = w;
        w->fw.io.on_event = on_fs_event;
        if (loop_add(&w->lp, &w->fw.io, EPOLLIN) < 0)
            return -1;
        w->lp.first[0] = &w->fw.io;
        w->fw.mio.on_event = on_mounts;
        if (w->fw.mio.fd >= 0 && loop_add(&w->lp, &w->fw.mio, EPOLLPRI) == 0)
            w->lp.first[1] = &w->fw.mio;
    }
    /* Each entry holds a descriptor: the cache takes only what the
     * connections cannot need (cfg_conn_fds), and at least a quarter of
     * the limit, so that connections do not run out first. */
    size_t cap = (size_t)c->open_file_cache;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        rlim_t conns = (rlim_t)cfg_conn_fds(c);
        rlim_t room = rl.rlim_cur > conns ? rl.rlim_cur - conns : 0;
        if (room < rl.rlim_cur / 4)
            room = rl.rlim_cur / 4;
        if (cap > room)
            cap = (size_t)room;
    }
    if (fc_init(&w->fc, cap, c->open_file_cache_valid_ms, c->open_file_cache_memory,
                w->fw.io.fd >= 0 ? &w->fw : NULL) < 0)
        return -1;
    w->fc.inactive_ms = c->open_file_cache_inactive_ms;
    return 0;
}

/* A deploy swapped a root: its files must not be served from the cache any more. */
static void worker_root_retired(void *arg, uint64_t id)
{
    worker *w = arg;
    fc_flush_root(&w->fc, id);
}

int worker_open(worker *w, const cfg *c, const int *listen_fds, size_t nlisten, const int *dirfds, char *err,
                size_t errlen)
{
    memset(w, 0, sizeof *w);
    time_memo_init(&w->dates);
    w->ctl_fd = -1;
    w->alog_flush_ms = -1;
    w->cfg = c;
    w->block_size = conn_block_size(c, &w->sizes);
    bool h2 = false;
    for (size_t i = 0; i < c->nlistens; i++)
        h2 |= c->listens[i].http2;
    /* An HTTP/2 stream takes a block as an HTTP/1.1 request does. */
    if (h2 && h2_block_size(c, &w->sizes) > w->block_size)
        w->block_size = h2_block_size(c, &w->sizes);
    timer_list_init(&w->t_header, c->header_timeout_ms);
    timer_list_init(&w->t_keepalive, c->keepalive_timeout_ms);
    timer_list_init(&w->t_send, c->send_timeout_ms);
    timer_list_init(&w->t_linger, c->lingering_time_ms);
    worker_tick(w);
    /* Room for every connection's event (and listeners, queue, watches):
     * a poll that fills the array cannot vouch that the file-system events
     * were empty (loop_peek_first), and the batch's end reads them then. */
    int nevents = c->worker_connections < LOOP_EVENTS_MAX - 64 ? c->worker_connections + 64 : LOOP_EVENTS_MAX;
    /* One slot per connection (a connection has at most one task in flight),
     * or per stream where a connection may be HTTP/2, one for the roots'
     * check, and the background hashes of etag = "content". */
    size_t owners = (size_t)c->worker_connections * (h2 ? c->http2_max_concurrent_streams : 1);
    /* Free blocks are kept for as many owners as may be busy at once (the
     * once-a-second trim gives back what a second did not need): with 256,
     * 1000 busy keep-alive connections mapped and unmapped a block per
     * request, page faults and TLB flushes at 21 us a request. */
    if (loop_init(&w->lp, nevents) < 0 ||
        arena_pool_init(&w->arenas, w->block_size, owners < ARENA_FREE_MAX ? owners : ARENA_FREE_MAX) < 0)
        return -1;
    if (wq_init(&w->q, &w->lp, c->wq_threads, owners + 1 + EXEC_HASHING_MAX) < 0 || (h2 && h2_worker_init(w) < 0))
        return -1;
    if (worker_open_logs(w, c, err, errlen) < 0)
        return -1;
    /* Content hashes (etag = "content") only where a place asks for them. */
    bool hashes = false;
    for (size_t i = 0; i < c->nservers; i++) {
        hashes |= c->servers[i].r.etag_content;
        for (size_t j = 0; j < c->servers[i].nlocs; j++)
            hashes |= c->servers[i].locs[j].r.etag_content;
    }
    if (hashes && hc_init(&w->hc, c->open_file_cache > 1024 ? c->open_file_cache : 1024) < 0)
        return -1;
    /* Counted into a slot of its own until worker_run gives it the master's. */
    /* aligned_alloc: a slot is cache-line aligned (its _Alignas), which calloc does not promise. */
    if (!(w->mx = w->mx_own = aligned_alloc(_Alignof(mx_slot), sizeof *w->mx_own)) ||
        !(w->mx_srv = calloc(c->nservers, sizeof *w->mx_srv)))
        return -1;
    memset(w->mx_own, 0, sizeof *w->mx_own);
    if (!(w->loc_scratch = loc_scratch_new()) || worker_open_watches(w, c) < 0)
        return -1;
    w->cached_open = c->ndirs > 0 && file_cached_open_supported(dirfds[0]);
    if (roots_init(&w->roots, c->dirs, c->ndirs, dirfds, w->cached_open) < 0 || worker_watch_roots(w) < 0)
        return -1;
    w->roots.on_retire = worker_root_retired;
    w->roots.arg = w;
    w->has_cachestat = true; /* until a call cannot tell (no cachestat, or EPERM for these files) */
    w->copy_cap = EXEC_COPY_MAX;
    if (!(w->copy_buf = malloc(w->copy_cap)))
        return -1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, WORKER_STOP_SIGNAL);
    w->sigio.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    w->sigio.on_event = on_signal;
    if (w->sigio.fd < 0 || loop_add(&w->lp, &w->sigio, EPOLLIN) < 0)
        return -1;
    w->listeners = calloc(nlisten, sizeof *w->listeners);
    if (!w->listeners)
        return -1;
    w->nlisteners = nlisten;
    for (size_t i = 0; i < nlisten; i++)
        w->listeners[i] = (listener){ .io = { listen_fds[i], on_accept }, .w = w };
    return 0;
}

void worker_close(worker *w)
{
    for (conn *c = w->live, *next; c; c = next) {
        next = c->live_next;
        conn_shutdown(c, false);
    }
    wq_destroy(&w->q); /* runs the completions that finish closing */
    worker_reap(w);
    h2_worker_free(w);
    for (size_t i = 0; w->root_links && i < w->roots.n; i++) {
        if (w->root_links[i])
            fw_release(&w->fw, w->root_links[i], w->nroot_links[i]);
        free(w->root_links[i]);
    }
    free(w->root_links);
    free(w->nroot_links);
    free(w->copy_buf);
    roots_destroy(&w->roots); /* every request has given its view back */
    while (w->free_conns) {
        conn *c = w->free_conns;
        w->free_conns = c->next;
        free(c);
    }
    log_info("worker exiting: %llu requests; open-file cache %llu hits, %llu misses (%llu not kept: "
             "the cache was full), %llu closed unused, %zu entries, %zu body bytes, %llu file-system "
             "events, %llu unwatched, %llu checks; lookups %llu on loop, %llu queued; small reads %llu "
             "on loop, %llu queued; file chunks %llu on loop, %llu queued, %llu bytes copied; "
             "TLS responses %llu with kernel TLS, %llu encrypted by OpenSSL; HTTP/2 %llu connections, "
             "%llu requests, %llu ended by an error; %llu connections closed to free a slot",
             (unsigned long long)w->stats.requests, (unsigned long long)w->fc.hits,
             (unsigned long long)w->fc.misses, (unsigned long long)w->fc.refused,
             (unsigned long long)w->fc.expired, w->fc.count, w->fc.body_bytes,
             (unsigned long long)w->fw.events,
             (unsigned long long)w->fc.unwatched, (unsigned long long)w->fc.checks,
             (unsigned long long)w->stats.open_loop,
             (unsigned long long)w->stats.open_queue, (unsigned long long)w->stats.read_loop,
             (unsigned long long)w->stats.read_queue, (unsigned long long)w->stats.send_loop,
             (unsigned long long)w->stats.send_queue, (unsigned long long)w->stats.copy_read,
             (unsigned long long)w->stats.tls_ktls,
             (unsigned long long)w->stats.tls_user, (unsigned long long)w->stats.h2_conns,
             (unsigned long long)w->stats.h2_streams, (unsigned long long)w->stats.h2_errors,
             (unsigned long long)w->stats.reclaimed);
    for (size_t i = 0; i < w->nalogs; i++)
        access_log_close(&w->alogs[i]);
    free(w->alogs);
    for (size_t i = 0; w->log_sets && i < w->cfg->nalog_sets; i++)
        free(w->log_sets[i].t);
    free(w->log_sets);
    free(w->mx_own);
    free(w->mx_srv);
    hc_destroy(&w->hc);
    loc_scratch_free(w->loc_scratch);
    fc_destroy(&w->fc);
    fw_destroy(&w->fw);
    arena_pool_destroy(&w->arenas);
    if (w->sigio.fd >= 0)
        close(w->sigio.fd);
    loop_close(&w->lp);
    free(w->listeners);
}

/* A worker that cannot start says why, to its error log and to the master,
 * which refuses a reload (or fails the start) with that reason. */
static void worker_failed(int ctl_fd, const char *why)
{
    log_error("%s", why);
    /* One write, under PIPE_BUF: the master reads it whole. A longer
     * reason (a long path) keeps its start and its end, where the error is. */
    char msg[WORKER_WHY_MAX];
    size_t len = strlen(why), room = sizeof msg - 2, head = room / 3;
    int n = len <= room ? snprintf(msg, sizeof msg, "E%s", why)
                        : snprintf(msg, sizeof msg, "E%.*s...%s", (int)head, why, why + len - (room - head - 3));
    if (ctl_fd >= 0 && write(ctl_fd, msg, (size_t)n) < 0)
        log_error("telling the master why: %s", strerror(errno));
}

/* Once per worker: how TLS responses will carry file bodies, and why. */
static void worker_tls_path(const worker *w)
{
    if (!w->tls || !w->tls->lis)
        return;
    if (!w->cfg->tls_ktls)
        log_info("TLS: file bodies are read into memory and encrypted by OpenSSL (tls_ktls is off)");
    else if (!tls_kernel_offers_ktls())
        log_warn("TLS: tls_ktls is on but this kernel offers no kernel TLS (no \"tls\" in "
                 "/proc/sys/net/ipv4/tcp_available_ulp; \"modprobe tls\", and list it in "
                 "/etc/modules-load.d/ to keep it): file bodies are read into memory and encrypted by OpenSSL");
    else
        log_info("TLS: file bodies go by SSL_sendfile, encrypted by the kernel, on connections whose "
                 "cipher it supports (others: read and encrypted by OpenSSL)");
}

/* The listening sockets are opened once by the master and shared by every
 * worker, each registering them with EPOLLEXCLUSIVE so that a new connection
 * wakes one worker, not all. We prefer this to SO_REUSEPORT by default
 * because reuseport gives each worker a private accept queue: in nginx, when
 * a worker exits on reload or stop, the connections waiting in its queue are
 * reset. With one shared queue owned by the master, workers can come and go
 * without a single connection being refused. A listener with "reuseport"
 * gets a socket per worker slot instead (spreading load evenly when one
 * worker would otherwise win most wake-ups); the master keeps each one open
 * across respawns, so its queue waits for the slot's next worker. */
/* Count in slot i of the master's region from now on, going on from its totals. */
static void worker_count_in(worker *w, mx_region *r, int i)
{
    w->mx = &r->slots[i];
    mx_read(w->mx, &w->mx_base);
    for (size_t k = 0; k < w->cfg->nservers; k++)
        w->mx_srv[k] = mx_find(r, cfg_server_label(&w->cfg->servers[k]));
}

int worker_run(const cfg *c, const int *listen_fds, size_t nlisten, const int *dirfds, const tls_gen *tls,
               int (*after_init)(const void *arg), const void *arg, int ctl_fd, mx_region *mx, int mx_index)
{
    char err[1024] = "";
    worker *w = calloc(1, sizeof *w);
    if (!w || worker_open(w, c, listen_fds, nlisten, dirfds, err, sizeof err) < 0) {
        if (!*err)
            snprintf(err, sizeof err, "worker initialisation failed: %s", strerror(errno));
        worker_failed(ctl_fd, err);
        free(w); /* the process ends now: what init opened goes with it */
        return 1;
    }
    if (after_init && after_init(arg) < 0) {
        snprintf(err, sizeof err, "worker cannot switch user: %s", strerror(errno));
        worker_failed(ctl_fd, err);
        worker_close(w);
        free(w);
        return 1;
    }
    if (w->cached_open)
        log_debug("worker started; cached lookups on the loop: yes");
    else /* once per worker: an admin should know why the queue does every lookup */
        log_info("worker started; openat2 with RESOLVE_CACHED is unavailable here (a kernel "
                 "before 5.12, or a seccomp filter): every file lookup goes to the write queue");
    w->ctl_fd = ctl_fd;
    w->tls = tls;
    /* Every worker reads the region (status pages, the drain flag); one
     * without a slot of its own (a shortage) counts where no one sees. */
    w->mx_region = mx;
    if (mx && mx_index >= 0)
        worker_count_in(w, mx, mx_index);
    worker_tls_path(w);
    listeners_set(w, true);
    if (w->ctl_fd >= 0 && write(w->ctl_fd, "R", 1) != 1)
        log_error("telling the master this worker is ready: %s", strerror(errno));
    worker_loop(w);
    worker_close(w);
    free(w);
    return 0;
}
