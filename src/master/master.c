/* master/master.c: forks the workers, restarts the ones that die, reloads by generations, forwards signals. */
#include "master/master.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/directives.h"
#include "http/prepare.h"
#include "log/log.h"
#include "log/metrics.h"
#include "master/control.h"
#include "master/daemon.h"
#include "master/gen.h"
#include "master/notify.h"
#include "master/pidfile.h"
#include "master/preflight.h"
#include "util/grow.h"
#include "util/time.h"
#include "worker/worker.h"

#define STOP_GRACE_MS 10000  /* fast stop: SIGKILL what is still alive after this */
#define START_LIMIT_MS 30000 /* new workers must all accept within this */
#define SETTLE_LIMIT_MS 10000 /* old workers that have not stopped accepting by then are wedged */

/* ephttpd -s reload processes waiting for a verdict. */
typedef struct {
    pid_t *pid;
    size_t n, cap;
} waiters;

typedef struct {
    generation *cur;      /* the generation that serves */
    generation *pending;  /* a reload's generation, starting: it serves beside cur until all
                           * its workers accept, and only then does cur retire */
    generation *retiring; /* older ones whose workers are finishing */
    unsigned next_id;
    int sigfd;
    bool starting;        /* the first generation has not served yet: a failure ends the master */
    bool stopping;
    bool graceful;        /* stopping by QUIT: workers get stop_timeout */
    bool debug;           /* started with -d: reloads keep debug logging */
    bool announce;        /* READY=1 (and the reload's answer) once settled */
    bool reload_queued;   /* a HUP came while a reload was starting */
    int status;           /* the exit status */
    const char *error_log; /* the one opened at start; a reload cannot move it */
    const char *pid_file;  /* likewise */
    waiters settle_w;     /* answered once cur serves alone */
    waiters pending_w;    /* answered by the pending generation's fate */
    waiters queued_w;     /* for the reload after that */
    int64_t pending_deadline;
    int64_t settle_deadline; /* answer settle_w by then even if an old worker is wedged */
    int ready_fd;         /* --daemon: the parent waiting for us to serve, -1: none */
    tls_tickets tickets;  /* session ticket keys: every generation's workers share them */
    tls_tickets kept_tickets; /* the serving generation's, while a pending one may yet fail */
    int64_t stop_deadline;
    mx_region *mx;        /* the status page's counters, for as long as the master runs; NULL: none */
    bool draining;        /* -s drain: health checks answer 503 until drain_deadline, then a graceful stop */
    int64_t drain_deadline;
    bool mx_warned;       /* a worker found no free counter slot (logged once) */
} master;

/* What a new worker needs to become its user and stay tied to its master. */
typedef struct {
    const priv_target *priv;
    pid_t master_pid;
} drop_arg;

/* A worker must not outlive its master: the parent-death signal is set
 * after the user switch too, since the kernel clears it when the
 * credentials change; a master that died before that is noticed here. */
static int master_drop(const void *arg)
{
    const drop_arg *d = arg;
    if (priv_drop(d->priv) < 0)
        return -1;
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != d->master_pid) {
        errno = ESRCH;
        return -1;
    }
    return 0;
}

/* Every generation the master holds: cur, pending, then the retiring ones. */
static generation *master_gen_next(const master *m, const generation *g)
{
    if (g == m->cur)
        return m->pending ? m->pending : m->retiring;
    if (g == m->pending)
        return m->retiring;
    return g->next;
}

#define FOR_EACH_GEN(m, g) for (generation *g = (m)->cur; g; g = master_gen_next((m), g))

/* Every server's name is known to the counters before a worker counts under it. */
static void master_intern(master *m, const generation *g)
{
    for (size_t i = 0; m->mx && i < g->cfg->nservers; i++)
        mx_intern(m->mx, cfg_server_label(&g->cfg->servers[i]));
}

