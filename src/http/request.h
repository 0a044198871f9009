/* http/request.h: a request as routing sees it: method, target, decoded path, host and the header fields used, built from a parsed head. */
#ifndef EP_HTTP_REQUEST_H
#define EP_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "http/parser.h"
#include "util/str.h"

/* Slices point into the connection's read buffer (or --explain's text) and
 * path into a buffer of max_uri_len + 1 bytes; nothing is owned. */
typedef struct {
    const hp_request *head; /* the parsed head the slices come from */
    hp_info info;           /* info.host: the host routed by, checked, without port or trailing dot */
    unsigned method;        /* its M_* bit, 0 for a method the configuration cannot name */
    bool head_only;         /* HEAD: the head of what GET would get */
    bool asterisk;          /* "OPTIONS *" (RFC 9112 3.2.4) */
    ep_str raw_path, query; /* as sent, still percent-encoded */
    char *path;             /* decoded, normalised, NUL-terminated; routing may replace it */
    size_t path_len;        /* (an internal redirect: try_files, error_page) */
} http_req;

/* The M_* bit of a method name, 0 if none. */
unsigned http_method_bit(ep_str m);

/* Make rq from a parsed head under cf's limits, writing the decoded path
 * into path (max_uri_len + 1 bytes). Returns 0, or the status the request
 * earns: 400 (malformed target or Host, "*" with another method than
 * OPTIONS), 413, 414, 417, 501 (hp_analyze's). Any such status leaves the
 * framing in doubt: the connection ends after the answer. rq->info is set
 * as far as the head could be read, for the access log. */
int http_req_make(http_req *rq, const hp_request *head, const cfg *cf, char *path);

#endif
