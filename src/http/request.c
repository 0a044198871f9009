/* http/request.c: checking a parsed head and deriving what routing needs from it: the host, the decoded path, the method. */
#include "http/request.h"

#include <string.h>

#include "http/uri.h"

unsigned http_method_bit(ep_str m)
{
    for (size_t i = 0; i < CFG_NMETHODS; i++)
        if (ep_str_eq(m, cfg_method_names[i]))
            return 1u << i;
    return 0;
}

/* The request's host, into info.host for the virtual server and $host: the
 * absolute-form target's authority when there is one, which wins over Host
 * (RFC 9112 3.2.2), else the Host header; either without its port and
 * trailing dot. A Host header must be valid even when the target names the
 * host (RFC 9112 3.2; nginx checks both too). Returns 0 or 400. */
static int req_choose_host(http_req *rq, ep_str authority)
{
    ep_str name = { 0 };
    /* The parser's slices are never NULL: a NULL p is a Host never sent. */
    if (rq->info.host.p && uri_host(rq->info.host, &name) != 0)
        return 400;
    if (authority.len && uri_host(authority, &name) != 0)
        return 400;
    rq->info.host = name;
    return 0;
}

int http_req_make(http_req *rq, const hp_request *head, const cfg *cf, char *path)
{
    *rq = (http_req){ .head = head, .path = path };
    path[0] = '\0';
    int st = hp_analyze(head, &rq->info);
    rq->method = http_method_bit(head->method);
    rq->head_only = rq->method == M_HEAD;
    if (st)
        return st;
    if (rq->info.content_length > cf->max_body_size)
        return 413;
    if (head->target.len > cf->max_uri_len)
        return 414;
    if (ep_str_eq(head->target, "*")) { /* asterisk-form: OPTIONS only */
        rq->asterisk = true;
        return rq->method == M_OPTIONS ? 0 : 400;
    }
    ep_str host;
    if (uri_split(head->target, &host, &rq->raw_path, &rq->query) != 0 || req_choose_host(rq, host) != 0)
        return 400;
    return uri_decode_path(rq->raw_path.p, rq->raw_path.len, path, cf->max_uri_len + 1, &rq->path_len);
}
