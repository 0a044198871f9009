/* worker/timer.c: the FIFO timeout lists. */
#include "worker/timer.h"

#include <stddef.h>

void timer_list_init(timer_list *tl, int64_t duration_ms)
{
    timer_node_init(&tl->head);
    tl->duration_ms = duration_ms;
}

void timer_disarm(timer_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    timer_node_init(n);
}

void timer_arm(timer_list *tl, timer_node *n, int64_t now)
{
    if (timer_armed(n))
        timer_disarm(n);
    n->deadline = now + tl->duration_ms;
    n->prev = tl->head.prev;
    n->next = &tl->head;
    tl->head.prev->next = n;
    tl->head.prev = n;
}

timer_node *timer_expired(timer_list *tl, int64_t now)
{
    timer_node *first = tl->head.next;
    if (first == &tl->head || first->deadline > now)
        return NULL;
    return first;
}

int64_t timer_wait_ms(const timer_list *tl, int64_t now, int64_t cap)
{
    const timer_node *first = tl->head.next;
    if (first == &tl->head)
        return cap;
    int64_t d = first->deadline - now;
    return d < 0 ? 0 : (d > cap ? cap : d);
}
