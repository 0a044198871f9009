/* http/response.h: status lines, response headers and the built-in error bodies. */
#ifndef EP_HTTP_RESPONSE_H
#define EP_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config/model.h"
#include "util/str.h"
#include "util/time.h"

typedef struct {
    const char *date;          /* IMF-fixdate of now, TIME_HTTP_LEN bytes */
    time_memo *dates;          /* Last-Modified formatted lately (the worker's), NULL: format it */
    const char *content_type;  /* NULL: none */
    int64_t content_length;    /* -1: none */
    time_t last_modified;      /* -1: none; with etag_size also an ETag */
    int64_t etag_size;         /* file size for the ETag, -1: no ETag */
    bool no_last_modified;     /* last_modified is the ETag's only: no Last-Modified field */
    const char *etag_text;     /* with etag_size >= 0: this ETag (quotes included) instead of mtime-size */
    ep_str location;           /* redirect target, len 0: none */
    bool location_encode;      /* location is a decoded path: percent-encode it */
    ep_str location_suffix;    /* appended to location (e.g. "/" then query) */
    ep_str location_query;     /* appended after '?' when non-empty */
    ep_str content_range;      /* Content-Range value, len 0: none */
    bool accept_ranges;        /* add "Accept-Ranges: bytes" */
    const char *allow;         /* Allow value ("GET, HEAD"), NULL: none */
    const char *content_encoding; /* NULL: none */
    bool vary_encoding;        /* add "Vary: Accept-Encoding" */
    int64_t max_age;           /* -1: none; else Cache-Control max-age and Expires */
    bool no_store;             /* without max_age: "Cache-Control: no-store" (a status page) */
    time_t now;                /* for Expires */
    const cfg_header *extra;   /* configured headers (add_header): each one */
    size_t nextra;             /* is written when resp_header_applies says so */
    bool keep_alive;
} resp_fields;

/* Bytes of a head beyond its variable parts (Content-Type, Location and the
 * configured headers): the status line, every other header resp_head can
 * write with its longest value (about 620 bytes), and an interim
 * "100 Continue" put ahead of it. The unit test fills every field to hold
 * resp_head to it. */
#define RESP_HEAD_FIXED 1024

/* The longest head resp_head can write when no Content-Type is longer than
 * ctype_max, no Location (as written: encoded, with suffix and query) longer
 * than location_max, and the configured headers are one of the sets whose
 * resp_extra_size is at most extra. */
size_t resp_head_max(size_t ctype_max, size_t location_max, size_t extra);

/* Bytes the configured headers h[0..n) take in a head when all apply. */
size_t resp_extra_size(const cfg_header *h, size_t n);

/* Whether a configured header goes on a response with this status: with
 * "always" on every one; without, as nginx's add_header, on 200, 201, 204,
 * 206, 301, 302, 303, 304, 307 and 308 only. */
bool resp_header_applies(const cfg_header *h, int status);

/* Reason phrase for a status ("Not Found"); "Unknown" for others. */
const char *resp_reason(int status);

/* Write the status line and headers, through the empty line, into buf.
 * Returns the length, or 0 if cap is too small. */
size_t resp_head(char *buf, size_t cap, int status, const resp_fields *f);

/* Room for every method name, ", "-separated. */
#define RESP_ALLOW_MAX 64
/* One field of an HTTP/2 head; name in lower case. */
typedef struct {
    const char *name;
    size_t nlen;
    const char *value;
    size_t vlen;
} resp_nv;

/* Fields an HTTP/2 head can have beyond the configured headers: :status,
 * server, date and one of each field resp_fields can ask for. */
#define RESP_NV_FIXED 16

/* The same head as resp_head for HTTP/2 (RFC 9113 8.3.2): :status first,
 * lower-case names, no Connection (connection-specific fields are
 * forbidden). Names and values are written into buf and nv[i] points at
 * them. Returns the number of fields, or 0 if buf or nv is too small
 * (buf of resp_head's size, nv of RESP_NV_FIXED + the configured headers,
 * always suffice). */
size_t resp_fields_h2(char *buf, size_t cap, int status, const resp_fields *f, resp_nv *nv, size_t nvcap);

/* The Allow value for a set of methods (config/model.h's bits, M_GET
 * bringing M_HEAD along), written into buf. */
const char *resp_allow(unsigned methods, char *buf, size_t len);
/* A short HTML body for an error status; its length in *len. */
const char *resp_error_body(int status, size_t *len);

#endif
