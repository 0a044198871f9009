/* worker/wq.c: pool threads take tasks from a bounded FIFO and report back through an eventfd. */
#include "worker/wq.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *wq_thread(void *arg)
{
    wq *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (q->count == 0 && !q->stopping)
            pthread_cond_wait(&q->cond, &q->lock);
        if (q->count == 0)
            break; /* stopping, and nothing left */
        wq_task *t = q->head;
        q->head = t->next;
        if (!q->head)
            q->tail = NULL;
        q->count--;
        pthread_mutex_unlock(&q->lock);

        /* The task's own fields: read on the loop after the mutex. */
        t->t_start = now_ns();
        t->work(t);
        t->t_end = now_ns();

        pthread_mutex_lock(&q->lock);
        t->next = NULL;
        bool was_empty = q->done_head == NULL;
        if (was_empty)
            q->done_head = t;
        else
            q->done_tail->next = t;
        q->done_tail = t;
        /* One wake-up per batch: the loop takes the whole list at once. */
        if (was_empty) {
            uint64_t one = 1;
            ssize_t w = write(q->io.fd, &one, sizeof one);
            (void)w; /* an eventfd write fails only on counter overflow */
        }
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static void wq_run_done(wq *q)
{
    pthread_mutex_lock(&q->lock);
    wq_task *t = q->done_head;
    q->done_head = q->done_tail = NULL;
    pthread_mutex_unlock(&q->lock);
    while (t) {
        wq_task *next = t->next; /* done() may reuse t for a new task */
        q->tasks_done++;
        q->wait_ns += (uint64_t)(t->t_start - t->t_submit);
        q->run_ns += (uint64_t)(t->t_end - t->t_start);
        t->done(t);
        t = next;
    }
}

static void wq_on_event(loop_io *io, uint32_t events)
{
    (void)events;
    wq *q = EP_CONTAINER_OF(io, wq, io);
    uint64_t n;
    ssize_t r = read(io->fd, &n, sizeof n);
    (void)r;
    wq_run_done(q);
}

int wq_init(wq *q, loop *lp, int nthreads, size_t capacity)
{
    *q = (wq){ .cap = capacity, .nthreads = 0, .lp = lp };
    q->io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    q->io.on_event = wq_on_event;
    q->threads = calloc((size_t)nthreads, sizeof *q->threads);
    if (q->io.fd < 0 || !q->threads)
        goto fail;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    if (loop_add(lp, &q->io, EPOLLIN) < 0)
        goto fail;
    /* Pool threads must never take the worker's signals. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = 0;
    for (int i = 0; i < nthreads; i++) {
        if ((e = pthread_create(&q->threads[i], NULL, wq_thread, q)) != 0)
            break;
        q->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e; /* fewer threads than asked still serve; none cannot */
    return q->nthreads > 0 ? 0 : -1;
fail:
    if (q->io.fd >= 0)
        close(q->io.fd);
    free(q->threads);
    return -1;
}

int wq_submit(wq *q, wq_task *t)
{
    t->t_submit = now_ns();
    pthread_mutex_lock(&q->lock);
    if (q->count == q->cap) {
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    t->next = NULL;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
    q->count++;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

void wq_destroy(wq *q)
{
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    wq_run_done(q);
    loop_del(q->lp, &q->io);
    close(q->io.fd);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q->threads);
}
