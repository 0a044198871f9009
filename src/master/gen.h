/* master/gen.h: a generation: one validated configuration with its sockets, directories and worker slots. */
#ifndef EP_MASTER_GEN_H
#define EP_MASTER_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/model.h"
#include "master/listen.h"
#include "master/priv.h"
#include "tls/tls.h"

typedef struct {
    pid_t pid;          /* 0: not running */
    int64_t started_ms;
    int64_t respawn_ms; /* when to start again, -1: not scheduled */
    unsigned fails;     /* consecutive early deaths, for back-off */
    int ctl;            /* read end of the worker's control pipe, -1: closed */
    bool ready;         /* the worker said it accepts connections */
    bool served;        /* it did once: a later death is not a failed start */
    int mx1;            /* its counter slot + 1 (log/metrics.h), kept for its respawn; 0: none */
    char why[512];      /* why it could not start, as it told the master (WORKER_WHY_MAX) */
} slot;

/* A reload builds a new generation completely before anything changes; the
 * running one is never edited, only retired: its workers finish and exit,
 * and then it is freed. */
typedef struct generation {
    cfg *cfg;
    bool owns_cfg;
    unsigned id;
    int *listen_fds;    /* nlisten x nslots: row s is slot s's sockets */
    size_t nlisten;
    int *dirfds;        /* one per cfg->dirs entry */
    slot *slots;
    int nslots;
    priv_target priv;
    tls_gen tls;        /* its TLS contexts (master_preflight builds them), inherited by its workers */
    bool retiring;      /* told to finish; never respawned */
    bool forced;        /* retiring workers were sent TERM after shutdown_timeout */
    int64_t deadline;   /* retiring: when to force them */
    struct generation *next;
} generation;

/* A generation for c (slots not started). prev, when given, is the running
 * generation: listeners it shares with c are passed on (duplicated), never
 * closed and reopened, so no connection is refused. pool, when given, holds
 * sockets systemd passed: a listener takes its match instead of binding.
 * Returns NULL with one
 * line in err; nothing stays open then, and c is still the caller's. */
generation *gen_open(cfg *c, bool owns_cfg, unsigned id, const generation *prev, listen_pool *pool,
                     char *err, size_t errlen);

/* Close every descriptor of g (in a worker of another generation, or on free). */
void gen_close_fds(generation *g);
/* Close the master's copies of g's listening sockets: once g's workers have
 * closed theirs too, a listener no other generation shares is gone. */
void gen_close_listeners(generation *g);
void gen_free(generation *g);

/* Workers of g still running. */
int gen_alive(const generation *g);
void gen_signal(const generation *g, int sig);

#endif
