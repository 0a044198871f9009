/* http/h2sess.c: a server's HTTP/2 connection state: frames in, streams and windows, frames out. */
#include "http/h2sess.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t MAGIC[24] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* Limits against floods, nghttp2 1.52's as Debian patched it where it has one. */
#define MAX_SETTINGS 32         /* entries in one SETTINGS frame */
#define MAX_CONTINUATIONS 8     /* CONTINUATION frames in one header block */
#define RESET_BURST 1000.0      /* streams the client may reset at once, */
#define RESET_RATE 33.0         /* ... and per second after */
#define CTL_MAX (1u << 20)      /* control frames queued while the queue never empties */
#define WINDOW_MAX H2FR_WINDOW_MAX

/* ---- output queue ------------------------------------------------------------ */

/* Room for n more bytes in the control queue; NULL out of memory. */
static uint8_t *ctl_room(h2s *s, size_t n)
{
    if (s->csent == s->clen)
        s->csent = s->clen = s->cflood = 0;
    if (s->clen + n > s->ccap) {
        if (s->csent) { /* slide what is left to the front first */
            memmove(s->ctl, s->ctl + s->csent, s->clen - s->csent);
            s->clen -= s->csent;
            s->csent = 0;
        }
        size_t cap = s->ccap ? s->ccap : 256;
        while (cap < s->clen + n)
            cap *= 2;
        if (cap != s->ccap) {
            uint8_t *p = realloc(s->ctl, cap);
            if (!p)
                return NULL;
            s->ctl = p;
            s->ccap = cap;
        }
    }
    return s->ctl + s->clen;
}

static int conn_error(h2s *s, uint32_t code, const char *why);

/* Appends a frame that fits in 17 bytes (every control frame we send).
 * Only these count against CTL_MAX, since the queue last went out whole:
 * a client that provokes answers and reads none is cut off; the heads of
 * the responses it asked for are bounded by its streams. */
static int ctl_put(h2s *s, const uint8_t *frame, size_t n)
{
    uint8_t *p = s->cflood + n > CTL_MAX ? NULL : ctl_room(s, n);
    if (p)
        s->cflood += n;
    if (!p) {
        if (!s->dead)
            conn_error(s, H2E_ENHANCE_YOUR_CALM, "too many frames queued unread (a flood)");
        return -1;
    }
    memcpy(p, frame, n);
    s->clen += n;
    return 0;
}

static void put_u32(h2s *s, uint8_t type, uint32_t id, uint32_t v)
{
    uint8_t f[H2FR_HEAD + 4];
    ctl_put(s, f, (size_t)(h2fr_u32_write(f, type, id, v) - f));
}

static void put_goaway(h2s *s, uint32_t last, uint32_t code)
{
    uint8_t f[H2FR_HEAD + 8];
    uint8_t *p = ctl_room(s, sizeof f); /* past CTL_MAX too: the last frame always goes */
    if (!p)
        return;
    h2fr_goaway_write(f, last, code);
    memcpy(p, f, sizeof f);
    s->clen += sizeof f;
}

/* ---- streams -------------------------------------------------------------------- */

static h2s_stream *find(const h2s *s, uint32_t id)
{
    for (h2s_stream *st = s->streams; st; st = st->next)
        if (st->id == id)
            return st;
    return NULL;
}

/* Whether the client ever opened id, for a HEADERS below the highest id:
 * a stream it skipped cannot be opened any more (5.1.1). At most 64 ids
 * back are remembered; older ones count as opened and closed. */
static bool was_opened(const h2s *s, uint32_t id)
{
    if (id > s->max_id || !(id & 1))
        return false;
    uint32_t back = (s->max_id - id) / 2;
    return back >= 64 || (s->opened >> back & 1);
}

/* Whether id is idle for the other frames: above every id the client
 * opened, or even (we open no stream). A skipped id below is closed, not
 * idle (5.1.1: opening a stream closes the idle ones below it). */
