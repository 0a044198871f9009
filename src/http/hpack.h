/* http/hpack.h: an HPACK encoder (RFC 7541) for response heads, ours: raw strings, the dynamic table doing the compressing.
 *
 * nghttp2's deflater was 12% of a small HTTP/2 response's CPU (Huffman
 * coding of every new string, a hash map and a buffer chain per block). A
 * server sends the same fields again and again (server, date within a
 * second, content-type, a file's ETag and length), so the dynamic table
 * does the work: a field sent before is one or two bytes; a new one goes
 * in as a literal with incremental indexing, its strings raw (Huffman
 * would save about a fifth of the bytes of a field's first sending).
 * Finding a field: first where the previous block had a field at the same
 * position (responses repeat in order), then the whole table. Values longer
 * than HPK_INDEX_MAX are sent without indexing, not to push the others
 * out. Pure: no I/O; the table's strings are malloc'd, one per entry. */
#ifndef EP_HTTP_HPACK_H
#define EP_HTTP_HPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/response.h"

#define HPK_TABLE 4096    /* the largest dynamic table we use (the protocol's default) */
#define HPK_ENTRIES 128   /* HPK_TABLE / 32: no more entries can fit */
#define HPK_INDEX_MAX 256 /* the longest value indexed */
#define HPK_MEMO 24       /* field positions remembered */

typedef struct {
    uint32_t hash;
    uint16_t nlen, vlen;
    char *p; /* name then value */
} hpk_entry;

typedef struct {
    hpk_entry *ent;      /* HPK_ENTRIES, a ring by sequence number; NULL until the first insertion */
    uint32_t seq;        /* the next entry's sequence number */
    uint32_t count;      /* live entries: seq - count .. seq - 1 */
    uint32_t size;       /* RFC 7541 4.1: the entries' lengths + 32 each */
    uint32_t max;        /* the maximum size we use now */
    uint32_t low;        /* the smallest limit since the last block, */
    bool update;         /* ... to be signalled at the next block's start */
    uint32_t memo[HPK_MEMO]; /* sequence number + 1 of the entry last used at each position; 0: none */
} hpk_enc;

void hpk_init(hpk_enc *e);
void hpk_free(hpk_enc *e);

/* The client's SETTINGS_HEADER_TABLE_SIZE is now limit. 0, or -1: out of memory. */
void hpk_set_limit(hpk_enc *e, uint32_t limit);

/* The most bytes hpk_encode writes for these fields. */
size_t hpk_bound(const resp_nv *nv, size_t n);

/* One header block of n fields (names in lower case) into out (at least
 * hpk_bound bytes). Returns the bytes written. */
size_t hpk_encode(hpk_enc *e, uint8_t *out, const resp_nv *nv, size_t n);

#endif
