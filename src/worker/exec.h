/* worker/exec.h: the plan executor: runs a route's pending lookups where they cannot stall the loop, then sends the plan's head and segments.
 *
 * Routing (http/route.h) leaves a plan (http/plan.h): status, fields,
 * segments. The connection's protocol writes the head into hbuf (HTTP/1.1
 * today); the executor sends it and the segments in order:
 *   - memory segments, with the head in front, gathered into one vectored
 *     write while they are consecutive;
 *   - file ranges in chunks: from the loop while the pages are cached
 *     (cachestat, or RWF_NOWAIT probes), else each chunk as a write-queue
 *     task; a lone small range that is cached is read into memory first, so
 *     that head and body leave in one write.
 * Bytes reach the peer only through a transport, the segment interface:
 *   writev(x, iov, n, more)    memory (more: further bytes follow at once);
 *   sendfile(x, fd, &off, len) a file range, on the loop or a queue thread.
 * Both return bytes written or -1 with errno (EAGAIN: wait for
 * writability). TCP is sendmsg(MSG_MORE) and sendfile(2). TLS will be
 * SSL_write_ex and SSL_sendfile with kTLS (pread + SSL_write without it);
 * HTTP/2 will frame each segment's bytes as DATA on its stream. Neither
 * reaches into routing, which only ever sees segments.
 *
 * Ownership: the loop owns an exec, except while task_busy: then the task
 * touches only its own fields (the lookup: rt.lookup; a chunk: task.*),
 * and its completion comes back to the loop through the hooks. Each kind of
 * task (a lookup, a chunk) has its own work and done functions. */
#ifndef EP_WORKER_EXEC_H
#define EP_WORKER_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <openssl/ssl.h>

#include "http/route.h"
#include "worker/ctx.h"

struct exec;

/* The worker's copy buffer: the most file bytes one write over plain TCP
 * carries. The 954 KB file cost about 130 us of server CPU a request with
 * 256 KiB, 180 with 128 KiB, no less with 512 KiB (lighttpd's sendfile
 * chunk is 256 KiB too). */
#define EXEC_COPY_MAX ((size_t)256 << 10)

typedef struct {
    ssize_t (*writev)(struct exec *x, const struct iovec *iov, int n, bool more);
    /* NULL: the transport cannot send from a file (TLS without kTLS): the
     * executor reads each chunk into tbuf (RWF_NOWAIT on the loop, else a
     * task) and writes it as memory. */
    ssize_t (*sendfile)(struct exec *x, int fd, off_t *off, size_t len);
} exec_transport;

extern const exec_transport exec_tcp;  /* send; hot file bytes copied through the worker's copy_buf */
extern const exec_transport exec_tls;  /* SSL_write_ex; files through tbuf */
extern const exec_transport exec_ktls; /* SSL_write_ex; SSL_sendfile where the kernel encrypts */

enum exec_result {
    EXEC_READY,   /* the plan is complete: write the head, exec_prepare, exec_send */
    EXEC_SENDING, /* go on with exec_send: the socket takes bytes */
    EXEC_WAIT,    /* a task runs, or the socket is full */
    EXEC_DONE,    /* everything is sent */
    EXEC_ERROR,   /* the connection cannot go on */
};

/* The owner's side (the connection), called on the loop when a task is back. */
typedef struct {
    /* First: false when the owner went away meanwhile; it has then dropped
     * the exec (exec_abandon) and the task's result with it. */
    bool (*back)(struct exec *x);
    /* Then, where the owner still wants it: a lookup's outcome (EXEC_READY,
     * or EXEC_WAIT for another lookup in flight), or a chunk's (EXEC_SENDING:
     * go on, the socket still takes bytes; EXEC_WAIT: go on once it is
     * writable; EXEC_ERROR). */
    void (*carry_on)(struct exec *x, enum exec_result r);
    void (*note)(struct exec *x, const char *line); /* routing left a line for the error log */
} exec_hooks;

