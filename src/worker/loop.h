/* worker/loop.h: a tiny epoll event loop (one per worker, single-threaded). */
#ifndef EP_WORKER_LOOP_H
#define EP_WORKER_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

/* Everything the loop watches embeds one of these; epoll hands it back. */
typedef struct loop_io {
    int fd;
    void (*on_event)(struct loop_io *io, uint32_t events);
} loop_io;

typedef struct {
    int epfd;
    int nevents;
    struct epoll_event *events;
    int n, next;       /* the last poll's events, and the first not yet dispatched */
    loop_io *first[2]; /* dispatched before the others whenever ready (file-system events, mounts) */
} loop;

int loop_init(loop *l, int nevents);
void loop_close(loop *l);
int loop_add(loop *l, loop_io *io, uint32_t events);
int loop_del(loop *l, loop_io *io);
/* Wait up to timeout_ms (-1: forever) and dispatch. Returns events handled or -1. */
int loop_run_once(loop *l, int timeout_ms);
/* Poll without waiting and dispatch only the first descriptors' events; the
 * others wait for loop_run_pending. True when the poll reported every ready
 * descriptor (it had room to spare): a first descriptor it did not report
 * had nothing to say when it began. */
bool loop_peek_first(loop *l);
/* Dispatch the events loop_peek_first left. Returns how many. */
int loop_run_pending(loop *l);

#endif
