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

typedef struct {
    const char *date;          /* IMF-fixdate of now, TIME_HTTP_LEN bytes */
    const char *content_type;  /* NULL: none */
    int64_t content_length;    /* -1: none */
    time_t last_modified;      /* -1: none; with etag_size also an ETag */
    int64_t etag_size;         /* file size for the ETag, -1: no ETag */
    ep_str location;           /* redirect target, len 0: none */
    ep_str location_suffix;    /* appended to location (e.g. "/" then query) */
    ep_str location_query;     /* appended after '?' when non-empty */
    ep_str content_range;      /* Content-Range value, len 0: none */
    bool accept_ranges;        /* add "Accept-Ranges: bytes" */
    const char *allow;         /* Allow value ("GET, HEAD"), NULL: none */
    const char *content_encoding; /* NULL: none */
    bool vary_encoding;        /* add "Vary: Accept-Encoding" */
    int64_t max_age;           /* -1: none; else Cache-Control max-age and Expires */
    time_t now;                /* for Expires */
    const cfg_header *extra;   /* configured headers (add_header) */
    size_t nextra;
    bool keep_alive;
} resp_fields;

/* Reason phrase for a status ("Not Found"); "Unknown" for others. */
const char *resp_reason(int status);

/* Write the status line and headers, through the empty line, into buf.
 * Returns the length, or 0 if cap is too small. */
size_t resp_head(char *buf, size_t cap, int status, const resp_fields *f);

/* A short HTML body for an error status; its length in *len. */
const char *resp_error_body(int status, size_t *len);

#endif
