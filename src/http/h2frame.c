/* http/h2frame.c: HTTP/2 frames (RFC 9113 sections 4 and 6) read, checked and written. */
#include "http/h2frame.h"

#include <string.h>

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

const char *h2fr_error_name(uint32_t code)
{
    static const char *const names[] = {
        "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
        "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
        "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
    };
    return code < sizeof names / sizeof names[0] ? names[code] : "unknown";
}

void h2fr_hd_read(const uint8_t *p, h2fr_hd *hd)
{
    hd->len = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    hd->type = p[3];
    hd->flags = p[4];
    hd->id = get32(p + 5) & 0x7fffffffu; /* the reserved bit is ignored on receipt (4.1) */
}

uint8_t *h2fr_hd_write(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags, uint32_t id)
{
    p[0] = (uint8_t)(len >> 16);
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    p[3] = type;
    p[4] = flags;
    return put32(p + 5, id & 0x7fffffffu);
}

static h2fr_verdict conn_error(uint32_t code)
{
    return (h2fr_verdict){ code, false };
}

static h2fr_verdict stream_error(uint32_t code)
{
    return (h2fr_verdict){ code, true };
}

/* DATA and HEADERS: padding (and HEADERS' priority) taken off the content. */
static h2fr_verdict unpad(const h2fr_hd *hd, const uint8_t *p, h2fr_frame *f)
{
    size_t pad = 0, skip = 0, len = hd->len;
    if (hd->flags & H2FR_PADDED)
        skip = 1;
    if (hd->type == H2FR_HEADERS && (hd->flags & H2FR_PRIORITY_FLAG))
        skip += 5;
    if (len < skip) /* too short for the fields its flags announce: it carries a field block */
        return conn_error(H2E_FRAME_SIZE_ERROR);
    if (hd->flags & H2FR_PADDED) {
        pad = p[0];
        if (pad > len - skip) /* 6.1, 6.2: padding as long as the payload or longer */
            return conn_error(H2E_PROTOCOL_ERROR);
    }
    f->data = p + skip;
    f->dlen = len - skip - pad;
    if (hd->type == H2FR_HEADERS && (hd->flags & H2FR_PRIORITY_FLAG)) {
        f->value = get32(p + skip - 5) & 0x7fffffffu;
        if (f->value == hd->id) /* 5.3.1: a stream cannot depend on itself */
            return stream_error(H2E_PROTOCOL_ERROR);
    }
    return (h2fr_verdict){ 0, false };
}

static uint32_t setting_check(uint16_t id, uint32_t v)
{
    switch (id) {
    case H2S_ENABLE_PUSH:
    case H2S_ENABLE_CONNECT_PROTOCOL:
    case H2S_NO_RFC7540_PRIORITIES:
        return v > 1 ? H2E_PROTOCOL_ERROR : 0;
    case H2S_INITIAL_WINDOW_SIZE:
        return v > H2FR_WINDOW_MAX ? H2E_FLOW_CONTROL_ERROR : 0;
    case H2S_MAX_FRAME_SIZE:
        return v < H2FR_DEFAULT_MAX || v > H2FR_LIMIT_MAX ? H2E_PROTOCOL_ERROR : 0;
    default: /* the others take any value; unknown ones are ignored (6.5.2) */
        return 0;
    }
}

static h2fr_verdict check_settings(const h2fr_hd *hd, const uint8_t *p, h2fr_frame *f)
{
    if (hd->id != 0)
        return conn_error(H2E_PROTOCOL_ERROR);
    if ((hd->flags & H2FR_ACK) ? hd->len != 0 : hd->len % 6 != 0)
        return conn_error(H2E_FRAME_SIZE_ERROR);
    f->data = p;
    f->dlen = hd->len;
    for (size_t i = 0; i < h2fr_settings(f); i++) {
        uint16_t id;
        uint32_t v;
        h2fr_setting(f, i, &id, &v);
        uint32_t code = setting_check(id, v);
        if (code)
            return conn_error(code);
    }
    return (h2fr_verdict){ 0, false };
}

