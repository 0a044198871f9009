/* worker/wq.h: the threaded write queue: a bounded pool for work that may block on a disk.
 *
 * Ownership rule: a task belongs to the loop until wq_submit(), to exactly
 * one pool thread while its work() runs, and to the loop again when its
 * done() is called. work() touches only the task's own context (the struct
 * that embeds wq_task: fds, offsets, lengths, result, errno), never a
 * connection, the config or the loop, and never logs. done() runs on the loop
 * thread, after the eventfd tells the loop that tasks have finished; the
 * pool's mutex orders every write of work() before every read of done(). */
#ifndef EP_WORKER_WQ_H
#define EP_WORKER_WQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/str.h"
#include "worker/loop.h"

typedef struct wq_task {
    void (*work)(struct wq_task *t); /* pool thread */
    void (*done)(struct wq_task *t); /* loop thread */
    struct wq_task *next;
    int64_t t_submit, t_start, t_end; /* CLOCK_MONOTONIC ns: queued, taken by a thread, done */
} wq_task;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    wq_task *head, *tail; /* pending tasks, linked through next: no array to size */
    size_t cap, count;    /* at most cap pending */
    wq_task *done_head, *done_tail;
    bool stopping;
    int nthreads;
    pthread_t *threads;
    loop_io io; /* the eventfd */
    loop *lp;
    uint64_t tasks_done, wait_ns, run_ns; /* loop thread only: the status page's figures */
} wq;

/* capacity bounds pending tasks; give it at least the number of owners
 * that can have a task in flight (one each: an HTTP/1.1 connection, an
 * HTTP/2 stream), and wq_submit cannot fail. */
int wq_init(wq *q, loop *lp, int nthreads, size_t capacity);
/* Returns 0, or -1 when the queue is full (the caller answers 503). */
int wq_submit(wq *q, wq_task *t);
/* Let queued tasks finish, run their done() callbacks, join the threads. */
void wq_destroy(wq *q);

#endif
