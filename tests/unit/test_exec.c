/* tests/unit/test_exec.c: the plan executor on a real loop, write queue, open-file cache and root view, sending into a socketpair: bytes exact, lookups, abandon, a shrinking file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/file.h"
#include "http/loc.h"
#include "http/parser.h"
#include "util/time.h"
#include "worker/exec.h"

#include "conf_fixture.h"

#define BIG_LEN 300001            /* odd; beyond small_file_max and any socket buffer set here */
#define SMALL_LEN 1000            /* under small_file_max */
#define SMALL_CAP 4096            /* small_file_max below: the executor's body buffer */
#define MEMSRC_LEN (256 * 1024)   /* where hand-made plans' memory segments point */
#define TINY_SNDBUF 4096          /* a send buffer that fills within a few writes */
#define DEADLINE_MS 60000         /* a loaded machine may be slow; a minute is a failure */

/* The files' contents: a position hash, so that a lost, repeated or shifted
 * run of bytes shows at once. Each file has its own seed. */
enum { SEED_BIG = 1, SEED_SMALL, SEED_QBIG, SEED_QSMALL, SEED_SHRINK, SEED_MEM };

static const char exec_yaml[] = "write_queue_threads: 2\n"
                                "worker_connections: 16\n"
                                "small_file_max: 4k\n"
                                "servers:\n"
                                "  - root: @D/www\n"
                                "    locations:\n"
                                "      - { match: /q/, offload: always }\n"
                                "      - { match: /list/, offload: always, autoindex: true }\n";

static unsigned char memsrc[MEMSRC_LEN];

static unsigned char pat(size_t i, unsigned seed)
{
    uint32_t x = (uint32_t)i * 2654435761u + seed * 40503u;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    return (unsigned char)(x >> 24);
}

static void put_pattern(const char *rel, size_t len, unsigned seed)
{
    char *p = xasprintf("%s/%s", tmp, rel);
    unsigned char *b = malloc(len);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++)
        b[i] = pat(i, seed);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(b);
    free(p);
}

static int group_setup(void **state)
{
    if (setup(state) < 0)
        return -1;
    mkdir_in("www/q", 0755);
    mkdir_in("www/list", 0755);
    mkdir_in("www/dir", 0755);
    put_pattern("www/big.bin", BIG_LEN, SEED_BIG);
    put_pattern("www/small.txt", SMALL_LEN, SEED_SMALL);
    put_pattern("www/q/big.bin", BIG_LEN, SEED_QBIG);
    put_pattern("www/q/small.txt", SMALL_LEN, SEED_QSMALL);
    put_pattern("www/list/a.txt", 10, SEED_SMALL);
    put_pattern("www/list/b.txt", 20, SEED_SMALL);
    for (size_t i = 0; i < MEMSRC_LEN; i++)
        memsrc[i] = pat(i, SEED_MEM);
    return 0;
}

static int group_teardown(void **state)
{
    return teardown(state);
}


/* ---- a worker around one exec ----------------------------------------------- */

typedef struct {
    worker w;
    cfg *cf;
    int *dirfds;               /* the master's descriptors of cfg->dirs */
    int sock, peer;            /* the executor's end and the client's, both non-blocking */
    char *hbuf, *body, *scratch, *parts, *path;
    route_env env;
    hp_request head;
    http_req rq;
    char text[256];
    cfg_rules rules;           /* for hand-made plans that need rules */
    exec x;
    /* what the hooks saw */
    int resumes;
    bool back;                 /* the back hook says the result is still wanted */
    enum exec_result back_r;
    bool can_write;
    int notes;
    char note[ROUTE_NOTE_MAX];
    /* what the peer read */
    unsigned char *got;
    size_t ngot, gotcap;
} harness;

static bool on_back(exec *x)
{
    harness *h = EP_CONTAINER_OF(x, harness, x);
    h->resumes++;
    assert_false(x->task_busy); /* the task is the loop's again */
    return h->back;
}

/* As a connection does: a chunk that met no EAGAIN leaves the socket writable. */
static void on_carry_on(exec *x, enum exec_result r)
{
    harness *h = EP_CONTAINER_OF(x, harness, x);
    h->back_r = r;
    if (r == EXEC_SENDING)
        h->can_write = true;
}

static void on_note(exec *x, const char *line)
{
    harness *h = EP_CONTAINER_OF(x, harness, x);
    h->notes++;
    snprintf(h->note, sizeof h->note, "%s", line);
}

static const exec_hooks hooks = { on_back, on_carry_on, on_note };

/* A malloc of exactly n bytes, so that ASan sees any overrun. */
static char *xmalloc(size_t n)
{
    char *p = malloc(n);
    assert_non_null(p);
    return p;
}

/* Whether the worker has its copy buffer, as worker_open gives it: file
 * ranges over TCP are then copied from the loop (exec_send_copy); without,
 * sent by sendfile (exec_send_file, kTLS's path). */
static bool copy_path = true;

/* Set up as worker_open does: loop, queue (one slot per connection and
 * one more), cache of fc_cap entries, root view over the master's fds. */
