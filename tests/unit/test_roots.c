/* tests/unit/test_roots.c: root views are refcounted, swapped only when the directory changed, and never close a descriptor still in use; the open-file cache forgets a retired root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker/fcache.h"
#include "worker/roots.h"

typedef struct {
    char base[64];
    char a[96], b[96], c[96], link[96], tmp[96];
} tree;

/* base/{a,b,c} and base/current -> a */
static void tree_make(tree *t)
{
    snprintf(t->base, sizeof t->base, "/tmp/ep-roots-XXXXXX");
    assert_non_null(mkdtemp(t->base));
    snprintf(t->a, sizeof t->a, "%s/a", t->base);
    snprintf(t->b, sizeof t->b, "%s/b", t->base);
    snprintf(t->c, sizeof t->c, "%s/c", t->base);
    snprintf(t->link, sizeof t->link, "%s/current", t->base);
    snprintf(t->tmp, sizeof t->tmp, "%s/current.tmp", t->base);
    assert_int_equal(mkdir(t->a, 0755), 0);
    assert_int_equal(mkdir(t->b, 0755), 0);
    assert_int_equal(mkdir(t->c, 0755), 0);
    assert_int_equal(symlink("a", t->link), 0);
}

/* ln -sfn target current.tmp && mv -T current.tmp current */
static void tree_point(tree *t, const char *target)
{
    unlink(t->tmp);
    assert_int_equal(symlink(target, t->tmp), 0);
    assert_int_equal(rename(t->tmp, t->link), 0);
}

static void tree_remove(tree *t)
{
    unlink(t->link);
    unlink(t->tmp);
    rmdir(t->a);
    rmdir(t->b);
    rmdir(t->c);
    rmdir(t->base);
}

static int open_dir(const char *p, dev_t *dev, ino_t *ino)
{
    int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    *dev = st.st_dev;
    *ino = st.st_ino;
    return fd;
}

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static uint64_t retired_id;
static int retired_calls;

static void on_retire(void *arg, uint64_t id)
{
    (void)arg;
    retired_id = id;
    retired_calls++;
}

static void init_one(roots *rs, tree *t, int *master)
{
    dev_t dev;
    ino_t ino;
    *master = open_dir(t->link, &dev, &ino);
    char *paths[] = { t->link };
    assert_int_equal(roots_init(rs, paths, 1, master, false), 0);
    rs->on_retire = on_retire;
    retired_calls = 0;
}

/* The same directory again: nothing changes, the new descriptor is closed. */
static void test_same_directory_keeps_view(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    roots rs;
    int master;
    init_one(&rs, &t, &master);
    root_view *v = roots_acquire(&rs);
    dev_t dev;
    ino_t ino;
    int fd = open_dir(t.a, &dev, &ino);
    assert_int_equal(roots_apply(&rs, 0, fd, dev, ino, 0), ROOTS_SAME);
    assert_false(fd_open(fd));
    root_view *w = roots_acquire(&rs);
    assert_ptr_equal(v, w);
    assert_int_equal(v->dir[0]->fd, master);
    assert_int_equal(retired_calls, 0);
    roots_put(&v);
    roots_put(&w);
    assert_null(v);
    roots_destroy(&rs);
    assert_true(fd_open(master)); /* the master's: never closed by the worker */
    close(master);
    tree_remove(&t);
}

/* A swap: new requests get the new directory, a request holding the old
 * view keeps it (and its descriptor) until it lets go. */
static void test_swap_keeps_old_view_until_released(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    roots rs;
    int master;
    init_one(&rs, &t, &master);
    root_view *v1 = roots_acquire(&rs);
    uint64_t id1 = v1->dir[0]->id;
    assert_int_not_equal(roots_cache_key(v1, 0), 0);

    dev_t dev;
    ino_t ino;
    int fd_b = open_dir(t.b, &dev, &ino);
    assert_int_equal(roots_apply(&rs, 0, fd_b, dev, ino, 0), ROOTS_SWAPPED);
    assert_int_equal(retired_calls, 1);
    assert_true(retired_id == id1);
    root_view *v2 = roots_acquire(&rs);
    assert_ptr_not_equal(v1, v2);
    assert_int_equal(v2->dir[0]->fd, fd_b);
    assert_true(v2->dir[0]->id != id1);
    assert_int_equal(v1->dir[0]->fd, master); /* the old view is untouched */
    assert_int_equal(roots_cache_key(v1, 0), 0); /* nothing of it goes back into the cache */
    assert_true(roots_cache_key(v2, 0) == v2->dir[0]->id);
    roots_put(&v1);

    /* b is swapped out while v2 still uses it: its fd stays open until v2 goes */
    int fd_c = open_dir(t.c, &dev, &ino);
    assert_int_equal(roots_apply(&rs, 0, fd_c, dev, ino, 0), ROOTS_SWAPPED);
    assert_true(fd_open(fd_b));
    assert_int_equal(roots_cache_key(v2, 0), 0);
    roots_put(&v2);
    assert_false(fd_open(fd_b));
    root_view *v3 = roots_acquire(&rs);
    assert_int_equal(v3->dir[0]->fd, fd_c);
    roots_put(&v3);
    roots_destroy(&rs);
    assert_false(fd_open(fd_c));
    assert_true(fd_open(master));
    close(master);
    tree_remove(&t);
}

