/* worker/serve.h: applying the configured rules to a parsed request. */
#ifndef EP_WORKER_SERVE_H
#define EP_WORKER_SERVE_H

#include "worker/conn.h"

/* The head is parsed and c->path decoded: choose the server and location
 * and answer (directly, or after a lookup on the loop or in a task). */
void serve_request(conn *c);
/* "OPTIONS *": what the listener's default server allows. */
void serve_options_asterisk(conn *c);

#endif
