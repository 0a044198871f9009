/* tests/unit/test_timer.c: the FIFO timeout lists: arm, re-arm, disarm, expiry order, next wait. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "worker/timer.h"

/* Pop every node due at now, in the order the list gives them; returns how many. */
static size_t drain(timer_list *tl, int64_t now, timer_node **out, size_t max)
{
    size_t n = 0;
    timer_node *t;
    while ((t = timer_expired(tl, now)) != NULL) {
        assert_true(n < max);
        out[n++] = t;
        timer_disarm(t);
    }
    return n;
}

static void test_empty_list(void **state)
{
    (void)state;
    timer_list tl;
    timer_list_init(&tl, 500);
    assert_int_equal(tl.duration_ms, 500);
    assert_null(timer_expired(&tl, 0));
    assert_null(timer_expired(&tl, INT64_MAX / 2));
    /* nothing armed: the loop may wait as long as it likes */
    assert_int_equal(timer_wait_ms(&tl, 0, 1234), 1234);
}

static void test_arm_sets_deadline(void **state)
{
    (void)state;
    timer_list tl;
    timer_node n;
    timer_list_init(&tl, 500);
    timer_node_init(&n);
    assert_false(timer_armed(&n));
    timer_arm(&tl, &n, 1000);
    assert_true(timer_armed(&n));
    assert_int_equal(n.deadline, 1500);
}

/* Due exactly at the deadline, not a millisecond before. */
static void test_due_at_deadline(void **state)
{
    (void)state;
    timer_list tl;
    timer_node n;
    timer_list_init(&tl, 100);
    timer_node_init(&n);
    timer_arm(&tl, &n, 50);
    assert_null(timer_expired(&tl, 149));
    assert_ptr_equal(timer_expired(&tl, 150), &n);
    assert_ptr_equal(timer_expired(&tl, 10000), &n);
    /* timer_expired only reports: the node stays armed until disarmed */
    assert_true(timer_armed(&n));
    timer_disarm(&n);
    assert_null(timer_expired(&tl, 10000));
}

static void test_disarm(void **state)
{
    (void)state;
    timer_list tl;
    timer_node a, b, c;
    timer_list_init(&tl, 10);
    timer_node_init(&a);
    timer_node_init(&b);
    timer_node_init(&c);
    timer_arm(&tl, &a, 0);
    timer_arm(&tl, &b, 1);
    timer_arm(&tl, &c, 2);
    timer_disarm(&b); /* from the middle */
    assert_false(timer_armed(&b));
    timer_node *out[4];
    assert_int_equal(drain(&tl, 100, out, 4), 2);
    assert_ptr_equal(out[0], &a);
    assert_ptr_equal(out[1], &c);
    assert_null(timer_expired(&tl, 100));
}

/* Disarming an unarmed node, or one already disarmed, is harmless. */
static void test_disarm_unarmed(void **state)
{
    (void)state;
    timer_list tl;
    timer_node a, b;
    timer_list_init(&tl, 10);
    timer_node_init(&a);
    timer_node_init(&b);
    timer_disarm(&a);
    assert_false(timer_armed(&a));
    timer_arm(&tl, &b, 0);
    timer_disarm(&b);
    timer_disarm(&b);
    assert_false(timer_armed(&b));
    assert_null(timer_expired(&tl, 1000));
    assert_int_equal(timer_wait_ms(&tl, 0, 77), 77);
}

/* Nodes expire in the order they were armed; the due ones are exactly those
 * whose deadline has passed. */
static void test_fifo_order_and_due_set(void **state)
{
    (void)state;
    timer_list tl;
    timer_node n[5];
    timer_list_init(&tl, 1000);
    for (int i = 0; i < 5; i++) {
        timer_node_init(&n[i]);
        timer_arm(&tl, &n[i], i * 10); /* deadlines 1000, 1010, ..., 1040 */
    }
    timer_node *out[5];
    assert_int_equal(drain(&tl, 999, out, 5), 0);
    assert_int_equal(drain(&tl, 1015, out, 5), 2);
    assert_ptr_equal(out[0], &n[0]);
    assert_ptr_equal(out[1], &n[1]);
    assert_int_equal(drain(&tl, 1040, out, 5), 3);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(out[i], &n[i + 2]);
}

