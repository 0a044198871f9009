/* tests/unit/test_fcache.c: the open-file cache: keys, validity, LRU capacity, and fds closed only when unreferenced. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker/fcache.h"

typedef struct {
    char dir[64];
    int nfiles;
} fixture;

enum { NFILES = 6 };

static int g_dirfd = -1; /* the fixture's folder: the root the paths are below */

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ep-fcache-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    for (int i = 0; i < NFILES; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/f%d", f->dir, i);
        FILE *fp = fopen(p, "w");
        assert_non_null(fp);
        for (int j = 0; j <= i; j++) /* f<i> holds i + 1 bytes */
            fputc('a' + i, fp);
        assert_int_equal(fclose(fp), 0);
    }
    f->nfiles = NFILES;
    g_dirfd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(g_dirfd >= 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < f->nfiles; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/f%d", f->dir, i);
        unlink(p);
    }
    rmdir(f->dir);
    close(g_dirfd);
    free(f);
    return 0;
}

/* Open f<i> as file_open would have: fd, its stat, status 200. */
static file_result opened(const fixture *f, int i)
{
    char p[128];
    snprintf(p, sizeof p, "%s/f%d", f->dir, i);
    file_result r = { .fd = open(p, O_RDONLY | O_CLOEXEC), .status = 200, .index = -1 };
    assert_true(r.fd >= 0);
    assert_int_equal(fstat(r.fd, &r.st), 0);
    return r;
}

/* Unwatched puts and gets below the fixture's folder. */
static fc_entry *put(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                     const file_result *r, int64_t now)
{
    bool unwatched;
    fc_entry *e = fc_put(fc, root, links, variant, path, NULL, r, NULL, now, &unwatched);
    assert_true(!e || unwatched);
    return e;
}

static fc_entry *get(fcache *fc, uint64_t root, enum file_links links, uint64_t variant, const char *path,
                     int64_t now)
{
    bool admit, afresh;
    return fc_get(fc, g_dirfd, root, links, variant, path, now, &admit, &afresh);
}

/* cap 0: the cache is off; put leaves the fd with the caller. */
static void test_off_is_a_no_op(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 0, 1000, 1 << 20, NULL), 0);
    file_result r = opened(f, 0);
    assert_null(put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r, 0));
    assert_true(fd_open(r.fd));
    assert_null(get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 0));
    assert_int_equal(fc.count, 0);
    close(r.fd);
    fc_destroy(&fc);
}

/* A put entry is found again with what was stored, one reference per user. */
static void test_put_then_get(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 1000, 1 << 20, NULL), 0);
    file_result r = opened(f, 2);
    r.index = 1;
    fc_entry *e = put(&fc, 7, FILE_LINKS_BENEATH, 0, "/dir/", &r, 0);
    assert_non_null(e);
    assert_int_equal(e->refs, 1);
    assert_int_equal(e->fd, r.fd);
    assert_int_equal(e->index, 1);
    assert_int_equal(e->st.st_size, 3);
    assert_int_equal(e->st.st_ino, r.st.st_ino);
    assert_true(e->cached);

    /* A folder looked up under another index list is another entry. */
    assert_null(get(&fc, 7, FILE_LINKS_BENEATH, 1, "/dir/", 10));
    fc_entry *g = get(&fc, 7, FILE_LINKS_BENEATH, 0, "/dir/", 10);
    assert_ptr_equal(g, e);
    assert_int_equal(e->refs, 2);
    assert_int_equal(fc.hits, 1);
    fc_release(&fc, g);
    fc_release(&fc, e);
    assert_int_equal(e->refs, 0);
    assert_true(fd_open(r.fd)); /* cached, unreferenced: kept open */
    fc_destroy(&fc);
    assert_false(fd_open(r.fd));
}

