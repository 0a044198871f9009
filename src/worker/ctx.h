/* worker/ctx.h: the state one worker process shares among its parts: configuration, loop, queue, timers, caches, logs, counters.
 *
 * Plain data. worker.c owns it and the connection registry in it (the
 * live, free and closed lists and the count); conn.c and exec.c read it and
 * use its loop, queue, timers and caches. */
#ifndef EP_WORKER_CTX_H
#define EP_WORKER_CTX_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config/model.h"
#include "http/route.h"
#include "tls/tls.h"
#include "log/access.h"
#include "log/metrics.h"
#include "util/arena.h"
#include "util/freelist.h"
#include "util/time.h"
#include "worker/fcache.h"
#include "worker/hcache.h"
#include "worker/loop.h"
#include "worker/roots.h"
#include "worker/timer.h"
#include "worker/wq.h"

struct conn;
struct listener;

/* Buffered access-log lines are written at most this long after the first
 * of them, as nginx's "flush=" does: a busy worker still makes one write()
 * per many requests, and a quiet one never sits on a line. */
#define ALOG_FLUSH_MS 1000

/* One access log of a place: the file, the format, the least status. */
typedef struct {
    access_log *log;
    const lf_format *fmt;
    int min_status;
} wlog_target;

typedef struct wlog_set {
    wlog_target *t;
    size_t n;
} wlog_set;

/* Counters that show which path the work took; logged when the worker exits. */
typedef struct {
    uint64_t requests;
    uint64_t open_loop, open_queue;   /* lookups answered from cache vs. handed off */
    uint64_t read_loop, read_queue;   /* small bodies read on the loop vs. in a task */
    uint64_t send_loop, send_queue;   /* sendfile chunks on the loop vs. in a task */
    uint64_t copy_read;               /* file bytes read into the copy buffer (some are read again after a short write) */
    uint64_t tls_ktls, tls_user;      /* TLS responses: the kernel encrypts files, or OpenSSL all of it */
    uint64_t h2_conns, h2_streams;    /* HTTP/2 connections, and the requests they carried */
    uint64_t h2_errors;               /* HTTP/2 connections ended with an error GOAWAY */
    uint64_t accept_paused;
    uint64_t reclaimed;               /* connections closed to free a slot (conn_reclaim) */
} worker_stats;

typedef struct worker {
    const cfg *cfg;
    loop lp;
    wq q;
    arena_pool arenas;
    size_t block_size;
    route_sizes sizes;        /* routing's parts of a block (conn_block_size) */
    access_log *alogs;        /* one per distinct access log path */
    size_t nalogs;
    struct wlog_set *log_sets; /* per cfg->nalog_sets: where a place's lines go (conn_access) */
    int64_t alog_flush_ms;    /* when buffered lines must be written, -1: none buffered */
    void *loc_scratch;        /* for loc_match */
    fcache fc;                /* open-file cache (open_file_cache entries) */
    hcache hc;                /* content hashes of files (etag = "content"), by identity */
    int hashing;              /* background hashes of large files in flight (exec_hash_later) */
    fwatch fw;                /* what changed on disk (the cache's files, the roots' paths) */
    fw_link **root_links;     /* per cfg->dirs entry: the watches on its path's folders */
    int *nroot_links;
    bool roots_kicked;        /* a folder on a root's path changed */
    bool fs_fresh;            /* no request bytes received since the events were last read */
    bool batching;            /* dispatching a batch: heads received wait for conn_rx_run */
    struct conn_req *rx;      /* those heads (worker/conn.c) */
    struct h2_conn *h2rx;     /* HTTP/2 connections with bytes received in the batch (worker/h2.c) */
    size_t h2rx_bytes;        /* ... and those bytes */
    bool fc_warned;           /* the cache's fallback to revalidation was logged */
    timer_list t_header, t_keepalive, t_send, t_linger;
    int64_t now_ms;
    time_t now_sec;
    char date[TIME_HTTP_LEN + 1];
    time_memo dates;          /* Last-Modified values formatted lately (http/response.c) */
    struct listener *listeners;
    size_t nlisteners;
    roots roots;              /* cfg->dirs, re-resolved now and then (a deploy swaps a symlink) */
    int nconns;
    uint64_t conn_serial;     /* connections taken so far ($connection) */
    bool accept_paused;
    bool accept_full;         /* paused because worker_connections are all taken */
    bool reclaim_warned;      /* conn_reclaim's first use is logged */
    int64_t accept_resume_ms;
    struct conn *free_conns;  /* recycled connection structs */
    struct conn *dead;        /* closed this iteration (conn.c adds them), freed after dispatch */
    struct conn *live;        /* every open connection, for shutdown */
    bool cached_open;         /* RESOLVE_CACHED works here */
    bool has_cachestat;       /* cachestat() answers here; cleared when it cannot (ENOSYS, EPERM) */
    char *copy_buf;           /* file bytes on their way to a plain TCP socket (exec_send_copy) */
    size_t copy_cap;
    bool stopping;            /* fast stop */
    bool graceful;            /* finish in-flight requests, accept nothing new */
    bool stop_idle;           /* graceful stop of the server: idle connections close at once */
    loop_io sigio;
    int ctl_fd;               /* to the master: -1 once closed (not accepting) */
    worker_stats stats;
    mx_slot *mx;              /* where the status page's counters go: the master's region, or mx_own */
    mx_slot *mx_own;          /* counted but shown nowhere: a worker without a region (tests, no slot) */
    const mx_region *mx_region; /* every worker's counters, for status pages; NULL: none */
    mx_counters mx_base;      /* the slot's totals when this worker took it over (worker_publish) */
    int *mx_srv;              /* per cfg server: its index in the region's names */
    const tls_gen *tls;       /* the generation's TLS contexts (the master's, inherited) */
    char *h2_out_spare;       /* an HTTP/2 output buffer that went idle, for the next to need one */
    freelist h2_fl;           /* HPACK's small blocks (worker/h2.c's allocator for nghttp2's HPACK) */
    void *h2_mem;             /* its nghttp2_mem (an anonymous struct in nghttp2.h) */
} worker;

/* Read what changed on disk and act on it: stale cache entries go, a
 * root's path is resolved again. Before the cache answers a request: the
 * kernel queued every change the request's client could have seen before
 * it sent the request, but a request read in the middle of a loop
 * iteration (a keep-alive connection's next one, a connection accepted
 * with others) may have been sent after the iteration's events were read.
 * Bytes received before the last reading are covered by it (fs_fresh):
 * HTTP/2 streams that came in one read, pipelined requests, pay once. */
static inline void worker_fs_settle(worker *w)
{
    w->fs_fresh = true;
    fw_drain(&w->fw);
    fc_sweep(&w->fc);
    if (w->roots_kicked) {
        w->roots_kicked = false;
        roots_check_now(&w->roots, &w->q, w->now_ms);
    }
}

/* worker_fs_settle where request bytes came in since the last reading. */
static inline void worker_fs_catch_up(worker *w)
{
    if (!w->fs_fresh && w->fw.io.fd >= 0)
        worker_fs_settle(w);
}

#endif
