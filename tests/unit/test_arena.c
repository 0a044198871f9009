/* tests/unit/test_arena.c: the block pool: whole pages, reuse, the cap, and the trim that gives back what an interval did not use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "util/arena.h"

static void test_blocks_are_whole_pages_and_writable(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    arena_pool p;
    assert_int_equal(arena_pool_init(&p, page + 1, 4), 0);
    assert_int_equal(p.block_size, 2 * page);
    char *b = arena_pool_get(&p);
    assert_non_null(b);
    memset(b, 0xa5, p.block_size); /* every byte of it is ours */
    arena ar;
    arena_init(&ar, b, page + 1);
    assert_non_null(arena_alloc(&ar, page));
    assert_null(arena_alloc(&ar, 16)); /* the arena ends where it was told */
    arena_pool_put(&p, b);
    arena_pool_destroy(&p);
}

static void test_reuse_is_last_in_first_out(void **state)
{
    (void)state;
    arena_pool p;
    assert_int_equal(arena_pool_init(&p, 1000, 4), 0);
    void *a = arena_pool_get(&p), *b = arena_pool_get(&p);
    assert_ptr_not_equal(a, b);
    arena_pool_put(&p, a);
    arena_pool_put(&p, b);
    assert_ptr_equal(arena_pool_get(&p), b); /* the warmest block first */
    assert_ptr_equal(arena_pool_get(&p), a);
    arena_pool_put(&p, a);
    arena_pool_put(&p, b);
    arena_pool_put(&p, NULL); /* nothing to give back */
    assert_int_equal(p.nfree, 2);
    arena_pool_destroy(&p);
}

static void test_cap_unmaps_the_rest(void **state)
{
    (void)state;
    arena_pool p;
    assert_int_equal(arena_pool_init(&p, 1000, 2), 0);
    void *x[5];
    for (int i = 0; i < 5; i++)
        assert_non_null(x[i] = arena_pool_get(&p));
    for (int i = 0; i < 5; i++)
        arena_pool_put(&p, x[i]);
    assert_int_equal(p.nfree, 2);
    arena_pool_destroy(&p);
}

static void test_trim_gives_back_what_an_interval_left_unused(void **state)
{
    (void)state;
    arena_pool p;
    assert_int_equal(arena_pool_init(&p, 1000, 8), 0);
    void *x[4];
    for (int i = 0; i < 4; i++)
        x[i] = arena_pool_get(&p);
    for (int i = 0; i < 4; i++)
        arena_pool_put(&p, x[i]);
    /* The interval that ends took all four: nothing to give back. */
    assert_int_equal(arena_pool_trim(&p), 0);
    assert_int_equal(p.nfree, 4);
    /* The next one takes and returns one block at a time: three sat idle. */
    for (int i = 0; i < 10; i++)
        arena_pool_put(&p, arena_pool_get(&p));
    assert_int_equal(arena_pool_trim(&p), 3);
    assert_int_equal(p.nfree, 1);
    /* The one left is the one in use, and it still works. */
    char *b = arena_pool_get(&p);
    memset(b, 1, p.block_size);
    arena_pool_put(&p, b);
    /* An idle interval after that gives back the last one. */
    assert_int_equal(arena_pool_trim(&p), 0); /* it was taken during this one */
    assert_int_equal(arena_pool_trim(&p), 1);
    assert_int_equal(p.nfree, 0);
    assert_int_equal(arena_pool_trim(&p), 0);
    /* Blocks taken and not yet returned are not the pool's to trim. */
    void *held = arena_pool_get(&p);
    assert_int_equal(arena_pool_trim(&p), 0);
    arena_pool_put(&p, held);
    arena_pool_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_are_whole_pages_and_writable),
        cmocka_unit_test(test_reuse_is_last_in_first_out),
        cmocka_unit_test(test_cap_unmaps_the_rest),
        cmocka_unit_test(test_trim_gives_back_what_an_interval_left_unused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