static bool idle(const h2s *s, uint32_t id)
{
    return id > s->max_id || !(id & 1);
}

static void unqueue(h2s *s, h2s_stream *st)
{
    if (!st->queued)
        return;
    h2s_stream **pp = &s->qhead, *prev = NULL;
    while (*pp != st) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    *pp = st->qnext;
    if (s->qtail == st)
        s->qtail = prev;
    st->queued = false;
    st->qnext = NULL;
}

static void enqueue(h2s *s, h2s_stream *st)
{
    if (st->queued || st->closing || st->local_closed || !st->has_body || st->deferred || st->send_window <= 0)
        return;
    st->queued = true;
    st->qnext = NULL;
    if (s->qtail)
        s->qtail->qnext = st;
    else
        s->qhead = st;
    s->qtail = st;
}

/* The stream leaves the session: unlinked first, then the caller hears of it. */
static void close_stream(h2s *s, h2s_stream *st, uint32_t code)
{
    unqueue(s, st);
    if (st->closing) { /* off the list of those to close (rare: a reset crossing ours) */
        h2s_stream **pp = &s->closing, *prev = NULL;
        while (*pp != st) {
            prev = *pp;
            pp = &(*pp)->cnext;
        }
        *pp = st->cnext;
        if (s->ctail == st)
            s->ctail = prev;
        s->nclosing--;
    }
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    s->nstreams--;
    if (s->hdr == st)
        s->hdr = NULL; /* the rest of its block is decoded and dropped */
    s->cb->close(s->ud, st, code);
}

/* Streams reset or finished since the last safe point are closed now. */
static void reap(h2s *s)
{
    while (s->closing) {
        h2s_stream *st = s->closing;
        s->closing = st->cnext;
        if (!s->closing)
            s->ctail = NULL;
        s->nclosing--;
        st->closing = false;
        close_stream(s, st, st->code);
    }
}

static void mark_closing(h2s *s, h2s_stream *st, uint32_t code)
{
    if (st->closing)
        return;
    unqueue(s, st);
    st->closing = true;
    st->code = code;
    st->cnext = NULL;
    if (s->ctail)
        s->ctail->cnext = st;
    else
        s->closing = st;
    s->ctail = st;
    s->nclosing++;
}

/* Takes one from the client's budget of streams ended early (its resets,
 * and ours that its frames caused): a burst of RESET_BURST, RESET_RATE a
 * second after. -1 when it is spent (the caller ends the connection). */
static int spend_reset(h2s *s)
{
    s->resets += (double)(s->now_ms - s->resets_ms) * RESET_RATE / 1000.0;
    if (s->resets > RESET_BURST)
        s->resets = RESET_BURST;
    s->resets_ms = s->now_ms;
    if (s->resets < 1.0 && !s->goaway_sent)
        return -1;
    s->resets -= 1.0;
    return 0;
}

/* A reset the client's frames caused (MadeYouReset, CVE-2025-8671: a
 * stream error provoked on purpose costs the server what a reset does). */
static bool client_caused(uint32_t code)
{
    return code == H2E_PROTOCOL_ERROR || code == H2E_FLOW_CONTROL_ERROR || code == H2E_STREAM_CLOSED ||
           code == H2E_FRAME_SIZE_ERROR;
}

void h2s_reset(h2s *s, h2s_stream *st, uint32_t code)
{
    if (st->closing)
        return;
    if (client_caused(code) && spend_reset(s) < 0) {
        conn_error(s, H2E_ENHANCE_YOUR_CALM, "too many streams ended by errors of the client's");
        return;
    }
    put_u32(s, H2FR_RST_STREAM, st->id, code);
    mark_closing(s, st, code);
}

/* Our END_STREAM is out: the stream is over, or the client is asked to
 * stop sending a body we do not read (RFC 9113 8.1). */
