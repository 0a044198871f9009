/* tests/unit/test_freelist.c: the size-class free lists nghttp2 allocates from: reuse, the cap, realloc, calloc, big blocks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/freelist.h"

/* Every size up to past the largest class: usable for its whole length,
 * aligned as malloc's blocks are, and a freed block is the next one of its
 * class (the list, not malloc, gave it). */
static void test_sizes_and_reuse(void **state)
{
    (void)state;
    freelist fl;
    fl_init(&fl, 8);
    for (size_t size = 0; size <= 5000; size += size < 200 ? 1 : 37) {
        unsigned char *p = fl_alloc(&fl, size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xa5, size);
        fl_free(&fl, p);
        unsigned char *q = fl_alloc(&fl, size);
        if (size <= 4096 - 16)
            assert_ptr_equal(q, p); /* kept and handed back */
        fl_free(&fl, q);
    }
    fl_destroy(&fl);
}

/* Sizes of one class share blocks; a size of the next class does not. */
static void test_classes(void **state)
{
    (void)state;
    freelist fl;
    fl_init(&fl, 8);
    void *a = fl_alloc(&fl, 40); /* 64-byte class: 48 usable */
    fl_free(&fl, a);
    assert_ptr_equal(fl_alloc(&fl, 48), a);
    fl_free(&fl, a);
    void *b = fl_alloc(&fl, 49); /* the 128-byte class */
    assert_ptr_not_equal(b, a);
    fl_free(&fl, b);
    fl_destroy(&fl);
}

/* No list holds more than max_per_class blocks: the rest go back to malloc. */
static void test_cap(void **state)
{
    (void)state;
    freelist fl;
    fl_init(&fl, 3);
    void *p[10];
    for (int i = 0; i < 10; i++)
        assert_non_null(p[i] = fl_alloc(&fl, 100));
    for (int i = 0; i < 10; i++)
        fl_free(&fl, p[i]);
    for (int c = 0; c < FL_CLASSES; c++)
        assert_true(fl.n[c] <= 3);
    assert_int_equal(fl.n[1], 3);
    fl_free(&fl, NULL); /* as free(NULL) */
    fl_destroy(&fl);
    for (int c = 0; c < FL_CLASSES; c++)
        assert_int_equal(fl.n[c], 0);
}

/* realloc keeps the bytes, in place while the class holds the new size,
 * across classes and into and out of the big blocks. */
static void test_resize(void **state)
{
    (void)state;
    freelist fl;
    fl_init(&fl, 8);
    unsigned char *p = fl_realloc(&fl, NULL, 10);
    assert_non_null(p);
    for (size_t i = 0; i < 10; i++)
        p[i] = (unsigned char)(i * 7);
    assert_ptr_equal(fl_realloc(&fl, p, 48), p); /* the class holds it: in place */
    size_t have = 10;
    const size_t sizes[] = { 300, 5000, 70000, 2000, 20, 0, 100 };
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        p = fl_realloc(&fl, p, sizes[k]);
        assert_non_null(p);
        size_t keep = have < sizes[k] ? have : sizes[k];
        for (size_t i = 0; i < keep; i++)
            assert_int_equal(p[i], (unsigned char)(i * 7));
        for (size_t i = keep; i < sizes[k]; i++)
            p[i] = (unsigned char)(i * 7);
        have = sizes[k];
    }
    fl_free(&fl, p);
    fl_destroy(&fl);
}

static void test_zeroed(void **state)
{
    (void)state;
    freelist fl;
    fl_init(&fl, 8);
    unsigned char *p = fl_alloc(&fl, 200);
    memset(p, 0xff, 200);
    fl_free(&fl, p);
    unsigned char *q = fl_calloc(&fl, 25, 8); /* the same block, zeroed */
    assert_ptr_equal(q, p);
    for (int i = 0; i < 200; i++)
        assert_int_equal(q[i], 0);
    fl_free(&fl, q);
    assert_null(fl_calloc(&fl, SIZE_MAX / 2, 3)); /* n * size overflows */
    assert_null(fl_alloc(&fl, SIZE_MAX - 8)); /* size + header overflows */
    fl_destroy(&fl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_reuse),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_zeroed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