/* Re-arming moves a node to the tail with a fresh deadline. */
static void test_rearm_moves_to_tail(void **state)
{
    (void)state;
    timer_list tl;
    timer_node a, b;
    timer_list_init(&tl, 100);
    timer_node_init(&a);
    timer_node_init(&b);
    timer_arm(&tl, &a, 0);
    timer_arm(&tl, &b, 10);
    timer_arm(&tl, &a, 20); /* activity on a: its timeout restarts */
    assert_int_equal(a.deadline, 120);
    assert_null(timer_expired(&tl, 109));
    timer_node *out[2];
    assert_int_equal(drain(&tl, 110, out, 2), 1);
    assert_ptr_equal(out[0], &b);
    assert_null(timer_expired(&tl, 119));
    assert_int_equal(drain(&tl, 120, out, 2), 1);
    assert_ptr_equal(out[0], &a);
}

/* Arming a node twice at the same time leaves it in the list once. */
static void test_armed_twice_listed_once(void **state)
{
    (void)state;
    timer_list tl;
    timer_node a;
    timer_list_init(&tl, 5);
    timer_node_init(&a);
    timer_arm(&tl, &a, 0);
    timer_arm(&tl, &a, 0);
    timer_node *out[3];
    assert_int_equal(drain(&tl, 5, out, 3), 1);
    assert_ptr_equal(tl.head.next, &tl.head);
    assert_ptr_equal(tl.head.prev, &tl.head);
}

/* A node that expired and was disarmed can be armed again, and the list is
 * left clean. */
static void test_disarm_after_expiry_then_rearm(void **state)
{
    (void)state;
    timer_list tl;
    timer_node a;
    timer_list_init(&tl, 30);
    timer_node_init(&a);
    timer_arm(&tl, &a, 0);
    assert_ptr_equal(timer_expired(&tl, 30), &a);
    timer_disarm(&a);
    assert_false(timer_armed(&a));
    assert_null(timer_expired(&tl, 1000));
    timer_arm(&tl, &a, 1000);
    assert_null(timer_expired(&tl, 1029));
    assert_ptr_equal(timer_expired(&tl, 1030), &a);
}

/* A node moved from one list to another leaves the first. */
static void test_move_between_lists(void **state)
{
    (void)state;
    timer_list shortl, longl;
    timer_node a;
    timer_list_init(&shortl, 10);
    timer_list_init(&longl, 1000);
    timer_node_init(&a);
    timer_arm(&shortl, &a, 0);
    timer_arm(&longl, &a, 0);
    assert_null(timer_expired(&shortl, 500));
    assert_int_equal(timer_wait_ms(&shortl, 0, 9999), 9999);
    assert_ptr_equal(timer_expired(&longl, 1000), &a);
}

/* The wait is the time to the earliest deadline, clamped into [0, cap]. */
static void test_wait_ms(void **state)
{
    (void)state;
    timer_list tl;
    timer_node a, b;
    timer_list_init(&tl, 300);
    timer_node_init(&a);
    timer_node_init(&b);
    timer_arm(&tl, &a, 100); /* 400 */
    timer_arm(&tl, &b, 200); /* 500 */
    assert_int_equal(timer_wait_ms(&tl, 100, 10000), 300);
    assert_int_equal(timer_wait_ms(&tl, 350, 10000), 50);
    assert_int_equal(timer_wait_ms(&tl, 100, 120), 120);   /* capped */
    assert_int_equal(timer_wait_ms(&tl, 400, 10000), 0);   /* due now */
    assert_int_equal(timer_wait_ms(&tl, 9000, 10000), 0);  /* overdue: never negative */
    timer_disarm(&a);
    assert_int_equal(timer_wait_ms(&tl, 350, 10000), 150); /* b is next */
}

