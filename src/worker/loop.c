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

int loop_run_once(loop *l, int timeout_ms)
{
    int n = epoll_wait(l->epfd, l->events, l->nevents, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    /* What changed on disk is known before any request of this batch is
     * served (worker/fwatch.h): the request that saw it never gets the
     * cache's older answer. */
    int first[2] = { -1, -1 };
    for (int k = 0; k < 2; k++)
        for (int i = 0; l->first[k] && i < n; i++)
            if (l->events[i].data.ptr == l->first[k]) {
                first[k] = i;
                l->first[k]->on_event(l->first[k], l->events[i].events);
                break;
            }
    for (int i = 0; i < n; i++) {
        loop_io *io = l->events[i].data.ptr;
        if (i != first[0] && i != first[1])
            io->on_event(io, l->events[i].events);
    }
    return n;
}
