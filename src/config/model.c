/* config/model.c: defaults and whole-model validation of the settings. */
#include "config/model.h"

#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const default_index[] = { "index.html" };

int cfg_set_str(char **field, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

cfg *cfg_new(void)
{
    cfg *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    /* Defaults follow nginx where it has an equivalent. */
    c->workers = 1;
    c->wq_threads = 4;
    c->worker_connections = 4096;
    c->header_timeout_ms = 60000;
    c->keepalive_timeout_ms = 75000;
    c->send_timeout_ms = 60000;
    c->max_header_size = 16384;
    c->max_uri_len = 8192;
    c->max_body_size = 1 << 20;
    c->keepalive_requests = 1000;
    c->small_file_max = 16384;
    c->log_level = LOGL_INFO;
    c->listens = calloc(1, sizeof *c->listens);
    c->servers = calloc(1, sizeof *c->servers);
    if (!c->listens || !c->servers)
        goto oom;
    c->nlistens = c->nservers = 1;
    c->listens[0].port = 8080;
    c->listens[0].backlog = 511;
    cfg_server *s = &c->servers[0];
    s->index = calloc(EP_ARRAY_LEN(default_index), sizeof *s->index);
    if (!s->index)
        goto oom;
    for (size_t i = 0; i < EP_ARRAY_LEN(default_index); i++)
        if (cfg_set_str(&s->index[s->nindex++], default_index[i]) < 0)
            goto oom;
    if (cfg_set_str(&c->listens[0].addr, "0.0.0.0") < 0 || cfg_set_str(&s->access_log, "-") < 0 ||
        cfg_set_str(&c->error_log, "-") < 0)
        goto oom;
    return c;
oom:
    cfg_free(c);
    return NULL;
}

void cfg_free(cfg *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nlistens; i++)
        free(c->listens[i].addr);
    for (size_t i = 0; i < c->nservers; i++) {
        cfg_server *s = &c->servers[i];
        free(s->root);
        for (size_t j = 0; j < s->nindex; j++)
            free(s->index[j]);
        free(s->index);
        free(s->access_log);
    }
    free(c->listens);
    free(c->servers);
    free(c->error_log);
    free(c->pid_file);
    free(c);
}

int cfg_worker_count(const cfg *c)
{
    if (c->workers > 0)
        return c->workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int check_root(const char *root, char *err, size_t errlen)
{
    struct stat st;
    if (!root) {
        snprintf(err, errlen, "no document root given (use -r DIR)");
        return -1;
    }
    if (stat(root, &st) < 0) {
        snprintf(err, errlen, "root \"%s\": %s", root, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "root \"%s\": not a directory", root);
        return -1;
    }
    if (access(root, R_OK | X_OK) < 0) {
        snprintf(err, errlen, "root \"%s\": cannot be read: %s", root, strerror(errno));
        return -1;
    }
    return 0;
}

int cfg_validate(const cfg *c, char *err, size_t errlen)
{
    if (c->nlistens == 0 || c->nservers == 0) {
        snprintf(err, errlen, "no listener or no server configured");
        return -1;
    }
    for (size_t i = 0; i < c->nservers; i++)
        if (check_root(c->servers[i].root, err, errlen) < 0)
            return -1;
    if (c->max_uri_len + 64 > c->max_header_size) {
        snprintf(err, errlen, "max_header_size must exceed max_uri_len by at least 64 bytes");
        return -1;
    }
    if (c->wq_threads < 1 || c->worker_connections < 16) {
        snprintf(err, errlen, "wq_threads must be >= 1 and worker_connections >= 16");
        return -1;
    }
    return 0;
}