/* A failing path is reported once per change, never per check. */
static void test_failures_reported_once_per_change(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    roots rs;
    int master;
    init_one(&rs, &t, &master);
    root_view *v = roots_acquire(&rs);
    assert_int_equal(roots_apply(&rs, 0, -1, 0, 0, ENOENT), ROOTS_FAILED);
    assert_int_equal(roots_apply(&rs, 0, -1, 0, 0, ENOENT), ROOTS_STILL_FAILED);
    assert_int_equal(roots_apply(&rs, 0, -1, 0, 0, ENOENT), ROOTS_STILL_FAILED);
    assert_int_equal(roots_apply(&rs, 0, -1, 0, 0, EACCES), ROOTS_FAILED);
    assert_int_equal(roots_apply(&rs, 0, -1, 0, 0, EMFILE), ROOTS_RETRY); /* not the path's fault */
    assert_int_equal(roots_apply(&rs, 0, -1, 0, 0, EACCES), ROOTS_STILL_FAILED);
    root_view *w = roots_acquire(&rs);
    assert_ptr_equal(v, w); /* the last good directory still serves */
    roots_put(&w);
    dev_t dev;
    ino_t ino;
    int fd = open_dir(t.a, &dev, &ino);
    assert_int_equal(roots_apply(&rs, 0, fd, dev, ino, 0), ROOTS_BACK);
    fd = open_dir(t.a, &dev, &ino);
    assert_int_equal(roots_apply(&rs, 0, fd, dev, ino, 0), ROOTS_SAME);
    assert_int_equal(roots_apply(&rs, 0, -1, 0, 0, ENOENT), ROOTS_FAILED);
    fd = open_dir(t.b, &dev, &ino);
    assert_int_equal(roots_apply(&rs, 0, fd, dev, ino, 0), ROOTS_SWAPPED);
    assert_int_equal(roots_apply(&rs, 0, -1, 0, 0, ENOENT), ROOTS_FAILED);
    roots_put(&v);
    roots_destroy(&rs);
    close(master);
    tree_remove(&t);
}

/* Drive roots_check as the worker does: a queue for the lookups that miss
 * the cache, the loop for their completion. */
static void check_now(roots *rs, wq *q, loop *lp, int64_t now)
{
    roots_check(rs, q, now);
    for (int i = 0; rs->busy && i < 60000; i++)
        loop_run_once(lp, 1);
    assert_false(rs->busy);
}

static void run_checks(bool cached)
{
    tree t;
    tree_make(&t);
    loop lp;
    wq q;
    assert_int_equal(loop_init(&lp, 16), 0);
    assert_int_equal(wq_init(&q, &lp, 1, 4), 0);
    roots rs;
    int master;
    init_one(&rs, &t, &master);
    rs.cached = cached;
    uint64_t first = rs.cur->dir[0]->id;

    check_now(&rs, &q, &lp, 0);
    assert_true(rs.cur->dir[0]->id == first); /* unchanged: no swap */
    tree_point(&t, "b");
    check_now(&rs, &q, &lp, ROOTS_CHECK_MS - 1); /* too soon: not looked at */
    assert_true(rs.cur->dir[0]->id == first);
    assert_int_equal(roots_wait_ms(&rs, ROOTS_CHECK_MS - 1, 1000), 1);
    check_now(&rs, &q, &lp, ROOTS_CHECK_MS);
    assert_true(rs.cur->dir[0]->id != first);
    assert_int_equal(retired_calls, 1);
    struct stat st_b, st_cur;
    assert_int_equal(stat(t.b, &st_b), 0);
    assert_int_equal(fstat(rs.cur->dir[0]->fd, &st_cur), 0);
    assert_true(st_b.st_ino == st_cur.st_ino);

    /* the link removed: the last good directory (b) stays */
    unlink(t.link);
    check_now(&rs, &q, &lp, 2 * ROOTS_CHECK_MS);
    assert_int_equal(rs.last_err[0], ENOENT);
    assert_int_equal(fstat(rs.cur->dir[0]->fd, &st_cur), 0);
    assert_true(st_b.st_ino == st_cur.st_ino);
    tree_point(&t, "c");
    check_now(&rs, &q, &lp, 3 * ROOTS_CHECK_MS);
    assert_int_equal(rs.last_err[0], 0);
    assert_int_equal(retired_calls, 2);

    roots_destroy(&rs);
    wq_destroy(&q);
    loop_close(&lp);
    close(master);
    tree_remove(&t);
}

