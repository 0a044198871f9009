/* master/daemon.c: the classic fork-and-setsid, with the parent exiting only once the daemon serves. */
#include "master/daemon.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int daemon_detach(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        perror("ephttpd: --daemon: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("ephttpd: --daemon: fork");
        exit(1);
    }
    if (pid > 0) { /* the parent: the shell or init script waits here */
        close(p[1]);
        char c;
        ssize_t n;
        while ((n = read(p[0], &c, 1)) < 0)
            ;
        if (n == 1)
            exit(0);
        int status;
        if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status))
            exit(WEXITSTATUS(status));
        exit(1);
    }
    close(p[0]);
    /* A new session, no controlling terminal. The working directory stays:
     * a relative configuration path must still work on reload. */
    setsid();
    return p[1];
}

void daemon_quiet(bool stderr_too)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return;
    dup2(null, 0);
    dup2(null, 1);
    if (stderr_too)
        dup2(null, 2);
    close(null);
}

void daemon_ready(int fd)
{
    if (write(fd, "R", 1) != 1)
        perror("ephttpd: telling the parent the daemon serves");
    close(fd);
}
