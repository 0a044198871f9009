/* tests/unit/test_hcache.c: content hashes by file identity: a change of inode, size or mtime misses; two ways keep the newest. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "worker/hcache.h"

static struct stat id(uint64_t ino, int64_t size, int64_t sec, long nsec)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_dev = 42;
    st.st_ino = (ino_t)ino;
    st.st_size = size;
    st.st_mtim.tv_sec = sec;
    st.st_mtim.tv_nsec = nsec;
    return st;
}

static void test_identity(void **state)
{
    (void)state;
    hcache c;
    assert_int_equal(hc_init(&c, 8), 0);
    uint8_t h1[16], h2[16];
    memset(h1, 1, 16);
    memset(h2, 2, 16);
    struct stat a = id(7, 100, 1000, 5);
    assert_null(hc_get(&c, &a));
    hc_put(&c, &a, h1);
    assert_memory_equal(hc_get(&c, &a), h1, 16);
    /* any part of the identity changed: a miss */
    struct stat b = id(7, 101, 1000, 5), m = id(7, 100, 1000, 6), s = id(7, 100, 1001, 5), i = id(8, 100, 1000, 5);
    assert_null(hc_get(&c, &b));
    assert_null(hc_get(&c, &m));
    assert_null(hc_get(&c, &s));
    assert_null(hc_get(&c, &i));
    /* the file's new identity replaces its old one */
    hc_put(&c, &m, h2);
    assert_memory_equal(hc_get(&c, &m), h2, 16);
    hc_destroy(&c);
    /* off: nothing kept, nothing found */
    hcache off = { 0 };
    hc_put(&off, &a, h1);
    assert_null(hc_get(&off, &a));
}

/* Many files: the last ones put are found; the table stays bounded. */
static void test_many(void **state)
{
    (void)state;
    hcache c;
    assert_int_equal(hc_init(&c, 64), 0);
    uint8_t h[16];
    for (uint64_t k = 0; k < 10000; k++) {
        struct stat st = id(k, (int64_t)k, 1, 0);
        memcpy(h, &k, sizeof k);
        memset(h + 8, 0, 8);
        hc_put(&c, &st, h);
        const uint8_t *got = hc_get(&c, &st);
        assert_non_null(got);
        assert_memory_equal(got, h, 16);
    }
    size_t found = 0;
    for (uint64_t k = 0; k < 10000; k++) {
        struct stat st = id(k, (int64_t)k, 1, 0);
        const uint8_t *got = hc_get(&c, &st);
        if (got) {
            uint64_t v;
            memcpy(&v, got, sizeof v);
            assert_int_equal(v, k); /* never another file's hash */
            found++;
        }
    }
    assert_true(found > 0 && found <= 64);
    hc_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