/* The key is (root, links, path): any part differing is a miss. */
static void test_key_parts(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 8, 1000, 1 << 20, NULL), 0);
    file_result r = opened(f, 0);
    fc_entry *e = put(&fc, 3, FILE_LINKS_BENEATH, 0, "/f0", &r, 0);
    assert_non_null(e);
    fc_release(&fc, e);
    assert_null(get(&fc, 4, FILE_LINKS_BENEATH, 0, "/f0", 1));
    assert_null(get(&fc, 3, FILE_LINKS_ALL, 0, "/f0", 1));
    assert_null(get(&fc, 3, FILE_LINKS_NONE, 0, "/f0", 1));
    assert_null(get(&fc, 3, FILE_LINKS_BENEATH, 0, "/f1", 1));
    assert_null(get(&fc, 3, FILE_LINKS_BENEATH, 0, "/f0/", 1));
    assert_null(get(&fc, 3, FILE_LINKS_BENEATH, 0, "/F0", 1));
    assert_int_equal(fc.misses, 6);
    assert_int_equal(fc.hits, 0);
    /* root 3 and root 33 must not collide through the textual key */
    assert_null(get(&fc, 33, FILE_LINKS_BENEATH, 0, "/f0", 1));

    /* the same path under another policy is a separate entry */
    file_result r2 = opened(f, 0);
    fc_entry *e2 = put(&fc, 3, FILE_LINKS_NONE, 0, "/f0", &r2, 0);
    assert_non_null(e2);
    assert_ptr_not_equal(e2, e);
    assert_int_equal(fc.count, 2);
    assert_true(fd_open(r.fd));
    fc_release(&fc, e2);
    fc_destroy(&fc);
}

/* Root 0 is never cached, whatever else is. */
static void test_root_zero_never_cached(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 1000, 1 << 20, NULL), 0);
    file_result r = opened(f, 1);
    assert_null(put(&fc, 0, FILE_LINKS_ALL, 0, "/f1", &r, 0));
    assert_true(fd_open(r.fd)); /* still the caller's */
    assert_null(get(&fc, 0, FILE_LINKS_ALL, 0, "/f1", 0));
    assert_int_equal(fc.count, 0);
    close(r.fd);
    fc_destroy(&fc);
}

/* Unwatched (no inotify, or a network file system): trusted for valid_ms
 * after a check, then checked again (fstatat): unchanged, it stays; changed,
 * it is gone and its fd closed (nobody holds it). */
static void test_unwatched_revalidated(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 500, 1 << 20, NULL), 0);
    file_result r = opened(f, 0);
    fc_entry *e = put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r, 1000);
    assert_non_null(e);
    fc_release(&fc, e);
    fc_entry *g = get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 1499);
    assert_ptr_equal(g, e);
    fc_release(&fc, g);
    assert_int_equal(fc.checks, 0);
    g = get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 1500); /* checked: unchanged */
    assert_ptr_equal(g, e);
    fc_release(&fc, g);
    assert_int_equal(fc.checks, 1);
    char p[128];
    snprintf(p, sizeof p, "%s/f0", f->dir);
    FILE *fp = fopen(p, "a");
    assert_non_null(fp);
    fputc('z', fp);
    fclose(fp);
    assert_null(get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 2000));
    assert_false(fd_open(r.fd));
    assert_int_equal(fc.count, 0);
    fc_destroy(&fc);
}

/* valid_ms 0: every hit is checked. */
static void test_unwatched_checked_every_hit(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 0, 1 << 20, NULL), 0);
    file_result r = opened(f, 1);
    fc_release(&fc, put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1", &r, 0));
    for (int i = 0; i < 3; i++)
        fc_release(&fc, get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1", 0));
    assert_int_equal(fc.checks, 3);
    char p[128];
    snprintf(p, sizeof p, "%s/f1", f->dir);
    assert_int_equal(chmod(p, 0600), 0);
    assert_null(get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1", 0)); /* ctime moved */
    fc_destroy(&fc);
}

/* An entry found changed while a response still sends it keeps its fd
 * until the last release; a fresh put for the path is a new entry. */
static void test_changed_while_referenced(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 500, 1 << 20, NULL), 0);
    file_result r = opened(f, 0);
    fc_entry *e = put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r, 0);
    assert_non_null(e);
    char p[128];
    snprintf(p, sizeof p, "%s/f0", f->dir);
    assert_int_equal(truncate(p, 0), 0);
    assert_null(get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 600));
    assert_false(e->cached);
    assert_true(fd_open(r.fd));
    file_result r2 = opened(f, 0);
    fc_entry *n = put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r2, 600);
    assert_non_null(n);
    assert_ptr_not_equal(n, e);
    assert_true(fd_open(r.fd));
    int fd = e->fd;
    fc_release(&fc, e);
    assert_false(fd_open(fd));
    assert_true(fd_open(r2.fd));
    fc_release(&fc, n);
    fc_destroy(&fc);
}

