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
 * and its completion comes back to the loop through hooks->resume. */
#ifndef EP_WORKER_EXEC_H
#define EP_WORKER_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "http/route.h"
#include "worker/ctx.h"

struct exec;

typedef struct {
    ssize_t (*writev)(struct exec *x, const struct iovec *iov, int n, bool more);
    ssize_t (*sendfile)(struct exec *x, int fd, off_t *off, size_t len);
} exec_transport;

extern const exec_transport exec_tcp;

/* The owner's side (the connection): both run on the loop. */
typedef struct {
    void (*resume)(struct exec *x);                 /* a task is back: call exec_task_back */
    void (*note)(struct exec *x, const char *line); /* routing left a line for the error log */
} exec_hooks;

enum exec_result {
    EXEC_READY,   /* the plan is complete: write the head, exec_prepare, exec_send */
    EXEC_SENDING, /* go on with exec_send */
    EXEC_WAIT,    /* a task runs, or the socket is full */
    EXEC_DONE,    /* everything is sent */
    EXEC_ERROR,   /* the connection cannot go on */
};

typedef struct exec {
    worker *w;
    const exec_transport *tp;
    const exec_hooks *hooks;
    int sock;
    route rt;              /* the routing state and its plan */
    root_view *view;       /* the directories this request resolves beneath, or NULL */
    fc_entry *fce;         /* plan.fd belongs to this open-file cache entry; NULL: it is ours */
    char *hbuf;            /* the head, written by the protocol */
    size_t hcap, hlen, hsent;
    char *body;            /* a small file range read into memory */
    size_t body_cap;
    size_t seg, seg_sent;  /* the segment being sent, and its bytes gone */
    uint64_t body_bytes;   /* body bytes sent, for the access log */
    bool fin_follows;      /* the connection closes right after: the last bytes may carry the FIN */
    bool progressed;       /* bytes went out since the owner last cleared it */
    bool task_busy;
    bool task_sendfile;    /* the task in flight is a chunk, not a lookup */
    struct {
        wq_task base;
        int fd;
        off_t off;
        size_t len;
        ssize_t sent;
        int err;
    } task;
} exec;

/* Ready x for a connection's requests (buffers from its block). */
void exec_init(exec *x, worker *w, const exec_hooks *hooks, int sock, char *hbuf, size_t hcap, char *body,
               size_t body_cap);
/* Carry routing on from s until the plan is complete (EXEC_READY) or a
 * lookup runs on the queue (EXEC_WAIT; hooks->resume follows). */
enum exec_result exec_route(exec *x, enum route_state s);
/* The plan is complete and its head written (hlen): start sending. */
void exec_prepare(exec *x);
/* Send what can go now; *can_write is the socket's readiness, cleared on EAGAIN. */
enum exec_result exec_send(exec *x, bool *can_write);
/* First thing in hooks->resume, once the owner knows it still wants the
 * result: EXEC_READY, EXEC_WAIT (another lookup), EXEC_SENDING or EXEC_ERROR. */
enum exec_result exec_task_back(exec *x, bool *can_write);
/* The response is over: its file, listing and directories go. */
void exec_end(exec *x);
/* The connection went away while a task ran: drop everything. */
void exec_abandon(exec *x);

#endif
