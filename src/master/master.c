/* master/master.c: forks the workers, restarts the ones that die, forwards signals. */
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

#include "log/log.h"
#include "master/listen.h"
#include "master/pidfile.h"
#include "master/priv.h"
#include "util/time.h"
#include "worker/worker.h"

#define STOP_GRACE_MS 10000 /* fast stop: SIGKILL what is still alive after this */

typedef struct {
    pid_t pid;          /* 0: not running */
    int64_t started_ms;
    int64_t respawn_ms; /* when to start again, -1: not scheduled */
    unsigned fails;     /* consecutive early deaths, for back-off */
} slot;

typedef struct {
    const cfg *cfg;
    int *listen_fds;  /* nlisten x nslots: row i is worker slot i's sockets */
    size_t nlisten;
    int *rootfds;
    slot *slots;
    int nslots;
    int sigfd;
    bool stopping;
    bool graceful;      /* stopping by QUIT: workers get shutdown_timeout */
    int64_t stop_deadline;
    priv_target priv;
} master;

static int master_drop(const void *arg)
{
    return priv_drop(arg);
}

static int master_open(master *m, char *err, size_t errlen)
{
    const cfg *c = m->cfg;
    size_t slots = (size_t)m->nslots;
    m->listen_fds = calloc(c->nlistens * slots, sizeof(int));
    m->rootfds = calloc(c->ndirs ? c->ndirs : 1, sizeof(int));
    if (!m->listen_fds || !m->rootfds) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->nlistens * slots; i++)
        m->listen_fds[i] = -1;
    for (size_t i = 0; i < c->ndirs; i++)
        m->rootfds[i] = -1;
    /* A shared listener: one socket in every slot's row. A reuseport
     * listener: a socket per slot, kept by the master across respawns so
     * that the connections queued on it wait for the next worker. */
    m->nlisten = c->nlistens;
    for (size_t i = 0; i < c->nlistens; i++)
        for (size_t s = 0; s < slots; s++) {
            int fd = s == 0 || c->listens[i].reuseport ? listen_open(&c->listens[i], err, errlen)
                                                       : m->listen_fds[i];
            if (fd < 0)
                return -1;
            m->listen_fds[s * c->nlistens + i] = fd;
        }
    /* Every root and alias directory, opened once: workers resolve beneath them. */
    for (size_t i = 0; i < c->ndirs; i++) {
        m->rootfds[i] = open(c->dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (m->rootfds[i] < 0) {
            snprintf(err, errlen, "directory \"%s\": %s", c->dirs[i], strerror(errno));
            return -1;
        }
    }
    return 0;
}

static void master_spawn(master *m, int i)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork: %s; retrying in 1 s", strerror(errno));
        m->slots[i].respawn_ms = time_now_ms() + 1000;
        return;
    }
    if (pid == 0) {
        close(m->sigfd);
        /* A worker must not outlive its master. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() == 1)
            _exit(0);
        _exit(worker_run(m->cfg, m->listen_fds + (size_t)i * m->nlisten, m->nlisten, m->rootfds,
                         master_drop, &m->priv));
    }
    m->slots[i] = (slot){ .pid = pid, .started_ms = time_now_ms(), .respawn_ms = -1,
                          .fails = m->slots[i].fails };
    log_debug("worker %d started", (int)pid);
}

static void master_signal_all(master *m, int sig)
{
    for (int i = 0; i < m->nslots; i++)
        if (m->slots[i].pid > 0)
            kill(m->slots[i].pid, sig);
}

static int master_alive(const master *m)
{
    int n = 0;
    for (int i = 0; i < m->nslots; i++)
        n += m->slots[i].pid > 0;
    return n;
}

/* A worker that dies unexpectedly is replaced; one that keeps dying right
 * after start is replaced with growing delays (100 ms doubling up to 5 s). */
static void master_reap(master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < m->nslots; i++) {
            slot *s = &m->slots[i];
            if (s->pid != pid)
                continue;
            s->pid = 0;
            if (m->stopping)
                break;
            int64_t now = time_now_ms();
            if (WIFSIGNALED(status))
                log_error("worker %d died on signal %d; restarting", (int)pid, WTERMSIG(status));
            else
                log_error("worker %d exited with status %d; restarting", (int)pid,
                          WEXITSTATUS(status));
            s->fails = now - s->started_ms < 1000 ? s->fails + 1 : 0;
            int64_t delay = s->fails ? 100LL << (s->fails > 6 ? 6 : s->fails - 1) : 0;
            s->respawn_ms = now + (delay > 5000 ? 5000 : delay);
        }
    }
}