static harness *h_open(size_t fc_cap, int sndbuf)
{
    harness *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->cf = load("exec.yaml", exec_yaml);
    const cfg *cf = h->cf;
    worker *w = &h->w;
    w->cfg = cf;
    w->now_ms = time_now_ms();
    w->has_cachestat = true;
    if (copy_path) {
        w->copy_cap = EXEC_COPY_MAX;
        w->copy_buf = xmalloc(w->copy_cap);
    }
    route_sizes_of(cf, &w->sizes);
    assert_int_equal(loop_init(&w->lp, 16), 0);
    assert_int_equal(wq_init(&w->q, &w->lp, cf->wq_threads, (size_t)cf->worker_connections + 1), 0);
    assert_int_equal(fw_init(&w->fw), 0);
    assert_int_equal(fc_init(&w->fc, fc_cap, cf->open_file_cache_valid_ms, cf->open_file_cache_memory, &w->fw), 0);
    assert_non_null(w->loc_scratch = loc_scratch_new());
    h->dirfds = calloc(cf->ndirs, sizeof *h->dirfds);
    assert_non_null(h->dirfds);
    for (size_t i = 0; i < cf->ndirs; i++)
        assert_true((h->dirfds[i] = open(cf->dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC)) >= 0);
    w->cached_open = file_cached_open_supported(h->dirfds[0]);
    assert_int_equal(roots_init(&w->roots, cf->dirs, cf->ndirs, h->dirfds, w->cached_open), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    h->sock = sv[0];
    h->peer = sv[1];
    if (sndbuf)
        assert_int_equal(setsockopt(h->sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    h->hbuf = xmalloc(w->sizes.head);
    h->body = xmalloc(cf->small_file_max);
    h->scratch = xmalloc(w->sizes.scratch);
    h->parts = xmalloc(w->sizes.parts);
    h->path = xmalloc(cf->max_uri_len + 1);
    h->env = (route_env){ .cf = cf, .loc_scratch = w->loc_scratch, .scratch = h->scratch,
                          .scratch_len = w->sizes.scratch, .parts = h->parts, .parts_len = w->sizes.parts,
                          .body = h->body, .body_len = cf->small_file_max };
    exec_init(&h->x, w, &hooks, h->sock, h->hbuf, w->sizes.head, h->body, cf->small_file_max);
    cfg_rules_defaults(&h->rules);
    h->back = true;
    return h;
}

static void h_close(harness *h)
{
    worker *w = &h->w;
    assert_null(h->x.view); /* every case ends its response */
    wq_destroy(&w->q);
    roots_destroy(&w->roots);
    for (size_t i = 0; i < h->cf->ndirs; i++)
        close(h->dirfds[i]);
    fc_destroy(&w->fc);
    fw_destroy(&w->fw);
    loop_close(&w->lp);
    loc_scratch_free(w->loc_scratch);
    close(h->sock);
    close(h->peer);
    free(h->dirfds);
    free(h->hbuf);
    free(h->body);
    free(h->scratch);
    free(h->parts);
    free(h->path);
    free(h->got);
    free(w->copy_buf);
    cfg_free(h->cf);
    free(h);
}

/* ---- the peer, readiness and tasks -------------------------------------------- */

/* Read whatever the peer can get now. */
static void h_drain(harness *h)
{
    for (;;) {
        if (h->gotcap - h->ngot < 65536) {
            h->gotcap = h->gotcap * 2 + 65536;
            assert_non_null(h->got = realloc(h->got, h->gotcap));
        }
        ssize_t n = recv(h->peer, h->got + h->ngot, h->gotcap - h->ngot, 0);
        if (n > 0) {
            h->ngot += (size_t)n;
            continue;
        }
        /* 0 would be end-of-file: the executor never closes or shuts the socket. */
        assert_true(n < 0);
        assert_int_equal(errno, EAGAIN);
        return;
    }
}

static bool sock_writable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/* What the loop's EPOLLOUT would say: the peer reads until the executor's
 * end takes bytes again. */
static void h_wait_writable(harness *h)
{
    int64_t end = time_now_ms() + DEADLINE_MS;
    while (!sock_writable(h->sock) && time_now_ms() < end) {
        h_drain(h);
        struct pollfd p = { .fd = h->peer, .events = POLLIN };
        poll(&p, 1, 10);
    }
    assert_true(sock_writable(h->sock));
    h->can_write = true;
}

/* Run the loop until the task in flight is back through hooks->resume. The
 * peer does not read meanwhile: a chunk that meets a full socket returns
 * (EAGAIN) rather than stalls, and whether it does is up to the case alone. */
static void h_wait_task(harness *h)
{
    int before = h->resumes;
    int64_t end = time_now_ms() + DEADLINE_MS;
    while (h->resumes == before && time_now_ms() < end)
        loop_run_once(&h->w.lp, 10);
    assert_int_equal(h->resumes, before + 1);
}

typedef struct {
    int full;  /* EXEC_WAIT on a full socket */
    int tasks; /* chunks that went through the queue and came back */
} send_log;

/* exec_send as a connection drives it, until EXEC_DONE or EXEC_ERROR: a
 * full socket waits for writability, a chunk on the queue for its resume. */
static enum exec_result h_send(harness *h, send_log *lg)
{
    exec *x = &h->x;
    int64_t end = time_now_ms() + DEADLINE_MS;
    while (time_now_ms() < end) {
        enum exec_result r = exec_send(x, &h->can_write);
        if (r == EXEC_DONE || r == EXEC_ERROR)
            return r;
        assert_int_equal(r, EXEC_WAIT);
        assert_false(h->can_write); /* readiness is recorded afresh from here on */
        if (!x->task_busy) {
            lg->full++;
            h_wait_writable(h);
            continue;
        }
        h_wait_task(h);
        lg->tasks++;
        if (h->back_r == EXEC_ERROR)
            return EXEC_ERROR;
        /* A chunk that met a full socket waits for writability; one that
         * did not goes on, the socket writable. */
        assert_int_equal(h->back_r, x->task.err == EAGAIN ? EXEC_WAIT : EXEC_SENDING);
        if (x->task.err == 0)
            assert_true(h->can_write);
    }
    fail_msg("exec_send neither finished nor failed within %d ms", DEADLINE_MS);
    return EXEC_ERROR;
}

/* got[0..n) against want[0..n), naming the first difference (a byte-wise
 * dump of 300 KB would bury it). */
static void assert_bytes(const unsigned char *got, size_t ngot, const unsigned char *want, size_t n)
{
    if (ngot != n)
        fail_msg("the peer read %zu bytes, %zu expected", ngot, n);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("first difference at byte %zu of %zu: 0x%02x, 0x%02x expected", i, n, got[i], want[i]);
}

/* The head as HTTP/1.1 writes it (conn_respond's part). */
static void h_head(harness *h)
{
    http_plan *p = &h->x.rt.plan;
    p->f.date = "Thu, 01 Jan 2026 00:00:00 GMT";
    p->f.keep_alive = true;
    h->x.hlen = resp_head(h->x.hbuf, h->x.hcap, p->status, &p->f);
    assert_true(h->x.hlen > 0);
}

/* An open file of the fixture, its pages read into the page cache, or
 * (cold) written back and dropped from it, so that nothing is cached. */
static int open_file(const char *rel, bool cold)
{
    char *p = xasprintf("%s/%s", tmp, rel);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    free(p);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char buf[65536];
    if (!cold) {
        for (off_t off = 0; off < st.st_size;)
            off += pread(fd, buf, sizeof buf, off);
        return fd;
    }
    assert_int_equal(fdatasync(fd), 0);
    assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    /* The case needs this; if the kernel kept the pages, say so. */
    assert_int_equal(file_range_cachestat(fd, 0, (size_t)st.st_size), 0);
    return fd;
}

/* ---- hand-made plans ---------------------------------------------------------- */

/* A segment: off and len into the file, or into memsrc. */
typedef struct {
    bool file;
    off_t off;
    size_t len;
} seg_spec;

#define MEM(o, n) { false, (o), (n) }
#define FILE_(o, n) { true, (o), (n) }
#define MAX_SPEC 24

typedef struct {
    const char *name;
    int sndbuf;        /* 0: the system's default */
    bool offload;      /* rules with offload = "always" */
    size_t chunk;      /* sendfile_chunk of the rules; 0: no rules (the executor's 1 MiB) */
    bool cold;         /* the file's pages are not cached: its chunks go to the queue anyway */
    seg_spec seg[MAX_SPEC];
} plan_case;

/* The plan of c over fd (taken over: exec_end closes it), its head written. */
static void plan_by_hand(harness *h, const plan_case *c, int fd)
{
    http_plan *p = &h->x.rt.plan;
    plan_init(p);
    plan_begin(p, 200, NULL, 0);
    p->fd = fd;
    for (size_t i = 0; i < MAX_SPEC && c->seg[i].len; i++) {
        const seg_spec *s = &c->seg[i];
        if (s->file)
            plan_file(p, s->off, s->len);
        else
            plan_mem(p, (const char *)memsrc + s->off, s->len);
    }
    plan_seal(p, false);
    p->f.content_type = "application/octet-stream";
    h_head(h);
    h->rules.offload_always = c->offload;
    if (c->chunk)
        h->rules.sendfile_chunk = c->chunk;
    h->x.rt.rules = c->offload || c->chunk ? &h->rules : NULL;
}

/* What the peer must read: the head, then each segment's own bytes. */
static unsigned char *plan_want(const harness *h, const plan_case *c, unsigned file_seed, size_t *n)
{
    size_t len = h->x.hlen + h->x.rt.plan.body_len;
    unsigned char *w = malloc(len), *o = w;
    assert_non_null(w);
    o = (unsigned char *)memcpy(o, h->x.hbuf, h->x.hlen) + h->x.hlen;
    for (size_t i = 0; i < MAX_SPEC && c->seg[i].len; i++) {
        const seg_spec *s = &c->seg[i];
        for (size_t k = 0; k < s->len; k++)
            *o++ = s->file ? pat((size_t)s->off + k, file_seed) : memsrc[(size_t)s->off + k];
    }
    assert_int_equal(o - w, len);
    *n = len;
    return w;
}

static size_t file_bytes(const plan_case *c)
{
    size_t n = 0;
    for (size_t i = 0; i < MAX_SPEC && c->seg[i].len; i++)
        n += c->seg[i].file ? c->seg[i].len : 0;
    return n;
}

static const plan_case send_cases[] = {
    { "head and memory segments", .seg = { MEM(0, 1), MEM(1, 7), MEM(100, 4093), MEM(5000, 20000) } },
    { "more memory segments than one write takes",
      .seg = { MEM(0, 37), MEM(40, 37), MEM(80, 37), MEM(120, 37), MEM(160, 37), MEM(200, 37), MEM(240, 37),
               MEM(280, 37), MEM(320, 37), MEM(360, 37), MEM(400, 37), MEM(440, 37), MEM(480, 37),
               MEM(520, 37), MEM(560, 37), MEM(600, 37), MEM(640, 37), MEM(680, 37), MEM(720, 37),
               MEM(760, 37) } },
    { "part heads between file ranges",
      .seg = { MEM(0, 50), FILE_(0, 1000), MEM(50, 50), FILE_(123457, 70001), MEM(100, 10),
               FILE_(BIG_LEN - 1, 1) } },
    { "a file range in several chunks", .chunk = 16384, .seg = { FILE_(3, 200000) } },
    { "small send buffer: memory", .sndbuf = TINY_SNDBUF, .seg = { MEM(0, 200000), MEM(200000, 3) } },
    { "short segments packed after the head, then a long one", .sndbuf = TINY_SNDBUF,
      .seg = { MEM(0, 700), MEM(700, 300), MEM(1000, 9000), MEM(10000, 5) } },
    { "small send buffer: part heads between file ranges", .sndbuf = TINY_SNDBUF, .chunk = 16384,
      .seg = { MEM(0, 50), FILE_(0, 1000), MEM(50, 50), FILE_(123457, 70001), MEM(100, 10),
               FILE_(BIG_LEN - 1, 1) } },
    { "small send buffer: a long file range in the executor's own chunks", .sndbuf = TINY_SNDBUF,
      .seg = { FILE_(7, BIG_LEN - 7) } },
    { "pages not cached: chunks go to the queue", .cold = true, .chunk = 65536,
      .seg = { MEM(0, 10), FILE_(0, BIG_LEN), MEM(10, 10) } },
    { "offload: every chunk is a task", .offload = true, .chunk = 16384,
      .seg = { MEM(0, 100), FILE_(5, 100000), MEM(100, 100) } },
    { "offload, small send buffer: chunks meet a full socket", .offload = true, .chunk = 16384,
      .sndbuf = TINY_SNDBUF, .seg = { MEM(0, 100), FILE_(5, 100000), MEM(100, 100) } },
};

/* One row: everything arrives once and in order, and the counters tell
 * which path each chunk took. */
static void run_send_case(const plan_case *c)
{
    int fds0 = count_fds();
    harness *h = h_open(0, c->sndbuf);
    int fds1 = count_fds();
    plan_by_hand(h, c, open_file("www/big.bin", c->cold));
    size_t n;
    unsigned char *want = plan_want(h, c, SEED_BIG, &n);
    exec_prepare(&h->x);
    /* Not writable yet: nothing may be written. */
    h->can_write = false;
    assert_int_equal(exec_send(&h->x, &h->can_write), EXEC_WAIT);
    h_drain(h);
    assert_int_equal(h->ngot, 0);
    assert_false(h->x.progressed);
    h->can_write = true;
    send_log lg = { 0 };
    assert_int_equal(h_send(h, &lg), EXEC_DONE);
    h_drain(h);
    assert_bytes(h->got, h->ngot, want, n);
    assert_int_equal(h->x.body_bytes, h->x.rt.plan.body_len);
    assert_int_equal(h->x.body_bytes, n - h->x.hlen);
    assert_true(h->x.progressed);
    const worker_stats *st = &h->w.stats;
    size_t chunks = (file_bytes(c) + (c->chunk ? c->chunk : 1 << 20) - 1) / (c->chunk ? c->chunk : 1 << 20);
    if (c->sndbuf) /* far more bytes than the buffer holds: it must have filled */
        assert_true(lg.full > 0);
    /* Copied from the loop, bytes a full socket refused are read again:
     * after a short write the next read is sized by what the socket took,
     * so a small buffer costs a few reads more, not a chunk per write. */
    if (copy_path && !c->offload && !c->cold)
        assert_true(st->copy_read <= 3 * file_bytes(c) + 65536);
    if (c->offload) {
        assert_int_equal(st->send_loop, 0);
        assert_true(st->send_queue >= chunks);
    } else if (c->cold) {
        assert_true(st->send_queue >= 1);
    } else {
        assert_int_equal(st->send_queue, 0); /* cached pages go from the loop */
        assert_true(st->send_loop >= chunks);
    }
    assert_int_equal(lg.tasks, st->send_queue); /* each task came back once */
    assert_int_equal(h->resumes, lg.tasks);
    exec_end(&h->x);
    assert_int_equal(h->x.rt.plan.fd, -1);
    assert_int_equal(count_fds(), fds1); /* the file is closed */
    free(want);
    h_close(h);
    assert_int_equal(count_fds(), fds0);
}

static void test_send_plans(void **state)
{
    (void)state;
    for (int copy = 1; copy >= 0; copy--) {
        copy_path = copy;
        for (size_t i = 0; i < EP_ARRAY_LEN(send_cases); i++) {
            print_message("  %s (%s)\n", send_cases[i].name, copy ? "copied" : "sendfile");
            run_send_case(&send_cases[i]);
        }
    }
    copy_path = true;
}

/* The first EXEC_WAIT of a plan with offload comes with the chunk in a task;
 * when it is back, the hooks are told to go on (EXEC_SENDING). */
static void test_offload_first_chunk_is_a_task(void **state)
{
    (void)state;
    harness *h = h_open(0, 0);
    const plan_case c = { "offload", .offload = true, .chunk = 16384, .seg = { FILE_(0, 50000) } };
    plan_by_hand(h, &c, open_file("www/big.bin", false));
    exec_prepare(&h->x);
    h->can_write = true;
    assert_int_equal(exec_send(&h->x, &h->can_write), EXEC_WAIT);
    assert_true(h->x.task_busy);
    assert_int_equal(h->x.task.len, 16384); /* the task is the first chunk */
    assert_false(h->can_write);
    assert_int_equal(h->resumes, 0); /* done() runs on the loop only */
    h_wait_task(h);
    assert_int_equal(h->back_r, EXEC_SENDING);
    /* The head and the first chunk went, nothing more. */
    h_drain(h);
    assert_int_equal(h->ngot, h->x.hlen + 16384);
    assert_int_equal(h->x.body_bytes, 16384);
    send_log lg = { 0 };
    assert_int_equal(h_send(h, &lg), EXEC_DONE);
    h_drain(h);
    assert_int_equal(h->ngot, h->x.hlen + 50000);
    exec_end(&h->x);
    h_close(h);
}

/* ---- exec_prepare --------------------------------------------------------------- */

typedef struct {
    const char *name;
    off_t off;
    size_t len;
    bool prefix;   /* a part head before the range: not alone */
    bool offload;
    bool cold;
    bool want_mem; /* read into the body buffer, to leave with the head */
} prep_case;

static const prep_case prep_cases[] = {
    { "a lone small cached range is read", 10, SMALL_LEN, .want_mem = true },
    { "exactly the body buffer's size", 7, SMALL_CAP, .want_mem = true },
    { "a byte more than the body buffer", 7, .len = SMALL_CAP + 1 },
    { "a large range", 0, .len = BIG_LEN },
    { "not alone: after a part head", 10, SMALL_LEN, .prefix = true },
    { "offload always: the queue does the disk's work", 10, SMALL_LEN, .offload = true },
    { "pages not cached: reading would wait on the disk", 10, SMALL_LEN, .cold = true },
};

static void run_prep_case(const prep_case *c)
{
    int fds0 = count_fds();
    harness *h = h_open(0, 0);
    int fds1 = count_fds();
    plan_case pc = { c->name, .offload = c->offload, .seg = { FILE_(c->off, c->len) } };
    if (c->prefix)
        pc = (plan_case){ c->name, .offload = c->offload, .seg = { MEM(0, 20), FILE_(c->off, c->len) } };
    plan_by_hand(h, &pc, open_file("www/big.bin", c->cold));
    size_t n;
    unsigned char *want = plan_want(h, &pc, SEED_BIG, &n);
    exec_prepare(&h->x);
    const plan_seg *sg = &h->x.rt.plan.seg[c->prefix];
    assert_int_equal(h->w.stats.read_loop, c->want_mem);
    if (c->want_mem) {
        assert_ptr_equal(sg->mem, h->body);
        assert_bytes((const unsigned char *)sg->mem, sg->len, want + h->x.hlen, c->len);
    } else {
        assert_null(sg->mem);
    }
    assert_int_equal(sg->len, c->len);
    h->can_write = true;
    send_log lg = { 0 };
    assert_int_equal(h_send(h, &lg), EXEC_DONE);
    h_drain(h);
    assert_bytes(h->got, h->ngot, want, n);
    /* Read into memory, nothing of the file is sent by sendfile. */
    if (c->want_mem)
        assert_int_equal(h->w.stats.send_loop + h->w.stats.send_queue, 0);
    exec_end(&h->x);
    assert_int_equal(count_fds(), fds1);
    free(want);
    h_close(h);
    assert_int_equal(count_fds(), fds0);
}

static void test_prepare_small_ranges(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(prep_cases); i++) {
        print_message("  %s\n", prep_cases[i].name);
        run_prep_case(&prep_cases[i]);
    }
}

/* ---- routing through the executor ---------------------------------------------- */

/* Parse and route "GET target" as a connection does; the state it stops in. */
static enum route_state h_request(harness *h, const char *target)
{
    int len = snprintf(h->text, sizeof h->text, "GET %s HTTP/1.1\r\nHost: exec.test\r\n\r\n", target);
    assert_int_equal(hp_parse_request(h->text, (size_t)len, &h->head), len);
    assert_int_equal(http_req_make(&h->rq, &h->head, h->cf, h->path), 0);
    h->env.now = time(NULL);
    route_begin(&h->x.rt, &h->env, &h->rq);
    h->ngot = 0;
    h->notes = 0;
    return route_request(&h->x.rt);
}

/* exec_route until the plan is complete, running any lookup task; *queued:
 * a lookup went to the queue. */
static enum exec_result h_route(harness *h, enum route_state s, bool *queued)
{
    enum exec_result r = exec_route(&h->x, s);
    *queued = false;
    while (r == EXEC_WAIT) {
        assert_true(h->x.task_busy);
        *queued = true;
        h_wait_task(h);
        r = h->back_r;
    }
    return r;
}

typedef struct {
    const char *name;
    const char *target;
    size_t fc_cap;        /* open_file_cache; on: the same request twice, the second from the cache */
    int status;
    unsigned seed;        /* the file's content; 0: not a file */
    size_t size;
    bool queued;          /* offload = "always": the lookup is a task */
    const char *in_body;  /* what an error page or a listing says, or NULL */
    bool note;            /* routing leaves an error-log line */
} route_case;

static const route_case route_cases[] = {
    { "a large file", "/big.bin", 0, 200, SEED_BIG, .size = BIG_LEN },
    { "a small file", "/small.txt", 0, 200, SEED_SMALL, .size = SMALL_LEN },
    { "a small file read by the lookup task", "/q/small.txt", 0, 200, SEED_QSMALL, SMALL_LEN, .queued = true },
    { "a large file opened by the lookup task", "/q/big.bin", 0, 200, SEED_QBIG, BIG_LEN, .queued = true },
    { "no such file", "/missing.txt", 0, 404, .in_body = "404" },
    { "a folder without an index", "/dir/", 0, 403, .in_body = "403", .note = true },
    { "a listing rendered by the lookup task", "/list/", 0, 200, .queued = true, .in_body = "b.txt" },
    { "cached: a large file", "/big.bin", 8, 200, SEED_BIG, .size = BIG_LEN },
    { "cached: a small file", "/small.txt", 8, 200, SEED_SMALL, .size = SMALL_LEN },
    { "cached: a file the lookup task opened", "/q/big.bin", 8, 200, SEED_QBIG, BIG_LEN, .queued = true },
    { "cached: a small file the lookup task read", "/q/small.txt", 8, 200, SEED_QSMALL, SMALL_LEN,
      .queued = true },
};

/* The plan's lookups: where they ran, and what the cache did. */
static void check_lookups(const harness *h, const route_case *c, bool hit, bool queued, const worker_stats *b,
                          uint64_t hits)
{
    const worker_stats *st = &h->w.stats;
    if (hit) { /* the cache answered on the loop: no lookup, no task */
        assert_int_equal(h->w.fc.hits, hits + 1);
        assert_false(queued);
        assert_int_equal(st->open_loop + st->open_queue, b->open_loop + b->open_queue);
        return;
    }
    assert_int_equal(h->w.fc.hits, hits);
    assert_int_equal(st->open_loop + st->open_queue, b->open_loop + b->open_queue + 1);
    assert_int_equal(st->open_queue - b->open_queue, queued);
    if (c->queued)
        assert_true(queued);
    if (!h->w.cached_open) /* without RESOLVE_CACHED every lookup is a task */
        assert_true(queued);
}

/* The response: head and body exact; a small file leaves from memory. */
static void check_body(harness *h, const route_case *c, bool hit, const worker_stats *b)
{
    const http_plan *p = &h->x.rt.plan;
    size_t n = h->x.hlen + (c->seed ? c->size : p->body_len);
    unsigned char *want = malloc(n);
    assert_non_null(want);
    memcpy(want, h->x.hbuf, h->x.hlen);
    for (size_t i = 0, o = h->x.hlen; i < p->nseg; o += p->seg[i++].len) {
        assert_true(c->seed || p->seg[i].mem);
        if (!c->seed)
            memcpy(want + o, p->seg[i].mem, p->seg[i].len);
    }
    for (size_t i = 0; c->seed && i < c->size; i++)
        want[h->x.hlen + i] = pat(i, c->seed);
    /* a small file the cache kept whole (a hit after the one that read it) is not read again */
    bool kept = h->x.fce && h->x.fce->body;
    exec_prepare(&h->x);
    h->can_write = true;
    send_log lg = { 0 };
    assert_int_equal(h_send(h, &lg), EXEC_DONE);
    h_drain(h);
    assert_bytes(h->got, h->ngot, want, n);
    if (c->in_body)
        assert_non_null(memmem(h->got + h->x.hlen, h->ngot - h->x.hlen, c->in_body, strlen(c->in_body)));
    /* A small file is read and leaves with the head, by the lookup task or
     * by exec_prepare; but from the cache under offload = "always" the loop
     * reads nothing: a queue chunk sends it. */
    const worker_stats *st = &h->w.stats;
    bool small = c->seed && c->size <= SMALL_CAP, chunk = small && hit && c->queued;
    assert_false(kept && !hit);
    assert_int_equal(st->read_loop + st->read_queue - b->read_loop - b->read_queue, small && !chunk && !kept);
    if (small) /* a large file's chunks go wherever its pages are */
        assert_int_equal(st->send_queue - b->send_queue, chunk);
    free(want);
}

/* One request of a row; e: the cache entry of the row's first request. */
static void run_route_once(harness *h, const route_case *c, fc_entry **e)
{
    worker_stats before = h->w.stats;
    uint64_t hits = h->w.fc.hits;
    bool hit = *e != NULL, queued;
    enum route_state s = h_request(h, c->target);
    assert_int_equal(s, ROUTE_LOOKUP);
    assert_int_equal(h_route(h, s, &queued), EXEC_READY);
    check_lookups(h, c, hit, queued, &before, hits);
    const http_plan *p = &h->x.rt.plan;
    assert_int_equal(p->status, c->status);
    assert_int_equal(h->notes, c->note);
    if (c->note)
        assert_non_null(strstr(h->note, c->target));
    assert_non_null(h->x.view); /* the request holds the directories until its end */
    assert_int_equal(h->w.roots.cur->refs, 2);
    if (c->seed) {
        struct stat st;
        assert_int_equal(fstat(p->fd, &st), 0);
        assert_int_equal(st.st_size, c->size);
        assert_int_equal(p->body_len, c->size);
    } else {
        assert_int_equal(p->fd, -1);
    }
    if (c->fc_cap && c->seed) {
        assert_non_null(h->x.fce);
        assert_int_equal(h->x.fce->fd, p->fd);
        assert_int_equal(h->x.fce->refs, 1);
        if (hit)
            assert_ptr_equal(h->x.fce, *e);
        *e = h->x.fce;
    } else {
        assert_null(h->x.fce);
    }
    h_head(h);
    check_body(h, c, hit, &before);
    exec_end(&h->x);
    assert_null(h->x.view);
    assert_null(h->x.fce);
    assert_int_equal(h->x.rt.plan.fd, -1);
    assert_int_equal(h->w.roots.cur->refs, 1);
    if (*e) { /* given back, and still the cache's */
        assert_int_equal((*e)->refs, 0);
        assert_true((*e)->cached);
        assert_true(fcntl((*e)->fd, F_GETFD) >= 0);
    }
}

static void run_route_case(const route_case *c)
{
    /* The file's pages in the page cache: a small one's read on the loop
     * then never depends on what else the machine did. */
    if (c->seed) {
        char *rel = xasprintf("www%s", c->target);
        close(open_file(rel, false));
        free(rel);
    }
    int fds0 = count_fds();
    harness *h = h_open(c->fc_cap, 0);
    int fds1 = count_fds();
    fc_entry *e = NULL;
    for (int rep = 0; rep < (c->fc_cap ? 2 : 1); rep++) {
        run_route_once(h, c, &e);
        /* Nothing stays open but what the cache keeps: one file. */
        assert_int_equal(count_fds(), fds1 + (e != NULL));
        assert_int_equal(h->w.fc.count, e != NULL);
    }
    h_close(h);
    assert_int_equal(count_fds(), fds0);
}

static void test_route_lookups(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(route_cases); i++) {
        print_message("  %s\n", route_cases[i].name);
        run_route_case(&route_cases[i]);
    }
}

/* A network file system's entry (fw_arm said EREMOTE) whose check is due:
 * the lookup goes to the queue, though RESOLVE_CACHED would answer on the
 * loop, nothing stats the file on the loop, and the new entry replaces it. */
static void test_remote_entry_looked_up_on_the_queue(void **state)
{
    (void)state;
    const route_case c = { "a network file system's small file", "/small.txt", 8, 200, SEED_SMALL, .size = SMALL_LEN };
    close(open_file("www/small.txt", false));
    harness *h = h_open(c.fc_cap, 0);
    fcache *fc = &h->w.fc;
    fc_entry *e = NULL;
    run_route_once(h, &c, &e); /* a watched entry */
    file_result res = { .fd = open_file("www/small.txt", false), .status = 200, .index = -1 };
    assert_int_equal(fstat(res.fd, &res.st), 0);
    const fw_arm_result remote = { .n = 0, .err = EREMOTE };
    bool unwatched;
    e = fc_put(fc, e->root, h->x.rt.lookup.links, 0, c.target, NULL, &res, &remote, h->w.now_ms, &unwatched);
    assert_true(e && e->remote && unwatched);
    fc_release(fc, e);
    worker_stats before = h->w.stats;
    uint64_t hits = fc->hits, checks = fc->checks;
    bool queued;
    assert_int_equal(h_route(h, h_request(h, c.target), &queued), EXEC_READY);
    assert_true(queued);
    check_lookups(h, &c, false, true, &before, hits);
    assert_int_equal(fc->checks, checks);
    assert_false(fcntl(res.fd, F_GETFD) >= 0); /* the old entry went */
    assert_non_null(h->x.fce);
    assert_false(h->x.fce->remote); /* found local this time: watched */
    assert_int_equal(fc->count, 1);
    h_head(h);
    check_body(h, &c, false, &before);
    exec_end(&h->x);
    h_close(h);
}

/* ---- a connection that went away ------------------------------------------------ */

static const char *const abandon_targets[] = {
    "/q/big.bin",     /* the task opened a file */
    "/q/small.txt",   /* opened and read it into the body buffer */
    "/list/",         /* rendered a listing (malloc'd) */
    "/q/missing.txt", /* found nothing: only the view is held */
};

/* The task came back, but its connection closed meanwhile: the back hook
 * says so, the owner calls exec_abandon, and nothing may stay open, cached
 * or referenced. */
static void test_abandon_after_lookup(void **state)
{
    (void)state;
    for (size_t i = 0; i < EP_ARRAY_LEN(abandon_targets); i++) {
        print_message("  %s\n", abandon_targets[i]);
        harness *h = h_open(8, 0);
        h->back = false;
        int fds0 = count_fds();
        enum route_state s = h_request(h, abandon_targets[i]);
        assert_int_equal(s, ROUTE_LOOKUP);
        assert_int_equal(exec_route(&h->x, s), EXEC_WAIT);
        assert_true(h->x.task_busy);
        h_wait_task(h);
        assert_false(h->x.task_busy);
        exec_abandon(&h->x);
        assert_int_equal(count_fds(), fds0);
        assert_int_equal(h->w.fc.count, 0);
        assert_null(h->x.view);
        assert_int_equal(h->w.roots.cur->refs, 1);
        assert_int_equal(h->x.rt.plan.fd, -1);
        assert_int_equal(h->x.rt.lookup.res.fd, -1);
        h_close(h);
    }
}

/* ---- a file that shrinks under the response ------------------------------------- */

typedef struct {
    const char *name;
    bool offload;
    int sndbuf;
    off_t keep;       /* the file's size after the cut */
    enum { BEFORE_PREPARE, BEFORE_SEND, WHILE_SENDING } when;
    size_t len;       /* the file range; 0: the whole file between two part heads */
} shrink_case;

static const shrink_case shrink_cases[] = {
    { "cut to a part before sending", false, 0, 50000, BEFORE_SEND, 0 },
    { "emptied before sending", false, 0, 0, BEFORE_SEND, 0 },
    { "offload: cut to a part before sending", true, 0, 50000, BEFORE_SEND, 0 },
    { "cut while sending", false, TINY_SNDBUF, 100000, WHILE_SENDING, 0 },
    { "offload: cut while sending", true, TINY_SNDBUF, 100000, WHILE_SENDING, 0 },
    /* exec_prepare's read comes up short: stale buffer bytes must not go out */
    { "a lone small range, cut before exec_prepare", false, 0, 1000, BEFORE_PREPARE, 3000 },
};

static void cut(const shrink_case *c)
{
    char *path = xasprintf("%s/www/shrink.bin", tmp);
    assert_int_equal(truncate(path, c->keep), 0);
    free(path);
}

/* Content-Length promised more than the file now has: the connection
 * cannot go on (EXEC_ERROR), never a wait for bytes that will not come;
 * what went out is the file's own bytes. */
static void run_shrink_case(const shrink_case *c)
{
    put_pattern("www/shrink.bin", BIG_LEN, SEED_SHRINK);
    int fds0 = count_fds();
    harness *h = h_open(0, c->sndbuf);
    int fds1 = count_fds();
    size_t lead = c->len ? 0 : 30; /* the part head before the range */
    plan_case pc = { c->name, .offload = c->offload, .chunk = 65536,
                     .seg = { MEM(0, 30), FILE_(0, BIG_LEN), MEM(30, 30) } };
    if (c->len)
        pc = (plan_case){ c->name, .offload = c->offload, .chunk = 65536, .seg = { FILE_(0, c->len) } };
    int fd = open_file("www/shrink.bin", false);
    plan_by_hand(h, &pc, fd);
    size_t n;
    unsigned char *want = plan_want(h, &pc, SEED_SHRINK, &n);
    if (c->when == BEFORE_PREPARE)
        cut(c);
    exec_prepare(&h->x);
    assert_int_equal(h->w.stats.read_loop, 0);
    h->can_write = true;
    if (c->when == WHILE_SENDING) {
        assert_int_equal(exec_send(&h->x, &h->can_write), EXEC_WAIT);
        if (h->x.task_busy) {
            h_wait_task(h);
            assert_int_equal(h->back_r, EXEC_SENDING);
        }
        h_drain(h);
        assert_true(h->ngot > h->x.hlen + lead && h->ngot < h->x.hlen + lead + (size_t)c->keep);
    }
    if (c->when != BEFORE_PREPARE)
        cut(c);
    send_log lg = { 0 };
    assert_int_equal(h_send(h, &lg), EXEC_ERROR);
    h_drain(h);
    assert_true(h->ngot <= h->x.hlen + lead + (size_t)c->keep);
    assert_bytes(h->got, h->ngot, want, h->ngot);
    /* Over TCP the head leaves with the first bytes of the file: a file
     * emptied before then sends not even the head. */
    assert_int_equal(h->x.body_bytes, h->ngot > h->x.hlen ? h->ngot - h->x.hlen : 0);
    exec_end(&h->x);
    assert_int_equal(count_fds(), fds1);
    free(want);
    h_close(h);
    assert_int_equal(count_fds(), fds0);
}

static void test_shrinking_file(void **state)
{
    (void)state;
    for (int copy = 1; copy >= 0; copy--) {
        copy_path = copy;
        for (size_t i = 0; i < EP_ARRAY_LEN(shrink_cases); i++) {
            print_message("  %s (%s)\n", shrink_cases[i].name, copy ? "copied" : "sendfile");
            run_shrink_case(&shrink_cases[i]);
        }
    }
    copy_path = true;
}

int main(void)
{
    /* A loop inside exec_send that never returns would stall the suite
     * rather than fail a case: SIGALRM ends the run instead. */
    alarm(600);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_plans),
        cmocka_unit_test(test_offload_first_chunk_is_a_task),
        cmocka_unit_test(test_prepare_small_ranges),
        cmocka_unit_test(test_route_lookups),
        cmocka_unit_test(test_abandon_after_lookup),
        cmocka_unit_test(test_remote_entry_looked_up_on_the_queue),
        cmocka_unit_test(test_shrinking_file),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
