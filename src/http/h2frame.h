/* http/h2frame.h: HTTP/2 frames (RFC 9113 section 4 and 6) read and written, one whole frame at a time.
 *
 * The first layer of ephttpd's own HTTP/2 framing (issue 15: nghttp2's
 * session layer took 21% of a small h2 request's CPU and its HPACK 13%,
 * where H2O's whole HTTP/2 layer takes about 7%; the session above this
 * keeps nghttp2's HPACK). Pure: no I/O, no state. h2fr_check applies every
 * rule of section 6 that a frame carries by itself (lengths, stream ids,
 * padding, flags, setting values); the rules that need the connection's
 * state (stream states, header blocks, windows) are the session's. */
#ifndef EP_HTTP_H2FRAME_H
#define EP_HTTP_H2FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H2FR_HEAD 9              /* a frame header's bytes */
#define H2FR_DEFAULT_MAX 16384u  /* SETTINGS_MAX_FRAME_SIZE's initial value and floor */
#define H2FR_LIMIT_MAX 16777215u /* its ceiling: 2^24 - 1 */
#define H2FR_WINDOW_MAX 2147483647u

enum h2fr_type {
    H2FR_DATA, H2FR_HEADERS, H2FR_PRIORITY, H2FR_RST_STREAM, H2FR_SETTINGS,
    H2FR_PUSH_PROMISE, H2FR_PING, H2FR_GOAWAY, H2FR_WINDOW_UPDATE, H2FR_CONTINUATION
};

enum h2fr_flag {
    H2FR_END_STREAM = 0x1, H2FR_ACK = 0x1, H2FR_END_HEADERS = 0x4, H2FR_PADDED = 0x8, H2FR_PRIORITY_FLAG = 0x20
};

/* RFC 9113 section 7 */
enum h2fr_error {
    H2E_NO_ERROR, H2E_PROTOCOL_ERROR, H2E_INTERNAL_ERROR, H2E_FLOW_CONTROL_ERROR, H2E_SETTINGS_TIMEOUT,
    H2E_STREAM_CLOSED, H2E_FRAME_SIZE_ERROR, H2E_REFUSED_STREAM, H2E_CANCEL, H2E_COMPRESSION_ERROR,
    H2E_CONNECT_ERROR, H2E_ENHANCE_YOUR_CALM, H2E_INADEQUATE_SECURITY, H2E_HTTP_1_1_REQUIRED
};

enum h2fr_setting {
    H2S_HEADER_TABLE_SIZE = 1, H2S_ENABLE_PUSH, H2S_MAX_CONCURRENT_STREAMS, H2S_INITIAL_WINDOW_SIZE,
    H2S_MAX_FRAME_SIZE, H2S_MAX_HEADER_LIST_SIZE, H2S_ENABLE_CONNECT_PROTOCOL = 8, H2S_NO_RFC7540_PRIORITIES
};

typedef struct {
    uint32_t len; /* the payload's */
    uint8_t type, flags;
    uint32_t id; /* the reserved bit cleared */
} h2fr_hd;

/* A frame checked by h2fr_check, its payload taken apart. */
typedef struct {
    h2fr_hd hd;
    const uint8_t *data; /* DATA, HEADERS, CONTINUATION: the content without padding and priority;
                          * GOAWAY: its debug data; SETTINGS and PING: the payload */
    size_t dlen;
    uint32_t value;      /* RST_STREAM and GOAWAY: the error code; WINDOW_UPDATE: the increment;
                          * PRIORITY and HEADERS with priority: the stream depended on */
    uint32_t last_id;    /* GOAWAY */
} h2fr_frame;

/* The result of a check: 0, or an error code and whether it is a stream
 * error (the stream is reset; the connection goes on) or a connection error
 * (GOAWAY, then close). */
typedef struct {
    uint32_t code;
    bool stream;
} h2fr_verdict;

/* An error code's name ("PROTOCOL_ERROR"), or "unknown". */
const char *h2fr_error_name(uint32_t code);

/* The header at p (H2FR_HEAD bytes). */
void h2fr_hd_read(const uint8_t *p, h2fr_hd *hd);

/* Writes a frame header at p; returns the byte after it. */
uint8_t *h2fr_hd_write(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags, uint32_t id);

/* Checks the frame hd whose payload is p (hd->len bytes, the whole of it)
 * and fills f. max_frame is the SETTINGS_MAX_FRAME_SIZE we announced; a
 * longer frame is a FRAME_SIZE_ERROR (4.2). Unknown frame types pass (5.5):
 * the caller ignores them. */
h2fr_verdict h2fr_check(const h2fr_hd *hd, const uint8_t *p, uint32_t max_frame, h2fr_frame *f);

/* The n-th setting of a checked SETTINGS frame's payload. */
void h2fr_setting(const h2fr_frame *f, size_t n, uint16_t *id, uint32_t *value);

/* How many settings f holds. */
static inline size_t h2fr_settings(const h2fr_frame *f)
{
    return f->dlen / 6;
}

/* Frames the server writes; each returns the byte after it. */
uint8_t *h2fr_settings_write(uint8_t *p, const uint16_t *ids, const uint32_t *values, size_t n);
uint8_t *h2fr_u32_write(uint8_t *p, uint8_t type, uint32_t id, uint32_t value); /* RST_STREAM, WINDOW_UPDATE */
uint8_t *h2fr_ping_ack_write(uint8_t *p, const uint8_t opaque[8]);
uint8_t *h2fr_goaway_write(uint8_t *p, uint32_t last_id, uint32_t code);

#endif
