/* tests/unit/test_plan.c: the response-plan builder: segments, the Content-Length they imply, and what 204, 304 and HEAD leave of them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/plan.h"

static const char mem[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* One append: a memory slice of mem at off, or a file range. */
typedef struct {
    char kind; /* 'm' memory, 'f' file, 0: end of list */
    off_t off;
    size_t len;
} add;

typedef struct {
    const char *what;
    int status;
    bool head_only;
    add adds[8];
    int64_t content_length; /* -1: no Content-Length */
    size_t nseg;            /* segments left after sealing */
} seal_case;

static const seal_case cases[] = {
    { "one memory slice", 200, false, { { 'm', 0, 10 } }, 10, 1 },
    { "one file range", 200, false, { { 'f', 0, 4096 } }, 4096, 1 },
    { "an empty body still says Content-Length: 0 (RFC 9110 8.6)", 200, false, { { 0 } }, 0, 0 },
    { "zero-length slices and ranges are not segments", 200, false,
      { { 'm', 0, 0 }, { 'f', 7, 0 }, { 'm', 3, 2 }, { 'f', 100, 0 } }, 2, 1 },
    { "multipart: part heads between file ranges", 206, false,
      { { 'm', 0, 5 }, { 'f', 0, 100 }, { 'm', 5, 5 }, { 'f', 900, 100 }, { 'm', 10, 7 } }, 217, 5 },
    { "an error page", 404, false, { { 'm', 0, 36 } }, 36, 1 },
    { "204: no body, and no length (RFC 9110 15.3.5)", 204, false, { { 'm', 0, 3 } }, -1, 0 },
    { "204 to HEAD: the same", 204, true, { { 'm', 0, 3 } }, -1, 0 },
    { "304: no body, no length, the validators say it all (RFC 9110 15.4.5)", 304, false,
      { { 'f', 0, 4096 } }, -1, 0 },
    { "304 to HEAD", 304, true, { { 'f', 0, 4096 } }, -1, 0 },
    { "HEAD keeps the length GET would get and drops the body (RFC 9110 9.3.2)", 200, true,
      { { 'f', 0, 4096 } }, 4096, 0 },
    { "HEAD of an error page", 404, true, { { 'm', 0, 36 } }, 36, 0 },
    { "HEAD of a multipart body", 206, true, { { 'm', 0, 5 }, { 'f', 0, 100 }, { 'm', 5, 5 } }, 110, 0 },
};

/* Append rows until kind 0; returns how many segments should be there. */
static size_t append(http_plan *p, const add *a, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < max && a[i].kind; i++) {
        if (a[i].kind == 'm')
            plan_mem(p, mem + a[i].off, a[i].len);
        else
            plan_file(p, a[i].off, a[i].len);
        n += a[i].len > 0;
    }
    return n;
}

/* The segments before sealing: the appends in order, empty ones skipped. */
static void assert_segments(const http_plan *p, const add *a, size_t max)
{
    size_t k = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < max && a[i].kind; i++) {
        if (a[i].len == 0)
            continue;
        const plan_seg *s = &p->seg[k++];
        assert_int_equal(s->len, a[i].len);
        if (a[i].kind == 'm') {
            assert_ptr_equal(s->mem, mem + a[i].off);
        } else {
            assert_null(s->mem);
            assert_int_equal(s->off, a[i].off);
        }
        total += a[i].len;
    }
    assert_int_equal(p->nseg, k);
    assert_int_equal(p->body_len, total);
}

static void test_seal_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const seal_case *c = &cases[i];
        http_plan p;
        plan_init(&p);
        plan_begin(&p, c->status, NULL, 0);
        size_t want = append(&p, c->adds, 8);
        assert_int_equal(p.nseg, want);
        assert_segments(&p, c->adds, 8);
        plan_seal(&p, c->head_only);
        if (p.f.content_length != c->content_length || p.nseg != c->nseg)
            fail_msg("%s: Content-Length %lld with %zu segments, expected %lld with %zu", c->what,
                     (long long)p.f.content_length, p.nseg, (long long)c->content_length, c->nseg);
        /* What is sent is what Content-Length says, HEAD aside. */
        if (!c->head_only && c->content_length >= 0)
            assert_int_equal(p.body_len, (uint64_t)c->content_length);
        assert_int_equal(p.status, c->status);
        plan_clear(&p);
    }
}

