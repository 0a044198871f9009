/* log/metrics.h: the counters the status page shows, kept in memory the master shares with every worker it forks.
 *
 * The master maps one region when it starts; it outlives reloads and
 * worker restarts. Each worker counts in a slot of its own (one writer per
 * slot: relaxed loads and stores, no locks, no system calls); a status
 * request sums the slots. A worker that takes over a slot (a respawn, a
 * new generation's worker) goes on from the slot's totals, so counters
 * never go back while the master runs; the gauges of a slot whose worker
 * is gone are zeroed by the master. Server names are interned by the
 * master before it forks the workers that count under them. */
#ifndef EP_LOG_METRICS_H
#define EP_LOG_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MX_SLOTS 2048    /* workers counted at once: two generations of the most workers (1024) always fit */
#define MX_SERVERS 64    /* server names counted apart; later ones count under the last, "(other)" */
#define MX_NAME_MAX 64   /* a name's bytes, its NUL included; longer names are cut */
#define MX_DUR_BUCKETS 12 /* request duration histogram: 11 bounds (mx_dur_le_ms), then +Inf */
#define MX_CLASSES 5     /* status classes 1xx .. 5xx */

extern const int mx_dur_le_ms[MX_DUR_BUCKETS - 1];

/* What one worker counts. Every field but the gauges only grows. */
typedef struct {
    uint64_t accepted, handled;                /* connections */
    uint64_t requests;
    uint64_t by_status[MX_SERVERS][MX_CLASSES]; /* requests answered, by server and status class */
    uint64_t body_bytes;                       /* response body bytes sent */
    uint64_t dur[MX_DUR_BUCKETS];              /* requests by duration (not cumulative here) */
    uint64_t dur_sum_ms;
    uint64_t wq_tasks, wq_wait_ns, wq_run_ns;  /* write-queue tasks done; time queued, time running */
    uint64_t lookup_loop, lookup_queue;        /* file lookups answered on the loop vs handed to the queue */
    uint64_t fc_hits, fc_misses, fc_invalidations; /* open-file cache */
    uint64_t tls_handshakes, tls_resumed;
    uint64_t h2_conns, h2_streams;
    uint64_t log_drops;                        /* log lines lost (access logs and the error log) */
    uint64_t reading, writing, waiting;        /* gauges: connections by state */
} mx_counters;

typedef struct {
    _Alignas(64) int64_t pid;  /* the worker counting here; 0: free, -1: taken, not yet forked */
    int64_t started;           /* when it started, Unix seconds */
    uint64_t gen;              /* its generation */
    mx_counters c;
} mx_slot;
_Static_assert(sizeof(mx_slot) % 64 == 0, "slots stay on cache lines of their own");

typedef struct {
    uint64_t magic;
    int64_t started;           /* the master's start, Unix seconds */
    uint64_t reloads_ok, reloads_failed, restarts;
    uint64_t gen;              /* the generation serving */
    uint64_t draining;         /* 1: -s drain: health checks answer 503 until the stop */
    int64_t gen_started;       /* since when, Unix seconds */
    uint32_t nservers;         /* names interned (release/acquire: the name is written first) */
    uint32_t nslots;           /* slots ever taken: a status request sums no further */
    char names[MX_SERVERS][MX_NAME_MAX];
    mx_slot slots[MX_SLOTS];
} mx_region;

/* Relaxed: one writer per field, readers that only need each value whole. */
static inline uint64_t mx_get(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void mx_set(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
/* A plain load and store (no locked instruction): only the slot's worker writes. */
static inline void mx_add(uint64_t *p, uint64_t n)
{
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* The bucket a request of ms milliseconds falls in. */
int mx_dur_bucket(int64_t ms);

/* Map a fresh region (zeroed, "(other)" interned last); NULL with errno.
 * Labels are server names, which cannot hold parentheses: "(other)" and
 * "(none)" (a server without names) never collide with one. */
mx_region *mx_open(void);
void mx_close(mx_region *r);

/* Master: the index counting under name ("(none)" for ""), interning it. */
int mx_intern(mx_region *r, const char *name);
/* Worker: the index of an interned name; the last ("(other)") when absent. */
int mx_find(const mx_region *r, const char *name);

/* Master: a free slot (prefer, if free), marked taken; -1 when all are. */
int mx_slot_take(mx_region *r, int prefer);
/* Master: the slot's worker is gone: its gauges are zeroed, its totals stay. */
void mx_slot_free(mx_region *r, int i);

/* Everything the slots counted, summed: gauges too. */
void mx_sum(const mx_region *r, mx_counters *out);
/* One slot's counters, read field by field. */
void mx_read(const mx_slot *s, mx_counters *out);

#endif