static void master_spawn(master *m, generation *g, int i)
{
    int ctl[2] = { -1, -1 };
    pid_t self = getpid();
    /* The slot the worker it replaces counted in, if still free: one
     * worker's totals stay in one slot as it is restarted. */
    int mx = m->mx ? mx_slot_take(m->mx, g->slots[i].mx1 - 1) : -1;
    if (m->mx && mx < 0 && !m->mx_warned) {
        m->mx_warned = true; /* once per shortage: a later slot taken re-arms it */
        log_warn("more than %d workers at once: the status page does not count those beyond", MX_SLOTS);
    } else if (mx >= 0) {
        m->mx_warned = false;
    }
    pid_t pid = pipe2(ctl, O_CLOEXEC) < 0 ? -1 : fork();
    if (pid < 0) {
        int e = errno;
        if (m->mx)
            mx_slot_free(m->mx, mx);
        if (ctl[0] >= 0) {
            close(ctl[0]);
            close(ctl[1]);
        }
        if (g == m->cur) /* a pending generation's failure is the reload's verdict */
            log_error("starting a worker: %s; retrying in 1 s", strerror(e));
        g->slots[i].respawn_ms = time_now_ms() + 1000;
        errno = e;
        return;
    }
    if (pid == 0) {
        close(m->sigfd);
        close(ctl[0]);
        if (m->ready_fd >= 0)
            close(m->ready_fd);
        /* A worker keeps only its own generation's sockets: a listener the
         * new configuration dropped must close when the old workers go, and
         * one an aborted reload opened must close with it. */
        FOR_EACH_GEN(m, o)
            if (o != g)
                gen_close_fds(o);
        for (int k = 0; k < g->nslots; k++) {
            if (g->slots[k].ctl >= 0)
                close(g->slots[k].ctl);
            /* Other slots' reuseport sockets are theirs: held here, one the
             * next configuration drops would never close. */
            for (size_t j = 0; k != i && j < g->nlisten; j++)
                if (g->cfg->listens[j].reuseport)
                    close(g->listen_fds[(size_t)k * g->nlisten + j]);
        }
        prctl(PR_SET_NAME, "ephttpd-worker"); /* not the master, to -s and to ps */
        drop_arg d = { &g->priv, self };
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != self)
            _exit(0);
        _exit(worker_run(g->cfg, g->listen_fds + (size_t)i * g->nlisten, g->nlisten, g->dirfds, &g->tls,
                         master_drop, &d, ctl[1], m->mx, mx));
    }
    close(ctl[1]);
    if (g->slots[i].ctl >= 0)
        close(g->slots[i].ctl);
    if (mx >= 0) {
        mx_slot *ms = &m->mx->slots[mx];
        __atomic_store_n(&ms->started, (int64_t)time(NULL), __ATOMIC_RELAXED);
        mx_set(&ms->gen, g->id);
        __atomic_store_n(&ms->pid, (int64_t)pid, __ATOMIC_RELAXED);
    }
    g->slots[i] = (slot){ .pid = pid, .started_ms = time_now_ms(), .respawn_ms = -1,
                          .fails = g->slots[i].fails, .ctl = ctl[0], .mx1 = mx + 1 };
    log_debug("worker %d of generation %u started", (int)pid, g->id);
}

static int master_alive(master *m)
{
    int n = 0;
    FOR_EACH_GEN(m, g)
        n += gen_alive(g);
    return n;
}

static void master_signal_all(master *m, int sig)
{
    FOR_EACH_GEN(m, g)
        gen_signal(g, sig);
}

/* Tell the processes that asked for a reload (ephttpd -s reload) how it went. */
static void waiters_answer(waiters *w, bool ok)
{
    union sigval v = { .sival_int = ok ? 1 : 0 };
    for (size_t i = 0; i < w->n; i++)
        if (w->pid[i] > 0 && w->pid[i] != getpid())
            sigqueue(w->pid[i], CONTROL_ACK_SIGNAL, v);
    w->n = 0;
}

static void waiters_add(waiters *w, pid_t pid)
{
    if (pid <= 0)
        return;
    if (ep_grow((void **)&w->pid, &w->cap, w->n, 1, sizeof *w->pid) < 0) {
        /* cannot wait for the verdict: say no rather than leave it hanging */
        union sigval v = { .sival_int = 0 };
        log_error("out of memory: a reload request from pid %d is answered as refused", (int)pid);
        sigqueue(pid, CONTROL_ACK_SIGNAL, v);
        return;
    }
    w->pid[w->n++] = pid;
}

static void waiters_move(waiters *to, waiters *from)
{
    for (size_t i = 0; i < from->n; i++)
        waiters_add(to, from->pid[i]);
    from->n = 0;
}

