/* worker/conn.h: a client connection and its request/response state machine. */
#ifndef EP_WORKER_CONN_H
#define EP_WORKER_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "http/file.h"
#include "http/cond.h"
#include "http/parser.h"
#include "http/response.h"
#include "http/static.h"
#include "log/log.h"
#include "util/arena.h"
#include "worker/fcache.h"
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
    static_req sq;   /* a lookup (worker/serve.c): in and out */
    /* a sendfile chunk (conn.c): in and out */
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
    bool expect_continue; /* Expect: 100-continue: send the interim 100 with the response */
    int requests;
    struct sockaddr_storage peer;
    size_t listen_idx;  /* which listener accepted it: picks the virtual server */

    /* the request's route (worker/serve.c) */
    const cfg_server *srv;
    const cfg_location *loc;
    const cfg_rules *rules;
    int err_status;     /* serving an error_page for this status; 0 otherwise */
    int redirects;      /* internal redirects so far (try_files, error_page) */
    char *scratch;      /* a lookup's static_scratch (three slices), or all of it for a return text */
    size_t scratch_len;
    char *listing;      /* malloc'd autoindex body being sent, or NULL */
    bool fc_try;        /* this lookup may use and fill the open-file cache */
    fc_entry *fce;      /* c->fd belongs to this open-file cache entry; NULL: c->fd is ours */
    root_view *view;    /* the directories this request resolves beneath (worker/roots.h), or NULL */

    void *block;     /* arena block, NULL while idle */
    arena ar;
    char *rbuf;
    size_t rlen, rcap, consumed;

    hp_request *req;
    hp_info info;
    char *path;      /* decoded, normalised */
    size_t path_len;
    ep_str raw_path, query;

    char *hbuf;      /* response head, then each multipart part head after it */
    size_t hcap;     /* sized by conn_block_size: any head of this generation fits */
    size_t hlen, hsent;
    const char *mem; /* in-memory body */
    size_t mem_len, mem_sent;
    char *body;      /* arena buffer for small files */
    int fd;          /* file body, -1 when none */
    off_t foff, fend;
    int status;
    uint64_t body_bytes;
    int64_t range_size;  /* file size quoted by a 416 */

    /* multipart/byteranges: the parts still to send after the current one */
    cond_range parts[COND_MAX_RANGES];
    size_t nparts, part;    /* part: the one whose bytes are being sent */
    char boundary[COND_BOUNDARY_MAX];
    const char *part_type;  /* Content-Type inside each part */

    int64_t discard_left;   /* Content-Length body bytes still to skip */
    uint64_t body_skipped;  /* chunked body bytes skipped, against max_body_size */
    hp_chunked chunk;

    conn_task task;
    struct conn *next; /* free or dead list */
    struct conn *live_prev, *live_next;
} conn;

/* For worker/serve.c, which decides what to answer. */
resp_fields conn_fields(conn *c);
/* Answer with a built-in page for status; close_after when the framing is in doubt. */
void conn_error(conn *c, int status, bool close_after);
/* The head (c->hbuf/hlen) and body (mem or fd range) are set: send them. */
void conn_start_send(conn *c);
/* Hand c->task to the write queue with the submitter's own work (queue
 * thread, touches only c->task) and done (loop thread); the connection
 * waits in CS_TASK. */
void conn_submit(conn *c, void (*work)(wq_task *t), void (*done)(wq_task *t));
/* First thing in a done(): the connection is back from its task. False when
 * it closed meanwhile: abandon (if any) dropped what the task holds and the
 * connection is gone. */
bool conn_task_back(conn *c, void (*abandon)(conn_task *k));
/* The multipart response whose parts[] are set: each part's head and bytes
 * follow the response head, then the closing delimiter. */
void conn_start_parts(conn *c);

/* An error-log line about c's request: log_msg with ", client: ..., server:
 * ..., request: \"...\"" appended, as nginx writes them. */
void conn_log_msg(conn *c, enum log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Close the response's file, or give its cache entry back. */
void conn_drop_file(conn *c);
/* Run the state machine (after a task completes). */
void conn_drive(conn *c);

/* Bytes of the arena block each busy connection takes under cf's limits;
 * *head and *scratch get the sizes of its response head and scratch parts
 * (for the worker to hand to conn_acquire_buffers). */
size_t conn_block_size(const cfg *cf, size_t *head, size_t *scratch);
/* Take over an accepted socket. Returns NULL (socket closed) on failure. */
conn *conn_new(worker *w, int fd, const struct sockaddr_storage *peer, size_t listen_idx);
/* Serve whatever the new connection has already sent. */
void conn_start(conn *c);
/* Timer expiry for c (which list tells why). */
void conn_timeout(conn *c, timer_list *which);
/* Close now (fast stop), or at the end of the current response (graceful). */
void conn_shutdown(conn *c, bool graceful);
/* Free the structs closed during this loop iteration. */
void conn_reap(worker *w);

#endif
