/* log/metrics.c: the shared counter region: mapping, server names, slots, sums (see metrics.h). */
#include "log/metrics.h"

#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define MX_MAGIC 0x6570687474706d78ull /* "ephttpmx" */

/* Prometheus's default bounds from 5 ms; finer ones would need a finer
 * clock than the loop's millisecond one. */
const int mx_dur_le_ms[MX_DUR_BUCKETS - 1] = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };

int mx_dur_bucket(int64_t ms)
{
    int b = 0;
    while (b < MX_DUR_BUCKETS - 1 && ms > mx_dur_le_ms[b])
        b++;
    return b;
}

mx_region *mx_open(void)
{
    mx_region *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        return NULL;
    /* Anonymous pages are zero: only what is not zero is set. */
    r->magic = MX_MAGIC;
    r->started = (int64_t)time(NULL);
    memcpy(r->names[MX_SERVERS - 1], "(other)", sizeof "(other)");
    return r;
}

void mx_close(mx_region *r)
{
    if (r)
        munmap(r, sizeof *r);
}

static void name_of(const char *name, char out[MX_NAME_MAX])
{
    size_t n = strlen(name);
    if (n == 0)
        name = "(none)", n = 6;
    if (n > MX_NAME_MAX - 1)
        n = MX_NAME_MAX - 1;
    memcpy(out, name, n);
    out[n] = '\0';
}

int mx_find(const mx_region *r, const char *name)
{
    char key[MX_NAME_MAX];
    name_of(name, key);
    uint32_t n = __atomic_load_n(&r->nservers, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(r->names[i], key) == 0)
            return (int)i;
    return MX_SERVERS - 1;
}

int mx_intern(mx_region *r, const char *name)
{
    int i = mx_find(r, name);
    if (i != MX_SERVERS - 1 || r->nservers == MX_SERVERS - 1)
        return i;
    name_of(name, r->names[r->nservers]);
    /* Readers see the count only after the name (mx_find's acquire). */
    __atomic_store_n(&r->nservers, r->nservers + 1, __ATOMIC_RELEASE);
    return (int)r->nservers - 1;
}

int mx_slot_take(mx_region *r, int prefer)
{
    int i = prefer >= 0 && prefer < MX_SLOTS && r->slots[prefer].pid == 0 ? prefer : -1;
    for (int k = 0; i < 0 && k < MX_SLOTS; k++)
        if (r->slots[k].pid == 0)
            i = k;
    if (i < 0)
        return -1;
    r->slots[i].pid = -1;
    if ((uint32_t)i >= r->nslots)
        __atomic_store_n(&r->nslots, (uint32_t)i + 1, __ATOMIC_RELEASE);
    return i;
}

void mx_slot_free(mx_region *r, int i)
{
    if (i < 0 || i >= MX_SLOTS)
        return;
    mx_counters *c = &r->slots[i].c;
    mx_set(&c->reading, 0);
    mx_set(&c->writing, 0);
    mx_set(&c->waiting, 0);
    __atomic_store_n(&r->slots[i].pid, 0, __ATOMIC_RELAXED);
}

/* mx_counters is uint64_t fields only: summed as an array. */
_Static_assert(sizeof(mx_counters) % sizeof(uint64_t) == 0, "mx_counters holds uint64_t only");
#define MX_WORDS (sizeof(mx_counters) / sizeof(uint64_t))

void mx_read(const mx_slot *s, mx_counters *out)
{
    const uint64_t *in = (const uint64_t *)&s->c;
    uint64_t *o = (uint64_t *)out;
    for (size_t k = 0; k < MX_WORDS; k++)
        o[k] = mx_get(&in[k]);
}

void mx_sum(const mx_region *r, mx_counters *out)
{
    uint32_t n = __atomic_load_n(&r->nslots, __ATOMIC_ACQUIRE);
    uint64_t *o = (uint64_t *)out;
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < n && i < MX_SLOTS; i++) {
        const uint64_t *in = (const uint64_t *)&r->slots[i].c;
        for (size_t k = 0; k < MX_WORDS; k++)
            o[k] += mx_get(&in[k]);
    }
}
