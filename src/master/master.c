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
#include "log/log.h"
#include "master/control.h"
#include "master/daemon.h"
#include "master/gen.h"
#include "master/notify.h"
#include "master/pidfile.h"
#include "util/time.h"
#include "worker/worker.h"

#define STOP_GRACE_MS 10000 /* fast stop: SIGKILL what is still alive after this */

typedef struct {
    generation *cur;      /* the generation that serves */
    generation *retiring; /* older ones whose workers are finishing */
    unsigned next_id;
    int sigfd;
    bool stopping;
    bool graceful;        /* stopping by QUIT: workers get shutdown_timeout */
    bool debug;           /* started with -d: reloads keep debug logging */
    bool announce;        /* READY=1 (and the reload's answer) once settled */
    pid_t ack_pid;        /* ephttpd -s reload waiting for the answer, 0: none */
    int ready_fd;         /* --daemon: the parent waiting for us to serve, -1: none */
    int64_t stop_deadline;
} master;

static int master_drop(const void *arg)
{
    return priv_drop(arg);
}

static void master_spawn(master *m, generation *g, int i)
{
    int ctl[2];
    pid_t pid = pipe2(ctl, O_CLOEXEC) < 0 ? -1 : fork();
    if (pid < 0) {
        log_error("starting a worker: %s; retrying in 1 s", strerror(errno));
        g->slots[i].respawn_ms = time_now_ms() + 1000;
        return;
    }
    if (pid == 0) {
        close(m->sigfd);
        close(ctl[0]);
        if (m->ready_fd >= 0)
            close(m->ready_fd);
        for (int k = 0; k < g->nslots; k++)
            if (g->slots[k].ctl >= 0)
                close(g->slots[k].ctl);
        /* A worker keeps only its own generation's sockets: a listener the
         * new configuration dropped must close when the old workers go. */
        for (generation *o = m->retiring; o; o = o->next)
            if (o != g)
                gen_close_fds(o);
        if (m->cur != g)
            gen_close_fds(m->cur);
        /* A worker must not outlive its master. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() == 1)
            _exit(0);
        _exit(worker_run(g->cfg, g->listen_fds + (size_t)i * g->nlisten, g->nlisten, g->dirfds,
                         master_drop, &g->priv, ctl[1]));
    }
    close(ctl[1]);
    if (g->slots[i].ctl >= 0)
        close(g->slots[i].ctl);
    g->slots[i] = (slot){ .pid = pid, .started_ms = time_now_ms(), .respawn_ms = -1,
                          .fails = g->slots[i].fails, .ctl = ctl[0] };
    log_debug("worker %d of generation %u started", (int)pid, g->id);
}

static int master_alive(const master *m)
{
    int n = gen_alive(m->cur);
    for (generation *o = m->retiring; o; o = o->next)
        n += gen_alive(o);
    return n;
}

static void master_signal_all(master *m, int sig)
{
    gen_signal(m->cur, sig);
    for (generation *o = m->retiring; o; o = o->next)
        gen_signal(o, sig);
}

/* A worker of the serving generation that dies is replaced; one that keeps
 * dying right after start is replaced with growing delays (100 ms doubling up
 * to 5 s). A retiring generation is freed when its last worker is gone. */
static void master_reaped(master *m, pid_t pid, int status)
{
    for (generation **pp = &m->retiring; *pp; pp = &(*pp)->next)
        for (int i = 0; i < (*pp)->nslots; i++)
            if ((*pp)->slots[i].pid == pid) {
                generation *o = *pp;
                o->slots[i].pid = 0;
                if (o->slots[i].ctl >= 0)
                    close(o->slots[i].ctl);
                o->slots[i].ctl = -1;
                if (gen_alive(o) == 0) {
                    log_info("generation %u finished", o->id);
                    *pp = o->next;
                    gen_free(o);
                }
                return;
            }
    generation *g = m->cur;
    for (int i = 0; i < g->nslots; i++) {
        slot *s = &g->slots[i];
        if (s->pid != pid)
            continue;
        s->pid = 0;
        s->ready = false;
        if (s->ctl >= 0)
            close(s->ctl);
        s->ctl = -1;
        if (m->stopping)
            return;
        int64_t now = time_now_ms();
        if (WIFSIGNALED(status))
            log_error("worker %d died on signal %d; restarting", (int)pid, WTERMSIG(status));
        else
            log_error("worker %d exited with status %d; restarting", (int)pid, WEXITSTATUS(status));
        s->fails = now - s->started_ms < 1000 ? s->fails + 1 : 0;
        int64_t delay = s->fails ? 100LL << (s->fails > 6 ? 6 : s->fails - 1) : 0;
        s->respawn_ms = now + (delay > 5000 ? 5000 : delay);
        return;
    }
}

static void master_reap(master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        master_reaped(m, pid, status);
}

/* Tell the process that asked for the reload (ephttpd -s reload) how it went. */
static void master_ack(pid_t to, bool ok)
{
    if (to <= 0 || to == getpid())
        return;
    union sigval v = { .sival_int = ok ? 1 : 0 };
    sigqueue(to, CONTROL_ACK_SIGNAL, v);
}

static void master_refuse(pid_t from, const char *why)
{
    log_error("reload refused, the running configuration stays: %s", why);
    notify_send("READY=1\nSTATUS=reload refused; serving the previous configuration");
    master_ack(from, false);
}

/* Workers open their logs as root but reopen them (USR1, after a rotation)
 * as the user they switched to. So before workers start, and before they
 * reopen, the master creates the logs that are missing and gives new ones to
 * that user, as logrotate's "create" does. */
static void master_create_log(const generation *g, const char *path)
{
    if (!path || strcmp(path, "off") == 0 || strcmp(path, "-") == 0)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        if (errno != EEXIST)
            log_error("log \"%s\": %s", path, strerror(errno));
        return;
    }
    if (g->priv.change && fchown(fd, g->priv.uid, g->priv.gid) < 0)
        log_error("log \"%s\": chown: %s", path, strerror(errno));
    close(fd);
}

static void master_create_logs(const generation *g)
{
    master_create_log(g, g->cfg->error_log);
    for (size_t i = 0; i < g->cfg->nservers; i++)
        master_create_log(g, g->cfg->servers[i].access_log);
}

/* SIGHUP: build and start a complete new generation, then retire the old. */
static void master_reload(master *m, pid_t from)
{
    generation *old = m->cur;
    char err[1024];
    if (!old->cfg->source) {
        master_refuse(from, "nothing to reload without a configuration file (started with -r)");
        return;
    }
    notify_reloading("reloading the configuration");
    cfg *c = conf_read(old->cfg->source, err, sizeof err);
    if (!c) {
        master_refuse(from, err);
        return;
    }
    if (m->debug)
        c->log_level = LOGL_DEBUG;
    generation *g = gen_open(c, true, m->next_id, old, NULL, err, sizeof err);
    if (!g || priv_resolve(c, &g->priv, err, sizeof err) < 0) {
        if (g)
            gen_free(g);
        else
            cfg_free(c);
        master_refuse(from, err);
        return;
    }
    m->next_id++;
    m->cur = g;
    master_create_logs(g);
    for (int i = 0; i < g->nslots; i++)
        master_spawn(m, g, i);
    /* The old workers stop accepting and finish; shared sockets stay open
     * in the new generation, so nothing queued on them is lost. */
    old->retiring = true;
    old->deadline = time_now_ms() + old->cfg->shutdown_timeout_ms;
    old->next = m->retiring;
    m->retiring = old;
    gen_signal(old, SIGQUIT);
    if (gen_alive(old) == 0) {
        m->retiring = old->next;
        gen_free(old);
    }
    log_set_level(c->log_level);
    log_info("reloading %s: generation %u starting %d worker(s)", c->source, g->id, g->nslots);
    /* Answered once every new worker accepts and every old one has stopped
     * accepting (master_settle): only then does a new request surely meet
     * the new configuration. */
    if (m->ack_pid && m->ack_pid != from)
        master_ack(m->ack_pid, true); /* an earlier reload, overtaken by this one */
    m->ack_pid = from;
    m->announce = true;
}

/* A start or reload is complete: tell systemd and whoever asked. */
static void master_settle(master *m)
{
    if (!m->announce || m->stopping)
        return;
    for (int i = 0; i < m->cur->nslots; i++)
        if (!m->cur->slots[i].ready)
            return;
    for (const generation *o = m->retiring; o; o = o->next)
        for (int i = 0; i < o->nslots; i++)
            if (o->slots[i].ctl >= 0)
                return;
    m->announce = false;
    log_info("generation %u serves with %d worker(s)", m->cur->id, m->cur->nslots);
    notify_send("READY=1\nSTATUS=serving, configuration generation %u\nMAINPID=%d", m->cur->id,
                (int)getpid());
    master_ack(m->ack_pid, true);
    m->ack_pid = 0;
    if (m->ready_fd >= 0) {
        daemon_ready(m->ready_fd);
        m->ready_fd = -1;
    }
}

/* A worker's control pipe spoke: 'R' when it accepts, end-of-file when it no longer does. */
static void master_ctl(slot *s)
{
    char b[16];
    ssize_t n = read(s->ctl, b, sizeof b);
    if (n > 0) {
        s->ready = true;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(s->ctl);
        s->ctl = -1;
        s->ready = false;
    }
}

static void master_stop(master *m, int sig)
{
    if (!m->stopping || (m->graceful && sig != SIGQUIT)) {
        log_info("%s: stopping %d worker(s)", sig == SIGQUIT ? "graceful stop" : "fast stop",
                 master_alive(m));
        notify_send("STOPPING=1\nSTATUS=stopping");
        /* A graceful stop lets downloads finish within shutdown_timeout;
         * a fast stop gives workers STOP_GRACE_MS to close. */
        m->graceful = sig == SIGQUIT;
        m->stop_deadline =
            time_now_ms() + (m->graceful ? m->cur->cfg->shutdown_timeout_ms : STOP_GRACE_MS);
    }
    m->stopping = true;
    master_signal_all(m, sig == SIGQUIT ? SIGQUIT : SIGTERM);
}

static void master_on_signal(master *m, const struct signalfd_siginfo *si)
{
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
            master_reload(m, si->ssi_code == SI_QUEUE && si->ssi_int == CONTROL_RELOAD_MAGIC
                                 ? (pid_t)si->ssi_pid
                                 : 0);
        break;
    case SIGUSR1:
        master_create_logs(m->cur);
        if (log_reopen() < 0)
            log_error("reopening the error log: %s", strerror(errno));
        master_signal_all(m, SIGUSR1);
        break;
    }
}

