/* http/prepare.c: a validated configuration made ready to serve: regex locations compiled, the MIME table loaded (config/ stays plain data). */
#include "http/prepare.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/directives.h"
#include "http/loc.h"
#include "http/mime.h"

static void http_unprepare(cfg *c)
{
    for (size_t i = 0; i < c->nservers; i++)
        for (size_t j = 0; j < c->servers[i].nlocs; j++)
            loc_release(&c->servers[i].locs[j]);
    mime_free(c->mime);
    c->mime = NULL;
    c->unprepare = NULL;
}

int http_prepare(cfg *c, char *err, size_t errlen)
{
    c->unprepare = http_unprepare;
    for (size_t i = 0; i < c->nservers; i++)
        for (size_t j = 0; j < c->servers[i].nlocs; j++) {
            cfg_location *l = &c->servers[i].locs[j];
            char rerr[256];
            if (loc_compile(l, rerr, sizeof rerr) < 0) {
                snprintf(err, errlen, "%s%s\"match\": %s", l->where ? l->where : "", l->where ? ": " : "", rerr);
                return -1;
            }
        }
    if (c->mime_types && !c->mime && !(c->mime = mime_load(c->mime_types, err, errlen)))
        return -1;
    /* Without mime_types, the built-in table, indexed once per generation. */
    if (!c->mime && !(c->mime = mime_builtin_table())) {
        snprintf(err, errlen, "built-in MIME table: %s", strerror(ENOMEM));
        return -1;
    }
    return 0;
}

cfg *http_conf_read(const char *path, char *err, size_t errlen)
{
    cfg *c = conf_read(path, err, errlen);
    if (c && http_prepare(c, err, errlen) < 0) {
        cfg_free(c);
        return NULL;
    }
    return c;
}