static void local_end(h2s *s, h2s_stream *st)
{
    st->local_closed = true;
    unqueue(s, st);
    if (!st->remote_closed)
        put_u32(s, H2FR_RST_STREAM, st->id, H2E_NO_ERROR);
    mark_closing(s, st, H2E_NO_ERROR);
}

/* ---- errors ---------------------------------------------------------------------- */

static int conn_error(h2s *s, uint32_t code, const char *why)
{
    if (s->dead)
        return -1;
    s->cb->error(s->ud, code, why);
    s->dead = true;
    s->goaway_sent = true;
    s->last_id = s->max_id;
    put_goaway(s, s->max_id, code);
    return -1;
}

static void stream_error(h2s *s, uint32_t id, uint32_t code, const char *why)
{
    s->cb->error(s->ud, code, why);
    h2s_stream *st = find(s, id);
    if (st)
        h2s_reset(s, st, code);
    else if (client_caused(code) && spend_reset(s) < 0)
        conn_error(s, H2E_ENHANCE_YOUR_CALM, "too many streams ended by errors of the client's");
    else
        put_u32(s, H2FR_RST_STREAM, id, code);
}

/* ---- header blocks ----------------------------------------------------------------- */

/* Decodes a fragment of the open header block (always: the HPACK state is
 * the connection's, whether the block's fields are wanted or not). */
static int block(h2s *s, const uint8_t *p, size_t n, bool final)
{
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        ssize_t k = nghttp2_hd_inflate_hd2(s->inf, &nv, &flags, p, n, final);
        if (k < 0)
            return conn_error(s, H2E_COMPRESSION_ERROR, "HPACK: the header block cannot be decoded");
        p += k;
        n -= (size_t)k;
        if ((flags & NGHTTP2_HD_INFLATE_EMIT) && s->hdr && !s->hdr->closing)
            s->cb->field(s->ud, s->hdr, nv.name, nv.namelen, nv.value, nv.valuelen, s->hdr_trailer);
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(s->inf);
            break;
        }
        if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && n == 0)
            break;
    }
    if (!final)
        return 0;
    h2s_stream *st = s->hdr;
    bool trailer = s->hdr_trailer, end = s->hdr_end;
    s->hdr = NULL;
    s->hdr_id = 0;
    if (!st || st->closing)
        return 0;
    if (end)
        st->remote_closed = true;
    s->cb->fields_end(s->ud, st, trailer, end);
    return 0;
}

/* A new stream's HEADERS (id above every one before): opened, refused, or
 * (after our final GOAWAY) ignored. The stream its block feeds, or NULL. */
static h2s_stream *open_stream(h2s *s, uint32_t id, int *err)
{
    uint32_t shift = (id - s->max_id) / 2;
    s->opened = (shift >= 64 ? 0 : s->opened << shift) | 1;
    s->max_id = id;
    if (s->goaway_sent && id > s->last_id)
        return NULL; /* 6.8: ignored */
    if (s->nstreams >= s->local.max_concurrent_streams) {
        if (s->acked) { /* it knew the limit: nghttp2's answer, as 5.4.1 allows */
            *err = conn_error(s, H2E_PROTOCOL_ERROR, "more concurrent streams than SETTINGS_MAX_CONCURRENT_STREAMS");
            return NULL;
        }
        put_u32(s, H2FR_RST_STREAM, id, H2E_REFUSED_STREAM);
        return NULL;
    }
    h2s_stream *st = s->cb->open(s->ud, id);
    if (!st) {
        put_u32(s, H2FR_RST_STREAM, id, H2E_REFUSED_STREAM);
        return NULL;
    }
    memset(st, 0, sizeof *st);
    st->id = id;
    st->send_window = s->peer_window;
    /* until the client acknowledges our SETTINGS it may count on 65535 */
    st->recv_window = s->acked || s->local.initial_window_size > 65535 ? s->local.initial_window_size : 65535;
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    s->nstreams++;
    return st;
}

