/* worker/connlog.c: what a connection's requests leave behind: error-log lines with their context (client, server, request line), access-log lines, and the status page's counts. */
#include "worker/conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http/parser.h"
#include "log/log.h"
#include "util/cidr.h"

/* Which server a message is about: its first name, as nginx's "server:"
 * names server_name, or for a server without names its listener. */
static const char *conn_server_label(const conn *c, const cfg_server *s, char *buf, size_t len)
{
    const cfg *cf = c->w->cfg;
    const cfg_listen *l = &cf->listens[c->listen_idx];
    if (!s)
        s = &cf->servers[l->default_server];
    for (size_t i = 0; i < s->nnames; i++)
        if (s->names[i][0])
            return s->names[i];
    snprintf(buf, len, strchr(l->addr, ':') ? "[%s]:%u" : "%s:%u", l->addr, (unsigned)l->port);
    return buf;
}

void conn_vlog(conn *c, const cfg_server *s, const struct sockaddr *peer, ep_str request, enum log_level level,
               const char *fmt, va_list ap)
{
    if (level > log_get_level())
        return; /* the context costs an inet_ntop: only for lines that are written */
    char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN + 16];
    cidr_peer_text(peer ? peer : &c->peer.sa, client);
    log_ctx ctx = { .client = client, .server = conn_server_label(c, s, server, sizeof server), .request = request };
    log_ctx_vmsg(level, &ctx, fmt, ap);
}

/* $http_<name> (log/format.h): a request header's first value. */
static ep_str conn_header(const lf_req *r, ep_str lname)
{
    const hp_header *f = r->arg ? hp_header_next(r->arg, lname, NULL) : NULL;
    return f ? f->value : ep_str_make("", 0);
}

void conn_access(conn *c, const route *rt, const http_req *rq, access_entry *e)
{
    worker *w = c->w;
    const cfg_server *s = rt->srv;
    const cfg_rules *rules = rt->rules;
    size_t srv = s ? (size_t)(s - w->cfg->servers) : w->cfg->listens[c->listen_idx].default_server;
    const cfg_server *sv = &w->cfg->servers[srv];
    ep_str name = ep_str_make(cfg_server_label(sv), strlen(cfg_server_label(sv)));
    e->peer = rt->peer ? rt->peer : &c->peer.sa; /* real_ip_from's client, else the connection's */
    e->conn_peer = &c->peer.sa;
    e->proxy_peer = c->proxied ? &c->pp_peer.sa : NULL;
    e->when = w->now_sec;
    e->referer = rq->info.referer;
    e->user_agent = rq->info.user_agent;
    e->method = rq->head ? rq->head->method : ep_str_make("", 0);
    e->uri = ep_str_make(rq->path, rq->path ? rq->path_len : 0);
    e->args = rq->query;
    e->host = rq->info.host.len ? rq->info.host : name;
    e->server_name = name;
    e->server_port = w->cfg->listens[c->listen_idx].port;
    e->https = c->ssl != NULL;
    e->connection = c->serial;
    e->connection_requests = c->requests;
    e->header = conn_header;
    e->arg = rq->head;
    mx_counters *m = &w->mx->c;
    int cls = e->status / 100 - 1;
    if (cls >= 0 && cls < MX_CLASSES)
        mx_add(&m->by_status[w->mx_srv[srv]][cls], 1);
    mx_add(&m->body_bytes, e->bytes);
    int64_t ms = e->ms > 0 ? e->ms : 0;
    mx_add(&m->dur[mx_dur_bucket(ms)], 1);
    mx_add(&m->dur_sum_ms, (uint64_t)ms);
    /* The place that answered logs it (a head refused before it had a
     * place: its server). */
    const cfg_rules *r = rules ? rules : &sv->r;
    const wlog_set *set = r->nalogs ? &w->log_sets[r->alogs[0].set] : NULL;
    for (size_t k = 0; set && k < set->n; k++) {
        if (e->status < set->t[k].min_status)
            continue;
        access_log_write_fmt(set->t[k].log, set->t[k].fmt, e);
        /* A line reaches the file at most ALOG_FLUSH_MS after it was written. */
        if (w->alog_flush_ms < 0)
            w->alog_flush_ms = w->now_ms + ALOG_FLUSH_MS;
    }
}
