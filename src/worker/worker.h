/* worker/worker.h: one worker process: its loop, write queue, timers, listeners and connections. */
#ifndef EP_WORKER_WORKER_H
#define EP_WORKER_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config/model.h"
#include "log/access.h"
#include "worker/fcache.h"
#include "util/arena.h"
#include "util/time.h"
#include "worker/loop.h"
#include "worker/roots.h"
#include "worker/timer.h"
#include "worker/wq.h"

struct conn;
struct worker;

/* Buffered access-log lines are written at most this long after the first
 * of them, as nginx's "flush=" does: a busy worker still makes one write()
 * per many requests, and a quiet one never sits on a line. */
#define ALOG_FLUSH_MS 1000

/* The master's word that the whole server stops (a plain QUIT retires a
 * worker after a reload, while a new generation serves). A real-time signal
 * of its own, which the kernel never merges with a QUIT still pending (a
 * QUIT sent with a value would be lost behind a plain one). The master
 * blocks it before forking, so a worker never dies of it before reading
 * it from its signalfd. */
#define WORKER_STOP_SIGNAL (SIGRTMIN + 2)

/* The longest message a worker that cannot start sends its master ('E' and
 * the reason), within PIPE_BUF so that it arrives in one read. */
#define WORKER_WHY_MAX 512

typedef struct {
    loop_io io;
    struct worker *w;
    bool active; /* registered with the loop */
} listener;

/* Counters that show which path the work took; logged when the worker exits. */
typedef struct {
    uint64_t requests;
    uint64_t open_loop, open_queue;   /* lookups answered from cache vs. handed off */
    uint64_t read_loop, read_queue;   /* small bodies read on the loop vs. in a task */
    uint64_t send_loop, send_queue;   /* sendfile chunks on the loop vs. in a task */
    uint64_t accept_paused;
} worker_stats;

typedef struct worker {
    const cfg *cfg;
    loop lp;
    wq q;
    arena_pool arenas;
    size_t block_size;
    size_t head_size, scratch_size; /* parts of a block (conn_block_size) */
    access_log *alogs;        /* one per distinct access log path */
    size_t nalogs;
    access_log **srv_alog;    /* per cfg server: its log, or NULL ("off") */
    int64_t alog_flush_ms;    /* when buffered lines must be written, -1: none buffered */
    void *loc_scratch;        /* for loc_match */
    fcache fc;                /* open-file cache (open_file_cache entries) */
    timer_list t_header, t_keepalive, t_send, t_linger;
    int64_t now_ms;
    time_t now_sec;
    char date[TIME_HTTP_LEN + 1];
    listener *listeners;
    size_t nlisteners;
    roots roots;              /* cfg->dirs, re-resolved now and then (a deploy swaps a symlink) */
    int nconns;
    bool accept_paused;
    int64_t accept_resume_ms;
    struct conn *free_conns;  /* recycled connection structs */
    struct conn *dead;        /* closed this iteration, freed after dispatch */
    struct conn *live;        /* every open connection, for shutdown */
    bool cached_open;         /* RESOLVE_CACHED works here */
    bool has_cachestat;       /* cachestat() works here; cleared on ENOSYS */
    bool stopping;            /* fast stop */
    bool graceful;            /* finish in-flight requests, accept nothing new */
    bool stop_idle;           /* graceful stop of the server: idle connections close at once */
    loop_io sigio;
    int ctl_fd;               /* to the master: -1 once closed (not accepting) */
    worker_stats stats;
} worker;

/* Run a worker until it is told to stop. listen_fds and dirfds (one per
 * cfg->dirs entry) were opened by the master and stay owned by it; the
 * worker serves from dirfds until a path names another directory
 * (worker/roots.h), which it then opens itself.
 * after_init(arg), when given, runs once the worker has opened its logs and
 * before it serves (the master drops privileges there); failing it ends the
 * worker. ctl_fd (or -1) tells the master how far the worker is: one byte
 * once it accepts connections, and end-of-file (the worker closes it) once it
 * has stopped accepting for good. Returns the process exit status. */
int worker_run(const cfg *c, const int *listen_fds, size_t nlisten, const int *dirfds,
               int (*after_init)(const void *arg), const void *arg, int ctl_fd);

/* Called by connections: a slot was freed, accepting may resume. */
void worker_conn_released(worker *w);

#endif