static int on_headers(h2s *s, const h2fr_frame *f)
{
    uint32_t id = f->hd.id;
    int err = 0;
    if (!(id & 1))
        return conn_error(s, H2E_PROTOCOL_ERROR, "a stream id that is even (5.1.1)");
    h2s_stream *st = id > s->max_id ? NULL : find(s, id); /* a new stream is in no list */
    s->hdr_trailer = false;
    s->hdr_end = f->hd.flags & H2FR_END_STREAM;
    if (st) {
        if (st->remote_closed) {
            stream_error(s, id, H2E_STREAM_CLOSED, "HEADERS on a half-closed (remote) stream");
            st = NULL;
        } else {
            s->hdr_trailer = true;
        }
    } else if (id > s->max_id) {
        st = open_stream(s, id, &err);
        if (err)
            return err;
    } else if (!was_opened(s, id)) {
        return conn_error(s, H2E_PROTOCOL_ERROR, "a stream id lower than one before (5.1.1)");
    } /* else a closed stream's late block: decoded, dropped */
    s->hdr = st;
    s->hdr_id = id;
    s->hdr_frames = 0;
    return block(s, f->data, f->dlen, f->hd.flags & H2FR_END_HEADERS);
}

static int on_continuation(h2s *s, const h2fr_frame *f)
{
    if (!s->hdr_id)
        return conn_error(s, H2E_PROTOCOL_ERROR, "CONTINUATION without a header block open");
    if (++s->hdr_frames > MAX_CONTINUATIONS)
        return conn_error(s, H2E_PROTOCOL_ERROR, "too many CONTINUATION frames in a header block");
    return block(s, f->data, f->dlen, f->hd.flags & H2FR_END_HEADERS);
}

/* ---- the other frames ---------------------------------------------------------------- */

static void credit(h2s *s, h2s_stream *st, size_t n)
{
    s->recv_unacked += (uint32_t)n;
    if (s->recv_unacked && s->recv_unacked >= s->local.connection_window_size / 2) {
        put_u32(s, H2FR_WINDOW_UPDATE, 0, s->recv_unacked);
        s->recv_window += s->recv_unacked;
        s->recv_unacked = 0;
    }
    if (!st || st->remote_closed || st->closing)
        return;
    st->recv_unacked += (uint32_t)n;
    if (st->recv_unacked && st->recv_unacked >= s->local.initial_window_size / 2) { /* (never an increment of 0: 6.9) */
        put_u32(s, H2FR_WINDOW_UPDATE, st->id, st->recv_unacked);
        st->recv_window += st->recv_unacked;
        st->recv_unacked = 0;
    }
}

static int on_data(h2s *s, const h2fr_frame *f)
{
    uint32_t id = f->hd.id, len = f->hd.len; /* padding counts (6.9.1) */
    h2s_stream *st = find(s, id);
    if (!st && idle(s, id))
        return conn_error(s, H2E_PROTOCOL_ERROR, "DATA on an idle stream (5.1)");
    if ((int64_t)len > s->recv_window)
        return conn_error(s, H2E_FLOW_CONTROL_ERROR, "DATA beyond the connection's window");
    s->recv_window -= len;
    if (!st || st->closing) { /* closed: discarded, the window given back */
        credit(s, NULL, len);
        return 0;
    }
    if (st->remote_closed) {
        credit(s, NULL, len);
        stream_error(s, id, H2E_STREAM_CLOSED, "DATA on a half-closed (remote) stream");
        return 0;
    }
    if ((int64_t)len > st->recv_window) {
        credit(s, NULL, len);
        stream_error(s, id, H2E_FLOW_CONTROL_ERROR, "DATA beyond the stream's window");
        return 0;
    }
    st->recv_window -= len;
    bool end = f->hd.flags & H2FR_END_STREAM;
    if (end)
        st->remote_closed = true;
    credit(s, st, len);
    s->cb->data(s->ud, st, f->dlen, end);
    if (end && st->local_closed && !st->closing)
        mark_closing(s, st, H2E_NO_ERROR);
    return 0;
}