/* How long poll may sleep: until a respawn, a retiring deadline or the stop deadline. */
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
    if (m->stopping && now >= m->stop_deadline && master_alive(m) > 0) {
        if (m->graceful) {
            log_warn("workers still busy after shutdown_timeout; stopping them fast");
            m->graceful = false;
            master_signal_all(m, SIGTERM);
        } else {
            log_error("workers still running after %d ms; killing them", STOP_GRACE_MS);
            master_signal_all(m, SIGKILL);
        }
        m->stop_deadline = now + STOP_GRACE_MS;
    }
    for (generation *o = m->retiring; o; o = o->next)
        if (now >= o->deadline) {
            log_warn("generation %u still busy after %s; %s", o->id,
                     o->forced ? "a fast stop" : "shutdown_timeout",
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
    for (generation *g = m->cur; g; g = g == m->cur ? m->retiring : g->next)
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
        return;
    }
    while (!m->stopping || master_alive(m) > 0) {
        size_t n = master_pollset(m, p, who, MAXPOLL);
        int r = poll(p, (nfds_t)n, master_next_wait(m, time_now_ms()));
        for (size_t i = 1; r > 0 && i < n; i++)
            if (p[i].revents)
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
    gen_free(m->cur);
    m->cur = NULL;
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

int master_run(cfg *c, int ready_fd)
{
    master m = { .sigfd = -1, .next_id = 2, .debug = c->log_level == LOGL_DEBUG, .announce = true,
                 .ready_fd = ready_fd };
    char err[1024];
    signal(SIGPIPE, SIG_IGN);
    /* Blocked before fork, so workers inherit the mask and read their own signalfd. */
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1 };
    for (size_t i = 0; i < EP_ARRAY_LEN(sigs); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    m.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    /* The pid file first: a second master must not even try to bind. */
    bool pid_ok = false;
    if (m.sigfd < 0) {
        snprintf(err, sizeof err, "signalfd: %s", strerror(errno));
    } else if (!c->pid_file || pidfile_write(c->pid_file, err, sizeof err) == 0) {
        pid_ok = true;
        listen_pool pool;
        listen_inherit(&pool);
        m.cur = gen_open(c, false, 1, NULL, &pool, err, sizeof err);
        for (size_t i = 0; i < pool.n; i++)
            if (pool.fd[i] >= 0) { /* passed by systemd, wanted by no listener */
                log_warn("socket activation: descriptor %d matches no listener; closing it", pool.fd[i]);
                close(pool.fd[i]);
            }
        if (m.cur && priv_resolve(c, &m.cur->priv, err, sizeof err) < 0) {
            gen_free(m.cur);
            m.cur = NULL;
        }
    }
    if (!m.cur) {
        log_error("%s", err);
        notify_send("STATUS=failed to start: %s", err);
        if (c->pid_file && pid_ok)
            pidfile_remove(c->pid_file);
        if (m.sigfd >= 0)
            close(m.sigfd);
        return 1;
    }
    if (m.ready_fd >= 0)
        daemon_quiet(strcmp(c->error_log, "-") != 0);
    if (m.cur->priv.change && log_give_to(m.cur->priv.uid, m.cur->priv.gid) < 0)
        log_error("error log: chown: %s", strerror(errno));
    master_create_logs(m.cur);
    for (int i = 0; i < m.cur->nslots; i++)
        master_spawn(&m, m.cur, i);
    master_started(&m);
    master_loop(&m);
    if (c->pid_file)
        pidfile_remove(c->pid_file);
    master_close(&m);
    log_info("stopped");
    return 0;
}
