/* util/escape.c: \xHH escaping shared by the access log and the error log. */
#include "util/escape.h"

#include <stdbool.h>
#include <string.h>

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

size_t esc_utf8_len(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return *bad = 1, 0;
    for (size_t k = 1; k < len; k++, lo = 0x80, hi = 0xBF)
        if (k >= n || s[k] < lo || s[k] > hi)
            return *bad = k, 0;
    return len;
}

bool esc_is_utf8(ep_str s)
{
    size_t bad;
    for (size_t i = 0, len; i < s.len; i += len)
        if (!(len = esc_utf8_len((const unsigned char *)s.p + i, s.len - i, &bad)))
            return false;
    return true;
}

/* One sequence of s at i: its escaped form into esc (at most 6 bytes, or
 * the sequence itself when *as_is), its length in s into *len. */
static size_t json_one(ep_str s, size_t i, char esc[6], bool *as_is, size_t *len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)s.p[i];
    size_t bad = 0;
    *as_is = false;
    if (!(*len = esc_utf8_len((const unsigned char *)s.p + i, s.len - i, &bad))) {
        *len = bad;
        memcpy(esc, "\\ufffd", 6);
        return 6;
    }
    if (c < 0x20) {
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        return 6;
    }
    if (c == '"' || c == '\\') {
        esc[0] = '\\';
        esc[1] = (char)c;
        return 2;
    }
    *as_is = true;
    return *len;
}

size_t esc_json(ep_str s, char *out, size_t room, size_t *used)
{
    size_t n = 0, i = 0;
    while (i < s.len) {
        char esc[6];
        bool as_is;
        size_t len, k = json_one(s, i, esc, &as_is, &len);
        if (n + k > room)
            break;
        memcpy(out + n, as_is ? s.p + i : esc, k);
        n += k;
        i += len;
    }
    *used = i;
    return n;
}

size_t esc_json_len(ep_str s, size_t limit)
{
    size_t whole = 0;
    for (size_t i = 0, len; i < s.len && whole <= limit; i += len) {
        char esc[6];
        bool as_is;
        whole += json_one(s, i, esc, &as_is, &len);
    }
    return whole;
}
