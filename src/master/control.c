/* master/control.c: -s: find the master by its pid file, signal it, and for a reload wait for its verdict. */
#include "master/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "master/pidfile.h"

static const struct {
    const char *name;
    int sig;
} commands[] = {
    { "reload", SIGHUP },
    { "quit", SIGQUIT },
    { "stop", SIGTERM },
    { "reopen", SIGUSR1 },
    { "drain", SIGUSR2 },
};

/* The signal for cmd, or 0 for an unknown command. */
static int command_signal(const char *cmd)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].sig;
    return 0;
}

bool control_known(const char *cmd)
{
    return command_signal(cmd) != 0;
}

/* Wait for the master's answer to our SIGHUP. */
static int wait_ack(pid_t master, int timeout_ms)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, CONTROL_ACK_SIGNAL);
    struct timespec left = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
    for (;;) {
        siginfo_t si;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int s = sigtimedwait(&set, &si, &left);
        if (s == CONTROL_ACK_SIGNAL && si.si_pid == master)
            return si.si_value.sival_int == 1 ? 0 : 1;
        if (s < 0 && errno == EAGAIN)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long long spent = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
        long long rest = (long long)left.tv_sec * 1000000000LL + left.tv_nsec - spent;
        if (rest <= 0)
            return -1;
        left.tv_sec = (time_t)(rest / 1000000000LL);
        left.tv_nsec = (long)(rest % 1000000000LL);
    }
}

/* Where the error log ends now, so that a refusal's reason can be found
 * among the lines the master writes after our HUP; -1: no file to read. */
static off_t log_end(const char *error_log)
{
    struct stat st;
    if (!error_log || strcmp(error_log, "-") == 0 || stat(error_log, &st) < 0 || !S_ISREG(st.st_mode))
        return -1;
    return st.st_size;
}

/* Print the master's reason for refusing our reload: its "reload refused"
 * line written since from. Returns true if one was found. */
static bool print_reason(const char *error_log, off_t from, pid_t master)
{
    static const char mark[] = "reload refused, the running configuration stays: ";
    int fd = from < 0 ? -1 : open(error_log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[65536];
    ssize_t n = pread(fd, buf, sizeof buf - 1, from);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char who[96];
    snprintf(who, sizeof who, " %d: %s", (int)master, mark);
    const char *found = NULL;
    for (const char *p = buf; (p = strstr(p, who)); p++)
        found = p + strlen(who);
    if (!found)
        return false;
    fprintf(stderr, "ephttpd: %.*s\n", (int)strcspn(found, "\n"), found);
    return true;
}

/* Does pid block sig (an ephttpd master reads its signals by signalfd)?
 * Only then is sig safe to send: unblocked, a real-time signal kills. */
static bool blocks(pid_t pid, int sig)
{
    return (pidfile_sigblk(pid) >> (sig - 1)) & 1;
}

/* The master exited: no such process, or a zombie its parent has yet to reap. */
static bool gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return kill(pid, 0) < 0 && errno == ESRCH;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')'); /* the name may hold anything; the state follows its ')' */
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* -s drain: the master's health checks answer 503 for drain_delay, then it
 * stops gracefully; this waits for it to be gone (timeout_ms at most), so
 * that a Kubernetes preStop hook or a deploy script can go on only then. */
static int drain(pid_t pid, int timeout_ms)
{
    /* Unblocked, SIGUSR2 would kill an ephttpd from before -s drain. */
    if (!blocks(pid, SIGUSR2)) {
        fprintf(stderr, "ephttpd: -s drain: the master (pid %d) is an ephttpd without it; use -s quit\n", (int)pid);
        return 1;
    }
    if (kill(pid, SIGUSR2) < 0) {
        fprintf(stderr, "ephttpd: -s drain: signalling pid %d: %s\n", (int)pid, strerror(errno));
        return 1;
    }
    printf("ephttpd: draining (pid %d): health checks answer 503, then a graceful stop\n", (int)pid);
    fflush(stdout);
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (gone(pid)) {
            printf("ephttpd: drained and stopped (pid %d)\n", (int)pid);
            return 0;
        }
        nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000000 }, NULL);
    }
    fprintf(stderr, "ephttpd: -s drain: the master (pid %d) is still running after %d ms\n", (int)pid, timeout_ms);
    return 1;
}

int control_run(const char *pid_file, const char *cmd, const char *error_log, int timeout_ms)
{
    int sig = command_signal(cmd);
    if (!sig) {
        fprintf(stderr, "ephttpd: -s: unknown command \"%s\" (reload, quit, stop, reopen or drain)\n", cmd);
        return 2;
    }
    pid_t pid = pidfile_running(pid_file);
    if (pid <= 0) {
        fprintf(stderr, "ephttpd: -s %s: no running ephttpd: pid file \"%s\" is missing or stale\n", cmd,
                pid_file);
        return 1;
    }
    /* An unprivileged master may not signal a root process: a root -s
     * becomes the master's user for the exchange, so the answer can come. */
    struct stat st;
    char proc[32];
    snprintf(proc, sizeof proc, "/proc/%d", (int)pid);
    if (sig == SIGHUP && geteuid() == 0 && stat(proc, &st) == 0 && st.st_uid != 0 &&
        (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0)) {
        fprintf(stderr, "ephttpd: -s reload: becoming the master's user: %s\n", strerror(errno));
        return 1;
    }
    if (sig == SIGUSR2)
        return drain(pid, timeout_ms);
    /* Blocked before the HUP goes out, so the answer cannot be missed. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, CONTROL_ACK_SIGNAL);
    sigprocmask(SIG_BLOCK, &set, NULL);
    off_t log_from = log_end(error_log);
    union sigval v = { .sival_int = CONTROL_RELOAD_MAGIC };
    if (sig == SIGHUP && blocks(pid, CONTROL_RELOAD_SIGNAL))
        sig = CONTROL_RELOAD_SIGNAL;
    bool reload = sig == SIGHUP || sig == CONTROL_RELOAD_SIGNAL;
    if ((reload ? sigqueue(pid, sig, v) : kill(pid, sig)) < 0) {
        fprintf(stderr, "ephttpd: -s %s: signalling pid %d: %s\n", cmd, (int)pid, strerror(errno));
        return 1;
    }
    if (!reload) {
        printf("ephttpd: sent %s to the master (pid %d)\n", cmd, (int)pid);
        return 0;
    }
    int r = wait_ack(pid, timeout_ms);
    if (r == 0) {
        printf("ephttpd: reloaded: the new configuration is serving (pid %d)\n", (int)pid);
        return 0;
    }
    if (r > 0 && !print_reason(error_log, log_from, pid))
        fprintf(stderr, "ephttpd: the master (pid %d) refused the reload; its error log says why\n", (int)pid);
    if (r > 0)
        fprintf(stderr, "ephttpd: reload refused; the running configuration stays (pid %d)\n", (int)pid);
    else
        fprintf(stderr, "ephttpd: no answer from the master (pid %d) within %d ms\n", (int)pid, timeout_ms);
    return 1;
}
