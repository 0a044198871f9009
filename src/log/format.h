/* log/format.h: access-log formats: nginx-style $variables compiled once, written per request with the format's escaping. */
#ifndef EP_LOG_FORMAT_H
#define EP_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "util/str.h"

/* How variable values are written (nginx's log_format escape=):
 * DEFAULT: '"', '\\', controls and bytes above 0x7E as \xHH;
 * JSON: a JSON string's inside, valid UTF-8 whatever the bytes;
 * NONE: as they are, but controls (CR, LF...) as \xHH: a line stays one line. */
enum lf_escape { LF_ESC_DEFAULT = 0, LF_ESC_JSON, LF_ESC_NONE };
extern const char *const lf_escape_names[4]; /* "default", "json", "none"; NULL-terminated */

/* Each variable's value takes at most this many bytes of a line (as
 * escaped); a longer one is cut and ends in "...[+N bytes]". */
#define LF_FIELD_MAX 16384

/* What a line can show of one request. Strings may be empty (written as
 * "-", as nginx writes a variable without a value). */
typedef struct lf_req {
    const struct sockaddr *peer;      /* the client ($remote_addr) */
    const struct sockaddr *conn_peer; /* the connection's, before real_ip_from ($realip_remote_addr); NULL: peer */
    const struct sockaddr *proxy_peer; /* the PROXY protocol header's ($proxy_protocol_addr); NULL: none */
    time_t when;                /* when the response ended, Unix seconds */
    ep_str request_line;        /* "GET /x HTTP/1.1", or empty when none was parsed */
    ep_str method, uri, args;   /* the decoded path, the query string */
    ep_str host;                /* the request's host, else the server's first name */
    ep_str server_name;         /* the server's first name */
    ep_str referer, user_agent;
    int status;
    uint64_t bytes;             /* body bytes sent */
    uint64_t bytes_sent;        /* head and body (HTTP/2: the body's, the head being compressed) */
    int64_t ms;                 /* from the request's first byte to its last response byte sent */
    unsigned server_port;
    bool https;
    uint64_t connection, connection_requests; /* the connection's serial number; its requests so far */
    /* A request header's value by lower-case name, empty when absent;
     * NULL: none can be looked up. */
    ep_str (*header)(const struct lf_req *r, ep_str lname);
    const void *arg;            /* for header */
} lf_req;

typedef struct {
    uint16_t var;  /* enum lf_var (format.c), or LF_LIT */
    uint32_t off;  /* a literal's bytes, or an $http_ name's (lower case, '-' for '_'), in text */
    uint32_t len;
} lf_op;

typedef struct lf_format {
    lf_op *ops;
    size_t nops;
    char *text;           /* the literals and header names ops point into */
    enum lf_escape esc;
    size_t line_max;      /* the longest line it can write, newline included */
} lf_format;

/* nginx's combined format, the default. */
#define LF_COMBINED                                                                                  \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" " \
    "\"$http_user_agent\""

/* Compile src: literal text and $name or ${name} variables. 0, or -1 with
 * one line in err naming the first unknown variable or a bad "$", "${".
 * f is the caller's, to give back with lf_free. */
int lf_compile(lf_format *f, const char *src, enum lf_escape esc, char *err, size_t errlen);
void lf_free(lf_format *f);

/* Write r's line (with its '\n') at out, which has f->line_max bytes;
 * returns its length. */
size_t lf_write(const lf_format *f, const lf_req *r, char *out);

/* The names lf_compile knows ("http_" stands for every $http_<name>). */
extern const char *const lf_var_names[];

#endif
