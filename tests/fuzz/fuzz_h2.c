/* tests/fuzz/fuzz_h2.c: libFuzzer target for the server side of HTTP/2: any bytes from a client, through a real worker's accept, h2c preface, HTTP/2 session (http/h2sess.c), routing, executor and write queue. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/prepare.h"
#include "log/log.h"
#include "util/time.h"
#include "worker/conn.h"
#include "worker/ctx.h"
#include "worker/h2.h"
#include "worker/worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first byte of an input says how the client behaves, the second how
 * it sends (0: all at once, n: in pieces of 4n bytes, the server settling
 * after each); the rest is what it sends. */
enum {
    FL_PREFACE = 1 << 0, /* the connection preface goes first (most inputs want h2) */
    FL_FIN = 1 << 1,     /* the client shuts its sending side after its last byte */
    FL_RETIRE = 1 << 2,  /* the worker is retiring (a reload): the connection starts with the notice */
    FL_END = 3 << 3,     /* how the connection ends, one of END_* */
    FL_SMALLBUF = 1 << 5, /* a small send buffer: the server meets EAGAIN and waits for EPOLLOUT */
    FL_STALL = 1 << 6,   /* the client reads nothing until the end: output waits when the connection ends */
    FL_DENIED = 1 << 7,  /* the client's address is in the network the .js location denies */
};
enum { END_FAST, END_GRACEFUL, END_TIMER, END_CLIENT_CLOSE };

#define FUZZ_MAX_INPUT 65536
#define SMALL_SNDBUF 4096
#define MAX_TURNS 65536   /* loop turns to settle; past that the connection is closed as is */
#define TASK_WAIT_MS 50   /* one wait for a write-queue task to come back */
#define RELEASE_MS 30000  /* a task not back by then never will be: a bug */
#define H2_MAX_PAYLOAD 16384 /* the most h2sess puts in one frame (DATA, HEADERS fragments), as nghttp2 */

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_h2: %s\n", what);
        abort();
    }
}

/* The site: a small and a large file, a folder without an index, a
 * precompressed sibling, a dotfile, files under a location that sends every
 * file through the write queue; and a configuration with every kind of rule
 * a plan can come from, an h2c listener and limits a fuzzer reaches. */
static const char conf_fmt[] =
    "worker_connections = 16;\n"
    "write_queue_threads = 2;\n"
    "small_file_max = \"4k\";\n"
    "open_file_cache = 16;\n"
    "http2_max_concurrent_streams = 8;\n"
    "http2_max_header_list_size = \"4k\";\n"
    "http2_initial_window_size = \"16k\";\n"
    "http2_connection_window_size = \"1m\";\n"
    "listen = ( { address = \"127.0.0.1\"; port = 8080; http2 = true; } );\n"
    "servers = ( { names = [ \"a.test\" ]; root = \"%s/www\"; autoindex = true; access_log = \"/dev/null\";\n"
    "  expires = \"1h\"; add_header = { X-A = \"1\"; };\n"
    "  error_page = ( { codes = [ 404 ]; uri = \"/404.html\"; } );\n"
    "  locations = (\n"
    "    { match = \"/q/\"; offload = \"always\"; },\n"
    "    { match = \"= /h\"; return = 204; },\n"
    "    { match = \"/r/\"; return = { status = 301; url = \"$scheme://$host$request_uri\"; }; },\n"
    "    { match = \"/t/\"; return = { status = 200; body = \"$host $uri $args\"; }; },\n"
    "    { match = \"/spa/\"; try_files = [ \"$uri\", \"$uri/\", \"/index.html\" ]; },\n"
    "    { match = \"/al/\"; alias = \"%s/www/sub/\"; methods = [ \"GET\", \"OPTIONS\" ]; offload = \"always\"; },\n"
    "    { match = \"~* \\\\.js$\"; precompressed = [ \"gzip\" ]; access = [ \"deny 192.0.2.0/24\" ]; }\n"
    "  ); },\n"
    "  { names = [ \"b.test\" ]; root = \"%s/www\"; autoindex = true; autoindex_format = \"json\";\n"
    "    access_log = \"/dev/null\"; } );\n";