static void master_refuse(const master *m, waiters *w, const char *why)
{
    log_error("reload refused, the running configuration stays: %s", why);
    /* systemd hears READY=1 again only from a master that served and goes on */
    if (!m->starting && !m->stopping)
        notify_send("READY=1\nSTATUS=reload refused; serving the previous configuration");
    waiters_answer(w, false);
}

/* The server stops: every reload still waiting for a verdict is refused
 * (one promoted but not settled too: nothing will serve it). */
static void master_refuse_all(master *m, const char *why)
{
    if (m->pending_w.n + m->queued_w.n + m->settle_w.n == 0)
        return;
    waiters_move(&m->pending_w, &m->queued_w);
    waiters_move(&m->pending_w, &m->settle_w);
    master_refuse(m, &m->pending_w, why);
}

/* g joins the retiring generations, to be forced at deadline. */
static void retiring_push(master *m, generation *g, int64_t deadline)
{
    g->retiring = true;
    g->deadline = deadline;
    g->next = m->retiring;
    m->retiring = g;
}

/* The server stops: a reload's starting generation joins the retiring
 * ones, to be stopped with them by deadline. */
static void master_drop_pending(master *m, int64_t deadline)
{
    if (m->pending)
        retiring_push(m, m->pending, deadline);
    m->pending = NULL;
}

/* Put g among the retiring generations: its workers stop accepting (they
 * close their listening sockets, and so does the master here) and finish
 * within ms. */
static void master_retire(master *m, generation *g, int64_t ms)
{
    gen_close_listeners(g);
    gen_signal(g, SIGQUIT);
    if (gen_alive(g) == 0)
        gen_free(g);
    else
        retiring_push(m, g, time_now_ms() + ms);
}

static void master_reload(master *m);

/* The pending generation failed to start: its workers go, cur serves on.
 * Those that already accepted finish their responses as after a reload. */
static void master_abort_pending(master *m, const char *why)
{
    generation *g = m->pending;
    m->pending = NULL;
    /* Its workers' respawns must share the keys of the generation that
     * still serves, as its other workers do. */
    m->tickets = m->kept_tickets;
    log_error("generation %u could not start: %s", g->id, why);
    if (m->mx)
        mx_add(&m->mx->reloads_failed, 1);
    master_retire(m, g, g->cfg->shutdown_timeout_ms);
    master_refuse(m, &m->pending_w, why);
    if (m->reload_queued && !m->stopping)
        master_reload(m);
}

/* The counters' generation is the one that serves now. */
static void master_counts_gen(master *m, bool reload)
{
    if (!m->mx)
        return;
    mx_add(&m->mx->reloads_ok, reload);
    __atomic_store_n(&m->mx->gen_started, (int64_t)time(NULL), __ATOMIC_RELAXED);
    mx_set(&m->mx->gen, m->cur->id);
}

/* Every worker of the pending generation accepts: it becomes the one that
 * serves, and the old one retires. */
static void master_promote(master *m)
{
    generation *old = m->cur;
    m->cur = m->pending;
    m->pending = NULL;
    log_info("generation %u accepts; generation %u retires", m->cur->id, old->id);
    master_counts_gen(m, true);
    master_retire(m, old, old->cfg->shutdown_timeout_ms); /* may free old */
    log_set_level(m->cur->cfg->log_level);
    /* Answered once every old worker has stopped accepting (master_settle):
     * only then does a new request surely meet the new configuration. */
    waiters_move(&m->settle_w, &m->pending_w);
    m->announce = true;
    m->settle_deadline = time_now_ms() + SETTLE_LIMIT_MS;
    if (m->reload_queued)
        master_reload(m);
}

static bool gen_all_ready(const generation *g)
{
    for (int i = 0; i < g->nslots; i++)
        if (!g->slots[i].ready)
            return false;
    return true;
}

/* What a worker that ended before accepting said, or how it ended. */
static void slot_reason(const slot *s, int status, char *out, size_t outlen)
{
    if (s->why[0])
        snprintf(out, outlen, "%s", s->why);
    else if (WIFSIGNALED(status))
        snprintf(out, outlen, "a new worker died on signal %d at start", WTERMSIG(status));
    else
        snprintf(out, outlen, "a new worker exited with status %d at start", WEXITSTATUS(status));
}

/* Read what a worker said on its control pipe: 'R' when it accepts, 'E' and
 * a reason when it cannot start; end-of-file when it no longer accepts. */
