/* master/gen.c: opening, passing on and closing the sockets and directories of a generation. */
#include "master/gen.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "master/listen.h"

/* The fd for listener i, slot s: a socket prev already has, duplicated, or a new one. */
static int gen_socket(generation *g, size_t i, size_t s, const generation *prev, listen_pool *pool,
                      char *err, size_t errlen)
{
    const cfg_listen *l = &g->cfg->listens[i];
    /* A socket systemd passed (socket activation) serves slot 0; reuseport's
     * further slots get sockets of their own. */
    int passed = pool && s == 0 ? listen_take(pool, l) : -1;
    if (passed >= 0)
        return listen_tune(passed, l, err, errlen) < 0 ? (close(passed), -1) : passed;
    for (size_t j = 0; prev && j < prev->nlisten; j++) {
        const cfg_listen *o = &prev->cfg->listens[j];
        if (!listen_same(l, o))
            continue;
        size_t ps = l->reuseport ? s : 0;
        if (ps >= (size_t)prev->nslots)
            break; /* more reuseport slots than before: a new socket */
        int fd = fcntl(prev->listen_fds[ps * prev->nlisten + j], F_DUPFD_CLOEXEC, 3);
        if (fd < 0 || listen_tune(fd, l, err, errlen) < 0) {
            if (fd < 0)
                snprintf(err, errlen, "listen on %s:%u: %s", l->addr, l->port, strerror(errno));
            else
                close(fd);
            return -1;
        }
        return fd;
    }
    return listen_open(l, err, errlen);
}

/* A generation that failed to open: the caller still owns the cfg. */
static void gen_abandon(generation *g)
{
    g->owns_cfg = false;
    gen_free(g);
}

generation *gen_open(cfg *c, bool owns_cfg, unsigned id, const generation *prev, listen_pool *pool,
                     char *err, size_t errlen)
{
    generation *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->cfg = c;
    g->owns_cfg = owns_cfg;
    g->id = id;
    g->nslots = cfg_worker_count(c);
    g->nlisten = c->nlistens;
    size_t slots = (size_t)g->nslots;
    g->slots = calloc(slots, sizeof *g->slots);
    g->listen_fds = calloc(c->nlistens * slots, sizeof(int));
    g->dirfds = calloc(c->ndirs ? c->ndirs : 1, sizeof(int));
    if (!g->slots || !g->listen_fds || !g->dirfds) {
        snprintf(err, errlen, "out of memory");
        gen_abandon(g);
        return NULL;
    }
    for (size_t i = 0; i < c->nlistens * slots; i++)
        g->listen_fds[i] = -1;
    for (size_t i = 0; i < c->ndirs; i++)
        g->dirfds[i] = -1;
    for (int i = 0; i < g->nslots; i++)
        g->slots[i] = (slot){ .respawn_ms = -1, .ctl = -1 };
    /* A shared listener: one socket in every slot's row. A reuseport
     * listener: a socket per slot, kept by the master across respawns so
     * that the connections queued on it wait for the slot's next worker. */
    for (size_t i = 0; i < c->nlistens; i++)
        for (size_t s = 0; s < slots; s++) {
            int fd = s == 0 || c->listens[i].reuseport ? gen_socket(g, i, s, prev, pool, err, errlen)
                                                       : g->listen_fds[i];
            if (fd < 0) {
                gen_abandon(g);
                return NULL;
            }
            g->listen_fds[s * c->nlistens + i] = fd;
        }
    /* Every root and alias directory, opened once: workers resolve beneath them. */
    for (size_t i = 0; i < c->ndirs; i++) {
        g->dirfds[i] = open(c->dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (g->dirfds[i] < 0) {
            snprintf(err, errlen, "directory \"%s\": %s", c->dirs[i], strerror(errno));
            gen_abandon(g);
            return NULL;
        }
    }
    return g;
}

void gen_close_listeners(generation *g)
{
    for (size_t s = 0; g->listen_fds && s < (size_t)g->nslots; s++)
        for (size_t i = 0; i < g->nlisten; i++) {
            int *fd = &g->listen_fds[s * g->nlisten + i];
            if (*fd >= 0 && (s == 0 || g->cfg->listens[i].reuseport))
                close(*fd);
            *fd = -1;
        }
}

void gen_close_fds(generation *g)
{
    for (int i = 0; g->slots && i < g->nslots; i++)
        if (g->slots[i].ctl >= 0) {
            close(g->slots[i].ctl);
            g->slots[i].ctl = -1;
        }
    gen_close_listeners(g);
    for (size_t i = 0; g->dirfds && i < g->cfg->ndirs; i++) {
        if (g->dirfds[i] >= 0)
            close(g->dirfds[i]);
        g->dirfds[i] = -1;
    }
}

void gen_free(generation *g)
{
    if (!g)
        return;
    gen_close_fds(g);
    for (int i = 0; g->slots && i < g->nslots; i++)
        if (g->slots[i].ctl >= 0)
            close(g->slots[i].ctl);
    free(g->listen_fds);
    free(g->dirfds);
    free(g->slots);
    tls_gen_free(&g->tls);
    if (g->owns_cfg)
        cfg_free(g->cfg);
    free(g);
}

int gen_alive(const generation *g)
{
    int n = 0;
    for (int i = 0; i < g->nslots; i++)
        n += g->slots[i].pid > 0;
    return n;
}

void gen_signal(const generation *g, int sig)
{
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].pid > 0)
            kill(g->slots[i].pid, sig);
}