/* Lists of different durations are independent; the loop waits for the
 * earlier of their heads. */
static void test_lists_of_different_durations(void **state)
{
    (void)state;
    timer_list fast, slow;
    timer_node f1, s1, s2;
    timer_list_init(&fast, 50);
    timer_list_init(&slow, 5000);
    timer_node_init(&f1);
    timer_node_init(&s1);
    timer_node_init(&s2);
    timer_arm(&slow, &s1, 0);   /* 5000 */
    timer_arm(&fast, &f1, 100); /* 150 */
    timer_arm(&slow, &s2, 100); /* 5100 */
    int64_t w = timer_wait_ms(&fast, 100, 60000);
    int64_t ws = timer_wait_ms(&slow, 100, 60000);
    assert_int_equal(w, 50);
    assert_int_equal(ws, 4900);
    assert_ptr_equal(timer_expired(&fast, 150), &f1);
    assert_null(timer_expired(&slow, 150));
    timer_node *out[3];
    assert_int_equal(drain(&fast, 150, out, 3), 1);
    assert_int_equal(drain(&slow, 5099, out, 3), 1);
    assert_ptr_equal(out[0], &s1);
    assert_int_equal(drain(&slow, 5100, out, 3), 1);
    assert_ptr_equal(out[0], &s2);
}

enum { MANY = 10000 };

/* 10,000 nodes: every other one re-armed, a third disarmed; the rest expire
 * in arming order and each exactly at its deadline. */
static void test_many_nodes(void **state)
{
    (void)state;
    timer_list tl;
    timer_node *n = calloc(MANY, sizeof *n);
    assert_non_null(n);
    timer_list_init(&tl, 1000);
    for (int i = 0; i < MANY; i++) {
        timer_node_init(&n[i]);
        timer_arm(&tl, &n[i], i);
    }
    for (int i = 0; i < MANY; i += 2)
        timer_arm(&tl, &n[i], MANY + i); /* deadlines past every odd one */
    for (int i = 0; i < MANY; i += 3)
        timer_disarm(&n[i]);
    assert_int_equal(timer_wait_ms(&tl, 0, INT64_MAX), 1001); /* n[1] */

    int64_t last = -1;
    size_t seen = 0;
    int expect_odd = 1, expect_even = 2;
    for (int64_t now = 0; now <= 2 * MANY + 1000; now++) {
        timer_node *t;
        while ((t = timer_expired(&tl, now)) != NULL) {
            int i = (int)(t - n);
            assert_int_equal(t->deadline, now); /* found the moment it fell due */
            assert_true(t->deadline >= last);
            last = t->deadline;
            int *expect = (i % 2) ? &expect_odd : &expect_even;
            while (*expect % 3 == 0)
                *expect += 2;
            assert_int_equal(i, *expect);
            *expect += 2;
            timer_disarm(t);
            seen++;
        }
    }
    size_t want = 0;
    for (int i = 0; i < MANY; i++)
        want += i % 3 != 0;
    assert_int_equal(seen, want);
    assert_null(timer_expired(&tl, INT64_MAX / 2));
    free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_list),
        cmocka_unit_test(test_arm_sets_deadline),
        cmocka_unit_test(test_due_at_deadline),
        cmocka_unit_test(test_disarm),
        cmocka_unit_test(test_disarm_unarmed),
        cmocka_unit_test(test_fifo_order_and_due_set),
        cmocka_unit_test(test_rearm_moves_to_tail),
        cmocka_unit_test(test_armed_twice_listed_once),
        cmocka_unit_test(test_disarm_after_expiry_then_rearm),
        cmocka_unit_test(test_move_between_lists),
        cmocka_unit_test(test_wait_ms),
        cmocka_unit_test(test_lists_of_different_durations),
        cmocka_unit_test(test_many_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