/* The frames whose whole payload is fixed fields. */
static h2fr_verdict check_fixed(const h2fr_hd *hd, const uint8_t *p, h2fr_frame *f)
{
    switch (hd->type) {
    case H2FR_PRIORITY:
        if (hd->id == 0)
            return conn_error(H2E_PROTOCOL_ERROR);
        if (hd->len != 5)
            return stream_error(H2E_FRAME_SIZE_ERROR);
        f->value = get32(p) & 0x7fffffffu;
        return f->value == hd->id ? stream_error(H2E_PROTOCOL_ERROR) : (h2fr_verdict){ 0, false };
    case H2FR_RST_STREAM:
        if (hd->id == 0)
            return conn_error(H2E_PROTOCOL_ERROR);
        if (hd->len != 4)
            return conn_error(H2E_FRAME_SIZE_ERROR);
        f->value = get32(p);
        return (h2fr_verdict){ 0, false };
    case H2FR_PING:
        if (hd->id != 0)
            return conn_error(H2E_PROTOCOL_ERROR);
        if (hd->len != 8)
            return conn_error(H2E_FRAME_SIZE_ERROR);
        f->data = p;
        f->dlen = 8;
        return (h2fr_verdict){ 0, false };
    case H2FR_GOAWAY:
        if (hd->id != 0)
            return conn_error(H2E_PROTOCOL_ERROR);
        if (hd->len < 8)
            return conn_error(H2E_FRAME_SIZE_ERROR);
        f->last_id = get32(p) & 0x7fffffffu;
        f->value = get32(p + 4);
        f->data = p + 8;
        f->dlen = hd->len - 8;
        return (h2fr_verdict){ 0, false };
    default: /* H2FR_WINDOW_UPDATE */
        if (hd->len != 4)
            return conn_error(H2E_FRAME_SIZE_ERROR);
        f->value = get32(p) & 0x7fffffffu;
        if (f->value == 0) /* 6.9: on a stream, that stream's error; on the connection, its */
            return hd->id ? stream_error(H2E_PROTOCOL_ERROR) : conn_error(H2E_PROTOCOL_ERROR);
        return (h2fr_verdict){ 0, false };
    }
}

h2fr_verdict h2fr_check(const h2fr_hd *hd, const uint8_t *p, uint32_t max_frame, h2fr_frame *f)
{
    memset(f, 0, sizeof *f);
    f->hd = *hd;
    if (hd->len > max_frame)
        return conn_error(H2E_FRAME_SIZE_ERROR);
    switch (hd->type) {
    case H2FR_DATA:
    case H2FR_HEADERS:
        if (hd->id == 0)
            return conn_error(H2E_PROTOCOL_ERROR);
        return unpad(hd, p, f);
    case H2FR_CONTINUATION:
        if (hd->id == 0)
            return conn_error(H2E_PROTOCOL_ERROR);
        f->data = p;
        f->dlen = hd->len;
        return (h2fr_verdict){ 0, false };
    case H2FR_SETTINGS:
        return check_settings(hd, p, f);
    case H2FR_PUSH_PROMISE: /* 8.4: a client cannot push */
        return conn_error(H2E_PROTOCOL_ERROR);
    case H2FR_PRIORITY:
    case H2FR_RST_STREAM:
    case H2FR_PING:
    case H2FR_GOAWAY:
    case H2FR_WINDOW_UPDATE:
        return check_fixed(hd, p, f);
    default: /* an extension's frame: ignored (5.5) */
        f->data = p;
        f->dlen = hd->len;
        return (h2fr_verdict){ 0, false };
    }
}

void h2fr_setting(const h2fr_frame *f, size_t n, uint16_t *id, uint32_t *value)
{
    const uint8_t *p = f->data + 6 * n;
    *id = (uint16_t)(p[0] << 8 | p[1]);
    *value = get32(p + 2);
}

uint8_t *h2fr_settings_write(uint8_t *p, const uint16_t *ids, const uint32_t *values, size_t n)
{
    p = h2fr_hd_write(p, (uint32_t)(6 * n), H2FR_SETTINGS, 0, 0);
    for (size_t i = 0; i < n; i++) {
        *p++ = (uint8_t)(ids[i] >> 8);
        *p++ = (uint8_t)ids[i];
        p = put32(p, values[i]);
    }
    return p;
}

uint8_t *h2fr_u32_write(uint8_t *p, uint8_t type, uint32_t id, uint32_t value)
{
    return put32(h2fr_hd_write(p, 4, type, 0, id), value);
}

uint8_t *h2fr_ping_ack_write(uint8_t *p, const uint8_t opaque[8])
{
    p = h2fr_hd_write(p, 8, H2FR_PING, H2FR_ACK, 0);
    memcpy(p, opaque, 8);
    return p + 8;
}

uint8_t *h2fr_goaway_write(uint8_t *p, uint32_t last_id, uint32_t code)
{
    p = h2fr_hd_write(p, 8, H2FR_GOAWAY, 0, 0);
    return put32(put32(p, last_id & 0x7fffffffu), code);
}