/* Past capacity the least recently used entry goes; a get counts as use. */
static void test_capacity_evicts_lru(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 3, 60000, 1 << 20, NULL), 0);
    file_result r[4];
    const char *paths[] = { "/f0", "/f1", "/f2", "/f3" };
    for (int i = 0; i < 3; i++) {
        r[i] = opened(f, i);
        fc_release(&fc, put(&fc, 1, FILE_LINKS_BENEATH, 0, paths[i], &r[i], i));
    }
    fc_entry *g = get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 5); /* f0 is now the newest */
    assert_non_null(g);
    fc_release(&fc, g);
    r[3] = opened(f, 3);
    fc_release(&fc, put(&fc, 1, FILE_LINKS_BENEATH, 0, paths[3], &r[3], 6));
    assert_int_equal(fc.count, 3);
    assert_false(fd_open(r[1].fd)); /* f1 was the least recently used */
    assert_null(get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1", 7));
    for (int i = 0; i < 4; i++) {
        if (i == 1)
            continue;
        assert_true(fd_open(r[i].fd));
        g = get(&fc, 1, FILE_LINKS_BENEATH, 0, paths[i], 7);
        assert_non_null(g);
        assert_int_equal(g->fd, r[i].fd);
        fc_release(&fc, g);
    }
    fc_destroy(&fc);
    for (int i = 0; i < 4; i++)
        assert_false(fd_open(r[i].fd));
}

/* An entry evicted for room while referenced stays open until released. */
static void test_evicted_while_referenced(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 1, 60000, 1 << 20, NULL), 0);
    file_result a = opened(f, 0), b = opened(f, 1);
    fc_entry *ea = put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &a, 0);
    fc_entry *eb = put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1", &b, 0);
    assert_non_null(ea);
    assert_non_null(eb);
    assert_int_equal(fc.count, 1);
    assert_false(ea->cached);
    assert_null(get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 1));
    char c;
    assert_int_equal(pread(ea->fd, &c, 1, 0), 1); /* still readable */
    assert_int_equal(c, 'a');
    fc_release(&fc, ea);
    assert_false(fd_open(a.fd));
    assert_true(fd_open(b.fd));
    fc_release(&fc, eb);
    fc_destroy(&fc);
    assert_false(fd_open(b.fd));
}

/* Two puts of one key (two concurrent misses): the newer wins; the older
 * closes when its holder lets go. */
static void test_put_twice_keeps_newer(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 60000, 1 << 20, NULL), 0);
    file_result a = opened(f, 2), b = opened(f, 2);
    fc_entry *ea = put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", &a, 0);
    fc_entry *eb = put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", &b, 1);
    assert_int_equal(fc.count, 1);
    fc_entry *g = get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", 2);
    assert_ptr_equal(g, eb);
    fc_release(&fc, g);
    assert_true(fd_open(a.fd));
    fc_release(&fc, ea);
    assert_false(fd_open(a.fd));
    fc_release(&fc, eb);
    assert_true(fd_open(b.fd));
    fc_destroy(&fc);
    assert_false(fd_open(b.fd));
}

/* Flushing a root closes its unreferenced fds now and leaves other roots. */
static void test_flush_root_unreferenced(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 8, 60000, 1 << 20, NULL), 0);
    file_result r[4];
    for (int i = 0; i < 4; i++) {
        char p[8];
        snprintf(p, sizeof p, "/f%d", i);
        r[i] = opened(f, i);
        fc_release(&fc, put(&fc, (uint64_t)(i % 2 + 1), FILE_LINKS_BENEATH, 0, p, &r[i], 0));
    }
    fc_flush_root(&fc, 1); /* f0 and f2 */
    assert_int_equal(fc.count, 2);
    assert_false(fd_open(r[0].fd));
    assert_false(fd_open(r[2].fd));
    assert_true(fd_open(r[1].fd));
    assert_true(fd_open(r[3].fd));
    fc_flush_root(&fc, 99); /* unknown root: nothing happens */
    assert_int_equal(fc.count, 2);
    fc_flush_root(&fc, 2);
    assert_int_equal(fc.count, 0);
    assert_false(fd_open(r[1].fd));
    assert_false(fd_open(r[3].fd));
    fc_destroy(&fc);
}

