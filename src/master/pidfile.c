/* master/pidfile.c: writing, checking and removing the master's pid file. */
#include "master/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t read_pid(const char *path)
{
    char buf[32] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    return v > 0 && (*end == '\n' || *end == '\0') ? (pid_t)v : 0;
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
    pid_t pid = read_pid(path);
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
    unsigned long long want = 1ULL << (SIGHUP - 1) | 1ULL << (SIGQUIT - 1) | 1ULL << (SIGTERM - 1);
    return (pidfile_sigblk(pid) & want) == want ? pid : 0;
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
