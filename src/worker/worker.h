/* worker/worker.h: one worker process: its loop, write queue, timers, listeners and connections. */
#ifndef EP_WORKER_WORKER_H
#define EP_WORKER_WORKER_H

#include <signal.h>
#include <stddef.h>

#include "config/model.h"
#include "log/metrics.h"
#include "tls/tls.h"

struct worker;
struct conn;
struct sockaddr;

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

/* Run a worker until it is told to stop. listen_fds and dirfds (one per
 * cfg->dirs entry) were opened by the master and stay owned by it; the
 * worker serves from dirfds until a path names another directory
 * (worker/roots.h), which it then opens itself. tls: the generation's TLS
 * contexts, built by the master (none when no listener is TLS).
 * after_init(arg), when given, runs once the worker has opened its logs and
 * before it serves (the master drops privileges there); failing it ends the
 * worker. ctl_fd (or -1) tells the master how far the worker is: one byte
 * once it accepts connections, and end-of-file (the worker closes it) once it
 * has stopped accepting for good. mx (or NULL): the master's status-page
 * counters and drain flag, of which slot mx_index (-1: none free) is this
 * worker's. Returns the process exit status. */
int worker_run(const cfg *c, const int *listen_fds, size_t nlisten, const int *dirfds, const tls_gen *tls,
               int (*after_init)(const void *arg), const void *arg, int ctl_fd, mx_region *mx, int mx_index);

/* The parts worker_run is made of, open so that tests and fuzzers drive a
 * worker's connections through the very code it serves them with (a real
 * worker only ever calls worker_run). */

/* Set up w (worker/ctx.h) as a worker does before it serves: loop, arena
 * pool, write queue, HTTP/2 callbacks, access logs, open-file cache, root
 * views over dirfds, the signalfd and the listeners (registered later by
 * worker_run). -1, with the reason in err when there is one; what it had
 * opened is then not undone (a worker process ends there). */
int worker_open(struct worker *w, const cfg *c, const int *listen_fds, size_t nlisten, const int *dirfds,
                char *err, size_t errlen);
/* Close every connection at once, wait for the tasks in flight, free all. */
void worker_close(struct worker *w);
/* An accepted non-blocking socket becomes a connection of the registry:
 * served at once (conn_start), then registered with the loop. Returns the
 * connection while it is registered, NULL once it is gone (closed at once)
 * or could not be made (fd is closed either way). */
struct conn *worker_adopt(struct worker *w, int fd, const struct sockaddr *peer, size_t listen_idx);
/* One turn of the worker's loop: wait for events at most until the next
 * deadline (and at most max_ms when max_ms >= 0), dispatch them, run the
 * timers, the roots' check and the log flush, and free the connections that
 * closed. Returns the number of events dispatched, or -1 (errno) when
 * epoll_wait failed. */
int worker_step(struct worker *w, int max_ms);

#endif