/* A path longer than the key buffer is not cached, cleanly. */
static void test_path_too_long_for_key(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 60000, 1 << 20, NULL), 0);
    size_t len = 8192;
    char *p = malloc(len + 1);
    assert_non_null(p);
    memset(p, 'x', len);
    p[0] = '/';
    p[len] = '\0';
    file_result r = opened(f, 0);
    assert_null(put(&fc, 1, FILE_LINKS_BENEATH, 0, p, &r, 0));
    assert_true(fd_open(r.fd));
    assert_null(get(&fc, 1, FILE_LINKS_BENEATH, 0, p, 0));
    assert_int_equal(fc.count, 0);
    close(r.fd);
    free(p);
    fc_destroy(&fc);
}

/* Many puts through a small cache: count never passes cap, and every fd is
 * closed by the end. */
static void test_churn_stays_within_cap(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 5, 60000, 1 << 20, NULL), 0);
    int fds[200];
    for (int i = 0; i < 200; i++) {
        char p[16];
        snprintf(p, sizeof p, "/n%d", i);
        file_result r = opened(f, i % NFILES);
        fds[i] = r.fd;
        fc_entry *e = put(&fc, 1, FILE_LINKS_BENEATH, 0, p, &r, i);
        assert_non_null(e);
        fc_release(&fc, e);
        assert_true(fc.count <= 5);
    }
    for (int i = 195; i < 200; i++) {
        char p[16];
        snprintf(p, sizeof p, "/n%d", i);
        fc_entry *e = get(&fc, 1, FILE_LINKS_BENEATH, 0, p, 200);
        assert_non_null(e);
        assert_int_equal(e->fd, fds[i]);
        fc_release(&fc, e);
    }
    fc_destroy(&fc);
    for (int i = 195; i < 200; i++)
        assert_false(fd_open(fds[i]));
}

/* ---- watched entries -------------------------------------------------------- */

static void mark(void *arg, void *owner)
{
    fc_mark(arg, owner);
}

static void mark_all(void *arg)
{
    fc_mark_all(arg);
}

/* A cache over a real inotify instance: f<i> put watched, as the worker does. */
static fc_entry *put_watched(fcache *fc, fwatch *fw, const fixture *f, int i, fw_arm_result *arm)
{
    char path[16];
    snprintf(path, sizeof path, "/f%d", i);
    file_result r = opened(f, i);
    fw_arm(fw->io.fd, g_dirfd, path, NULL, &r.st, arm);
    assert_int_equal(arm->err, 0);
    assert_int_equal(arm->n, 2); /* the folder (name f<i>) and the file */
    bool unwatched;
    fc_entry *e = fc_put(fc, 1, FILE_LINKS_BENEATH, 0, path, NULL, &r, arm, 0, &unwatched);
    assert_non_null(e);
    assert_false(unwatched);
    assert_true(e->watched);
    fc_release(fc, e);
    return e;
}

static void settle(fcache *fc, fwatch *fw)
{
    fw_drain(fw);
    fc_sweep(fc);
}

static void change(const fixture *f, int i, const char *how)
{
    char p[128], q[128];
    snprintf(p, sizeof p, "%s/f%d", f->dir, i);
    if (strcmp(how, "write") == 0) {
        FILE *fp = fopen(p, "r+");
        assert_non_null(fp);
        fputc('Z', fp);
        fclose(fp);
    } else if (strcmp(how, "chmod") == 0) {
        assert_int_equal(chmod(p, 0600), 0);
    } else if (strcmp(how, "mv over") == 0) {
        snprintf(q, sizeof q, "%s/new", f->dir);
        FILE *fp = fopen(q, "w");
        assert_non_null(fp);
        fputs("new version", fp);
        fclose(fp);
        assert_int_equal(rename(q, p), 0);
    } else if (strcmp(how, "unlink") == 0) {
        assert_int_equal(unlink(p), 0);
        FILE *fp = fopen(p, "w"); /* teardown removes it */
        assert_non_null(fp);
        fclose(fp);
    }
}

/* Every change to a watched file marks its entry, and only its entry;
 * the watches go with the entries. */