typedef struct exec {
    worker *w;
    const exec_transport *tp;
    const exec_hooks *hooks;
    int sock;
    SSL *ssl;              /* the TLS connection, or NULL */
    char *tbuf;            /* a file chunk read for a transport without sendfile */
    size_t tcap, tlen, tsent;
    route rt;              /* the routing state and its plan */
    root_view *view;       /* the directories this request resolves beneath, or NULL */
    fc_entry *fce;         /* plan.fd belongs to this open-file cache entry; NULL: it is ours */
    fw_arm_result arm;     /* the watches a lookup task added for the file it found (its context) */
    uint64_t arm_seq;      /* the watches' event count when that task was sent */
    bool admit;            /* the pending lookup's file is to be kept by the cache (fc_get said so) */
    bool fc_afresh;        /* the pending lookup replaces a cached file's entry (a network file system's) */
    char *hbuf;            /* the head, written by the protocol */
    size_t hcap, hlen, hsent;
    size_t hpacked;        /* body bytes copied after the head in hbuf (exec_pack), sent with it */
    char *body;            /* a small file range read into memory */
    size_t body_cap;
    size_t seg, seg_sent;  /* the segment being sent, and its bytes gone */
    size_t copy_want;      /* file bytes the next copy reads: what the socket took last time, doubled */
    uint64_t body_bytes;   /* body bytes sent, for the access log */
    bool fin_follows;      /* the connection closes right after: the last bytes may carry the FIN */
    bool progressed;       /* bytes went out since the owner last cleared it */
    bool task_busy;
    struct {
        wq_task base;
        int fd;
        off_t off;
        size_t len;
        ssize_t sent;
        int err;
        uint8_t hash[16]; /* hash_work's result */
    } task;
} exec;

/* Large files hashed in the background at once (etag = "content"): the
 * write queue has room for them beside one task per owner. */
#define EXEC_HASHING_MAX 4

/* Ready x for a connection's requests (buffers from its block). */
void exec_init(exec *x, worker *w, const exec_hooks *hooks, int sock, char *hbuf, size_t hcap, char *body,
               size_t body_cap);
/* Carve from ar (a block sized by route_sizes) what any request needs
 * besides its head and path buffers, which req already points to: the
 * response head and small-file buffers, routing's scratch and part heads,
 * env for a client of listener listen_idx at peer; then exec_init x over
 * them for req. HTTP/1.1 connections and HTTP/2 streams lay out their
 * blocks with it. */
void exec_setup(exec *x, arena *ar, worker *w, const exec_hooks *hooks, int sock, route_env *env,
                http_req *req, int listen_idx, const struct sockaddr *peer);
/* The bytes exec_setup carves, alignment included. */
size_t exec_setup_size(const cfg *cf, const route_sizes *rs);
/* Send through TLS (after exec_init): ssl, and tcap bytes at tbuf for file
 * chunks when the kernel does not encrypt (no kTLS send on ssl). */
void exec_use_tls(exec *x, SSL *ssl, char *tbuf, size_t tcap);
/* Deliver by pulling (HTTP/2, whose DATA frames ask for the next bytes):
 * no transport; tcap bytes at tbuf take a cold file chunk. */
void exec_use_pull(exec *x, char *tbuf, size_t tcap);
/* The next body bytes, up to len, copied into buf (a DATA frame's
 * payload): memory segments, and file bytes the page cache holds
 * (RWF_NOWAIT), at once. Returns the bytes (0 < n <= len; the body is over
 * when x->seg reaches the plan's nseg), 0 when a cold chunk went to a task
 * (hooks: carry_on(EXEC_SENDING) once it is in tbuf, or EXEC_ERROR), or
 * -1 (the file shrank, or the queue refused). After exec_prepare. */
ssize_t exec_pull(exec *x, char *buf, size_t len);
/* Carry routing on from s until the plan is complete (EXEC_READY) or a
 * lookup runs on the queue (EXEC_WAIT; the hooks follow). */
enum exec_result exec_route(exec *x, enum route_state s);
/* The plan is complete and its head written (hlen): start sending. */
void exec_prepare(exec *x);
/* Send what can go now; *can_write is the socket's readiness, cleared on EAGAIN. */
enum exec_result exec_send(exec *x, bool *can_write);
/* The response is over: its file, listing and directories go. */
void exec_end(exec *x);
/* The connection went away while a task ran: drop everything. */
void exec_abandon(exec *x);

#endif