static int on_rst_stream(h2s *s, const h2fr_frame *f)
{
    h2s_stream *st = find(s, f->hd.id);
    if (!st && idle(s, f->hd.id))
        return conn_error(s, H2E_PROTOCOL_ERROR, "RST_STREAM on an idle stream (5.1)");
    /* Rapid reset (CVE-2023-44487): a budget of resets that refills slowly;
     * INTERNAL_ERROR when it is spent, nghttp2's code. */
    if (spend_reset(s) < 0)
        return conn_error(s, H2E_INTERNAL_ERROR, "too many streams reset by the client");
    if (st)
        close_stream(s, st, f->value);
    return 0;
}

static int on_settings(h2s *s, const h2fr_frame *f)
{
    if (f->hd.flags & H2FR_ACK) {
        s->acked = true;
        return 0;
    }
    if (h2fr_settings(f) > MAX_SETTINGS)
        return conn_error(s, H2E_ENHANCE_YOUR_CALM, "a SETTINGS frame with too many entries");
    for (size_t i = 0; i < h2fr_settings(f); i++) {
        uint16_t id;
        uint32_t v;
        h2fr_setting(f, i, &id, &v);
        if (id == H2S_INITIAL_WINDOW_SIZE) {
            int64_t delta = (int64_t)v - s->peer_window;
            for (h2s_stream *st = s->streams; st; st = st->next)
                if (st->send_window + delta > WINDOW_MAX)
                    return conn_error(s, H2E_FLOW_CONTROL_ERROR, "a window past 2^31-1 (6.9.2)");
            for (h2s_stream *st = s->streams; st; st = st->next) {
                st->send_window += delta;
                enqueue(s, st);
            }
            s->peer_window = v;
        } else if (id == H2S_HEADER_TABLE_SIZE) {
            hpk_set_limit(&s->def, v);
        }
    }
    uint8_t ack[H2FR_HEAD];
    h2fr_hd_write(ack, 0, H2FR_SETTINGS, H2FR_ACK, 0);
    return ctl_put(s, ack, sizeof ack);
}

