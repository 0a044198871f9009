/* http/plan.c: building a response plan: status, fields, segments, and the Content-Length they imply. */
#include "http/plan.h"

#include <stdlib.h>
#include <string.h>

void plan_init(http_plan *p)
{
    p->fd = -1;
    p->listing = NULL;
    plan_begin(p, 0, NULL, 0);
    p->close = false;
}

void plan_begin(http_plan *p, int status, const cfg_header *extra, size_t nextra)
{
    p->status = status;
    p->f = (resp_fields){ .content_length = -1, .last_modified = -1, .etag_size = -1, .max_age = -1,
                          .extra = extra, .nextra = nextra };
    p->nseg = 0;
    p->body_len = 0;
}

void plan_mem(http_plan *p, const char *mem, size_t len)
{
    if (len == 0 || p->nseg == PLAN_MAX_SEGS)
        return;
    p->seg[p->nseg++] = (plan_seg){ .mem = mem, .len = len };
    p->body_len += len;
}

void plan_file(http_plan *p, off_t off, size_t len)
{
    if (len == 0 || p->nseg == PLAN_MAX_SEGS)
        return;
    p->seg[p->nseg++] = (plan_seg){ .off = off, .len = len };
    p->body_len += len;
}

void plan_seal(http_plan *p, bool head_only)
{
    /* A 204 has no body and says nothing of one (RFC 9110 15.3.5); a 304
     * describes the representation by its validators only (RFC 9110 15.4.5). */
    if (p->status == 204 || p->status == 304) {
        p->nseg = 0;
        p->body_len = 0;
        p->f.content_length = -1;
        return;
    }
    p->f.content_length = (int64_t)p->body_len;
    if (head_only)
        p->nseg = 0;
}

void plan_clear(http_plan *p)
{
    free(p->listing);
    p->listing = NULL;
}
