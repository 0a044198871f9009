/* http/h2sess.h: a server's HTTP/2 connection state (RFC 9113): frames in, streams and flow control, frames out.
 *
 * Our own session layer over nghttp2's HPACK (issue 15), in the place of
 * nghttp2's session: the same callbacks' shape, without its stream map,
 * priority queue and copies of every header list. Pure: bytes in
 * (h2s_recv), bytes out (h2s_send), no I/O, no clock (the caller gives
 * the time for the reset rate limit). The rules a frame carries by itself
 * are http/h2frame.c's; here are the ones that need the connection:
 * the preface and the first SETTINGS, stream states and ids, header blocks
 * and CONTINUATION, windows both ways, settings, GOAWAY, and the limits
 * against floods (resets, SETTINGS, PING, CONTINUATION, queued output).
 *
 * A stream's state (h2s_stream) lives in the caller's stream, which
 * open() returns; the session calls close() once for each stream it
 * opened, and touches it no more after. */
#ifndef EP_HTTP_H2SESS_H
#define EP_HTTP_H2SESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nghttp2/nghttp2.h>

#include "http/h2frame.h"
#include "http/hpack.h"

/* pull() answers: the stream's bytes are not there yet (h2s_resume later),
 * or it cannot go on (the stream is reset, INTERNAL_ERROR). */
#define H2S_DEFER (-1)
#define H2S_FAIL (-2)

typedef struct h2s_stream {
    struct h2s_stream *prev, *next; /* the session's streams */
    struct h2s_stream *qnext;       /* the DATA queue */
    struct h2s_stream *cnext;       /* the streams to close at the next safe point */
    uint32_t id;
    int64_t send_window;            /* may go negative (SETTINGS, 6.9.2) */
    int64_t recv_window;
    uint32_t recv_unacked;          /* DATA received since our last WINDOW_UPDATE for it */
    bool remote_closed, local_closed;
    bool has_body, deferred, queued;
    bool closing;                   /* to be closed at the next safe point */
    uint32_t code;                  /* ... with this code */
} h2s_stream;

typedef struct h2s_cbs {
    /* A request's HEADERS open stream id: the caller's stream, holding an
     * h2s_stream, or NULL to refuse it (REFUSED_STREAM). */
    h2s_stream *(*open)(void *ud, uint32_t id);
    /* One field of a header block (the request's, or its trailers). */
    void (*field)(void *ud, h2s_stream *st, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
                  bool trailer);
    /* The block is complete; end_stream: the client's side is closed by it. */
    void (*fields_end)(void *ud, h2s_stream *st, bool trailer, bool end_stream);
    /* len bytes of request body (already counted against the windows). */
    void (*data)(void *ud, h2s_stream *st, size_t len, bool end_stream);
    /* The stream is over: its response sent whole (code NO_ERROR) or reset either way. */
    void (*close)(void *ud, h2s_stream *st, uint32_t code);
    /* Up to len bytes of the response's body into buf; *eof at its end.
     * Or H2S_DEFER, or H2S_FAIL. */
    ssize_t (*pull)(void *ud, h2s_stream *st, uint8_t *buf, size_t len, bool *eof);
    /* The PING we sent came back. */
    void (*ping_ack)(void *ud);
    /* What went wrong with the client's frames, before the session answers
     * (GOAWAY, or RST_STREAM for a stream error): the caller logs it once. */
    void (*error)(void *ud, uint32_t code, const char *why);
} h2s_cbs;

typedef struct {
    uint32_t max_concurrent_streams;
    uint32_t max_header_list_size;  /* announced; the caller answers 431 past it */
    uint32_t initial_window_size;   /* per stream, for request bodies */
    uint32_t connection_window_size;
} h2s_settings;

