/* master/pidfile.c: writing, checking and removing the master's pid file. */
#include "master/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pid in path, and (owner) who wrote the file; 0 for none. A FIFO or
 * anything but a plain file is none (and must not block us). */
static pid_t read_pid_owner(const char *path, uid_t *owner)
{
    char buf[32] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    *owner = st.st_uid;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    return v > 0 && v <= INT_MAX && (*end == '\n' || *end == '\0') ? (pid_t)v : 0;
}

static pid_t read_pid(const char *path)
{
    uid_t owner;
    return read_pid_owner(path, &owner);
}

/* The uid pid runs as, or (uid_t)-1. */
static uid_t proc_uid(pid_t pid)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    return stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

unsigned long long pidfile_sigblk(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    unsigned long long mask = 0;
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "SigBlk: %llx", &mask) == 1;
    if (f)
        fclose(f);
    return found ? mask : 0;
}

pid_t pidfile_running(const char *path)
{
    uid_t owner = (uid_t)-1;
    pid_t pid = read_pid_owner(path, &owner);
    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return 0;
    char proc[64], comm[64] = "";
    snprintf(proc, sizeof proc, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(proc, "re");
    if (!f)
        return 0;
    if (!fgets(comm, sizeof comm, f))
        comm[0] = '\0';
    fclose(f);
    /* A master: named ephttpd (or a renamed copy, ephttpd-dev say), but not
     * a worker or a check child, and reading HUP, QUIT and TERM by signalfd
     * (so blocking them), which another program named alike does not. */
    comm[strcspn(comm, "\n")] = '\0';
    if (strncmp(comm, "ephttpd", 7) != 0 || strcmp(comm, "ephttpd-worker") == 0 ||
        strcmp(comm, "ephttpd-check") == 0)
        return 0;
    /* ... and running as whoever wrote the pid file: after a master died
     * without removing it, another user's process that took the pid and
     * dressed up as a master is not one. */
    unsigned long long want = 1ULL << (SIGHUP - 1) | 1ULL << (SIGQUIT - 1) | 1ULL << (SIGTERM - 1);
    return (pidfile_sigblk(pid) & want) == want && proc_uid(pid) == owner ? pid : 0;
}

int pidfile_write(const char *path, char *err, size_t errlen)
{
    pid_t other = pidfile_running(path);
    if (other > 0 && other != getpid()) {
        snprintf(err, errlen, "pid file \"%s\": ephttpd is already running as pid %d", path, (int)other);
        return -1;
    }
    char tmp[4200], line[32];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
    /* O_EXCL | O_NOFOLLOW: a link planted in a shared folder must not make
     * root truncate another file. */
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0) {
        snprintf(err, errlen, "pid file \"%s\": %s", path, strerror(errno));
        if (fd >= 0)
            unlink(tmp);
        return -1;
    }
    return 0;
}

void pidfile_remove(const char *path)
{
    if (read_pid(path) == getpid())
        unlink(path);
}
