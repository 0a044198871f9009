/* util/freelist.c: small blocks by size class, kept on free lists for reuse (see freelist.h). */
#include "util/freelist.h"

#include <stdlib.h>
#include <string.h>

/* Under ASan a block on a list is poisoned, and a block handed out is
 * addressable only for the size asked: use after free and overflows of
 * nghttp2's blocks stay visible, as with malloc's. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define FL_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define FL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define FL_POISON(p, n) ((void)(p), (void)(n))
#define FL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Every block starts with this header: its class, and for a block above
 * the classes its size (realloc must know how much to copy). 16 bytes keep
 * the caller's part aligned as malloc's is. */
typedef struct {
    uint32_t cls;
    uint32_t pad;
    uint64_t size;
} fl_head;

#define FL_BIG UINT32_MAX
#define FL_MIN 64

_Static_assert(sizeof(fl_head) == 16, "the header keeps 16-byte alignment");

static size_t fl_class_size(uint32_t c)
{
    return (size_t)FL_MIN << c;
}

/* The smallest class whose blocks hold size bytes and the header. */
static uint32_t fl_class_of(size_t size)
{
    if (size > fl_class_size(FL_CLASSES - 1) - sizeof(fl_head))
        return FL_BIG;
    uint32_t c = 0;
    while (fl_class_size(c) - sizeof(fl_head) < size)
        c++;
    return c;
}

void fl_init(freelist *fl, uint32_t max_per_class)
{
    memset(fl, 0, sizeof *fl);
    fl->max_per_class = max_per_class;
}

void fl_destroy(freelist *fl)
{
    for (int c = 0; c < FL_CLASSES; c++) {
        while (fl->head[c]) {
            void *next = *(void **)fl->head[c];
            free(fl->head[c]);
            fl->head[c] = next;
        }
        fl->n[c] = 0;
    }
}

void *fl_alloc(freelist *fl, size_t size)
{
    uint32_t c = fl_class_of(size);
    fl_head *h;
    if (c != FL_BIG && fl->head[c]) {
        h = fl->head[c];
        fl->head[c] = *(void **)h;
        fl->n[c]--;
        FL_UNPOISON(h + 1, size);
    } else {
        size_t total = c == FL_BIG ? size + sizeof *h : fl_class_size(c);
        if (total < size || !(h = malloc(total)))
            return NULL;
        if (c != FL_BIG)
            FL_POISON((char *)(h + 1) + size, total - sizeof *h - size);
    }
    h->cls = c;
    h->size = size;
    return h + 1;
}

void *fl_calloc(freelist *fl, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = fl_alloc(fl, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void fl_free(freelist *fl, void *ptr)
{
    if (!ptr)
        return;
    fl_head *h = (fl_head *)ptr - 1;
    uint32_t c = h->cls;
    if (c == FL_BIG || fl->n[c] >= fl->max_per_class) {
        free(h);
        return;
    }
    FL_POISON(h + 1, fl_class_size(c) - sizeof *h);
    *(void **)h = fl->head[c];
    fl->head[c] = h;
    fl->n[c]++;
}

void *fl_realloc(freelist *fl, void *ptr, size_t size)
{
    if (!ptr)
        return fl_alloc(fl, size);
    fl_head *h = (fl_head *)ptr - 1;
    if (h->cls != FL_BIG && fl_class_of(size) == h->cls) {
        FL_POISON(ptr, fl_class_size(h->cls) - sizeof *h);
        FL_UNPOISON(ptr, size);
        h->size = size;
        return ptr; /* the block already holds it */
    }
    void *p = fl_alloc(fl, size);
    if (!p)
        return NULL; /* ptr stays valid, as realloc's does */
    memcpy(p, ptr, h->size < size ? h->size : size);
    fl_free(fl, ptr);
    return p;
}