static void master_on_signal(master *m, int sig)
{
    switch (sig) {
    case SIGCHLD:
        master_reap(m);
        break;
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
        if (!m->stopping || (m->graceful && sig != SIGQUIT))
            log_info("%s: stopping %d worker(s)", sig == SIGQUIT ? "graceful stop" : "fast stop",
                     master_alive(m));
        if (!m->stopping || (m->graceful && sig != SIGQUIT)) {
            /* A graceful stop lets downloads finish within shutdown_timeout;
             * a fast stop gives workers STOP_GRACE_MS to close. */
            m->graceful = sig == SIGQUIT;
            m->stop_deadline = time_now_ms() + (m->graceful ? m->cfg->shutdown_timeout_ms : STOP_GRACE_MS);
        }
        m->stopping = true;
        master_signal_all(m, sig == SIGQUIT ? SIGQUIT : SIGTERM);
        break;
    case SIGHUP:
        log_info("SIGHUP: nothing to reload without a configuration file");
        break;
    case SIGUSR1:
        if (log_reopen() < 0)
            log_error("reopening the error log: %s", strerror(errno));
        master_signal_all(m, SIGUSR1);
        break;
    }
}

static int master_next_wait(const master *m, int64_t now)
{
    int64_t wait = -1;
    for (int i = 0; i < m->nslots; i++) {
        if (m->slots[i].pid == 0 && m->slots[i].respawn_ms >= 0) {
            int64_t d = m->slots[i].respawn_ms - now;
            d = d < 0 ? 0 : d;
            wait = wait < 0 || d < wait ? d : wait;
        }
    }
    return (int)wait;
}

static void master_loop(master *m)
{
    while (!m->stopping || master_alive(m) > 0) {
        int64_t now = time_now_ms();
        int64_t stop_deadline = m->stop_deadline;
        int wait = m->stopping ? (int)(stop_deadline > now ? stop_deadline - now : 0)
                               : master_next_wait(m, now);
        struct pollfd p = { .fd = m->sigfd, .events = POLLIN };
        int r = poll(&p, 1, wait);
        if (r > 0) {
            struct signalfd_siginfo si;
            while (read(m->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                master_on_signal(m, (int)si.ssi_signo);
        }
        now = time_now_ms();
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
        for (int i = 0; !m->stopping && i < m->nslots; i++)
            if (m->slots[i].pid == 0 && m->slots[i].respawn_ms >= 0 && m->slots[i].respawn_ms <= now)
                master_spawn(m, i);
    }
}

static void master_close(master *m)
{
    for (size_t s = 0; m->listen_fds && s < (size_t)m->nslots; s++)
        for (size_t i = 0; i < m->nlisten; i++) {
            int fd = m->listen_fds[s * m->nlisten + i];
            if (fd >= 0 && (s == 0 || m->cfg->listens[i].reuseport))
                close(fd);
        }
    for (size_t i = 0; m->rootfds && i < m->cfg->ndirs; i++)
        if (m->rootfds[i] >= 0)
            close(m->rootfds[i]);
    if (m->sigfd >= 0)
        close(m->sigfd);
    free(m->listen_fds);
    free(m->rootfds);
    free(m->slots);
}

int master_run(const cfg *c)
{
    master m = { .cfg = c, .sigfd = -1 };
    char err[512];
    signal(SIGPIPE, SIG_IGN);
    /* Blocked before fork, so workers inherit the mask and read their own signalfd. */
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1 };
    for (size_t i = 0; i < EP_ARRAY_LEN(sigs); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    m.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    m.nslots = cfg_worker_count(c);
    m.slots = calloc((size_t)m.nslots, sizeof *m.slots);
    /* The pid file first: a second master must not even try to bind. */
    if (m.sigfd < 0 || !m.slots || priv_resolve(c, &m.priv, err, sizeof err) < 0 ||
        (c->pid_file && pidfile_write(c->pid_file, err, sizeof err) < 0) ||
        master_open(&m, err, sizeof err) < 0) {
        log_error("%s", m.sigfd < 0 || !m.slots ? strerror(errno) : err);
        if (c->pid_file)
            pidfile_remove(c->pid_file);
        master_close(&m);
        return 1;
    }
    if (c->user && !m.priv.change)
        log_warn("\"user\" %s is ignored: only a master running as root can switch users", c->user);
    for (int i = 0; i < m.nslots; i++)
        master_spawn(&m, i);
    if (c->source)
        log_info("ephttpd %s serving %s (%zu server(s)) on %s:%u%s with %d worker(s)", EP_VERSION,
                 c->source, c->nservers, c->listens[0].addr, c->listens[0].port,
                 c->nlistens > 1 ? " and more" : "", m.nslots);
    else
        log_info("ephttpd %s serving %s on %s:%u with %d worker(s)", EP_VERSION, c->servers[0].r.root,
                 c->listens[0].addr, c->listens[0].port, m.nslots);
    master_loop(&m);
    if (c->pid_file)
        pidfile_remove(c->pid_file);
    master_close(&m);
    log_info("stopped");
    return 0;
}
