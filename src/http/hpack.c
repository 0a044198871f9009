/* http/hpack.c: an HPACK encoder for response heads: the dynamic table, raw strings. */
#include "http/hpack.h"

#include <stdlib.h>
#include <string.h>

/* RFC 7541 Appendix A: the static table's names, index 1 to 61. */
static const char *const STATIC_NAMES[61] = {
    ":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme", ":status", ":status", ":status",
    ":status", ":status", ":status", ":status", "accept-charset", "accept-encoding", "accept-language",
    "accept-ranges", "accept", "access-control-allow-origin", "age", "allow", "authorization", "cache-control",
    "content-disposition", "content-encoding", "content-language", "content-length", "content-location",
    "content-range", "content-type", "cookie", "date", "etag", "expect", "expires", "from", "host", "if-match",
    "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "link", "location",
    "max-forwards", "proxy-authenticate", "proxy-authorization", "range", "referer", "refresh", "retry-after",
    "server", "set-cookie", "strict-transport-security", "transfer-encoding", "user-agent", "vary", "via",
    "www-authenticate",
};

void hpk_init(hpk_enc *e)
{
    memset(e, 0, sizeof *e);
    e->max = HPK_TABLE;
}

void hpk_free(hpk_enc *e)
{
    for (uint32_t k = e->seq - e->count; k != e->seq; k++)
        free(e->ent[k % HPK_ENTRIES].p);
    free(e->ent);
    e->ent = NULL;
    e->count = 0;
}

static void evict_oldest(hpk_enc *e)
{
    hpk_entry *x = &e->ent[(e->seq - e->count) % HPK_ENTRIES];
    e->size -= (uint32_t)x->nlen + x->vlen + 32;
    free(x->p);
    x->p = NULL;
    e->count--;
}

void hpk_set_limit(hpk_enc *e, uint32_t limit)
{
    uint32_t max = limit < HPK_TABLE ? limit : HPK_TABLE;
    if (max == e->max)
        return;
    e->low = e->update && e->low < max ? e->low : max;
    e->update = true;
    e->max = max;
    while (e->size > e->max)
        evict_oldest(e);
}

/* The first and last (up to) 8 bytes of s, as numbers: whole 8-byte
 * loads where s is that long (a copy of fewer bytes into a number is
 * written in pieces and read back whole: a store-forwarding stall). */
static uint64_t head8(const char *s, size_t n)
{
    uint64_t v = 0;
    if (n >= 8) {
        memcpy(&v, s, 8);
        return v;
    }
    for (size_t i = 0; i < n; i++)
        v = v << 8 | (unsigned char)s[i];
    return v;
}

static uint64_t tail8(const char *s, size_t n)
{
    uint64_t v = 0;
    if (n >= 8)
        memcpy(&v, s + n - 8, 8);
    return v; /* shorter: head8 has all of it */
}

/* A hash from the lengths and the ends of name and value: O(1) whatever
 * their lengths; what it misses, the comparison catches. */
static uint32_t field_hash(const resp_nv *f)
{
    uint64_t h = (uint64_t)f->nlen << 32 ^ f->vlen;
    h ^= head8(f->name, f->nlen) * 0x9e3779b97f4a7c15u;
    h ^= tail8(f->name, f->nlen) * 0xc2b2ae3d27d4eb4fu;
    h = (h ^ h >> 31) * 0x165667b19e3779f9u;
    h ^= head8(f->value, f->vlen) * 0x27d4eb2f165667c5u;
    h ^= tail8(f->value, f->vlen) * 0x94d049bb133111ebu;
    return (uint32_t)(h ^ h >> 32);
}

static bool same(const hpk_entry *x, uint32_t hash, const resp_nv *f)
{
    return x->hash == hash && x->nlen == f->nlen && x->vlen == f->vlen && memcmp(x->p, f->name, f->nlen) == 0 &&
           memcmp(x->p + f->nlen, f->value, f->vlen) == 0;
}

/* The live entry holding f, by sequence number + 1; 0: none. */
static uint32_t find(const hpk_enc *e, size_t pos, uint32_t hash, const resp_nv *f)
{
    if (!e->count)
        return 0;
    uint32_t oldest = e->seq - e->count;
    if (pos < HPK_MEMO && e->memo[pos]) {
        uint32_t k = e->memo[pos] - 1;
        if (k - oldest < e->count && same(&e->ent[k % HPK_ENTRIES], hash, f))
            return k + 1;
    }
    for (uint32_t k = e->seq; k-- != oldest;)
        if (same(&e->ent[k % HPK_ENTRIES], hash, f))
            return k + 1;
    return 0;
}