static void master_ctl(slot *s)
{
    char b[sizeof s->why + 1];
    ssize_t n;
    while ((n = read(s->ctl, b, sizeof b - 1)) < 0 && errno == EINTR)
        ;
    if (n > 0 && b[0] == 'E') {
        b[n] = '\0';
        snprintf(s->why, sizeof s->why, "%s", b + 1);
    } else if (n > 0 && b[0] == 'R' && !s->why[0]) {
        s->ready = s->served = true;
    } else if (n > 0) {
        log_error("worker %d said something unexpected on its control pipe", (int)s->pid);
    } else {
        close(s->ctl);
        s->ctl = -1;
        s->ready = false;
    }
}

static slot *gen_slot(generation *g, pid_t pid)
{
    for (int i = 0; g && i < g->nslots; i++)
        if (g->slots[i].pid == pid)
            return &g->slots[i];
    return NULL;
}

/* A worker ended: forget it, reading first whatever it still said. */
static void slot_ended(master *m, slot *s)
{
    if (m->mx)
        mx_slot_free(m->mx, s->mx1 - 1); /* its gauges go; its totals stay for the next */
    s->pid = 0;
    s->ready = false;
    while (s->ctl >= 0)
        master_ctl(s); /* the write end died with the worker: this cannot block */
}

static void master_reaped_cur(master *m, slot *s, pid_t pid, int status)
{
    if (m->stopping)
        return;
    if (m->starting && !s->served) {
        char why[600], line[640];
        slot_reason(s, status, why, sizeof why);
        snprintf(line, sizeof line, "cannot start: %s", why);
        log_startup_error(line);
        notify_send("STATUS=failed to start: %s", why);
        m->status = 1;
        m->stopping = true; /* the other workers go at once: nothing served yet */
        m->stop_deadline = time_now_ms() + STOP_GRACE_MS;
        master_drop_pending(m, m->stop_deadline);
        master_refuse_all(m, line);
        master_signal_all(m, SIGTERM);
        return;
    }
    int64_t now = time_now_ms();
    if (m->mx)
        mx_add(&m->mx->restarts, 1);
    if (WIFSIGNALED(status))
        log_error("worker %d died on signal %d; restarting", (int)pid, WTERMSIG(status));
    else
        log_error("worker %d exited with status %d; restarting%s%s", (int)pid, WEXITSTATUS(status),
                  s->why[0] ? ": " : "", s->why);
    /* One that keeps dying right after start is replaced with growing
     * delays (100 ms doubling up to 5 s). */
    s->fails = now - s->started_ms < 1000 ? s->fails + 1 : 0;
    int64_t delay = s->fails ? 100LL << (s->fails > 6 ? 6 : s->fails - 1) : 0;
    s->respawn_ms = now + (delay > 5000 ? 5000 : delay);
    s->why[0] = '\0';
}

/* A worker of the serving generation that dies is replaced; a pending
 * generation whose worker dies is abandoned; a retiring generation is freed
 * when its last worker is gone. */
static void master_reaped(master *m, pid_t pid, int status)
{
    slot *s;
    if ((s = gen_slot(m->pending, pid))) {
        slot_ended(m, s);
        char why[600];
        slot_reason(s, status, why, sizeof why);
        master_abort_pending(m, why);
        return;
    }
    for (generation **pp = &m->retiring; *pp; pp = &(*pp)->next)
        if ((s = gen_slot(*pp, pid))) {
            generation *o = *pp;
            slot_ended(m, s);
            if (gen_alive(o) == 0) {
                log_info("generation %u finished", o->id);
                *pp = o->next;
                gen_free(o);
            }
            return;
        }
    if ((s = gen_slot(m->cur, pid))) {
        slot_ended(m, s);
        master_reaped_cur(m, s, pid, status);
    }
}

static void master_reap(master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        master_reaped(m, pid, status);
}

/* Open or check what the generation needs that can fail, as the master and
 * as the workers' user, before any of its workers starts. */
