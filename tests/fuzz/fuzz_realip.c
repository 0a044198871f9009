/* tests/fuzz/fuzz_realip.c: libFuzzer target for realip_pick_lines over both syntaxes: bounds, an answer that is an address, and lines read as one comma-joined list. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/realip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The peer and the proxies trusted: 10.0.0.0/8 and 2001:db8::/32. */
static cidr trusted[2];

static void setup(void)
{
    char err[128];
    if (cidr_parse("10.0.0.0/8", &trusted[0], err, sizeof err) || cidr_parse("2001:db8::/32", &trusted[1], err, sizeof err))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready++)
        setup();
    if (size < 1 || size > 4096)
        return 0;
    enum realip_syntax syn = data[0] & 1 ? REALIP_FORWARDED : REALIP_LIST;
    /* The rest: header lines separated by '\n', each its own allocation so
     * that ASan sees any read past one. */
    char *lines[8];
    ep_str v[8];
    size_t n = 0;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (n < 8) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        lines[n] = malloc(len ? len : 1);
        memcpy(lines[n], p, len);
        v[n] = ep_str_make(lines[n], len);
        n++;
        if (!nl)
            break;
        p = nl + 1;
    }
    struct sockaddr_in peer = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000001) };
    struct sockaddr_storage got, joined;
    bool ok = realip_pick_lines(trusted, 2, (const struct sockaddr *)&peer, v, n, syn, &got);
    if (ok && got.ss_family != AF_INET && got.ss_family != AF_INET6)
        abort();
    if (syn == REALIP_LIST) { /* several lines are one list, joined by commas */
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += v[i].len + 1;
        char *all = malloc(total);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(all + k, v[i].p, v[i].len);
            k += v[i].len;
            if (i + 1 < n)
                all[k++] = ',';
        }
        bool ok2 = realip_pick(trusted, 2, (const struct sockaddr *)&peer, ep_str_make(all, k), syn, &joined);
        if (ok2 != ok || (ok && memcmp(&got, &joined, sizeof got) != 0))
            abort();
        free(all);
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    return 0;
}
