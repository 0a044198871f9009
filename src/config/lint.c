/* config/lint.c: -t warnings about settings that are legal but dangerous. */
#include "config/dump.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cidr.h"

static int emit(void (*warn)(void *, const char *), void *ctx, const char *where, const char *msg,
                const char *arg)
{
    char line[1024];
    snprintf(line, sizeof line, "%s%s%s \"%s\"", where ? where : "", where ? ": " : "", msg, arg);
    warn(ctx, line);
    return 1;
}

/* nginx's classic: location /img { alias /srv/images/; } serves /img../x
 * from /srv/x. ephttpd resolves beneath the alias and refuses that, but the
 * configuration still says something its author did not mean. */
static int lint_alias(const cfg_location *l, void (*warn)(void *, const char *), void *ctx)
{
    if (!(l->r.set & R_ALIAS) || l->kind == LOC_EXACT)
        return 0;
    size_t pl = strlen(l->pattern), al = strlen(l->r.alias);
    if (pl && l->pattern[pl - 1] != '/' && al && l->r.alias[al - 1] == '/')
        return emit(warn, ctx, l->where,
                    "prefix location without a trailing '/' has an alias with one (\"/img../x\" "
                    "would reach beside it in nginx); end both with '/' or neither:", l->pattern);
    return 0;
}

/* "deny ::/0" is meant for IPv6 clients more often than not, but an IPv4
 * client is ::ffff:a.b.c.d to it (and is so on a dual-stack listener):
 * say so, once where the rules are written (own: R_ACCESS set here). */
static int lint_acl(const cfg_rules *r, const char *where, void (*warn)(void *, const char *), void *ctx)
{
    int n = 0;
    if (!(r->set & R_ACCESS))
        return 0;
    for (size_t i = 0; i < r->nacl; i++) {
        if (!cidr_covers_ipv4(&r->acl[i].net))
            continue;
        char net[64], rule[80];
        cidr_format(&r->acl[i].net, net, sizeof net);
        snprintf(rule, sizeof rule, "%s %s", r->acl[i].allow ? "allow" : "deny", net);
        n += emit(warn, ctx, where, "access rule matches every IPv4 client too (a.b.c.d is "
                  "::ffff:a.b.c.d), not only IPv6 ones:", rule);
    }
    return n;
}

/* Where directory number dir is configured: the first server or location
 * that sets it as root or alias; the file when none does (command line). */
static const char *dir_where(const cfg *c, int dir)
{
    for (size_t i = 0; i < c->nservers; i++) {
        const cfg_server *s = &c->servers[i];
        if (s->r.dir == dir && (s->r.set & R_ROOT) && s->where)
            return s->where;
        for (size_t j = 0; j < s->nlocs; j++)
            if (s->locs[j].r.dir == dir && (s->locs[j].r.set & (R_ROOT | R_ALIAS)) && s->locs[j].where)
                return s->locs[j].where;
    }
    return c->source;
}

int cfg_lint(const cfg *c, void (*warn)(void *ctx, const char *line), void *ctx)
{
    int n = 0;
    for (size_t i = 0; i < c->nservers; i++) {
        const cfg_server *s = &c->servers[i];
        /* With a return nothing is listed; without a root there is no tree. */
        if (s->r.autoindex && s->r.root && !s->r.return_status)
            n += emit(warn, ctx, s->where, "autoindex lists the whole document root", s->r.root);
        n += lint_acl(&s->r, s->where, warn, ctx);
        for (size_t j = 0; j < s->nlocs; j++) {
            const cfg_location *l = &s->locs[j];
            n += lint_alias(l, warn, ctx);
            n += lint_acl(&l->r, l->where, warn, ctx);
            bool prefix = l->kind == LOC_PREFIX || l->kind == LOC_PREFIX_NOREGEX;
            if (l->r.autoindex && (l->r.set & R_AUTOINDEX) && prefix && strcmp(l->pattern, "/") == 0 &&
                !(l->r.set & R_ALIAS) && l->r.root && !l->r.return_status)
                n += emit(warn, ctx, l->where, "autoindex lists the whole document root", l->r.root);
        }
    }
    for (size_t i = 0; i < c->ndirs; i++) {
        struct stat st;
        if (stat(c->dirs[i], &st) == 0 && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
            n += emit(warn, ctx, dir_where(c, (int)i), "anyone may write to the document root",
                      c->dirs[i]);
    }
    return n;
}