static void test_check_on_the_queue(void **state)
{
    (void)state;
    run_checks(false);
}

static void test_check_cached_on_the_loop(void **state)
{
    (void)state;
    if (!file_cached_open_supported(AT_FDCWD))
        skip();
    run_checks(true);
}

/* The cache is keyed by root id: a retired root's files are gone from it,
 * an entry still being sent stays valid, and root 0 is never cached. */
static void test_fcache_flushes_a_retired_root(void **state)
{
    (void)state;
    fcache fc;
    assert_int_equal(fc_init(&fc, 8, 60000, 0, NULL), 0);
    bool u, admit, afresh;
    file_result res = { .fd = open("/dev/null", O_RDONLY | O_CLOEXEC), .status = 200, .index = -1 };
    fc_entry *e1 = fc_put(&fc, 1, FILE_LINKS_BENEATH, 0, "/x", NULL, &res, NULL, 0, &u);
    assert_non_null(e1);
    res.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    fc_entry *e2 = fc_put(&fc, 2, FILE_LINKS_BENEATH, 0, "/x", NULL, &res, NULL, 0, &u);
    assert_non_null(e2);
    fc_release(&fc, e2);
    res.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_null(fc_put(&fc, 0, FILE_LINKS_BENEATH, 0, "/x", NULL, &res, NULL, 0, &u));
    close(res.fd);
    assert_null(fc_get(&fc, -1, 0, FILE_LINKS_BENEATH, 0, "/x", 1, &admit, &afresh));

    fc_flush_root(&fc, 1);
    assert_null(fc_get(&fc, -1, 1, FILE_LINKS_BENEATH, 0, "/x", 1, &admit, &afresh));
    assert_true(fd_open(e1->fd)); /* still referenced: sent to the end */
    int fd1 = e1->fd;
    fc_release(&fc, e1);
    assert_false(fd_open(fd1));
    fc_entry *g = fc_get(&fc, -1, 2, FILE_LINKS_BENEATH, 0, "/x", 1, &admit, &afresh);
    assert_ptr_equal(g, e2); /* another root's entry is kept */
    fc_release(&fc, g);
    assert_int_equal(fc.count, 1);
    fc_destroy(&fc);
}

/* An alias inside the root is resolved below the root's new descriptor, in
 * the same pass: "assets" under "current" always comes from the release the
 * root came from. The plan says which path lies below which. */
static void test_plan_paths_below_others(void **state)
{
    (void)state;
    char *paths[] = { "/s/cur/assets/", "/s/cur", "/s/current2", "/", "/s/cur/assets/img", "/s/cur/" };
    enum { N = sizeof paths / sizeof paths[0] };
    ssize_t under[N];
    const char *rel[N];
    size_t order[N];
    roots_plan(paths, N, under, rel, order);
    assert_int_equal(under[3], -1);             /* "/" lies below nothing */
    assert_int_equal(under[1], 3);              /* "/s/cur" below "/" */
    assert_string_equal(rel[1], "s/cur");
    assert_int_equal(under[0], 1);              /* the alias below the root... */
    assert_string_equal(rel[0], "assets/");
    assert_int_equal(under[2], 3);              /* ...but "current2" is not below "cur" */
    assert_string_equal(rel[2], "s/current2");
    assert_int_equal(under[4], 0);              /* the longest one wins */
    assert_string_equal(rel[4], "img");
    assert_int_equal(under[5], 3);              /* the same folder spelt with a '/' */
    size_t pos[N];
    for (size_t i = 0; i < N; i++)
        pos[order[i]] = i;
    for (size_t i = 0; i < N; i++)
        if (under[i] >= 0)
            assert_true(pos[under[i]] < pos[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_paths_below_others),
        cmocka_unit_test(test_same_directory_keeps_view),
        cmocka_unit_test(test_swap_keeps_old_view_until_released),
        cmocka_unit_test(test_failures_reported_once_per_change),
        cmocka_unit_test(test_check_on_the_queue),
        cmocka_unit_test(test_check_cached_on_the_loop),
        cmocka_unit_test(test_fcache_flushes_a_retired_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