static void test_init_is_empty(void **state)
{
    (void)state;
    http_plan p;
    memset(&p, 0x5a, sizeof p); /* whatever was there before */
    plan_init(&p);
    assert_int_equal(p.fd, -1);
    assert_null(p.listing);
    assert_false(p.close);
    assert_int_equal(p.nseg, 0);
    assert_int_equal(p.body_len, 0);
    assert_int_equal(p.f.content_length, -1);
    assert_int_equal(p.f.last_modified, -1);
    assert_int_equal(p.f.etag_size, -1);
    assert_int_equal(p.f.max_age, -1);
    assert_null(p.f.content_type);
    assert_null(p.f.location.p);
    assert_null(p.f.allow);
    assert_int_equal(p.f.nextra, 0);
    plan_clear(&p); /* nothing to free: must not touch a wild pointer */
}

/* An answer that replaces another (an error page after a file was opened)
 * starts a fresh head and body, but the file and listing stay the plan's
 * until the plan goes: the executor closes the one, plan_clear frees the
 * other. */
static void test_begin_keeps_fd_and_listing(void **state)
{
    (void)state;
    static const cfg_header extra[] = { { "X-A", "1", false }, { "X-B", "2", true } };
    http_plan p;
    plan_init(&p);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    char *listing = strdup("<ul></ul>");
    assert_non_null(listing);
    p.fd = fd;
    p.listing = listing;
    plan_begin(&p, 200, NULL, 0);
    p.f.content_type = "text/html";
    p.f.last_modified = 1000;
    p.f.allow = "GET";
    plan_mem(&p, listing, strlen(listing));
    plan_file(&p, 0, 10);
    plan_seal(&p, false);
    assert_int_equal(p.f.content_length, (int64_t)strlen(listing) + 10);

    plan_begin(&p, 404, extra, 2);
    assert_int_equal(p.status, 404);
    assert_int_equal(p.fd, fd);
    assert_ptr_equal(p.listing, listing);
    assert_int_equal(p.nseg, 0);
    assert_int_equal(p.body_len, 0);
    assert_int_equal(p.f.content_length, -1);
    assert_null(p.f.content_type);
    assert_int_equal(p.f.last_modified, -1);
    assert_null(p.f.allow);
    assert_ptr_equal(p.f.extra, extra);
    assert_int_equal(p.f.nextra, 2);
    plan_mem(&p, mem, 5);
    plan_seal(&p, false);
    assert_int_equal(p.f.content_length, 5);

    plan_clear(&p);
    assert_null(p.listing);
    /* plan_clear leaves the file to the executor: still open. */
    assert_int_equal(p.fd, fd);
    assert_true(fcntl(fd, F_GETFD) >= 0);
    close(fd);
}

/* A plan that is full takes no more: what it says it sends is still what
 * its segments hold. */
static void test_full_plan_stays_consistent(void **state)
{
    (void)state;
    http_plan p;
    plan_init(&p);
    plan_begin(&p, 206, NULL, 0);
    for (size_t i = 0; i < PLAN_MAX_SEGS + 3; i++)
        plan_file(&p, (off_t)(i * 10), 3);
    assert_int_equal(p.nseg, PLAN_MAX_SEGS);
    plan_seal(&p, false);
    uint64_t total = 0;
    for (size_t i = 0; i < p.nseg; i++)
        total += p.seg[i].len;
    assert_int_equal(p.f.content_length, (int64_t)total);
    assert_int_equal(total, 3 * PLAN_MAX_SEGS);
    plan_clear(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_table),
        cmocka_unit_test(test_init_is_empty),
        cmocka_unit_test(test_begin_keeps_fd_and_listing),
        cmocka_unit_test(test_full_plan_stays_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