static int master_preflight(const master *m, generation *g, char *err, size_t errlen)
{
    if (priv_resolve(g->cfg, &g->priv, err, errlen) < 0 ||
        preflight_logs(g->cfg, &g->priv, m->cur && m->cur != g ? &m->cur->priv : NULL, m->error_log,
                       true, err, errlen) < 0 ||
        preflight_dirs(g->cfg, &g->priv, err, errlen) < 0)
        return -1;
    preflight_fds(g->cfg);
    /* Keys are read here, by the master, as root: workers never open them. */
    if (tls_gen_build(&g->tls, g->cfg, &m->tickets, err, errlen) < 0)
        return -1;
    /* What a reload cannot move: said, never silently half-applied. */
    if (strcmp(g->cfg->error_log, m->error_log) != 0)
        log_warn("%s: \"error_log\" changed to \"%s\": it takes a restart; errors still go to \"%s\"",
                 g->cfg->source, g->cfg->error_log, m->error_log);
    const char *pf = g->cfg->pid_file ? g->cfg->pid_file : "(none)";
    if (strcmp(pf, m->pid_file ? m->pid_file : "(none)") != 0)
        log_warn("%s: \"pid_file\" changed to \"%s\": it takes a restart; the pid file stays \"%s\"",
                 g->cfg->source, pf, m->pid_file ? m->pid_file : "(none)");
    return 0;
}

/* SIGHUP: build a complete new generation and start its workers beside the
 * serving ones; master_promote retires the old once they all accept. */
/* A reload that never started a generation: the running one serves on. */
static void reload_refused(master *m, const char *why)
{
    if (m->mx)
        mx_add(&m->mx->reloads_failed, 1);
    master_refuse(m, &m->pending_w, why);
}

static void master_reload(master *m)
{
    char err[1024];
    m->reload_queued = false;
    waiters_move(&m->pending_w, &m->queued_w);
    if (!m->cur->cfg->source) {
        reload_refused(m, "nothing to reload without a configuration file (started with -r)");
        return;
    }
    if (!m->starting)
        notify_reloading("reloading the configuration");
    cfg *c = http_conf_read(m->cur->cfg->source, err, sizeof err);
    if (!c) {
        reload_refused(m, err);
        return;
    }
    if (m->debug)
        c->log_level = LOGL_DEBUG;
    /* New ticket keys encrypt from now on; the previous ones still
     * decrypt, so sessions resume across the reload. A refused reload
     * leaves them as they were. */
    tls_tickets kept = m->tickets;
    if (tls_tickets_rotate(&m->tickets) < 0) {
        cfg_free(c);
        reload_refused(m, "TLS: no random bytes for new session ticket keys");
        return;
    }
    generation *g = gen_open(c, true, m->next_id, m->cur, NULL, err, sizeof err);
    if (!g) {
        m->tickets = kept;
        cfg_free(c);
        reload_refused(m, err);
        return;
    }
    if (master_preflight(m, g, err, sizeof err) < 0) {
        m->tickets = kept;
        gen_free(g);
        reload_refused(m, err);
        return;
    }
    m->next_id++;
    m->kept_tickets = kept;
    m->pending = g;
    m->pending_deadline = time_now_ms() + START_LIMIT_MS;
    master_intern(m, g);
    log_info("reloading %s: generation %u starting %d worker(s)", c->source, g->id, g->nslots);
    for (int i = 0; i < g->nslots; i++) {
        master_spawn(m, g, i);
        if (g->slots[i].pid <= 0) { /* a pending generation is never respawned */
            snprintf(err, sizeof err, "starting a worker: %s", strerror(errno));
            master_abort_pending(m, err);
            return;
        }
    }
}

/* A HUP: start a reload, or, while one is starting, queue one more (several
 * HUPs then make one reload, and all their senders get its verdict). */
static void master_hup(master *m, pid_t from)
{
    waiters_add(&m->queued_w, from);
    m->reload_queued = true;
    if (!m->pending)
        master_reload(m);
}

/* A start or reload is complete: tell systemd and whoever asked. */
static void master_settle(master *m)
{
    if (m->pending && !m->stopping && gen_all_ready(m->pending))
        master_promote(m);
    if (!m->announce || m->stopping || !gen_all_ready(m->cur))
        return;
    /* Settled when no older worker accepts any more (one that never did,
     * from an abandoned generation, cannot); a wedged one (stopped, stuck
     * in the kernel) is not waited for past SETTLE_LIMIT_MS. */
    bool wedged = time_now_ms() >= m->settle_deadline;
    for (const generation *o = m->retiring; o; o = o->next)
        for (int i = 0; i < o->nslots; i++) {
            if (o->slots[i].ctl < 0 || !o->slots[i].served)
                continue;
            if (!wedged)
                return;
            log_warn("worker %d of generation %u has not stopped accepting after %d s; the reload "
                     "is answered without it", (int)o->slots[i].pid, o->id, SETTLE_LIMIT_MS / 1000);
        }
    m->announce = false;
    m->starting = false;
    log_info("generation %u serves with %d worker(s)", m->cur->id, m->cur->nslots);
    notify_send("READY=1\nSTATUS=serving, configuration generation %u\nMAINPID=%d", m->cur->id,
                (int)getpid());
    waiters_answer(&m->settle_w, true);
    if (m->ready_fd >= 0) {
        daemon_ready(m->ready_fd);
        m->ready_fd = -1;
    }
}

