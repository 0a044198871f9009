/* util/str.h: a borrowed byte slice and the few helpers every module needs. */
#ifndef EP_UTIL_STR_H
#define EP_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* A pointer into someone else's buffer; never owns, never NUL-terminated. */
typedef struct {
    const char *p;
    size_t len;
} ep_str;

#define EP_STR_LIT(s) ((ep_str){ (s), sizeof(s) - 1 })

static inline ep_str ep_str_make(const char *p, size_t len) { return (ep_str){ p, len }; }

static inline bool ep_str_eq(ep_str a, const char *lit)
{
    size_t n = strlen(lit);
    return a.len == n && (n == 0 || memcmp(a.p, lit, n) == 0);
}

static inline bool ep_str_ieq(ep_str a, const char *lit)
{
    size_t n = strlen(lit);
    return a.len == n && (n == 0 || strncasecmp(a.p, lit, n) == 0);
}

#define EP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define EP_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
