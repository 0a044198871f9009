/* master/listen.h: opening listening sockets. */
#ifndef EP_MASTER_LISTEN_H
#define EP_MASTER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "config/model.h"

/* Open, bind and listen; non-blocking. Returns the fd, or -1 with a one-line
 * reason in err. */
int listen_open(const cfg_listen *l, char *err, size_t errlen);

/* True when a and b name the same socket (address, port, reuseport), so a
 * reload can pass it on instead of reopening it. */
bool listen_same(const cfg_listen *a, const cfg_listen *b);

/* Apply backlog and deferred accept to a socket passed on from the previous
 * generation. 0, or -1 with a one-line reason in err. */
int listen_tune(int fd, const cfg_listen *l, char *err, size_t errlen);

/* Sockets systemd passed (socket activation: LISTEN_PID is us, LISTEN_FDS
 * counts descriptors from 3). Taken once, at start; the variables are then
 * removed so that no child sees them. */
typedef struct {
    int fd[64];
    size_t n;
} listen_pool;

void listen_inherit(listen_pool *p);

/* An inherited socket listening on l's address and port, taken out of the
 * pool (made non-blocking and close-on-exec), or -1. */
int listen_take(listen_pool *p, const cfg_listen *l);

/* Close what no listener took, warning with each socket's address. */
void listen_pool_release(listen_pool *p);

#endif
