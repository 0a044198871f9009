/* util/freelist.h: small blocks by size class, kept on free lists for reuse by a library that mallocs and frees a few per request. */
#ifndef EP_UTIL_FREELIST_H
#define EP_UTIL_FREELIST_H

#include <stddef.h>
#include <stdint.h>

/* nghttp2 allocates five small blocks per stream (57 to 506 bytes) and
 * frees them when the stream closes; with hundreds of streams at once,
 * glibc's per-thread cache (seven blocks a size) overflows and every one
 * goes through its locked slow path (8% of an HTTP/2 request's CPU). The
 * lists here have no such bound below max_per_class; blocks above the
 * largest class are plain malloc. Not thread-safe: only the loop uses it. */
#define FL_CLASSES 7 /* 64, 128, ... 4096 bytes, header included */

typedef struct {
    void *head[FL_CLASSES];
    uint32_t n[FL_CLASSES];
    uint32_t max_per_class;
} freelist;

void fl_init(freelist *fl, uint32_t max_per_class);
void fl_destroy(freelist *fl); /* frees the kept blocks; blocks in use stay the caller's */
void *fl_alloc(freelist *fl, size_t size);  /* NULL when out of memory */
void *fl_calloc(freelist *fl, size_t n, size_t size);
void *fl_realloc(freelist *fl, void *ptr, size_t size);
void fl_free(freelist *fl, void *ptr);

#endif
