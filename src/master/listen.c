/* master/listen.c: listening sockets for IPv4 and IPv6 addresses. */
#include "master/listen.h"

#include "log/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int listen_open(const cfg_listen *l, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len = cidr_sockaddr(l->addr, strlen(l->addr), l->port, &ss);
    if (len == 0) {
        snprintf(err, errlen, "listen address \"%s\" is not a numeric IPv4 or IPv6 address", l->addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        goto fail;
    if (ss.ss_family == AF_INET6) /* "::" means IPv6 only; list 0.0.0.0 too for both */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    /* HTTP clients speak first, so the kernel queues a connection only once
     * its request has arrived: the worker wakes once per connection instead
     * of twice, and a connection that never sends costs no worker anything.
     * One second (nginx's "deferred" value) bounds the wait for a client that
     * sends nothing; after it the connection is accepted as usual. */
    int defer = l->deferred ? 1 : 0;
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, l->backlog) < 0)
        goto fail;
    return fd;
fail:
    snprintf(err, errlen, "listen on %s%s%s:%u: %s", ss.ss_family == AF_INET6 ? "[" : "", l->addr,
             ss.ss_family == AF_INET6 ? "]" : "", l->port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

bool listen_same(const cfg_listen *a, const cfg_listen *b)
{
    return a->port == b->port && a->reuseport == b->reuseport && cfg_same_addr(a->addr, b->addr);
}

int listen_tune(int fd, const cfg_listen *l, char *err, size_t errlen)
{
    int defer = l->deferred ? 1 : 0;
    /* listen() again on a listening socket only changes its backlog. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer) < 0 || listen(fd, l->backlog) < 0) {
        snprintf(err, errlen, "listen on %s:%u: %s", l->addr, l->port, strerror(errno));
        return -1;
    }
    return 0;
}

void listen_inherit(listen_pool *p)
{
    p->n = 0;
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (pid && fds && strtol(pid, NULL, 10) == (long)getpid()) {
        long n = strtol(fds, NULL, 10);
        for (long i = 0; i < n && p->n < sizeof p->fd / sizeof p->fd[0]; i++)
            p->fd[p->n++] = 3 + (int)i; /* SD_LISTEN_FDS_START */
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

/* The address and port fd is bound to, or false for a socket that is not
 * an IPv4/IPv6 one. */
static bool fd_addr(int fd, char *addr, size_t addrlen, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return false;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in4->sin_addr, addr, (socklen_t)addrlen);
        *port = ntohs(in4->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)addrlen);
        *port = ntohs(in6->sin6_port);
    } else {
        return false;
    }
    return true;
}

/* Does fd listen on l's address and port? */
static bool fd_is(int fd, const cfg_listen *l)
{
    int listening = 0;
    socklen_t ol = sizeof listening;
    char addr[INET6_ADDRSTRLEN];
    uint16_t port;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) < 0 || !listening ||
        !fd_addr(fd, addr, sizeof addr, &port))
        return false;
    cfg_listen probe = *l;
    probe.addr = addr;
    probe.port = port;
    return listen_same(&probe, l);
}

void listen_pool_release(listen_pool *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->fd[i] < 0)
            continue;
        char addr[INET6_ADDRSTRLEN] = "?";
        uint16_t port = 0;
        if (fd_addr(p->fd[i], addr, sizeof addr, &port))
            log_warn("socket activation: systemd passed a socket on %s%s%s:%u that no \"listen\" "
                     "in the configuration names; closing it (make ephttpd.socket and the "
                     "configuration agree)", strchr(addr, ':') ? "[" : "", addr,
                     strchr(addr, ':') ? "]" : "", port);
        else
            log_warn("socket activation: systemd passed descriptor %d, which is no IPv4 or IPv6 "
                     "socket; closing it", p->fd[i]);
        close(p->fd[i]);
        p->fd[i] = -1;
    }
}

int listen_take(listen_pool *p, const cfg_listen *l)
{
    for (size_t i = 0; i < p->n; i++) {
        int fd = p->fd[i];
        if (fd < 0 || !fd_is(fd, l))
            continue;
        p->fd[i] = -1;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        return fd;
    }
    return -1;
}