static void test_watched_changes_mark_stale(void **state)
{
    fixture *f = *state;
    const char *hows[] = { "write", "chmod", "mv over", "unlink" };
    for (size_t k = 0; k < 4; k++) {
        fwatch fw;
        fcache fc;
        assert_int_equal(fw_init(&fw), 0);
        assert_int_equal(fc_init(&fc, 8, 0, 1 << 20, &fw), 0);
        fw.stale = mark;
        fw.overflow = mark_all;
        fw.arg = &fc;
        fw_arm_result a0, a1;
        put_watched(&fc, &fw, f, 0, &a0);
        put_watched(&fc, &fw, f, (int)k + 1, &a1);
        settle(&fc, &fw); /* nothing happened yet */
        assert_int_equal(fc.count, 2);
        change(f, (int)k + 1, hows[k]);
        settle(&fc, &fw);
        assert_int_equal(fc.count, 1);
        char path[16];
        snprintf(path, sizeof path, "/f%d", (int)k + 1);
        bool admit, afresh;
        assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, path, 0, &admit, &afresh));
        fc_entry *g = fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f0", 0, &admit, &afresh);
        assert_non_null(g); /* another name in the same folder: untouched */
        fc_release(&fc, g);
        assert_int_equal(fc.checks, 0); /* watched: never checked by stat */
        fc_destroy(&fc);
        assert_int_equal(fw.nnodes, 0);
        fw_destroy(&fw);
    }
}

/* A change between the open and the watches is seen by fw_arm itself. */
static void test_arm_sees_a_change_before_the_watch(void **state)
{
    fixture *f = *state;
    fwatch fw;
    fcache fc;
    assert_int_equal(fw_init(&fw), 0);
    assert_int_equal(fc_init(&fc, 8, 0, 1 << 20, &fw), 0);
    file_result r = opened(f, 2);
    change(f, 2, "write");
    fw_arm_result arm;
    fw_arm(fw.io.fd, g_dirfd, "/f2", NULL, &r.st, &arm);
    assert_int_equal(arm.err, ESTALE);
    bool unwatched;
    assert_null(fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", NULL, &r, &arm, 0, &unwatched));
    assert_true(fd_open(r.fd)); /* still the caller's */
    close(r.fd);
    assert_int_equal(fw.nnodes, 0); /* its watches were given back */
    fc_destroy(&fc);
    fw_destroy(&fw);
}

/* Lost events: everything goes. */
static void test_overflow_marks_everything(void **state)
{
    fixture *f = *state;
    fwatch fw;
    fcache fc;
    assert_int_equal(fw_init(&fw), 0);
    assert_int_equal(fc_init(&fc, 8, 0, 1 << 20, &fw), 0);
    fw_arm_result a;
    for (int i = 0; i < 3; i++)
        put_watched(&fc, &fw, f, i, &a);
    fc_mark_all(&fc);
    fc_sweep(&fc);
    assert_int_equal(fc.count, 0);
    assert_int_equal(fw.nnodes, 0);
    fc_destroy(&fc);
    fw_destroy(&fw);
}

/* Bodies stay within their budget: the least recently used give way,
 * never one a response is sending. */
static void test_bodies_within_budget(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 8, 60000, 9, NULL), 0); /* f<i> has i + 1 bytes */
    fc_entry *e[6];
    for (int i = 0; i < 6; i++) {
        char path[16];
        snprintf(path, sizeof path, "/f%d", i);
        file_result r = opened(f, i);
        e[i] = put(&fc, 1, FILE_LINKS_BENEATH, 0, path, &r, 0);
    }
    char data[8] = "aaaaaaa";
    assert_false(fc_keep_body(&fc, e[2], data, 2)); /* not its size */
    assert_true(fc_keep_body(&fc, e[2], data, 3));
    assert_true(fc_keep_body(&fc, e[3], data, 4));
    assert_int_equal(fc.body_bytes, 7);
    assert_false(fc_keep_body(&fc, e[4], data, 5)); /* both others are being sent */
    fc_release(&fc, e[2]);
    assert_true(fc_keep_body(&fc, e[4], data, 5)); /* e[2]'s body makes room */
    assert_null(e[2]->body);
    assert_non_null(e[3]->body);
    assert_int_equal(fc.body_bytes, 9);
    assert_false(fc_keep_body(&fc, e[5], data, 6)); /* larger than what can be freed */
    for (int i = 0; i < 6; i++)
        if (i != 2)
            fc_release(&fc, e[i]);
    fc_destroy(&fc);
    assert_int_equal(fc.body_bytes, 0);
}

