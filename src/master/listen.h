/* master/listen.h: opening listening sockets. */
#ifndef EP_MASTER_LISTEN_H
#define EP_MASTER_LISTEN_H

#include <stddef.h>

#include "config/model.h"

/* Open, bind and listen; non-blocking. Returns the fd, or -1 with a one-line
 * reason in err. */
int listen_open(const cfg_listen *l, char *err, size_t errlen);

#endif
