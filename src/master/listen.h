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

#endif