static uint8_t *put_int(uint8_t *p, uint8_t first, unsigned bits, uint32_t v)
{
    uint32_t max = (1u << bits) - 1;
    if (v < max) {
        *p++ = (uint8_t)(first | v);
        return p;
    }
    *p++ = (uint8_t)(first | max);
    for (v -= max; v >= 128; v >>= 7)
        *p++ = (uint8_t)(v | 0x80);
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *put_str(uint8_t *p, const char *s, size_t n)
{
    p = put_int(p, 0, 7, (uint32_t)n); /* H = 0: raw */
    memcpy(p, s, n);
    return p + n;
}

static unsigned static_name(const resp_nv *f)
{
    for (unsigned i = 0; i < 61; i++)
        if (STATIC_NAMES[i][0] == f->name[0] && strlen(STATIC_NAMES[i]) == f->nlen &&
            memcmp(STATIC_NAMES[i], f->name, f->nlen) == 0)
            return i + 1;
    return 0;
}

/* :status with a value the static table holds (indexes 8 to 14), else 0. */
static unsigned static_status(const resp_nv *f)
{
    static const char codes[7][4] = { "200", "204", "206", "304", "400", "404", "500" };
    if (f->nlen != 7 || memcmp(f->name, ":status", 7) != 0 || f->vlen != 3)
        return 0;
    for (unsigned i = 0; i < 7; i++)
        if (memcmp(codes[i], f->value, 3) == 0)
            return 8 + i;
    return 0;
}

/* Adds f to the table (evicting the oldest to make room); its sequence
 * number + 1, or 0 when it cannot (then it is sent without indexing). */
static uint32_t insert(hpk_enc *e, uint32_t hash, const resp_nv *f)
{
    uint32_t need = (uint32_t)(f->nlen + f->vlen + 32);
    if (f->vlen > HPK_INDEX_MAX || f->nlen > HPK_INDEX_MAX || need > e->max)
        return 0;
    if (!e->ent && !(e->ent = calloc(HPK_ENTRIES, sizeof *e->ent)))
        return 0;
    char *p = malloc(f->nlen + f->vlen);
    if (!p)
        return 0;
    while (e->count && (e->size + need > e->max || e->count == HPK_ENTRIES))
        evict_oldest(e);
    memcpy(p, f->name, f->nlen);
    memcpy(p + f->nlen, f->value, f->vlen);
    e->ent[e->seq % HPK_ENTRIES] = (hpk_entry){ hash, (uint16_t)f->nlen, (uint16_t)f->vlen, p };
    e->size += need;
    e->count++;
    return ++e->seq;
}

size_t hpk_bound(const resp_nv *nv, size_t n)
{
    size_t b = 12; /* two size updates */
    for (size_t i = 0; i < n; i++)
        b += nv[i].nlen + nv[i].vlen + 16;
    return b;
}

size_t hpk_encode(hpk_enc *e, uint8_t *out, const resp_nv *nv, size_t n)
{
    uint8_t *p = out;
    if (e->update) { /* RFC 7541 4.2: the smallest maximum since the last block, then the final one */
        if (e->low < e->max)
            p = put_int(p, 0x20, 5, e->low);
        p = put_int(p, 0x20, 5, e->max);
        e->update = false;
    }
    for (size_t i = 0; i < n; i++) {
        const resp_nv *f = &nv[i];
        uint32_t hash = field_hash(f), k = find(e, i, hash, f);
        unsigned s;
        if (k) {
            p = put_int(p, 0x80, 7, 62 + (e->seq - k)); /* the newest entry is 62 */
        } else if ((s = static_status(f))) {
            p = put_int(p, 0x80, 7, s);
            continue;
        } else {
            unsigned name = static_name(f);
            k = insert(e, hash, f);
            p = k ? put_int(p, 0x40, 6, name) : put_int(p, 0x00, 4, name); /* with or without indexing */
            if (!name)
                p = put_str(p, f->name, f->nlen);
            p = put_str(p, f->value, f->vlen);
        }
        if (i < HPK_MEMO)
            e->memo[i] = k;
    }
    return (size_t)(p - out);
}
