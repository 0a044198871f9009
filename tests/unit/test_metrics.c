/* tests/unit/test_metrics.c: the shared counter region: names, slots, sums, duration buckets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log/metrics.h"

static void test_names(void **state)
{
    (void)state;
    mx_region *r = mx_open();
    assert_non_null(r);
    assert_int_equal(mx_find(r, "a.example"), MX_SERVERS - 1); /* not interned: "(other)" */
    assert_int_equal(mx_intern(r, "a.example"), 0);
    assert_int_equal(mx_intern(r, ""), 1);
    assert_string_equal(r->names[1], "(none)");
    assert_int_equal(mx_intern(r, "a.example"), 0); /* once */
    assert_int_equal(mx_find(r, "a.example"), 0);
    assert_int_equal(mx_find(r, ""), 1);
    /* A long name is cut, the same way for both. */
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    int k = mx_intern(r, longname);
    assert_int_equal(k, 2);
    assert_int_equal(strlen(r->names[k]), MX_NAME_MAX - 1);
    assert_int_equal(mx_find(r, longname), k);
    /* Past MX_SERVERS - 1 names, the rest count under "(other)". */
    for (int i = 3; i < MX_SERVERS - 1; i++) {
        char n[32];
        snprintf(n, sizeof n, "s%d", i);
        assert_int_equal(mx_intern(r, n), i);
    }
    assert_int_equal(r->nservers, MX_SERVERS - 1);
    assert_int_equal(mx_intern(r, "one.too.many"), MX_SERVERS - 1);
    assert_string_equal(r->names[MX_SERVERS - 1], "(other)");
    assert_int_equal(r->nservers, MX_SERVERS - 1);
    mx_close(r);
}

static void test_slots(void **state)
{
    (void)state;
    mx_region *r = mx_open();
    int a = mx_slot_take(r, -1), b = mx_slot_take(r, -1);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(r->nslots, 2);
    assert_int_equal(mx_slot_take(r, 0), 2); /* 0 is taken: another */
    mx_add(&r->slots[a].c.requests, 5);
    mx_add(&r->slots[a].c.waiting, 3);
    mx_slot_free(r, a);
    /* A freed slot keeps its totals, drops its gauges, and is the one a
     * respawn asks for. */
    assert_int_equal(r->slots[a].pid, 0);
    assert_int_equal(mx_get(&r->slots[a].c.requests), 5);
    assert_int_equal(mx_get(&r->slots[a].c.waiting), 0);
    assert_int_equal(mx_slot_take(r, a), a);
    mx_slot_free(r, -1); /* none: nothing happens */
    /* All taken: -1. */
    for (int i = 3; i < MX_SLOTS; i++)
        assert_int_equal(mx_slot_take(r, -1), i);
    assert_int_equal(mx_slot_take(r, -1), -1);
    assert_int_equal(r->nslots, MX_SLOTS);
    mx_close(r);
}

static void test_sum(void **state)
{
    (void)state;
    mx_region *r = mx_open();
    for (int i = 0; i < 3; i++) {
        int s = mx_slot_take(r, -1);
        mx_add(&r->slots[s].c.accepted, (uint64_t)(i + 1));
        mx_add(&r->slots[s].c.by_status[2][1], 10);
        mx_add(&r->slots[s].c.dur[MX_DUR_BUCKETS - 1], 1);
        mx_add(&r->slots[s].c.wq_run_ns, 1000000000u);
    }
    mx_slot_free(r, 1); /* a gone worker's totals still count */
    mx_counters c;
    mx_sum(r, &c);
    assert_int_equal(c.accepted, 6);
    assert_int_equal(c.by_status[2][1], 30);
    assert_int_equal(c.dur[MX_DUR_BUCKETS - 1], 3);
    assert_int_equal(c.wq_run_ns, 3000000000u);
    mx_counters one;
    mx_read(&r->slots[2], &one);
    assert_int_equal(one.accepted, 3);
    /* A decrement is an add of -1: gauges go down and back to zero. */
    mx_add(&r->slots[0].c.reading, 1);
    mx_add(&r->slots[0].c.reading, (uint64_t)-1);
    assert_int_equal(mx_get(&r->slots[0].c.reading), 0);
    mx_close(r);
}

static void test_duration_buckets(void **state)
{
    (void)state;
    assert_int_equal(mx_dur_bucket(0), 0);
    assert_int_equal(mx_dur_bucket(5), 0); /* le: at most the bound */
    assert_int_equal(mx_dur_bucket(6), 1);
    assert_int_equal(mx_dur_bucket(10), 1);
    assert_int_equal(mx_dur_bucket(999), 7);
    assert_int_equal(mx_dur_bucket(1000), 7);
    assert_int_equal(mx_dur_bucket(10000), MX_DUR_BUCKETS - 2);
    assert_int_equal(mx_dur_bucket(10001), MX_DUR_BUCKETS - 1);
    assert_int_equal(mx_dur_bucket(INT64_MAX), MX_DUR_BUCKETS - 1);
    for (int i = 1; i < MX_DUR_BUCKETS - 1; i++)
        assert_true(mx_dur_le_ms[i] > mx_dur_le_ms[i - 1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_sum),
        cmocka_unit_test(test_duration_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