/* A miss is admitted while the cache has room; once it is full, only a
 * key missed before among the recent misses, within the second's budget,
 * which a kept file spends (fc_put), so that a working set larger than the
 * cache does not arm and drop watches on every request. */
static void test_admission_when_full(void **state)
{
    fixture *f = *state;
    fcache fc;
    bool admit, afresh;
    assert_int_equal(fc_init(&fc, 2, 1000, 1 << 20, NULL), 0);
    assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f0", 1000, &admit, &afresh));
    assert_true(admit); /* room: the first miss gets in */
    file_result r0 = opened(f, 0), r1 = opened(f, 1), r2 = opened(f, 2);
    fc_release(&fc, put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r0, 0));
    fc_release(&fc, put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1", &r1, 0));
    assert_int_equal(fc.count, 2);
    /* full: a new key's first miss is refused, its next one admitted */
    assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f2", 1000, &admit, &afresh));
    assert_false(admit);
    assert_int_equal(fc.refused, 1);
    assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f2", 1000, &admit, &afresh));
    assert_true(admit);
    /* admitted once: the slot is spent, a third miss starts over */
    assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f2", 1000, &admit, &afresh));
    assert_false(admit);
    /* not kept (a 404, say): the budget is untouched, the next passes */
    assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f2", 1000, &admit, &afresh));
    assert_true(admit);
    fc_release(&fc, put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", &r2, 1000)); /* kept: the token is spent */
    assert_int_equal(fc.count, 2);
    /* past the doorkeeper, but this second's budget (a tenth of the cache,
     * at least one) is spent; a second later it is not */
    assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f3", 1000, &admit, &afresh));
    assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f3", 1000, &admit, &afresh));
    assert_false(admit);
    assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f3", 2000, &admit, &afresh));
    assert_true(admit);
    /* the same path under another root is another key */
    assert_null(fc_get(&fc, g_dirfd, 2, FILE_LINKS_BENEATH, 0, "/f3", 3000, &admit, &afresh));
    assert_false(admit);
    /* hits never count as misses */
    fc_entry *g = fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f2", 3000, &admit, &afresh);
    assert_non_null(g);
    fc_release(&fc, g);
    assert_int_equal(fc.misses, 9);
    assert_int_equal(fc.refused, 5);
    fc_destroy(&fc);
}

/* The hostile review's case: a client asking twice for each of many missing
 * paths (never kept) must not spend the budget that a hot file asked for
 * twice needs; and kept files spend it: a tenth of the cache a second. */
static void test_admission_budget(void **state)
{
    (void)state;
    fcache fc;
    bool admit, afresh, u;
    char path[32];
    assert_int_equal(fc_init(&fc, 20, 1000, 1 << 20, NULL), 0); /* 2 a second */
    for (int i = 0; i < 20; i++) {
        snprintf(path, sizeof path, "/fill%d", i);
        file_result r = { .fd = open("/dev/null", O_RDONLY | O_CLOEXEC), .status = 200, .index = -1 };
        fc_release(&fc, fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, path, NULL, &r, NULL, 50000, &u));
    }
    assert_int_equal(fc.count, 20);
    for (int i = 0; i < 100; i++) { /* 404s: looked up, never put */
        snprintf(path, sizeof path, "/missing%d", i);
        fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, path, 50000, &admit, &afresh);
        fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, path, 50000, &admit, &afresh);
    }
    int kept = 0;
    for (int i = 0; i < 5; i++) { /* files asked for twice, kept while the budget lasts */
        snprintf(path, sizeof path, "/hot%d", i);
        fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, path, 50000, &admit, &afresh);
        assert_false(admit);
        fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, path, 50000, &admit, &afresh);
        if (admit) {
            file_result r = { .fd = open("/dev/null", O_RDONLY | O_CLOEXEC), .status = 200, .index = -1 };
            fc_release(&fc, fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, path, NULL, &r, NULL, 50000, &u));
            kept++;
        }
    }
    assert_int_equal(kept, 2);
    fc_entry *g = fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/hot0", 50000, &admit, &afresh);
    assert_non_null(g);
    fc_release(&fc, g);
    /* half a second later: one more */
    fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/hot3", 50499, &admit, &afresh);
    assert_false(admit);
    fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/hot3", 50500, &admit, &afresh);
    assert_true(admit);
    fc_destroy(&fc);
}

