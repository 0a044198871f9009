/* util/escape.h: bytes written into a log line so that no request can forge or break one. */
#ifndef EP_UTIL_ESCAPE_H
#define EP_UTIL_ESCAPE_H

#include <stddef.h>

#include "util/str.h"

/* Quotes, backslashes and bytes outside printable ASCII become \xHH, as in
 * nginx's logs. Writes as many whole bytes of s as fit in room bytes of out;
 * returns the bytes written and sets *used to the bytes of s they cover. */
size_t esc_log(ep_str s, char *out, size_t room, size_t *used);
/* The length of s so escaped, counted no further than past limit. */
size_t esc_log_len(ep_str s, size_t limit);

#endif
