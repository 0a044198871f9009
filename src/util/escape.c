/* util/escape.c: \xHH escaping shared by the access log and the error log. */
#include "util/escape.h"

#include <stdbool.h>

static bool needs_escape(unsigned char ch)
{
    return ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\';
}

size_t esc_log(ep_str s, char *out, size_t room, size_t *used)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0, i = 0;
    for (; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        bool esc = needs_escape(ch);
        if (n + (esc ? 4 : 1) > room)
            break;
        if (esc) {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        } else {
            out[n++] = (char)ch;
        }
    }
    *used = i;
    return n;
}

size_t esc_log_len(ep_str s, size_t limit)
{
    size_t whole = 0;
    for (size_t i = 0; i < s.len && whole <= limit; i++)
        whole += needs_escape((unsigned char)s.p[i]) ? 4 : 1;
    return whole;
}
