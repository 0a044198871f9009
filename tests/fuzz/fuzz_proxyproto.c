/* tests/fuzz/fuzz_proxyproto.c: libFuzzer target for pp_parse: bounds, and the prefix contract (a header is found at the same length in any longer input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/proxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp_header h;
    int n = pp_parse(data, size, &h);
    if (n < PP_INVALID || (n > 0 && (size_t)n > size) || n > PP_V2_MAX)
        abort();
    if (n > 0) {
        /* Every shorter prefix asks for more; the header alone parses alike. */
        pp_header g;
        for (size_t k = 0; k < (size_t)n; k++)
            if (pp_parse(data, k, &g) != PP_INCOMPLETE)
                abort();
        if (pp_parse(data, (size_t)n, &g) != n || g.local != h.local ||
            (!h.local && (memcmp(&g.src, &h.src, sizeof g.src) || memcmp(&g.dst, &h.dst, sizeof g.dst))))
            abort();
        if (!h.local && h.src.ss_family != AF_INET && h.src.ss_family != AF_INET6)
            abort();
    }
    return 0;
}