static void master_stop(master *m, int sig)
{
    if (!m->stopping || (m->graceful && sig != SIGQUIT)) {
        log_info("%s: stopping %d worker(s)", sig == SIGQUIT ? "graceful stop" : "fast stop",
                 master_alive(m));
        notify_send("STOPPING=1\nSTATUS=stopping");
        /* A graceful stop lets responses in flight finish within
         * stop_timeout; a fast stop gives workers STOP_GRACE_MS to close. */
        m->graceful = sig == SIGQUIT;
        m->stop_deadline =
            time_now_ms() + (m->graceful ? m->cur->cfg->stop_timeout_ms : STOP_GRACE_MS);
    }
    m->stopping = true;
    master_drop_pending(m, m->stop_deadline);
    master_refuse_all(m, "the server is stopping");
    /* New connections are refused at once: the workers close their copies
     * of the listening sockets on QUIT, the master closes its own here.
     * WORKER_STOP_SIGNAL: no generation will follow, idle connections
     * close at once. */
    FOR_EACH_GEN(m, g) {
        gen_close_listeners(g);
        gen_signal(g, sig == SIGQUIT ? WORKER_STOP_SIGNAL : SIGTERM);
    }
}

static void master_reopen(master *m)
{
    char err[1024];
    if (preflight_logs(m->cur->cfg, &m->cur->priv, NULL, m->error_log, true, err, sizeof err) < 0)
        log_error("reopening the logs: %s", err);
    if (log_reopen() < 0)
        log_error("reopening the error log: %s", strerror(errno));
    master_signal_all(m, SIGUSR1);
}

/* -s drain (SIGUSR2): every worker's health checks answer 503 (they read
 * the flag in the shared counters, so new workers see it too) for
 * drain_delay, so that load balancers take this server out; then the
 * graceful stop of QUIT. */
static void master_drain(master *m)
{
    if (m->stopping || m->draining)
        return;
    m->draining = true;
    m->drain_deadline = time_now_ms() + m->cur->cfg->drain_delay_ms;
    if (m->mx)
        mx_set(&m->mx->draining, 1);
    log_info("draining: health checks answer 503 for %lld ms, then a graceful stop",
             (long long)m->cur->cfg->drain_delay_ms);
    notify_send("STATUS=draining");
}

static void master_on_signal(master *m, const struct signalfd_siginfo *si)
{
    if ((int)si->ssi_signo == CONTROL_RELOAD_SIGNAL) { /* ephttpd -s reload, queued per sender */
        if (si->ssi_int != CONTROL_RELOAD_MAGIC)
            return;
        if (m->stopping) {
            waiters_add(&m->queued_w, (pid_t)si->ssi_pid);
            master_refuse_all(m, "the server is stopping");
        } else {
            master_hup(m, (pid_t)si->ssi_pid);
        }
        return;
    }
    switch ((int)si->ssi_signo) {
    case SIGCHLD:
        master_reap(m);
        break;
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
        master_stop(m, (int)si->ssi_signo);
        break;
    case SIGHUP:
        /* Only ephttpd -s reload (sigqueue with our value) waits for an answer. */
        if (!m->stopping)
            master_hup(m, si->ssi_code == SI_QUEUE && si->ssi_int == CONTROL_RELOAD_MAGIC
                              ? (pid_t)si->ssi_pid
                              : 0);
        break;
    case SIGUSR1:
        master_reopen(m);
        break;
    case SIGUSR2:
        master_drain(m);
        break;
    }
}

/* How long poll may sleep: until a respawn, a start limit, a retiring
 * deadline or the stop deadline. */
