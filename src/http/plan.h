/* http/plan.h: a response plan: status, head fields and body segments, the one form in which every response leaves routing.
 *
 * Routing (http/route.h) decides; an executor (worker/exec.h) delivers.
 * Between them is this plain data: a status, the head's fields
 * (resp_fields, written as an HTTP/1.1 head today, as HPACK later), and the
 * body as an ordered list of segments, each a slice of memory or a byte
 * range of the plan's one file. A multipart/byteranges body is just part
 * heads (memory) between file ranges. The executor owns plan->fd once the
 * plan is ready and closes it (or gives its cache entry back) when the
 * response is over; plan->listing is freed by plan_clear. */
#ifndef EP_HTTP_PLAN_H
#define EP_HTTP_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/cond.h"
#include "http/response.h"

/* Part heads and file ranges of the largest multipart body, and its tail. */
#define PLAN_MAX_SEGS (2 * COND_MAX_RANGES + 1)

typedef struct {
    const char *mem; /* a memory slice, or NULL: a range of the plan's file */
    off_t off;       /* where the range starts in the file */
    size_t len;
} plan_seg;

typedef struct {
    int status;
    resp_fields f;      /* date and keep_alive are the protocol's to fill */
    bool close;         /* the framing is in doubt: the connection ends after this */
    int fd;             /* the file the ranges read, -1: none */
    plan_seg seg[PLAN_MAX_SEGS];
    size_t nseg;
    uint64_t body_len;  /* the segments' total, before HEAD drops them */
    char *listing;      /* malloc'd body a segment points into, or NULL */
    /* where field values that are not the configuration's live */
    char allow[RESP_ALLOW_MAX];
    char crange[COND_CONTENT_RANGE_MAX];
    char ctype[64 + COND_BOUNDARY_MAX];
} http_plan;

/* An empty plan without file or listing. */
void plan_init(http_plan *p);
/* Start the response anew with status: fields cleared (the configured
 * headers extra[0..nextra) go on, resp_head picks those the status takes),
 * segments dropped. The file and listing stay: they are released with the
 * plan, not with an answer that replaced the one that needed them. */
void plan_begin(http_plan *p, int status, const cfg_header *extra, size_t nextra);
/* Append a segment (len 0 appends nothing). */
void plan_mem(http_plan *p, const char *mem, size_t len);
void plan_file(http_plan *p, off_t off, size_t len);
/* The plan is complete: Content-Length is the segments' total (none for a
 * 204, a 304 carries the validators only), and for HEAD the segments go. */
void plan_seal(http_plan *p, bool head_only);
/* Free the listing; the file is the executor's. */
void plan_clear(http_plan *p);

#endif