static worker *w;
static int *dirfds; /* the master's descriptors of the roots: it keeps them */
static char site_dir[] = "/tmp/fuzz_h2.XXXXXX";

static void put_file(const char *dir, const char *name, size_t len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    check(f != NULL, "cannot write the site");
    for (size_t i = 0; i < len; i++)
        fputc('a' + (int)(i % 26), f);
    check(fclose(f) == 0, "cannot write the site");
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* At a normal exit the site goes (libFuzzer's -jobs start many processes);
 * after a crash it stays, for reproducing. */
static void remove_site(void)
{
    nftw(site_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void make_site(const char *tmp)
{
    char www[256], sub[256], q[256];
    snprintf(www, sizeof www, "%s/www", tmp);
    snprintf(sub, sizeof sub, "%s/www/sub", tmp);
    snprintf(q, sizeof q, "%s/www/q", tmp);
    check(mkdir(www, 0755) == 0 && mkdir(sub, 0755) == 0 && mkdir(q, 0755) == 0, "cannot make the site");
    put_file(www, "index.html", 100);
    put_file(www, "404.html", 10);
    put_file(www, "big.bin", 200000);
    put_file(www, "app.js", 5000);
    put_file(www, "app.js.gz", 700);
    put_file(www, ".env", 5);
    put_file(sub, "x.txt", 33);
    put_file(q, "small.txt", 1000);
    put_file(q, "big.bin", 100000);
}

/* Once: the site, its configuration, and a worker set up as a worker
 * process sets itself up (its listener is never opened: connections come
 * from socketpairs). The error log goes to /dev/null at debug level, so
 * that every message is still formatted; FUZZ_H2_LOG=1 shows it on stderr
 * (to read what a crashing input did). */
static void setup(void)
{
    const char *tmp = mkdtemp(site_dir);
    check(tmp != NULL, "mkdtemp");
    atexit(remove_site);
    make_site(tmp);
    char conf[256];
    snprintf(conf, sizeof conf, "%s/site.conf", tmp);
    FILE *f = fopen(conf, "w");
    check(f != NULL, "cannot write the configuration");
    fprintf(f, conf_fmt, tmp, tmp, tmp);
    check(fclose(f) == 0, "cannot write the configuration");
    char err[1024];
    cfg *cf = http_conf_read(conf, err, sizeof err);
    if (!cf) {
        fprintf(stderr, "fuzz_h2: %s\n", err);
        abort();
    }
    check(log_open(getenv("FUZZ_H2_LOG") ? "-" : "/dev/null", LOGL_DEBUG) == 0, "log_open");
    signal(SIGPIPE, SIG_IGN); /* as the master does for its workers */
    dirfds = calloc(cf->ndirs, sizeof *dirfds);
    check(dirfds != NULL, "out of memory");
    for (size_t i = 0; i < cf->ndirs; i++)
        check((dirfds[i] = open(cf->dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC)) >= 0, "cannot open a root");
    w = calloc(1, sizeof *w);
    check(w != NULL, "out of memory");
    if (worker_open(w, cf, NULL, 0, dirfds, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_h2: worker_open: %s\n", *err ? err : strerror(errno));
        abort();
    }
}

/* ---- the client ------------------------------------------------------------ */

typedef struct {
    int fd;                 /* the client's end of the socketpair, -1 once closed */
    const uint8_t *in;      /* what it sends */
    size_t len, sent;
    size_t piece;           /* bytes per piece, 0: everything at once */
    bool fin, fin_done;
    bool stall;             /* reads nothing (yet) */
    bool h2;                /* what it sends starts with the preface: the answer is frames */
    uint8_t hdr[9];         /* the server's frame header being read */
    size_t hlen;
    size_t skip;            /* payload bytes of the current frame still to come */
    uint64_t frames;
} client;

/* Send the next piece, or as much of the rest as the socket takes. */
static void client_feed(client *cl)
{
    if (cl->fd < 0)
        return;
    size_t end = cl->piece && cl->len - cl->sent > cl->piece ? cl->sent + cl->piece : cl->len;
    while (cl->sent < end) {
        ssize_t n = send(cl->fd, cl->in + cl->sent, end - cl->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            cl->sent += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && errno == EAGAIN)
            return;
        else
            cl->sent = cl->len; /* the server closed: nobody reads the rest */
    }
    if (cl->sent == cl->len && cl->fin && !cl->fin_done) {
        shutdown(cl->fd, SHUT_WR);
        cl->fin_done = true;
    }
}

/* What the server sends over HTTP/2 must be a well-formed run of frames:
 * its SETTINGS first, then frames of the kinds a server sends, on the
 * streams they belong to, none larger than 16 KiB. A fault in
 * how h2sess packs frames into the output buffer would break this. */
static void client_frames(client *cl, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (cl->skip) {
            size_t k = n < cl->skip ? n : cl->skip;
            cl->skip -= k;
            p += k;
            n -= k;
            continue;
        }
        size_t k = sizeof cl->hdr - cl->hlen < n ? sizeof cl->hdr - cl->hlen : n;
        memcpy(cl->hdr + cl->hlen, p, k);
        cl->hlen += k;
        p += k;
        n -= k;
        if (cl->hlen < sizeof cl->hdr)
            return;
        cl->hlen = 0;
        uint32_t len = (uint32_t)cl->hdr[0] << 16 | (uint32_t)cl->hdr[1] << 8 | cl->hdr[2];
        uint8_t type = cl->hdr[3], flags = cl->hdr[4];
        uint32_t sid = ((uint32_t)cl->hdr[5] << 24 | (uint32_t)cl->hdr[6] << 16 | (uint32_t)cl->hdr[7] << 8 |
                        cl->hdr[8]) & 0x7fffffffu;
        check(len <= H2_MAX_PAYLOAD, "a frame larger than 16 KiB");
        if (cl->frames++ == 0)
            check(type == 4 && !(flags & 1) && sid == 0 && len % 6 == 0, "the server did not start with SETTINGS");
        switch (type) {
        case 0: /* DATA */
        case 1: /* HEADERS */
        case 9: /* CONTINUATION */
            check(sid % 2 == 1, "DATA or HEADERS on a stream no client opened");
            break;
        case 3: /* RST_STREAM */
            check(sid != 0 && len == 4, "a malformed RST_STREAM");
            break;
        case 4: /* SETTINGS */
        case 6: /* PING */
        case 7: /* GOAWAY */
            check(sid == 0, "a connection frame on a stream");
            break;
        case 8: /* WINDOW_UPDATE */
            check(len == 4, "a malformed WINDOW_UPDATE");
            break;
        default:
            check(false, "a frame type a server does not send");
        }
        cl->skip = len;
    }
}

/* Read what the server sent. Returns the number of bytes. */
static size_t client_drain(client *cl)
{
    if (cl->fd < 0 || cl->stall)
        return 0;
    size_t total = 0;
    for (;;) {
        static uint8_t buf[65536];
        ssize_t n = recv(cl->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            if (cl->h2)
                client_frames(cl, buf, (size_t)n);
            total += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return total;
        }
    }
}

/* ---- the session ------------------------------------------------------------ */

/* The connection (the registry's only one), or NULL once it is released. */
static conn *the_conn(void)
{
    return w->nconns > 0 ? w->live : NULL;
}

/* Turn the worker's loop until nothing moves: the connection is released,
 * or it waits for the client with no task out and all the input in. */
static void settle(client *cl)
{
    for (int turn = 0; turn < MAX_TURNS; turn++) {
        size_t got = client_drain(cl);
        conn *c = the_conn();
        bool task = c && c->task_busy;
        int n = worker_step(w, task ? TASK_WAIT_MS : 0);
        check(n >= 0, "epoll_wait failed");
        if (!the_conn())
            return;
        if (n > 0 || got > 0 || task)
            continue;
        if (cl->fd >= 0 && (cl->sent < cl->len || (cl->fin && !cl->fin_done))) {
            client_feed(cl);
            continue;
        }
        return;
    }
}

/* How the connection ends, once it has settled on the input. */
static void finish(client *cl, int how)
{
    conn *c = the_conn();
    if (c && !c->closed) {
        switch (how) {
        case END_GRACEFUL: /* a reload's QUIT reached the worker */
            conn_shutdown(c, true);
            break;
        case END_TIMER:
            /* As if its deadline had passed (idle, send or header timeout,
             * whichever is armed): the list's only node, so the list stays
             * sorted, and this turn's expiry runs conn_timeout (before the
             * client reads again, which would re-arm the send timeout). */
            if (timer_armed(&c->timer)) {
                c->timer.deadline = 0;
                check(worker_step(w, 0) >= 0, "epoll_wait failed");
            }
            break;
        case END_CLIENT_CLOSE:
            close(cl->fd);
            cl->fd = -1;
            break;
        default:
            break;
        }
        cl->stall = false; /* from now on the client reads what is left */
        settle(cl);
    }
    cl->stall = false;
    /* Last, as worker_close does: a fast close, then every task is waited for. */
    if ((c = the_conn()) && !c->closed)
        conn_shutdown(c, false);
    int64_t until = time_now_ms() + RELEASE_MS;
    while ((c = the_conn())) {
        check(time_now_ms() < until, "a connection was never released: a task never came back");
        client_drain(cl);
        check(worker_step(w, c->task_busy ? TASK_WAIT_MS : 0) >= 0, "epoll_wait failed");
    }
    check(w->live == NULL && w->dead == NULL, "the registry still holds a connection");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!w)
        setup();
    if (size < 2 || size > FUZZ_MAX_INPUT)
        return 0;
    uint8_t fl = data[0];
    size_t piece = (size_t)data[1] * 4;
    data += 2, size -= 2;
    /* The client's bytes: the preface first when asked, then the input. */
    static uint8_t in[H2_PREFACE_LEN + FUZZ_MAX_INPUT];
    size_t len = 0;
    if (fl & FL_PREFACE) {
        memcpy(in, H2_PREFACE, H2_PREFACE_LEN);
        len = H2_PREFACE_LEN;
    }
    memcpy(in + len, data, size);
    len += size;
    client cl = { .in = in, .len = len, .piece = piece, .fin = fl & FL_FIN, .stall = fl & FL_STALL,
                  .h2 = len >= H2_PREFACE_LEN && memcmp(in, H2_PREFACE, H2_PREFACE_LEN) == 0 };
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    cl.fd = sv[1];
    if (fl & FL_SMALLBUF) {
        int sz = SMALL_SNDBUF;
        check(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz) == 0, "SO_SNDBUF");
    }
    struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40000),
                                .sin_addr.s_addr = htonl(fl & FL_DENIED ? 0xC0000207 : 0x7F000001) };
    w->graceful = fl & FL_RETIRE;
    /* The client has spoken (its first piece) before the worker accepts,
     * as it usually has when accept returns. */
    client_feed(&cl);
    conn *c = worker_adopt(w, sv[0], (struct sockaddr *)&peer, 0);
    check(c == the_conn(), "worker_adopt returned other than what the registry holds");
    settle(&cl);
    finish(&cl, (fl & FL_END) >> 3);
    if (cl.fd >= 0)
        close(cl.fd);
    w->graceful = false;
    /* Each input starts with an empty open-file cache: every reference was
     * given back with the connection. */
    size_t cap = w->fc.cap;
    fc_destroy(&w->fc);
    check(fc_init(&w->fc, cap, w->cfg->open_file_cache_valid_ms, w->cfg->open_file_cache_memory,
                  w->fw.io.fd >= 0 ? &w->fw : NULL) == 0, "fc_init");
    return 0;
}
