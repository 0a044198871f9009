/* tests/unit/test_fcache.c: the open-file cache: keys, validity, LRU capacity, and fds closed only when unreferenced. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

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

/* cap 0: the cache is off; put leaves the fd with the caller. */
static void test_off_is_a_no_op(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 0, 1000), 0);
    file_result r = opened(f, 0);
    assert_null(fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r, 0));
    assert_true(fd_open(r.fd));
    assert_null(fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 0));
    assert_int_equal(fc.count, 0);
    close(r.fd);
    fc_destroy(&fc);
}

/* A put entry is found again with what was stored, one reference per user. */
static void test_put_then_get(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 1000), 0);
    file_result r = opened(f, 2);
    r.index = 1;
    fc_entry *e = fc_put(&fc, 7, FILE_LINKS_BENEATH, 0, "/dir/", &r, 0);
    assert_non_null(e);
    assert_int_equal(e->refs, 1);
    assert_int_equal(e->fd, r.fd);
    assert_int_equal(e->index, 1);
    assert_int_equal(e->st.st_size, 3);
    assert_int_equal(e->st.st_ino, r.st.st_ino);
    assert_true(e->cached);

    /* A folder looked up under another index list is another entry. */
    assert_null(fc_get(&fc, 7, FILE_LINKS_BENEATH, 1, "/dir/", 10));
    fc_entry *g = fc_get(&fc, 7, FILE_LINKS_BENEATH, 0, "/dir/", 10);
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
    assert_int_equal(fc_init(&fc, 8, 1000), 0);
    file_result r = opened(f, 0);
    fc_entry *e = fc_put(&fc, 3, FILE_LINKS_BENEATH, 0, "/f0", &r, 0);
    assert_non_null(e);
    fc_release(&fc, e);
    assert_null(fc_get(&fc, 4, FILE_LINKS_BENEATH, 0, "/f0", 1));
    assert_null(fc_get(&fc, 3, FILE_LINKS_ALL, 0, "/f0", 1));
    assert_null(fc_get(&fc, 3, FILE_LINKS_NONE, 0, "/f0", 1));
    assert_null(fc_get(&fc, 3, FILE_LINKS_BENEATH, 0, "/f1", 1));
    assert_null(fc_get(&fc, 3, FILE_LINKS_BENEATH, 0, "/f0/", 1));
    assert_null(fc_get(&fc, 3, FILE_LINKS_BENEATH, 0, "/F0", 1));
    assert_int_equal(fc.misses, 6);
    assert_int_equal(fc.hits, 0);
    /* root 3 and root 33 must not collide through the textual key */
    assert_null(fc_get(&fc, 33, FILE_LINKS_BENEATH, 0, "/f0", 1));

    /* the same path under another policy is a separate entry */
    file_result r2 = opened(f, 0);
    fc_entry *e2 = fc_put(&fc, 3, FILE_LINKS_NONE, 0, "/f0", &r2, 0);
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
    assert_int_equal(fc_init(&fc, 4, 1000), 0);
    file_result r = opened(f, 1);
    assert_null(fc_put(&fc, 0, FILE_LINKS_ALL, 0, "/f1", &r, 0));
    assert_true(fd_open(r.fd)); /* still the caller's */
    assert_null(fc_get(&fc, 0, FILE_LINKS_ALL, 0, "/f1", 0));
    assert_int_equal(fc.count, 0);
    close(r.fd);
    fc_destroy(&fc);
}

/* Valid for valid_ms: at now >= put + valid_ms the entry is gone and its
 * fd closed (nobody holds it). */
static void test_validity_expires_unreferenced(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 500), 0);
    file_result r = opened(f, 0);
    fc_entry *e = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r, 1000);
    assert_non_null(e);
    fc_release(&fc, e);
    fc_entry *g = fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 1499);
    assert_ptr_equal(g, e);
    fc_release(&fc, g);
    assert_null(fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 1500));
    assert_false(fd_open(r.fd));
    assert_int_equal(fc.count, 0);
    fc_destroy(&fc);
}

/* An entry that expires while a response still sends it keeps its fd until
 * the last release; a fresh put for the path is a new entry. */