static int on_window_update(h2s *s, const h2fr_frame *f)
{
    if (f->hd.id == 0) {
        if (s->send_window + f->value > WINDOW_MAX)
            return conn_error(s, H2E_FLOW_CONTROL_ERROR, "the connection's window past 2^31-1 (6.9.1)");
        s->send_window += f->value;
        return 0;
    }
    h2s_stream *st = find(s, f->hd.id);
    if (!st) {
        if (idle(s, f->hd.id))
            return conn_error(s, H2E_PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream (5.1)");
        return 0;
    }
    if (st->send_window + f->value > WINDOW_MAX) {
        stream_error(s, st->id, H2E_FLOW_CONTROL_ERROR, "a stream's window past 2^31-1 (6.9.1)");
        return 0;
    }
    st->send_window += f->value;
    enqueue(s, st);
    return 0;
}

static int frame(h2s *s, const h2fr_hd *hd, const uint8_t *p)
{
    h2fr_frame f;
    if (!s->got_settings) {
        if (hd->type != H2FR_SETTINGS || (hd->flags & H2FR_ACK))
            return conn_error(s, H2E_PROTOCOL_ERROR, "the connection preface is not followed by SETTINGS (3.4)");
        s->got_settings = true;
    }
    if (s->hdr_id && (hd->type != H2FR_CONTINUATION || hd->id != s->hdr_id))
        return conn_error(s, H2E_PROTOCOL_ERROR, "a frame inside a header block other than its CONTINUATION");
    h2fr_verdict v = h2fr_check(hd, p, H2FR_DEFAULT_MAX, &f);
    if (v.code && (!v.stream || hd->type == H2FR_HEADERS))
        return conn_error(s, v.code, "a frame RFC 9113 section 6 forbids");
    if (v.code) { /* no RST_STREAM for an idle stream (6.4): the connection's error then */
        if (!find(s, hd->id) && idle(s, hd->id))
            return conn_error(s, v.code, "a frame RFC 9113 section 6 forbids on an idle stream");
        stream_error(s, hd->id, v.code, "a frame RFC 9113 section 6 forbids on its stream");
        return 0;
    }
    switch (hd->type) {
    case H2FR_DATA: return on_data(s, &f);
    case H2FR_HEADERS: return on_headers(s, &f);
    case H2FR_CONTINUATION: return on_continuation(s, &f);
    case H2FR_RST_STREAM: return on_rst_stream(s, &f);
    case H2FR_SETTINGS: return on_settings(s, &f);
    case H2FR_WINDOW_UPDATE: return on_window_update(s, &f);
    case H2FR_PING:
        if (f.hd.flags & H2FR_ACK) {
            s->cb->ping_ack(s->ud);
            return 0;
        } else {
            uint8_t ack[H2FR_HEAD + 8];
            h2fr_ping_ack_write(ack, f.data);
            return ctl_put(s, ack, sizeof ack);
        }
    case H2FR_GOAWAY:
        s->goaway_recv = true;
        return 0;
    default: /* PRIORITY (no scheduling by it: RFC 9113 5.3), extensions */
        return 0;
    }
}

/* ---- input ------------------------------------------------------------------------------ */

/* Moves bytes of the input into part, the frame cut before: whether it is whole now. */
static bool part_fill(h2s *s, const uint8_t **p, size_t *n)
{
    for (;;) {
        size_t need = H2FR_HEAD;
        if (s->partlen >= H2FR_HEAD) {
            h2fr_hd hd;
            h2fr_hd_read(s->part, &hd);
            need += hd.len;
        }
        if (s->partlen == need)
            return true;
        if (*n == 0)
            return false;
        size_t k = need - s->partlen < *n ? need - s->partlen : *n;
        memcpy(s->part + s->partlen, *p, k);
        s->partlen += k;
        *p += k;
        *n -= k;
    }
}

int h2s_recv(h2s *s, const uint8_t *p, size_t n, int64_t now_ms)
{
    if (s->dead)
        return -1;
    s->now_ms = now_ms;
    while (s->magic < sizeof MAGIC && n) {
        if (*p != MAGIC[s->magic])
            return conn_error(s, H2E_PROTOCOL_ERROR, "bad client magic: not the HTTP/2 connection preface (3.4)");
        s->magic++;
        p++;
        n--;
    }
    while (n && !s->dead) {
        h2fr_hd hd;
        const uint8_t *fp;
        if (s->partlen || n < H2FR_HEAD) {
            if (!s->part && !(s->part = malloc(H2FR_HEAD + H2FR_DEFAULT_MAX)))
                return conn_error(s, H2E_INTERNAL_ERROR, "out of memory");
            if (s->partlen < H2FR_HEAD && s->partlen + n >= H2FR_HEAD) {
                uint8_t head[H2FR_HEAD]; /* the length is known: refuse a long frame before it comes */
                memcpy(head, s->part, s->partlen);
                memcpy(head + s->partlen, p, H2FR_HEAD - s->partlen);
                h2fr_hd_read(head, &hd);
                if (hd.len > H2FR_DEFAULT_MAX)
                    return conn_error(s, H2E_FRAME_SIZE_ERROR, "a frame longer than SETTINGS_MAX_FRAME_SIZE (4.2)");
            }
            if (!part_fill(s, &p, &n))
                break;
            fp = s->part;
        } else {
            fp = p;
        }
        h2fr_hd_read(fp, &hd);
        if (hd.len > H2FR_DEFAULT_MAX)
            return conn_error(s, H2E_FRAME_SIZE_ERROR, "a frame longer than SETTINGS_MAX_FRAME_SIZE (4.2)");
        if (fp == p) {
            if (n < H2FR_HEAD + hd.len) { /* cut: kept until the rest comes */
                if (!s->part && !(s->part = malloc(H2FR_HEAD + H2FR_DEFAULT_MAX)))
                    return conn_error(s, H2E_INTERNAL_ERROR, "out of memory");
                memcpy(s->part, p, n);
                s->partlen = n;
                break;
            }
            p += H2FR_HEAD + hd.len;
            n -= H2FR_HEAD + hd.len;
        }
        int rv = frame(s, &hd, fp + H2FR_HEAD);
        if (fp == s->part)
            s->partlen = 0;
        if (s->nclosing)
            reap(s);
        if (rv < 0)
            return -1;
    }
    if (!s->partlen && s->part) { /* an idle connection keeps no buffer */
        free(s->part);
        s->part = NULL;
    }
    return s->dead ? -1 : 0;
}

/* ---- output ---------------------------------------------------------------------------- */

/* The HEADERS are encoded now, into the queue, so that the HPACK state
 * follows the order blocks leave in; a block longer than the client's
 * SETTINGS_MAX_FRAME_SIZE goes on in CONTINUATION frames (6.10). */
int h2s_respond(h2s *s, h2s_stream *st, const resp_nv *nv, size_t n, bool has_body)
{
    if (st->closing || s->dead)
        return 0;
    /* A client's larger SETTINGS_MAX_FRAME_SIZE is checked and not used:
     * frames of 16 KiB fill TLS records, and nghttp2 sends no larger. */
    size_t max = H2FR_DEFAULT_MAX, bound = hpk_bound(nv, n);
    uint8_t *room = ctl_room(s, H2FR_HEAD * (2 + bound / max) + bound);
    if (!room) {
        h2s_reset(s, st, H2E_INTERNAL_ERROR);
        return -1;
    }
    size_t L = hpk_encode(&s->def, room + H2FR_HEAD, nv, n), frags = L <= max ? 1 : (L + max - 1) / max;
    for (size_t i = frags - 1; i >= 1; i--) { /* from the last, each fragment moves up past the headers before it */
        size_t flen = L - i * max < max ? L - i * max : max;
        uint8_t *dst = room + (i + 1) * H2FR_HEAD + i * max;
        memmove(dst, room + H2FR_HEAD + i * max, flen);
        h2fr_hd_write(dst - H2FR_HEAD, (uint32_t)flen, H2FR_CONTINUATION, i == frags - 1 ? H2FR_END_HEADERS : 0,
                      st->id);
    }
    uint8_t flags = (frags == 1 ? H2FR_END_HEADERS : 0) | (has_body ? 0 : H2FR_END_STREAM);
    h2fr_hd_write(room, (uint32_t)(frags == 1 ? L : max), H2FR_HEADERS, flags, st->id);
    s->clen += L + frags * H2FR_HEAD;
    st->has_body = has_body;
    if (has_body)
        enqueue(s, st);
    else
        local_end(s, st);
    return 0;
}

void h2s_resume(h2s *s, h2s_stream *st)
{
    st->deferred = false;
    enqueue(s, st);
}

/* One DATA frame of the stream first in the queue, into buf; its bytes,
 * or 0 when it gave none (deferred, reset). */
static size_t data_frame(h2s *s, uint8_t *buf, size_t room)
{
    h2s_stream *st = s->qhead;
    if (st->send_window <= 0) { /* lowered by SETTINGS while queued (6.9.2): waits for WINDOW_UPDATE */
        unqueue(s, st);
        return 0;
    }
    if (room > H2FR_DEFAULT_MAX) /* (see h2s_respond) */
        room = H2FR_DEFAULT_MAX;
    if ((int64_t)room > st->send_window)
        room = (size_t)st->send_window;
    if ((int64_t)room > s->send_window)
        room = (size_t)s->send_window;
    bool eof = false;
    ssize_t k = s->cb->pull(s->ud, st, buf + H2FR_HEAD, room, &eof);
    unqueue(s, st);
    if (k == H2S_DEFER) {
        st->deferred = true;
        return 0;
    }
    if (k < 0 || (k == 0 && !eof)) {
        h2s_reset(s, st, H2E_INTERNAL_ERROR);
        return 0;
    }
    h2fr_hd_write(buf, (uint32_t)k, H2FR_DATA, eof ? H2FR_END_STREAM : 0, st->id);
    st->send_window -= k;
    s->send_window -= k;
    if (eof)
        local_end(s, st);
    else
        enqueue(s, st); /* behind the others: streams take turns */
    return H2FR_HEAD + (size_t)k;
}

size_t h2s_send(h2s *s, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        if (s->csent < s->clen) {
            size_t k = s->clen - s->csent < cap - len ? s->clen - s->csent : cap - len;
            memcpy(buf + len, s->ctl + s->csent, k);
            s->csent += k;
            len += k;
            if (s->csent < s->clen)
                break;
        }
        if (s->nclosing)
            reap(s);
        if (s->dead || !s->qhead || s->send_window <= 0 || cap - len <= H2FR_HEAD)
            break;
        len += data_frame(s, buf + len, cap - len - H2FR_HEAD);
    }
    if (s->csent == s->clen && s->ctl && !s->nstreams) { /* an idle connection keeps no buffer */
        free(s->ctl);
        s->ctl = NULL;
        s->ccap = s->clen = s->csent = 0;
    }
    return len;
}