static int master_next_wait(const master *m, int64_t now)
{
    int64_t wait = -1;
#define EARLIEST(t)                                              \
    do {                                                         \
        int64_t d_ = (t) - now;                                  \
        d_ = d_ < 0 ? 0 : d_;                                    \
        wait = wait < 0 || d_ < wait ? d_ : wait;                \
    } while (0)
    if (m->stopping)
        EARLIEST(m->stop_deadline);
    else if (m->draining)
        EARLIEST(m->drain_deadline);
    if (m->pending)
        EARLIEST(m->pending_deadline);
    if (m->announce && m->retiring)
        EARLIEST(m->settle_deadline);
    for (int i = 0; !m->stopping && i < m->cur->nslots; i++)
        if (m->cur->slots[i].pid == 0 && m->cur->slots[i].respawn_ms >= 0)
            EARLIEST(m->cur->slots[i].respawn_ms);
    for (const generation *o = m->retiring; o; o = o->next)
        EARLIEST(o->deadline);
#undef EARLIEST
    return wait > 60000 ? 60000 : (int)wait;
}

static void master_deadlines(master *m, int64_t now)
{
    if (m->draining && !m->stopping && now >= m->drain_deadline)
        master_stop(m, SIGQUIT);
    if (m->stopping && now >= m->stop_deadline && master_alive(m) > 0) {
        if (m->graceful) {
            log_warn("workers still busy after stop_timeout; stopping them fast");
            m->graceful = false;
            master_signal_all(m, SIGTERM);
        } else {
            log_error("workers still running after %d ms; killing them", STOP_GRACE_MS);
            master_signal_all(m, SIGKILL);
        }
        m->stop_deadline = now + STOP_GRACE_MS;
    }
    if (m->pending && now >= m->pending_deadline) {
        char why[128];
        snprintf(why, sizeof why, "its workers did not all accept within %d s", START_LIMIT_MS / 1000);
        master_abort_pending(m, why);
    }
    for (generation *o = m->retiring; o; o = o->next)
        if (now >= o->deadline) {
            log_warn("generation %u still busy at its deadline (%s); %s", o->id,
                     o->forced ? "a fast stop" : m->stopping ? "stop_timeout" : "shutdown_timeout",
                     o->forced ? "killing its workers" : "stopping its workers fast");
            gen_signal(o, o->forced ? SIGKILL : SIGTERM);
            o->forced = true;
            o->deadline = now + STOP_GRACE_MS;
        }
    for (int i = 0; !m->stopping && i < m->cur->nslots; i++)
        if (m->cur->slots[i].pid == 0 && m->cur->slots[i].respawn_ms >= 0 &&
            m->cur->slots[i].respawn_ms <= now)
            master_spawn(m, m->cur, i);
}

/* The signalfd and every open control pipe; who[i] says which slot p[i+1] is. */
static size_t master_pollset(master *m, struct pollfd *p, slot **who, size_t cap)
{
    size_t n = 0;
    p[n++] = (struct pollfd){ .fd = m->sigfd, .events = POLLIN };
    FOR_EACH_GEN(m, g)
        for (int i = 0; i < g->nslots && n < cap; i++)
            if (g->slots[i].ctl >= 0) {
                who[n - 1] = &g->slots[i];
                p[n++] = (struct pollfd){ .fd = g->slots[i].ctl, .events = POLLIN };
            }
    return n;
}

