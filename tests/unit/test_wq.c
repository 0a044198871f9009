/* tests/unit/test_wq.c: the write queue hands tasks to threads and back exactly once (run under TSan too). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "worker/wq.h"

#define NTASKS 64
#define ROUNDS 200

typedef struct {
    wq_task base;
    wq *q;
    int id;
    int value;      /* written by work(), read by done(): ordered by the queue */
    int rounds;
    int *finished;
    atomic_int *gate; /* when set, work() waits until it opens */
    atomic_int *started; /* when set, work() counts itself in before it waits */
} test_task;

static void work(wq_task *t)
{
    test_task *k = EP_CONTAINER_OF(t, test_task, base);
    if (k->started)
        atomic_fetch_add(k->started, 1);
    while (k->gate && atomic_load(k->gate) == 0)
        usleep(100);
    k->value = k->id * 1000 + k->rounds;
}

static void done(wq_task *t)
{
    test_task *k = EP_CONTAINER_OF(t, test_task, base);
    assert_int_equal(k->value, k->id * 1000 + k->rounds);
    if (++k->rounds < ROUNDS) {
        assert_int_equal(wq_submit(k->q, &k->base), 0); /* resubmit from the callback */
        return;
    }
    (*k->finished)++;
}

/* Poll (a loaded machine may be slow to schedule the pool's thread) until
 * *n reaches want; a minute is a failure. */
static void wait_count(atomic_int *n, int want)
{
    for (int ms = 0; atomic_load(n) < want && ms < 60000; ms++)
        usleep(1000);
    assert_int_equal(atomic_load(n), want);
}

static void run_until(loop *lp, int *finished, int want)
{
    for (int spins = 0; *finished < want && spins < 100000; spins++)
        loop_run_once(lp, 100);
}

static void test_round_trips(void **state)
{
    (void)state;
    loop lp;
    wq q;
    assert_int_equal(loop_init(&lp, 64), 0);
    assert_int_equal(wq_init(&q, &lp, 4, NTASKS), 0);
    static test_task tasks[NTASKS];
    int finished = 0;
    for (int i = 0; i < NTASKS; i++) {
        tasks[i] = (test_task){ .base = { work, done, NULL }, .q = &q, .id = i, .finished = &finished };
        assert_int_equal(wq_submit(&q, &tasks[i].base), 0);
    }
    run_until(&lp, &finished, NTASKS);
    assert_int_equal(finished, NTASKS);
    for (int i = 0; i < NTASKS; i++)
        assert_int_equal(tasks[i].rounds, ROUNDS);
    wq_destroy(&q);
    loop_close(&lp);
}

static void test_bounded(void **state)
{
    (void)state;
    loop lp;
    wq q;
    atomic_int gate = 0, started = 0;
    assert_int_equal(loop_init(&lp, 64), 0);
    assert_int_equal(wq_init(&q, &lp, 1, 4), 0);
    static test_task tasks[6];
    int finished = 0;
    /* One task runs (blocked on the gate), four wait: the sixth finds the ring full. */
    int accepted = 0;
    for (int i = 0; i < 6; i++) {
        tasks[i] = (test_task){ .base = { work, done, NULL }, .q = &q, .id = i, .rounds = ROUNDS - 1,
                                .finished = &finished, .gate = &gate, .started = &started };
        if (wq_submit(&q, &tasks[i].base) == 0)
            accepted++;
        if (i == 0)
            wait_count(&started, 1); /* the thread took the first task off the ring */
    }
    assert_int_equal(accepted, 5);
    atomic_store(&gate, 1);
    run_until(&lp, &finished, accepted);
    assert_int_equal(finished, accepted);
    wq_destroy(&q);
    loop_close(&lp);
}

static void test_destroy_finishes_pending(void **state)
{
    (void)state;
    loop lp;
    wq q;
    assert_int_equal(loop_init(&lp, 64), 0);
    assert_int_equal(wq_init(&q, &lp, 2, 16), 0);
    static test_task tasks[16];
    int finished = 0;
    for (int i = 0; i < 16; i++) {
        tasks[i] = (test_task){ .base = { work, done, NULL }, .q = &q, .id = i, .rounds = ROUNDS - 1,
                                .finished = &finished };
        assert_int_equal(wq_submit(&q, &tasks[i].base), 0);
    }
    wq_destroy(&q); /* must run every done() before returning */
    assert_int_equal(finished, 16);
    loop_close(&lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_destroy_finishes_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
