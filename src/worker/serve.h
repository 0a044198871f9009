/* worker/serve.h: applying the configured rules to a parsed request. */
#ifndef EP_WORKER_SERVE_H
#define EP_WORKER_SERVE_H

#include "worker/conn.h"

/* The head is parsed and c->path decoded: choose the server and location
 * and answer (directly, or after a lookup on the loop or in a task). */
void serve_request(conn *c);
/* "OPTIONS *": what the listener's default server allows. */
void serve_options_asterisk(conn *c);

/* Write-queue side of a lookup (runs on a queue thread, touches only the task). */
void serve_task_work(conn_task *k);
/* The lookup task finished (loop thread): answer with its result. */
void serve_lookup_done(conn *c);
/* The connection closed while its lookup ran: drop what the lookup holds. */
void serve_task_abandon(conn_task *k);

#endif
