/* util/escape.h: bytes written into a log line so that no request can forge or break one. */
#ifndef EP_UTIL_ESCAPE_H
#define EP_UTIL_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/str.h"

/* Quotes, backslashes and bytes outside printable ASCII become \xHH, as in
 * nginx's logs. Writes as many whole bytes of s as fit in room bytes of out;
 * returns the bytes written and sets *used to the bytes of s they cover. */
size_t esc_log(ep_str s, char *out, size_t room, size_t *used);
/* The length of s so escaped, counted no further than past limit. */
size_t esc_log_len(ep_str s, size_t limit);

/* The length of the well-formed UTF-8 sequence at s (n > 0 bytes left), or
 * 0 with *bad = the bytes one U+FFFD stands for: the longest start of a
 * sequence that could still have been well formed ("maximal subpart", as
 * Unicode and WHATWG decoders count them). Well formed: shortest form, no
 * surrogates, nothing above U+10FFFF (Unicode table 3-7). */
size_t esc_utf8_len(const unsigned char *s, size_t n, size_t *bad);
bool esc_is_utf8(ep_str s);

/* The inside of a JSON string, valid UTF-8 whatever the bytes: '"', '\\'
 * and controls escaped (\u00XX), well-formed UTF-8 as it is, each
 * ill-formed part as \ufffd. As esc_log: as many whole sequences as fit in
 * room (at least 6 bytes of room make progress), *used the bytes of s they
 * cover. */
size_t esc_json(ep_str s, char *out, size_t room, size_t *used);
/* The length of s so escaped, counted no further than past limit. */
size_t esc_json_len(ep_str s, size_t limit);

#endif
