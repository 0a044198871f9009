/* tests/fuzz/fuzz_uri.c: libFuzzer target for uri_host, uri_split + uri_decode_path and their invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static void check_normalised(const char *out, size_t outlen, size_t cap)
{
    check(outlen < cap);
    check(outlen >= 1 && out[0] == '/');
    check(out[outlen] == '\0');
    check(memchr(out, '\0', outlen) == NULL);
    for (size_t i = 0; i < outlen; i++) {
        unsigned char c = (unsigned char)out[i];
        check(c >= 0x20 && c != 0x7f);
    }
    /* Search with the NUL-terminated string: no embedded NUL was checked above. */
    check(strstr(out, "//") == NULL);
    check(strstr(out, "/./") == NULL);
    check(strstr(out, "/../") == NULL);
    check(!(outlen >= 2 && memcmp(out + outlen - 2, "/.", 2) == 0));
    check(!(outlen >= 3 && memcmp(out + outlen - 3, "/..", 3) == 0));
}

/* The same bytes as a Host value: a name uri_host accepts is a slice of
 * the input with none of the bytes that could turn $host into another URL. */
static void check_host(const char *in, size_t size)
{
    ep_str name;
    int r = uri_host(ep_str_make(in, size), &name);
    check(r == 0 || r == 400);
    if (r != 0)
        return;
    check(name.len > 0 && name.p >= in && name.p + name.len <= in + size);
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.p[i];
        check(c > 0x20 && c < 0x7f && c != '/' && c != '\\' && c != '@');
        check(!(c == '.' && i + 1 < name.len && name.p[i + 1] == '.'));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so ASan sees any read past the slice. */
    char *in = malloc(size ? size : 1);
    ep_str host, path, query;

    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);
    check_host(in, size);
    int r = uri_split(ep_str_make(in, size), &host, &path, &query);
    if (r != 0) {
        check(r == 400);
        free(in);
        return 0;
    }
    check(path.len >= 1 && path.p[0] == '/');
    check(ep_str_eq(path, "/") || (path.p >= in && path.p + path.len <= in + size));
    check(query.len == 0 || (query.p > in && query.p + query.len <= in + size));
    check(host.len == 0 || (host.p > in && host.p + host.len <= in + size));

    size_t cap = path.len + 1, outlen = 0;
    char *out = malloc(cap);
    if (out) {
        r = uri_decode_path(path.p, path.len, out, cap, &outlen);
        check(r == 0 || r == 400);
        if (r == 0) {
            check_normalised(out, outlen, cap);
            /* Idempotent: a normalised path that contains no '%' decodes to itself. */
            if (!memchr(out, '%', outlen)) {
                char *again = malloc(outlen + 1);
                size_t len2 = 0;
                if (again) {
                    check(uri_decode_path(out, outlen, again, outlen + 1, &len2) == 0);
                    check(len2 == outlen && memcmp(again, out, outlen + 1) == 0);
                    free(again);
                }
            }
        }
        free(out);
    }
    /* A cap one byte short must be refused, never overrun. */
    if (path.len > 0) {
        char *tight = malloc(path.len);
        if (tight) {
            check(uri_decode_path(path.p, path.len, tight, path.len, &outlen) != 0);
            free(tight);
        }
    }
    free(in);
    return 0;
}
