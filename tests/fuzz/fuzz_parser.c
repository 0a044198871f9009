/* tests/fuzz/fuzz_parser.c: libFuzzer target checking hp_parse_request, hp_analyze and hp_chunked_skip invariants. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hp_request req, req2;

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void check_slice(ep_str s, const char *base, size_t len)
{
    CHECK(s.p >= base && s.len <= len && (size_t)(s.p - base) <= len - s.len);
}

/* Slices of req (parsed from a) and req2 (parsed from b) sit at the same offsets. */
static void check_same(const char *a, const char *b)
{
    CHECK(req.nheaders == req2.nheaders && req.minor == req2.minor);
    CHECK(req.method.p - a == req2.method.p - b && req.method.len == req2.method.len);
    CHECK(req.target.p - a == req2.target.p - b && req.target.len == req2.target.len);
    for (size_t i = 0; i < req.nheaders; i++) {
        const hp_header *x = &req.headers[i], *y = &req2.headers[i];
        CHECK(x->name.p - a == y->name.p - b && x->name.len == y->name.len);
        CHECK(x->value.p - a == y->value.p - b && x->value.len == y->value.len);
    }
}

static void check_head(const char *buf, size_t size, size_t k)
{
    int r = hp_parse_request(buf, size, &req);
    CHECK(r > 0 || r == HP_INCOMPLETE || r == HP_INVALID || r == HP_TOO_MANY_HEADERS);
    if (r > 0) {
        CHECK((size_t)r <= size && req.nheaders <= HP_MAX_HEADERS);
        CHECK(req.minor == 0 || req.minor == 1);
        CHECK(req.method.len > 0 && req.target.len > 0);
        check_slice(req.method, buf, (size_t)r);
        check_slice(req.target, buf, (size_t)r);
        for (size_t i = 0; i < req.nheaders; i++) {
            check_slice(req.headers[i].name, buf, (size_t)r);
            check_slice(req.headers[i].value, buf, (size_t)r);
            CHECK(req.headers[i].name.len > 0);
        }
        hp_info info;
        int st = hp_analyze(&req, &info);
        CHECK(st == 0 || st == 400 || st == 417 || st == 501);
        if (st == 0) {
            CHECK(!(info.chunked && info.content_length >= 0));
            CHECK(req.minor == 1 || !info.chunked);
        }
    }

    /* A prefix (in an exact-size copy, so ASan sees overreads) is either
     * INCOMPLETE or already gives the full input's answer. */
    char *copy = malloc(k ? k : 1);
    CHECK(copy);
    memcpy(copy, buf, k);
    int rk = hp_parse_request(copy, k, &req2);
    if (r > 0)
        CHECK((size_t)k < (size_t)r ? rk == HP_INCOMPLETE : rk == r);
    else
        CHECK(rk == HP_INCOMPLETE || rk == r);
    if (r > 0 && rk == r)
        check_same(buf, copy);
    free(copy);
}

typedef struct {
    bool invalid, done;
    size_t consumed;
} skip_result;

/* Feed buf in pieces of `step` bytes (the first one `first` bytes). */
static skip_result skip_pieces(const char *buf, size_t size, size_t first, size_t step)
{
    hp_chunked c = { 0 };
    skip_result res = { false, false, 0 };
    size_t pos = 0, n = first;
    while (pos < size) {
        if (n > size - pos)
            n = size - pos;
        char *piece = malloc(n ? n : 1);
        CHECK(piece);
        memcpy(piece, buf + pos, n);
        bool done = true; /* must be overwritten */
        ssize_t r = hp_chunked_skip(&c, piece, n, &done);
        free(piece);
        if (r == HP_INVALID) {
            CHECK(!done);
            res.invalid = true;
            return res;
        }
        CHECK(r >= 0 && (size_t)r <= n);
        CHECK(done || (size_t)r == n); /* only a finished body leaves bytes over */
        res.consumed += (size_t)r;
        if (done) {
            res.done = true;
            return res;
        }
        pos += n;
        n = step;
    }
    return res;
}

static void check_chunked(const char *buf, size_t size, size_t k)
{
    skip_result whole = skip_pieces(buf, size, size, size);
    skip_result split = skip_pieces(buf, size, k, size);
    CHECK(whole.invalid == split.invalid && whole.done == split.done);
    CHECK(whole.invalid || whole.consumed == split.consumed);
    if (size <= 4096) {
        skip_result bytes = skip_pieces(buf, size, 1, 1);
        CHECK(whole.invalid == bytes.invalid && whole.done == bytes.done);
        CHECK(whole.invalid || whole.consumed == bytes.consumed);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    /* The split point comes from the last byte so the head keeps its start. */
    size_t k = size ? (size_t)data[size - 1] * (size + 1) / 256 : 0;

    check_head(buf, size, k);
    int r = hp_parse_request(buf, size, &req);
    if (r > 0)
        check_chunked(buf + r, size - (size_t)r, k > (size_t)r ? k - (size_t)r : 0);
    check_chunked(buf, size, k);
    return 0;
}
