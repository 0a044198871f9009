/* worker/loop.c: epoll wait and dispatch; nothing else lives here. */
#include "worker/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int loop_init(loop *l, int nevents)
{
    l->nevents = nevents;
    l->events = calloc((size_t)nevents, sizeof *l->events);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->n = l->next = 0;
    l->first[0] = l->first[1] = NULL;
    if (!l->events || l->epfd < 0) {
        free(l->events);
        return -1;
    }
    return 0;
}

void loop_close(loop *l)
{
    if (l->epfd >= 0)
        close(l->epfd);
    free(l->events);
    l->events = NULL;
    l->epfd = -1;
    l->n = l->next = 0;
}

int loop_add(loop *l, loop_io *io, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = io };
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

int loop_del(loop *l, loop_io *io)
{
    return epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

/* What changed on disk is known before any request of this batch is
 * served (worker/fwatch.h): the request that saw it never gets the
 * cache's older answer. A dispatched event's slot is emptied. */
static void loop_dispatch_first(loop *l)
{
    for (int k = 0; k < 2; k++)
        for (int i = l->next; l->first[k] && i < l->n; i++)
            if (l->events[i].data.ptr == l->first[k]) {
                l->events[i].data.ptr = NULL;
                l->first[k]->on_event(l->first[k], l->events[i].events);
                break;
            }
}

int loop_run_pending(loop *l)
{
    int done = 0;
    while (l->next < l->n) {
        struct epoll_event ev = l->events[l->next++];
        loop_io *io = ev.data.ptr;
        if (io) {
            io->on_event(io, ev.events);
            done++;
        }
    }
    return done;
}

int loop_run_once(loop *l, int timeout_ms)
{
    l->n = l->next = 0;
    int n = epoll_wait(l->epfd, l->events, l->nevents, timeout_ms);
    if (n <= 0)
        return n < 0 && errno != EINTR ? -1 : 0;
    l->n = n;
    loop_dispatch_first(l);
    loop_run_pending(l);
    return n;
}

bool loop_peek_first(loop *l)
{
    /* Events still pending would be overwritten: never the case in the
     * worker (it peeks with all dispatched), but refuse rather than lose them. */
    if (l->next < l->n)
        return false;
    l->n = l->next = 0;
    int n = epoll_wait(l->epfd, l->events, l->nevents, 0);
    if (n < 0) /* EINTR included: this poll saw nothing */
        return false;
    l->n = n;
    loop_dispatch_first(l);
    /* epoll hands out its ready list up to the array's room: with room to
     * spare, every descriptor ready when the poll began was reported. */
    return n < l->nevents;
}
