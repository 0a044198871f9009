/* worker/conn.h: a client connection and its request/response state machine. */
#ifndef EP_WORKER_CONN_H
#define EP_WORKER_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "http/file.h"
#include "http/parser.h"
#include "util/arena.h"
#include "worker/timer.h"
#include "worker/worker.h"
#include "worker/wq.h"

enum conn_state {
    CS_IDLE,   /* keep-alive, between requests: holds no buffer */
    CS_HEAD,   /* reading a request head, under the header deadline */
    CS_TASK,   /* a write-queue task owns the connection's I/O */
    CS_SEND,   /* sending the response from the loop */
    CS_BODY,   /* response sent; skipping the request body */
    CS_LINGER, /* write side shut; draining input before close */
};

/* The context of a write-queue task: everything work() may touch. */
typedef struct {
    wq_task base;
    enum { TASK_OPEN, TASK_SENDFILE } kind;
    /* TASK_OPEN in */
    int rootfd;
    const char *path;
    const char *const *index;
    size_t nindex;
    enum file_links links;
    char *buf;     /* small-file read buffer, or NULL */
    size_t buflen;
    /* TASK_OPEN out */
    file_result res;
    ssize_t nread;
    /* TASK_SENDFILE in/out */
    int sock, fd;
    off_t off;
    size_t len;
    ssize_t sent;
    int err;
} conn_task;

typedef struct conn {
    loop_io io;
    worker *w;
    timer_node timer;
    enum conn_state state;
    bool can_read, can_write;
    bool task_busy;  /* a task is in flight: the struct must not be freed */
    bool closed;
    bool keep_alive, head_only, need_parse, discard_chunked;
    bool nodelay;    /* TCP_NODELAY is set */
    bool framing_error; /* answered with an error that ends the connection */
    int requests;
    struct sockaddr_storage peer;

    void *block;     /* arena block, NULL while idle */
    arena ar;
    char *rbuf;
    size_t rlen, rcap, consumed;

    hp_request *req;
    hp_info info;
    char *path;      /* decoded, normalised */
    size_t path_len;
    ep_str raw_path, query;

    char *hbuf;      /* response head */
    size_t hlen, hsent;
    const char *mem; /* in-memory body */
    size_t mem_len, mem_sent;
    char *body;      /* arena buffer for small files */
    int fd;          /* file body, -1 when none */
    off_t foff, fend;
    int status;
    uint64_t body_bytes;
    int64_t range_size;  /* file size quoted by a 416 */

    int64_t discard_left;   /* Content-Length body bytes still to skip */
    uint64_t body_skipped;  /* chunked body bytes skipped, against max_body_size */
    hp_chunked chunk;

    conn_task task;
    struct conn *next; /* free or dead list */
    struct conn *live_prev, *live_next;
} conn;

/* Bytes of the arena block each busy connection takes under cf's limits. */
size_t conn_block_size(const cfg *cf);
/* Take over an accepted socket. Returns NULL (socket closed) on failure. */
conn *conn_new(worker *w, int fd, const struct sockaddr_storage *peer);
/* Serve whatever the new connection has already sent. */
void conn_start(conn *c);
/* Timer expiry for c (which list tells why). */
void conn_timeout(conn *c, timer_list *which);
/* Close now (fast stop), or at the end of the current response (graceful). */
void conn_shutdown(conn *c, bool graceful);
/* Free the structs closed during this loop iteration. */
void conn_reap(worker *w);

#endif