typedef struct h2s {
    const h2s_cbs *cb;
    void *ud;
    nghttp2_hd_inflater *inf;
    hpk_enc def;                    /* ours (http/hpack.c) */
    h2s_settings local;
    /* input */
    uint8_t magic;                  /* preface bytes matched so far; 24: all */
    bool got_settings;              /* the client's first frame came, a SETTINGS */
    bool acked;                     /* the client acknowledged our SETTINGS */
    uint8_t *part;                  /* a frame cut by the end of the input, while it is */
    size_t partlen;
    /* streams */
    h2s_stream *streams, *qhead, *qtail;
    h2s_stream *closing, *ctail;    /* linked by cnext, in the order they finished */
    uint32_t nstreams, nclosing;
    uint32_t max_id;                /* the highest stream id the client opened */
    uint64_t opened;                /* bit i: stream max_id - 2i was opened (i < 64) */
    h2s_stream *hdr;                /* the stream whose header block is being read (NULL: discarded), */
    uint32_t hdr_id;                /* ... its id (0: no block open), */
    bool hdr_trailer, hdr_end;      /* ... trailers?, END_STREAM on its HEADERS? */
    uint32_t hdr_frames;            /* CONTINUATION frames in the block */
    /* flow control */
    int64_t send_window;            /* the connection's, toward the client */
    int64_t recv_window;
    uint32_t recv_unacked;
    uint32_t peer_window;           /* the client's SETTINGS_INITIAL_WINDOW_SIZE */
    /* output: control frames and HEADERS in order, then DATA */
    uint8_t *ctl;
    size_t clen, csent, ccap;
    size_t cflood;                  /* control bytes queued since the queue last emptied */
    /* the end */
    bool goaway_sent;               /* a GOAWAY naming last_id: no stream above it opens */
    bool goaway_recv;
    bool dead;                      /* a connection error: nothing more is read */
    uint32_t last_id;
    double resets;                  /* tokens of the client's reset budget */
    int64_t resets_ms;
    int64_t now_ms;                 /* h2s_recv's clock, for the budget */
} h2s;

/* Starts a session: queues our SETTINGS (and the connection window's
 * WINDOW_UPDATE). 0, or -1 out of memory. mem: nghttp2's allocator for its HPACK decoder. */
int h2s_init(h2s *s, const h2s_cbs *cb, void *ud, const h2s_settings *local, nghttp2_mem *mem);

/* Frees what the session holds; closes (close()) no stream. */
void h2s_free(h2s *s);

/* Decodes n bytes from the client (the preface first). 0, or -1: a
 * connection error, whose GOAWAY is queued; send it, then close. now_ms:
 * the clock for the rapid-reset budget. */
int h2s_recv(h2s *s, const uint8_t *p, size_t n, int64_t now_ms);

/* Fills buf with the frames to send (up to cap; cap >= 16 KiB + 9).
 * Returns the bytes written, 0 when there is nothing to send now. */
size_t h2s_send(h2s *s, uint8_t *buf, size_t cap);

/* The response's HEADERS for st (nv: names in lower case); DATA is then
 * pulled when has_body. 0, or -1 (the stream is reset instead). */
int h2s_respond(h2s *s, h2s_stream *st, const resp_nv *nv, size_t n, bool has_body);

/* A deferred stream has bytes again. */
void h2s_resume(h2s *s, h2s_stream *st);

/* Resets st with code (closed at the next safe point). */
void h2s_reset(h2s *s, h2s_stream *st, uint32_t code);

/* GOAWAY: the shutdown notice (2^31-1, NO_ERROR), or the final one naming
 * the last stream the client opened, with code. */
void h2s_notice(h2s *s);
void h2s_goaway(h2s *s, uint32_t code);
void h2s_ping(h2s *s);

/* Whether the session is finished: a GOAWAY went or came, no stream is
 * left and nothing waits to be sent. */
bool h2s_done(const h2s *s);

/* Whether anything waits to be sent (control frames, or DATA a window allows). */
bool h2s_want_write(const h2s *s);

#endif