static void test_validity_expires_referenced(void **state)
{
    fixture *f = *state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 4, 500), 0);
    file_result r = opened(f, 0);
    fc_entry *e = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r, 0);
    assert_non_null(e);
    assert_null(fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 600));
    assert_false(e->cached);
    assert_true(fd_open(r.fd));
    file_result r2 = opened(f, 0);
    fc_entry *n = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &r2, 600);
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
    assert_int_equal(fc_init(&fc, 3, 60000), 0);
    file_result r[4];
    const char *paths[] = { "/f0", "/f1", "/f2", "/f3" };
    for (int i = 0; i < 3; i++) {
        r[i] = opened(f, i);
        fc_release(&fc, fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, paths[i], &r[i], i));
    }
    fc_entry *g = fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 5); /* f0 is now the newest */
    assert_non_null(g);
    fc_release(&fc, g);
    r[3] = opened(f, 3);
    fc_release(&fc, fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, paths[3], &r[3], 6));
    assert_int_equal(fc.count, 3);
    assert_false(fd_open(r[1].fd)); /* f1 was the least recently used */
    assert_null(fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1", 7));
    for (int i = 0; i < 4; i++) {
        if (i == 1)
            continue;
        assert_true(fd_open(r[i].fd));
        g = fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, paths[i], 7);
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
    assert_int_equal(fc_init(&fc, 1, 60000), 0);
    file_result a = opened(f, 0), b = opened(f, 1);
    fc_entry *ea = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", &a, 0);
    fc_entry *eb = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f1", &b, 0);
    assert_non_null(ea);
    assert_non_null(eb);
    assert_int_equal(fc.count, 1);
    assert_false(ea->cached);
    assert_null(fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f0", 1));
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
    assert_int_equal(fc_init(&fc, 4, 60000), 0);
    file_result a = opened(f, 2), b = opened(f, 2);
    fc_entry *ea = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", &a, 0);
    fc_entry *eb = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", &b, 1);
    assert_int_equal(fc.count, 1);
    fc_entry *g = fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, "/f2", 2);
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
    assert_int_equal(fc_init(&fc, 8, 60000), 0);
    file_result r[4];
    for (int i = 0; i < 4; i++) {
        char p[8];
        snprintf(p, sizeof p, "/f%d", i);
        r[i] = opened(f, i);
        fc_release(&fc, fc_put(&fc, (uint64_t)(i % 2 + 1), FILE_LINKS_BENEATH, 0, p, &r[i], 0));
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
    assert_int_equal(fc_init(&fc, 4, 60000), 0);
    size_t len = 8192;
    char *p = malloc(len + 1);
    assert_non_null(p);
    memset(p, 'x', len);
    p[0] = '/';
    p[len] = '\0';
    file_result r = opened(f, 0);
    assert_null(fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, p, &r, 0));
    assert_true(fd_open(r.fd));
    assert_null(fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, p, 0));
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
    assert_int_equal(fc_init(&fc, 5, 60000), 0);
    int fds[200];
    for (int i = 0; i < 200; i++) {
        char p[16];
        snprintf(p, sizeof p, "/n%d", i);
        file_result r = opened(f, i % NFILES);
        fds[i] = r.fd;
        fc_entry *e = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, p, &r, i);
        assert_non_null(e);
        fc_release(&fc, e);
        assert_true(fc.count <= 5);
    }
    for (int i = 195; i < 200; i++) {
        char p[16];
        snprintf(p, sizeof p, "/n%d", i);
        fc_entry *e = fc_get(&fc, 1, FILE_LINKS_BENEATH, 0, p, 200);
        assert_non_null(e);
        assert_int_equal(e->fd, fds[i]);
        fc_release(&fc, e);
    }
    fc_destroy(&fc);
    for (int i = 195; i < 200; i++)
        assert_false(fd_open(fds[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_off_is_a_no_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_then_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_zero_never_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validity_expires_unreferenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validity_expires_referenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capacity_evicts_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evicted_while_referenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_twice_keeps_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_root_unreferenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_too_long_for_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_churn_stays_within_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
