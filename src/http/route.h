/* http/route.h: routing, pure: (generation, request, client) to a response plan, by way of at most one pending file-system lookup at a time.
 *
 * route_request() picks the virtual server and location, applies their
 * rules (access, methods, return, hidden paths) and either completes
 * rt->plan (ROUTE_DONE) or stops at a lookup (ROUTE_LOOKUP): rt->lookup is a
 * static_req whose dirfd the caller sets to the directory rt->dir names
 * (the worker: its current view of cfg->dirs; --explain: opens it), runs
 * static_lookup() wherever it may block, and hands back with
 * route_lookup_done(). That may stop at another lookup (try_files' fallback,
 * an error_page), up to a fixed number of internal redirects. Nothing here
 * touches a socket, the loop, a clock or a log: what deserves an error-log
 * line is left in rt->note for the caller, who knows the client. */
#ifndef EP_HTTP_ROUTE_H
#define EP_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "config/model.h"
#include "http/plan.h"
#include "http/request.h"
#include "http/static.h"
#include "log/metrics.h"

#define ROUTE_NOTE_MAX 1200

enum route_state {
    ROUTE_DONE,   /* rt->plan is complete */
    ROUTE_LOOKUP, /* run rt->lookup, then route_lookup_done() */
    ROUTE_HASH,   /* hash rt->plan.fd's bytes (rt->lookup.res.st's size), then route_hash_done() */
};

/* etag = "content": files up to this size are hashed before their first
 * response; larger ones are served without an ETag until hashed. */
#define ROUTE_HASH_MAX (1 << 20)

/* What routing needs besides the request, and the memory it writes into:
 * a connection's block in the worker (sized by worker/conn.c). */
typedef struct {
    const cfg *cf;
    size_t listen_idx;            /* the listener that accepted the request */
    const struct sockaddr *peer;  /* the client; NULL: unknown, access rules not applied (--explain) */
    const cfg_server *tls_srv;    /* over TLS, the server whose certificate the handshake chose; else NULL */
    time_t now;                   /* for Expires */
    uint64_t seq;                 /* any number that differs between requests: multipart boundaries */
    void *loc_scratch;            /* loc_scratch_new(): regex match data */
    char *scratch;                /* static_scratch, or a return text being expanded: route_sizes.scratch bytes */
    size_t scratch_len;
    char *parts;                  /* multipart part heads: route_sizes.parts bytes */
    size_t parts_len;
    char *body;                   /* a small file read by a lookup that may block, or NULL */
    size_t body_len;
    const mx_region *mx;          /* the counters a status page shows (log/metrics.h); NULL: none */
} route_env;

typedef struct {
    const route_env *env;         /* the caller's, for as long as rt is in use */
    http_req *rq;
    const cfg_server *srv;        /* NULL until the request has a virtual server */
    const cfg_location *loc;      /* NULL: the server's own rules */
    const cfg_rules *rules;       /* NULL until a place is chosen: no add_header */
    int err_status;               /* serving an error_page for this status; 0 otherwise */
    int redirects;                /* internal redirects so far */
    int64_t range_size;           /* the file size a 416 quotes */
    const char *why;              /* a few words on why the outcome (for --explain), or NULL */
    const struct sockaddr *peer;  /* the client: env's, or the one real_ip_from's proxies named */
    uint8_t chash[16];            /* the file's content hash (etag = "content") */
    bool has_chash;               /* ... known: route_offer_hash, route_hash_done */
    bool hash_later;              /* served without one: the executor may hash it for the next requests */
    char etag[36];                /* '"' 32 hex digits '"' */
    struct sockaddr_storage client; /* ... kept here then */
    char note[ROUTE_NOTE_MAX];    /* an error-log line for the caller to write, "" none */
    /* the pending lookup */
    int dir;                      /* index into cfg->dirs whose fd goes into lookup.dirfd */
    bool cacheable;               /* a plain lookup: the open-file cache may answer or keep it */
    static_req lookup;
    http_plan plan;
} route;

/* The memory a request of a generation needs, whatever it asks. */
typedef struct {
    size_t head;    /* the longest response head (HTTP/1.1, an interim 100 included) */
    size_t scratch; /* route_env.scratch */
    size_t parts;   /* route_env.parts */
    size_t fields;  /* the most fields of an HTTP/2 head (resp_fields_h2's nv entries) */
} route_sizes;

void route_sizes_of(const cfg *cf, route_sizes *rs);

/* Take a request: rt knows env and rq, no place and no plan yet. */
void route_begin(route *rt, const route_env *env, http_req *rq);
/* Route the request (http_req_make returned 0 for it). */
enum route_state route_request(route *rt);
/* The pending lookup has run (rt->lookup's out fields are set). */
enum route_state route_lookup_done(route *rt);
/* The open-file cache answers the pending lookup with an open file res
 * (fd, stat, index) that stays the cache's. */
enum route_state route_lookup_cached(route *rt, const file_result *res);
/* A response for an error the caller ran into itself (a malformed head,
 * a timeout, an executor's failure); close: the connection ends after it. */
void route_error(route *rt, int status, bool close);
/* Before route_lookup_done/route_lookup_cached: the content hash the
 * executor already knows for the file found (NULL: none). */
void route_offer_hash(route *rt, const uint8_t *h);
/* The ROUTE_HASH step ran: h is the hash, or NULL when the file could not
 * be read (then served without an ETag). */
enum route_state route_hash_done(route *rt, const uint8_t *h);
/* Drop what an unfinished lookup holds (the connection went away). */
void route_abandon(route *rt);

#endif
