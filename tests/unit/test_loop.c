/* tests/unit/test_loop.c: the event loop's dispatch: every ready descriptor once, the "first" one before the rest; the peek that vouches for them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include "worker/loop.h"

static int order[8], norder;

static void on_ready(loop_io *io, uint32_t events)
{
    (void)events;
    uint64_t v;
    assert_int_equal(read(io->fd, &v, sizeof v), (ssize_t)sizeof v);
    order[norder++] = io->fd;
}

static void run(loop_io *first, loop_io *io, int n, int *want)
{
    loop l;
    assert_int_equal(loop_init(&l, 8), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(loop_add(&l, &io[i], EPOLLIN), 0);
    uint64_t one = 1;
    for (int i = 0; i < n; i++)
        assert_int_equal(write(io[i].fd, &one, sizeof one), (ssize_t)sizeof one);
    l.first[0] = first;
    norder = 0;
    assert_int_equal(loop_run_once(&l, 1000), n);
    assert_int_equal(norder, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(order[i], want[i]);
    loop_close(&l);
}

static void test_first_is_dispatched_first(void **state)
{
    (void)state;
    loop_io io[3];
    for (int i = 0; i < 3; i++)
        io[i] = (loop_io){ eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), on_ready };
    /* Made ready in order 0, 1, 2, epoll reports them so; the first one
     * named goes ahead, the others keep their order, none runs twice. */
    run(NULL, io, 3, (int[]){ io[0].fd, io[1].fd, io[2].fd });
    run(&io[2], io, 3, (int[]){ io[2].fd, io[0].fd, io[1].fd });
    run(&io[1], io, 3, (int[]){ io[1].fd, io[0].fd, io[2].fd });
    run(&io[0], io, 3, (int[]){ io[0].fd, io[1].fd, io[2].fd });
    /* a first descriptor that is not ready changes nothing */
    run(&io[2], io, 2, (int[]){ io[0].fd, io[1].fd });
    for (int i = 0; i < 3; i++)
        close(io[i].fd);
}

static void make_ready(loop_io *io)
{
    uint64_t one = 1;
    assert_int_equal(write(io->fd, &one, sizeof one), (ssize_t)sizeof one);
}

/* The peek dispatches the first descriptor alone; the others wait for
 * loop_run_pending, in their order, once. With room to spare it vouches
 * that a first descriptor it did not report was not ready. */
static void test_peek_first_leaves_the_rest(void **state)
{
    (void)state;
    loop_io io[3];
    loop l;
    assert_int_equal(loop_init(&l, 8), 0);
    for (int i = 0; i < 3; i++) {
        io[i] = (loop_io){ eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), on_ready };
        assert_int_equal(loop_add(&l, &io[i], EPOLLIN), 0);
    }
    l.first[0] = &io[2];
    make_ready(&io[0]);
    make_ready(&io[2]);
    make_ready(&io[1]);
    norder = 0;
    assert_true(loop_peek_first(&l));
    assert_int_equal(norder, 1);
    assert_int_equal(order[0], io[2].fd);
    /* pending events are never overwritten: a second peek refuses */
    assert_false(loop_peek_first(&l));
    assert_int_equal(norder, 1);
    assert_int_equal(loop_run_pending(&l), 2);
    assert_int_equal(norder, 3);
    assert_int_equal(order[1], io[0].fd);
    assert_int_equal(order[2], io[1].fd);
    assert_int_equal(loop_run_pending(&l), 0);
    /* nothing ready: the peek vouches, dispatches nothing */
    assert_true(loop_peek_first(&l));
    assert_int_equal(norder, 3);
    assert_int_equal(loop_run_pending(&l), 0);
    loop_close(&l);
    for (int i = 0; i < 3; i++)
        close(io[i].fd);
}

/* A poll that fills the array cannot vouch: the first descriptor may be
 * among the events it had no room for. */
static void test_full_peek_does_not_vouch(void **state)
{
    (void)state;
    loop_io io[4];
    loop l;
    assert_int_equal(loop_init(&l, 3), 0);
    for (int i = 0; i < 4; i++) {
        io[i] = (loop_io){ eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), on_ready };
        assert_int_equal(loop_add(&l, &io[i], EPOLLIN), 0);
    }
    l.first[0] = &io[3];
    for (int i = 0; i < 3; i++)
        make_ready(&io[i]);
    norder = 0;
    assert_false(loop_peek_first(&l));
    assert_int_equal(norder, 0);
    assert_int_equal(loop_run_pending(&l), 3);
    for (int i = 0; i < 2; i++)
        make_ready(&io[i]);
    assert_true(loop_peek_first(&l));
    assert_int_equal(loop_run_pending(&l), 2);
    loop_close(&l);
    for (int i = 0; i < 4; i++)
        close(io[i].fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_is_dispatched_first),
        cmocka_unit_test(test_peek_first_leaves_the_rest),
        cmocka_unit_test(test_full_peek_does_not_vouch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
