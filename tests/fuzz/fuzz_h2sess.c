/* tests/fuzz/fuzz_h2sess.c: libFuzzer target for the pure HTTP/2 session (http/h2sess.c) alone, fast: any client bytes in pieces, every answer drained and checked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/h2sess.h"

/* A caller's streams: a pool, each answering with a body of a length the
 * input chose (some deferred and resumed, some reset), and the counts the
 * session's promises are checked against. */
typedef struct {
    h2s_stream hs;
    bool used;
    size_t body, sent;
} fstream;

typedef struct {
    fstream pool[16];
    h2s s;
    int opened, closed;
    uint8_t knob; /* from the input: how streams answer */
} fctx;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_h2sess: %s\n", what);
        abort();
    }
}

static h2s_stream *f_open(void *ud, uint32_t id)
{
    fctx *f = ud;
    for (int i = 0; i < 16; i++)
        if (!f->pool[i].used) {
            f->pool[i].used = true;
            f->pool[i].body = (id * 7919u + f->knob) % 40000;
            f->pool[i].sent = 0;
            f->opened++;
            return &f->pool[i].hs;
        }
    return NULL;
}

static void f_field(void *ud, h2s_stream *st, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl, bool tr)
{
    (void)ud, (void)st, (void)n, (void)v, (void)tr;
    check(nl < (1u << 20) && vl < (1u << 20), "a field longer than its block");
}

static void f_end(void *ud, h2s_stream *st, bool trailer, bool end)
{
    (void)end;
    fctx *f = ud;
    fstream *fs = (fstream *)st;
    check(fs->used, "fields_end for a stream not open");
    if (trailer)
        return;
    static const resp_nv nv[] = { { ":status", 7, "200", 3 }, { "server", 6, "ephttpd", 7 },
                                  { "x-knob", 6, "abcdefghijklmnopqrstuvwxyz", 26 } };
    if (f->knob % 7 == 3)
        h2s_reset(&f->s, st, H2E_INTERNAL_ERROR);
    else
        h2s_respond(&f->s, st, nv, 2 + f->knob % 2, fs->body > 0);
}

static void f_data(void *ud, h2s_stream *st, size_t len, bool end)
{
    (void)ud, (void)len, (void)end;
    check(((fstream *)st)->used, "data for a stream not open");
}

static void f_close(void *ud, h2s_stream *st, uint32_t code)
{
    (void)code;
    fctx *f = ud;
    fstream *fs = (fstream *)st;
    check(fs->used, "close of a stream not open");
    fs->used = false;
    f->closed++;
}

static ssize_t f_pull(void *ud, h2s_stream *st, uint8_t *buf, size_t len, bool *eof)
{
    fctx *f = ud;
    fstream *fs = (fstream *)st;
    check(fs->used, "pull from a stream not open");
    check(len > 0 && len <= H2FR_DEFAULT_MAX, "a pull of a size no frame has");
    if (f->knob % 5 == 1 && fs->sent == 0 && !(f->knob & 0x80)) {
        f->knob |= 0x80; /* once: deferred, resumed below */
        return H2S_DEFER;
    }
    size_t k = fs->body - fs->sent < len ? fs->body - fs->sent : len;
    memset(buf, 'd', k);
    fs->sent += k;
    *eof = fs->sent == fs->body;
    return (ssize_t)k;
}

static void f_ping(void *ud)
{
    (void)ud;
}

static void f_error(void *ud, uint32_t code, const char *why)
{
    (void)ud;
    check(code <= H2E_HTTP_1_1_REQUIRED && why && *why, "an error without a code or a reason");
}

static const h2s_cbs CBS = { f_open, f_field, f_end, f_data, f_close, f_pull, f_ping, f_error };

/* Everything the session has to send, each frame's header checked. */
static void drain(fctx *f)
{
    static uint8_t out[65536];
    size_t n;
    while ((n = h2s_send(&f->s, out, sizeof out)) > 0) {
        for (size_t at = 0; at < n;) {
            check(n - at >= H2FR_HEAD, "a frame cut at the end of a send");
            h2fr_hd hd;
            h2fr_hd_read(out + at, &hd);
            check(hd.len <= H2FR_DEFAULT_MAX, "a frame longer than 16 KiB");
            check(n - at >= H2FR_HEAD + hd.len, "a frame cut at the end of a send");
            at += H2FR_HEAD + hd.len;
        }
    }
    for (int i = 0; i < 16; i++) /* deferred streams have their bytes now */
        if (f->pool[i].used && f->pool[i].hs.deferred)
            h2s_resume(&f->s, &f->pool[i].hs);
    while ((n = h2s_send(&f->s, out, sizeof out)) > 0)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fctx f;
    memset(&f, 0, sizeof f);
    f.knob = size ? data[0] : 0;
    h2s_settings local = { 8, 16384, 65535, 65535 + (f.knob & 1) * 1000000 };
    check(h2s_init(&f.s, &CBS, &f, &local, NULL) == 0, "init");
    static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    h2s_recv(&f.s, preface, 24, 0);
    /* the input in pieces whose sizes it chooses: frames cut anywhere */
    size_t at = size ? 1 : 0;
    int64_t now = 0;
    while (at < size) {
        size_t piece = 1 + data[at] % 64;
        at++;
        if (piece > size - at)
            piece = size - at;
        int rv = h2s_recv(&f.s, data + at, piece, now);
        at += piece;
        now += 7;
        drain(&f);
        if (rv < 0)
            break;
    }
    drain(&f);
    check(f.opened - f.closed == (int)f.s.nstreams, "streams opened and closed do not add up");
    h2s_free(&f.s);
    return 0;
}
