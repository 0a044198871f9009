/* worker/conn.h: an HTTP/1.1 connection: read a head, route it, have the plan executed, keep alive or close.
 *
 * A connection holds only what an idle keep-alive connection needs: the
 * socket, its state, timer and registry links, readiness flags and the
 * client's address. Everything a request needs (read buffer, parsed head,
 * request, routing state and plan, executor, head buffer, scratch) lives in
 * conn_req, at the start of an arena block taken when bytes arrive and
 * given back when the connection goes idle. */
#ifndef EP_WORKER_CONN_H
#define EP_WORKER_CONN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/ssl.h>

#include "http/route.h"
#include "log/access.h"
#include "log/log.h"
#include "worker/ctx.h"
#include "worker/timer.h"

enum conn_state {
    CS_PROXY,     /* reading a PROXY protocol header, under the header deadline */
    CS_HANDSHAKE, /* a TLS handshake, under the header deadline */
    CS_IDLE,   /* keep-alive, between requests: holds no block */
    CS_HEAD,   /* reading a request head, under the header deadline */
    CS_TASK,   /* a write-queue task owns the request's I/O */
    CS_SEND,   /* sending the response from the loop */
    CS_BODY,   /* response sent; skipping the request body */
    CS_LINGER, /* write side shut; draining input before close */
    CS_H2,     /* HTTP/2: worker/h2.c drives it */
};

/* An IPv4 or IPv6 peer (the listeners are TCP only): 28 bytes, not a
 * sockaddr_storage's 128. */
typedef union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} conn_peer;

struct conn_req;

typedef struct conn {
    loop_io io;
    worker *w;
    timer_node timer;
    struct conn *live_prev, *live_next; /* worker.c's registry */
    struct conn *next;                  /* worker.c's free list, or closed this iteration */
    struct conn_req *rq;                /* the block while a request is under way, NULL while idle */
    uint32_t requests;
    uint64_t serial;                    /* the worker's count of connections when it came ($connection) */
    uint32_t listen_idx;                /* which listener accepted it: picks the virtual server */
    uint8_t state;                      /* enum conn_state */
    bool can_read, can_write;
    bool task_busy;                     /* a task is in flight: the struct and block must not go */
    bool closed;
    bool nodelay;                       /* TCP_NODELAY is set */
    bool plain_on_tls;                  /* a cleartext request came to a TLS listener */
    int32_t linger_outq;                /* CS_LINGER: bytes the client had not acknowledged at the last expiry, */
    int64_t linger_moved_ms;            /* ... and when they last shrank */
    int64_t req_ms;                     /* when the current request's first byte came (CS_HEAD) */
    conn_peer peer;                     /* the client (after a PROXY header: the header's) */
    conn_peer pp_peer;                  /* the PROXY header's client, when proxied */
    bool proxied;                       /* a PROXY header named the client */
    bool rdhup;                         /* epoll said the client's FIN came: read on to end of file */
    uint32_t tls_srv;                   /* the server SNI chose (its certificate), once the handshake is done */
    SSL *ssl;                           /* a TLS listener's connection, or NULL */
    struct h2_conn *h2;                 /* HTTP/2 state (CS_H2), or NULL */
} conn;

/* Bytes of the arena block each busy connection takes under cf's limits;
 * *rs gets the sizes of the routing parts in it. */
size_t conn_block_size(const cfg *cf, route_sizes *rs);
/* Take over c, an accepted socket that worker.c has registered. */
void conn_init(conn *c, worker *w, int fd, const struct sockaddr *peer, size_t listen_idx);
/* Every change of c->state after conn_init: the worker counts its
 * connections by state (the status page's gauges). */
void conn_set_state(conn *c, enum conn_state s);
/* The status page's gauge (Reading, Writing, Waiting) a connection in
 * state s counts in. */
uint64_t *conn_gauge(worker *w, enum conn_state s);
/* Serve the request heads received during the batch just dispatched
 * (worker.batching), after one reading of the file-system events. */
void conn_rx_run(worker *w);
/* Serve whatever the new connection has already sent. */
void conn_start(conn *c);
/* Timer expiry for c (which list tells why). */
void conn_timeout(conn *c, timer_list *which);
/* Close now (fast stop), or at the end of the current response (graceful). */
void conn_shutdown(conn *c, bool graceful);
/* worker_connections are all taken: close up to max connections that
 * need their slot least (lingering ones whose client has every byte, then
 * idle keep-alive ones), oldest first. Returns how many. */
int conn_reclaim(worker *w, int max);

/* For the HTTP/2 side (worker/h2.c), which shares the socket, TLS,
 * readiness, timer and registry of the connection. */
/* recv() or SSL_read_ex, with recv's returns; on EAGAIN the readiness the
 * read waits for is cleared. */
ssize_t conn_recv(conn *c, void *buf, size_t len);
/* send() or SSL_write_ex, with send's returns; on EAGAIN likewise. */
ssize_t conn_write(conn *c, const void *buf, size_t len);
/* Close for good (the struct goes once no task is in flight). */
void conn_close(conn *c);
/* Everything is sent: shut our side and read until the client closes (or
 * the linger timeout), so that frames it still sends cannot turn into a
 * reset that destroys the data it has not read yet. */
void conn_wind_down(conn *c);
/* The last task of a closed connection is back: the struct goes now. */
void conn_release_closed(conn *c);
/* A request of c that routing rt took to a server (none: the listener's
 * default server) and a place (none: the server's rules), is over: counted, and logged (e gets what the connection and rq
 * know; the caller gives the status, bytes, time and request line). */
void conn_access(conn *c, const route *rt, const http_req *rq, access_entry *e);
/* An error-log line about c's request: ", client: ..., server: ...,
 * request: \"...\"" appended, as nginx writes them. */
void conn_log_msg(conn *c, enum log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Drives c's TLS handshake (worker/conntls.c). A first byte that cannot
 * start a TLS record is a cleartext request (answered 400, saying so, as
 * nginx does) when it looks like a method, else garbage (closed). Returns
 * false to wait (or when h2.c took the connection over, or it closed). */
bool conn_tls_handshake(conn *c);
/* An error-log line with the client (peer: the one real_ip_from's proxies
 * named; NULL: c's), server s and the request line. */
void conn_vlog(conn *c, const cfg_server *s, const struct sockaddr *peer, ep_str request, enum log_level level,
               const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

#endif
