/* worker/h2.h: HTTP/2 on a connection (http/h2sess.c over nghttp2's HPACK): streams become requests routed to plans, and plans go out as HEADERS and DATA.
 *
 * A connection turns HTTP/2 after a TLS handshake that chose "h2" by ALPN,
 * or, on a cleartext listener with http2, when its first bytes are the
 * connection preface (h2c by prior knowledge). From then on the
 * connection's events come here. Each stream takes a block of its own
 * (h2_block_size) with the request, its routing state and an executor in
 * pull mode (exec_use_pull): DATA frames ask for the next bytes of the
 * plan, page-cached file bytes are read on the loop, a cold chunk goes to
 * the write queue with the stream deferred and resumed when it is back.
 *
 * Ownership: as for HTTP/1.1, a stream whose task is in flight keeps its
 * block until the task is back, even when the client reset it or the
 * connection closed; the connection counts such streams (task_busy) and is
 * freed only when none is left. Streams, live and reset ones together,
 * never exceed http2_max_concurrent_streams: the write queue needs one slot
 * per stream at most. */
#ifndef EP_WORKER_H2_H
#define EP_WORKER_H2_H

#include <stdbool.h>
#include <stddef.h>

#include "http/route.h"
#include "worker/conn.h"

struct h2_conn;

/* The connection preface a client sends first (RFC 9113 3.4). */
#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24

/* Bytes of a stream's block under cf's limits (rs: route_sizes_of's). */
size_t h2_block_size(const cfg *cf, const route_sizes *rs);
/* The worker's allocator for HPACK (nghttp2's), made once. -1: no memory. */
int h2_worker_init(worker *w);
void h2_worker_free(worker *w);

/* Serve c as HTTP/2 from now on; in[0..len) are bytes already read (the
 * preface of an h2c connection), fed first. -1: no memory (c is closed). */
int h2_start(conn *c, const char *in, size_t len);
/* Readiness changed, or a timer or task asks to go on. */
void h2_drive(conn *c);
/* Decode the bytes HTTP/2 connections received in the batch (worker/conn.c's conn_rx_run). */
void h2_rx_run(worker *w);
/* c's timer fired. */
void h2_timeout(conn *c, timer_list *which);
/* GOAWAY: at once (fast stop), or after the streams in flight (graceful). */
void h2_shutdown(conn *c, bool graceful);
/* c is released: streams, session and buffers go (no task is in flight). */
void h2_free(conn *c);

#endif
