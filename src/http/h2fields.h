/* http/h2fields.h: what RFC 9113 (8.2, 8.3) asks of a request's fields received over HTTP/2.
 *
 * nghttp2 can check these itself (its "HTTP messaging"); worker/h2.c turns
 * that off and asks here instead, from the field callback it runs anyway:
 * nghttp2 looked every name up again, in its own table, per field (5% of a
 * small request). The rules are nghttp2 1.52's for a server, so a client
 * sees the same answers: any field that breaks one makes the request
 * malformed, a stream error PROTOCOL_ERROR (8.1.1). Pure: no I/O, no state
 * beyond the request's own. */
#ifndef EP_HTTP_H2FIELDS_H
#define EP_HTTP_H2FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t seen;          /* H2F_* bits */
    int64_t content_length; /* -1: none */
    int64_t received;       /* DATA bytes so far */
} h2f_state;

/* A request's fields are about to come. */
void h2f_begin(h2f_state *s);

/* One field of the request's header block, in order (trailer: of the
 * trailers that end it). 0, or -1: the request is malformed. */
int h2f_field(h2f_state *s, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen, bool trailer);

/* The header block is complete: -1 when a pseudo-header the request needs
 * is missing (or one it must not have is there: CONNECT). */
int h2f_request(h2f_state *s);

/* n bytes of the request's DATA: -1 past its content-length. */
int h2f_data(h2f_state *s, size_t n);

/* The client ended the stream: -1 when content-length said more. */
int h2f_end(const h2f_state *s);

#endif