static void master_loop(master *m)
{
    enum { MAXPOLL = 4096 };
    struct pollfd *p = malloc(MAXPOLL * sizeof *p);
    slot **who = malloc(MAXPOLL * sizeof *who);
    if (!p || !who) {
        log_error("out of memory");
        free(p);
        free(who);
        m->status = 1;
        return;
    }
    while (!m->stopping || master_alive(m) > 0) {
        size_t n = master_pollset(m, p, who, MAXPOLL);
        int r = poll(p, (nfds_t)n, master_next_wait(m, time_now_ms()));
        for (size_t i = 1; r > 0 && i < n; i++)
            if (p[i].revents && who[i - 1]->ctl == p[i].fd)
                master_ctl(who[i - 1]);
        if (r > 0 && p[0].revents) {
            struct signalfd_siginfo si;
            while (read(m->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                master_on_signal(m, &si);
        }
        master_deadlines(m, time_now_ms());
        master_settle(m);
    }
    free(p);
    free(who);
}

static void master_close(master *m)
{
    while (m->retiring) {
        generation *o = m->retiring;
        m->retiring = o->next;
        gen_free(o);
    }
    gen_free(m->pending);
    gen_free(m->cur);
    m->cur = m->pending = NULL;
    free(m->settle_w.pid);
    free(m->pending_w.pid);
    free(m->queued_w.pid);
    if (m->sigfd >= 0)
        close(m->sigfd);
}

static void master_started(const master *m)
{
    const cfg *c = m->cur->cfg;
    if (c->user && geteuid() != 0)
        log_warn("\"user\" %s is ignored: only a master running as root can switch users", c->user);
    else if (geteuid() == 0 && !m->cur->priv.change)
        log_warn("workers run as root%s", c->source ? ", as the configuration says" : " (quick mode; -c with \"user\" to change)");
    if (c->source)
        log_info("ephttpd %s serving %s (%zu server(s)) on %s:%u%s with %d worker(s)", EP_VERSION,
                 c->source, c->nservers, c->listens[0].addr, c->listens[0].port,
                 c->nlistens > 1 ? " and more" : "", m->cur->nslots);
    else
        log_info("ephttpd %s serving %s on %s:%u with %d worker(s)", EP_VERSION, c->servers[0].r.root,
                 c->listens[0].addr, c->listens[0].port, m->cur->nslots);
}

/* The first generation: the pid file first (a second master must not even
 * try to bind), then sockets (systemd's, if it passed any), then what can
 * fail for the configuration's sake. Returns 0, or an exit status. */
static int master_open(master *m, cfg *c)
{
    char err[1024];
    int status = EP_EXIT_CONFIG;
    if (preflight_pidfile(c, err, sizeof err) < 0)
        goto fail;
    status = 1;
    if (tls_tickets_rotate(&m->tickets) < 0) {
        snprintf(err, sizeof err, "TLS: no random bytes for session ticket keys");
        goto fail;
    }
    if (c->pid_file && pidfile_write(c->pid_file, err, sizeof err) < 0)
        goto fail;
    listen_pool pool;
    listen_inherit(&pool);
    m->cur = gen_open(c, false, 1, NULL, &pool, err, sizeof err);
    listen_pool_release(&pool);
    if (m->cur && master_preflight(m, m->cur, err, sizeof err) < 0) {
        gen_free(m->cur);
        m->cur = NULL;
        status = EP_EXIT_CONFIG;
    }
    if (m->cur)
        return 0;
    if (c->pid_file)
        pidfile_remove(c->pid_file);
fail:
    log_startup_error(err);
    notify_send("STATUS=failed to start: %s", err);
    return status;
}

int master_run(cfg *c, int ready_fd)
{
    master m = { .sigfd = -1, .next_id = 2, .debug = c->log_level == LOGL_DEBUG, .announce = true,
                 .starting = true, .ready_fd = ready_fd, .error_log = c->error_log,
                 .pid_file = c->pid_file };
    signal(SIGPIPE, SIG_IGN);
    /* Blocked before fork, so workers inherit the mask and read their own signalfd. */
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, CONTROL_RELOAD_SIGNAL };
    for (size_t i = 0; i < EP_ARRAY_LEN(sigs); i++)
        sigaddset(&set, sigs[i]);
    m.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    sigaddset(&set, WORKER_STOP_SIGNAL); /* the workers' own; blocked before they exist */
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (m.sigfd < 0) {
        log_error("signalfd: %s", strerror(errno));
        return 1;
    }
    int status = master_open(&m, c);
    if (status) {
        close(m.sigfd);
        return status;
    }
    if (m.ready_fd >= 0)
        daemon_quiet(strcmp(c->error_log, "-") != 0);
    if (m.cur->priv.change &&
        log_give_to(m.cur->priv.uid, preflight_log_group(c->error_log, m.cur->priv.gid)) < 0)
        log_error("error log: chown: %s", strerror(errno));
    /* Mapped before the first fork, so every worker shares it; a system
     * without shared anonymous memory serves without a status page. */
    if (!(m.mx = mx_open()))
        log_error("status page counters: mmap: %s", strerror(errno));
    master_intern(&m, m.cur);
    master_counts_gen(&m, false);
    for (int i = 0; i < m.cur->nslots; i++)
        master_spawn(&m, m.cur, i);
    master_started(&m);
    master_loop(&m);
    if (c->pid_file)
        pidfile_remove(c->pid_file);
    master_close(&m);
    mx_close(m.mx);
    log_info(m.status ? "stopped after a failed start" : "stopped");
    return m.status;
}