/* ---- the connection -------------------------------------------------------------------- */

void h2s_notice(h2s *s)
{
    put_goaway(s, WINDOW_MAX, H2E_NO_ERROR);
}

void h2s_goaway(h2s *s, uint32_t code)
{
    s->goaway_sent = true;
    s->last_id = s->max_id;
    put_goaway(s, s->max_id, code);
}

void h2s_ping(h2s *s)
{
    uint8_t f[H2FR_HEAD + 8] = { 0 };
    h2fr_hd_write(f, 8, H2FR_PING, 0, 0);
    ctl_put(s, f, sizeof f);
}

bool h2s_done(const h2s *s)
{
    return (s->goaway_sent || s->goaway_recv) && !s->nstreams && s->csent == s->clen;
}

bool h2s_want_write(const h2s *s)
{
    return s->csent < s->clen || s->nclosing || (!s->dead && s->qhead && s->send_window > 0);
}

int h2s_init(h2s *s, const h2s_cbs *cb, void *ud, const h2s_settings *local, nghttp2_mem *mem)
{
    memset(s, 0, sizeof *s);
    s->cb = cb;
    s->ud = ud;
    s->local = *local;
    s->send_window = s->recv_window = s->peer_window = 65535;
    s->resets = RESET_BURST;
    hpk_init(&s->def);
    if (nghttp2_hd_inflate_new2(&s->inf, mem) != 0) {
        h2s_free(s);
        return -1;
    }
    const uint16_t ids[] = { H2S_MAX_CONCURRENT_STREAMS, H2S_MAX_HEADER_LIST_SIZE, H2S_INITIAL_WINDOW_SIZE };
    const uint32_t values[] = { local->max_concurrent_streams, local->max_header_list_size,
                                local->initial_window_size };
    uint8_t f[H2FR_HEAD + 6 * 3];
    if (ctl_put(s, f, (size_t)(h2fr_settings_write(f, ids, values, 3) - f)) != 0) {
        h2s_free(s);
        return -1;
    }
    if (local->connection_window_size > 65535) {
        put_u32(s, H2FR_WINDOW_UPDATE, 0, local->connection_window_size - 65535);
        s->recv_window = local->connection_window_size;
    }
    return 0;
}

void h2s_free(h2s *s)
{
    if (s->inf)
        nghttp2_hd_inflate_del(s->inf);
    hpk_free(&s->def);
    free(s->ctl);
    free(s->part);
    s->inf = NULL;
    s->ctl = s->part = NULL;
}
