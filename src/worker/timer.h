/* worker/timer.h: O(1) timeouts: one FIFO list per fixed duration.
 *
 * Every timer in a list has the same duration, so appending at the tail keeps
 * the list sorted by deadline: arming, disarming and finding the next expiry
 * are all O(1), with no heap and no allocation. */
#ifndef EP_WORKER_TIMER_H
#define EP_WORKER_TIMER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct timer_node {
    struct timer_node *prev, *next;
    int64_t deadline; /* CLOCK_MONOTONIC ms */
} timer_node;

typedef struct {
    timer_node head; /* sentinel of a circular list */
    int64_t duration_ms;
} timer_list;

void timer_list_init(timer_list *tl, int64_t duration_ms);
static inline void timer_node_init(timer_node *n) { n->prev = n->next = n; }
static inline bool timer_armed(const timer_node *n) { return n->next != n; }

/* (Re)arm n in tl with deadline now + duration. */
void timer_arm(timer_list *tl, timer_node *n, int64_t now);
void timer_disarm(timer_node *n);

/* The earliest node whose deadline has passed, or NULL. */
timer_node *timer_expired(timer_list *tl, int64_t now);

/* Milliseconds until the earliest deadline of tl, clamped into [0, cap]. */
int64_t timer_wait_ms(const timer_list *tl, int64_t now, int64_t cap);

#endif
