/* bench/ceiling.c: the small-file ceiling for bench.sh, a bare epoll loop answering every request with one fixed response. */
/*
 * Usage: ceiling PORT     (listens on 127.0.0.1:PORT; runs until killed)
 *
 * One thread, non-blocking sockets, level-triggered epoll: a readable
 * connection gets one recv and, when it completed request heads, one send.
 * That is the least a server can do per keep-alive request (level-triggered
 * needs no recv that ends in EAGAIN, as edge-triggered would), so no static
 * file server on the same core can beat it on the 38-byte file.
 * The response has the same head fields as ephttpd's (Date, Last-Modified
 * and ETag fixed strings), so the bytes on the wire match too.
 * Requests are only split at the blank line ending each head (pipelining:
 * one response per head, sent in one call); a head that asks for no
 * keep-alive (HTTP/1.0 without "keep-alive", or "Connection: close") gets
 * its answer and then the connection is closed, so ab works too.
 * Bodies in requests are not expected (wrk, ab and curl send GETs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY "<html><body>a 38-byte page</body></htm"
#define HEAD                                                                                       \
    "HTTP/1.1 200 OK\r\n"                                                                          \
    "Server: ceiling\r\n"                                                                          \
    "Date: Sat, 28 Nov 2026 04:32:07 GMT\r\n"                                                      \
    "Content-Type: text/html\r\n"                                                                  \
    "Content-Length: 38\r\n"                                                                       \
    "Last-Modified: Sat, 28 Nov 2026 04:32:05 GMT\r\n"                                             \
    "ETag: \"6b0a5945-26\"\r\n"                                                                    \
    "Accept-Ranges: bytes\r\n"
static const char RESPONSE[] = HEAD "Connection: keep-alive\r\n\r\n" BODY;
static const char RESPONSE_CLOSE[] = HEAD "Connection: close\r\n\r\n" BODY;
#define RESP_LEN (sizeof RESPONSE - 1)
#define IN_MAX 8192 /* a head longer than this is refused: the connection is closed */
#define OUT_MAX (64 * RESP_LEN) /* most pipelined answers queued for one connection */

struct conn {
    int fd;
    int closing;       /* close once out is sent */
    size_t in_len;     /* unparsed bytes of a partial head */
    size_t out_off, out_len;
    char in[IN_MAX];
    char out[OUT_MAX];
};

static int ep;

static void drop(struct conn *c) {
    close(c->fd); /* closing removes it from the epoll set */
    free(c);
}

/* Does this head (request line and fields, without the blank line) ask to close? */
static int wants_close(const char *h, size_t n) {
    const char *eol = memmem(h, n, "\r\n", 2);
    size_t line = eol ? (size_t)(eol - h) : n;
    int http10 = line >= 8 && memcmp(h + line - 8, "HTTP/1.0", 8) == 0;
    for (const char *p = h; (p = memmem(p, n - (size_t)(p - h), "\nConnection:", 12)) != NULL; p += 12) {
        const char *v = p + 12, *end = memchr(v, '\r', n - (size_t)(v - h));
        size_t vn = end ? (size_t)(end - v) : n - (size_t)(v - h);
        while (vn && *v == ' ') v++, vn--;
        if (vn >= 5 && strncasecmp(v, "close", 5) == 0) return 1;
        if (vn >= 10 && strncasecmp(v, "keep-alive", 10) == 0) return 0;
    }
    return http10;
}

/* Sends what is queued; returns -1 when the connection is gone. */
static int flush(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
        if (n <= 0) return -1;
        c->out_off += (size_t)n;
    }
    if (c->closing) return -1;
    c->out_off = c->out_len = 0;
    return 0;
}

/* A response queued per complete head in c->in; one send for each batch of
 * them (a batch is as many as c->out holds: more pipelined heads wait for it
 * to go, then are answered without waiting for more input). */
static void answer(struct conn *c) {
    int full;
    do {
        char *p = c->in, *end = c->in + c->in_len, *h;
        full = 0;
        while (!c->closing && (h = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)) != NULL) {
            if (c->out_len + RESP_LEN > OUT_MAX) {
                full = 1;
                break;
            }
            c->closing = wants_close(p, (size_t)(h - p));
            size_t len = c->closing ? sizeof RESPONSE_CLOSE - 1 : RESP_LEN; /* "close" is shorter */
            memcpy(c->out + c->out_len, c->closing ? RESPONSE_CLOSE : RESPONSE, len);
            c->out_len += len;
            p = h + 4;
        }
        c->in_len = (size_t)(end - p);
        if (c->in_len == IN_MAX) { /* a head that fills the buffer will never end */
            drop(c);
            return;
        }
        memmove(c->in, p, c->in_len);
        if (c->out_len && flush(c) < 0) {
            drop(c);
            return;
        }
    } while (full && c->out_len == 0); /* out_len left: EPOLLOUT is armed, writable() goes on */
}

/* One recv, then the answers: level-triggered, so no recv is spent on EAGAIN. */
static void readable(struct conn *c) {
    ssize_t n = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN) return;
        drop(c);
        return;
    }
    c->in_len += (size_t)n;
    answer(c);
}

static void writable(struct conn *c) {
    if (flush(c) < 0) {
        drop(c);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) drop(c);
    else if (c->in_len) answer(c); /* heads left waiting while out was full */
}

static void accept_all(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN, or EMFILE: the backlog keeps it for later */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->closing = 0;
        c->in_len = c->out_off = c->out_len = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) drop(c);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { /* c1000 and more: the hard limit, as the servers take */
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 511) < 0) {
        perror("ceiling: listen");
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[512];
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
        perror("ceiling: epoll");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) accept_all(lfd);
            else if (evs[i].events & EPOLLOUT) writable(c);
            else readable(c);
        }
    }
}