/* Entries unused for inactive_ms are closed, oldest first, and only those;
 * one a response still holds keeps its descriptor until released. */
static void test_expire_unused(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 8, 1000, 1 << 20, NULL), 0);
    fc.inactive_ms = 1500;
    file_result r0 = opened(f, 0), r1 = opened(f, 1), r2 = opened(f, 2);
    fc_release(&fc, put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r0, 0));
    fc_entry *held = put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1", &r1, 1000);
    fc_release(&fc, put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", &r2, 2000));
    fc_expire(&fc, 1400); /* nothing idle that long yet */
    assert_int_equal(fc.count, 3);
    fc_expire(&fc, 1500);
    assert_int_equal(fc.count, 2);
    assert_false(fd_open(r0.fd));
    /* a hit counts as use: f2 used again at 2400 outlives f1 */
    fc_release(&fc, get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", 2400));
    fc_expire(&fc, 2600);
    assert_int_equal(fc.count, 1);
    assert_int_equal(fc.expired, 2);
    assert_true(fd_open(r1.fd)); /* still sending: closed on release */
    assert_false(held->cached);
    fc_release(&fc, held);
    assert_false(fd_open(r1.fd));
    fc_entry *g = get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", 2600);
    assert_non_null(g);
    fc_release(&fc, g);
    fc.inactive_ms = 0; /* off: nothing expires */
    fc_expire(&fc, 1000000);
    assert_int_equal(fc.count, 1);
    fc_destroy(&fc);
}

/* An entry fw_arm found on a network file system is never stat'ed here
 * (on the loop, that would wait for the server): within valid_ms a hit, as
 * any unwatched entry, even though the file changed; once due (at once
 * with valid_ms 0) a miss with *afresh and *admit, every time, the entry
 * kept until the new lookup's result replaces it (fc_drop). */
static void test_remote_entry_looked_up_afresh(void **state)
{
    fixture *f = *state;
    const fw_arm_result remote = { .n = 0, .err = EREMOTE };
    for (int valid = 0; valid <= 500; valid += 500) {
        fcache fc;
        assert_int_equal(fc_init(&fc, 4, valid, 1 << 20, NULL), 0);
        file_result r = opened(f, 0);
        bool unwatched, admit, afresh;
        fc_entry *e = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", NULL, &r, &remote, 1000, &unwatched);
        assert_non_null(e);
        assert_true(unwatched);
        assert_true(e->remote);
        fc_release(&fc, e);
        change(f, 0, "mv over"); /* a local entry's check would see it */
        if (valid) {
            fc_entry *g = fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f0", 1499, &admit, &afresh);
            assert_ptr_equal(g, e);
            assert_false(afresh);
            fc_release(&fc, g);
        }
        for (int i = 0; i < 2; i++) {
            assert_null(fc_get(&fc, g_dirfd, 1, FILE_LINKS_BENEATH, 0, "/f0", 1500, &admit, &afresh));
            assert_true(afresh);
            assert_true(admit); /* its replacement takes its place, whatever the admission says */
        }
        assert_int_equal(fc.checks, 0);
        assert_int_equal(fc.count, 1);
        assert_true(fd_open(r.fd));
        fc_drop(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1"); /* another path's: nothing */
        assert_int_equal(fc.count, 1);
        fc_drop(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0");
        assert_int_equal(fc.count, 0);
        assert_false(fd_open(r.fd));
        fc_destroy(&fc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_off_is_a_no_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_then_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_zero_never_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwatched_revalidated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwatched_checked_every_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_while_referenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capacity_evicts_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evicted_while_referenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_twice_keeps_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_root_unreferenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_too_long_for_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_churn_stays_within_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watched_changes_mark_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arm_sees_a_change_before_the_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_marks_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bodies_within_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admission_when_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admission_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_unused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_entry_looked_up_afresh, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
