/* tests/unit/test_status.c: the status page's bodies: nginx's stub_status bytes, Prometheus text, JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/status.h"

/* Two workers' counts over two servers, one with a name that needs escaping. */
static mx_region *fixture(void)
{
    mx_region *r = mx_open();
    assert_non_null(r);
    assert_int_equal(mx_intern(r, "example.org"), 0);
    assert_int_equal(mx_intern(r, "we\"ird\\na\nme"), 1);
    int a = mx_slot_take(r, -1), b = mx_slot_take(r, -1);
    r->slots[a].pid = 100;
    r->slots[b].pid = 101;
    mx_counters *x = &r->slots[a].c, *y = &r->slots[b].c;
    x->accepted = 16630948, x->handled = 16630948, x->requests = 31070465;
    x->reading = 6, x->writing = 179, x->waiting = 100;
    y->waiting = 6;
    x->by_status[0][1] = 7, y->by_status[0][1] = 3, y->by_status[1][3] = 2;
    x->dur[0] = 4, x->dur[3] = 1, y->dur[MX_DUR_BUCKETS - 1] = 2;
    x->dur_sum_ms = 12345;
    x->wq_wait_ns = 1500000000u, y->wq_run_ns = 7;
    r->reloads_ok = 2, r->reloads_failed = 1, r->restarts = 3, r->gen = 4;
    return r;
}

static char *render(const mx_region *r, enum cfg_status_page kind, const char **ctype)
{
    size_t len = 0;
    char *s = status_render(kind, r, &len, ctype);
    assert_non_null(s);
    char *z = malloc(len + 1); /* the body has no NUL of its own */
    memcpy(z, s, len);
    z[len] = '\0';
    assert_int_equal(strlen(z), len);
    free(s);
    return z;
}

/* nginx's documented example, byte for byte (trailing spaces included). */
static void test_stub(void **state)
{
    (void)state;
    mx_region *r = fixture();
    const char *ct;
    char *s = render(r, CFG_STATUS_STUB, &ct);
    assert_string_equal(s, "Active connections: 291 \n"
                           "server accepts handled requests\n"
                           " 16630948 16630948 31070465 \n"
                           "Reading: 6 Writing: 179 Waiting: 106 \n");
    assert_string_equal(ct, "text/plain");
    free(s);
    mx_close(r);
}

static void want_line(const char *body, const char *line)
{
    char *l = malloc(strlen(line) + 3);
    sprintf(l, "\n%s\n", line);
    if (!strstr(body, l))
        fail_msg("no line \"%s\" in:\n%s", line, body);
    free(l);
}

static void test_prometheus(void **state)
{
    (void)state;
    mx_region *r = fixture();
    const char *ct;
    char *s = render(r, CFG_STATUS_PROMETHEUS, &ct);
    assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert_true(strncmp(s, "# HELP ephttpd_build_info ", 26) == 0);
    want_line(s, "ephttpd_build_info{version=\"" EP_VERSION "\"} 1");
    want_line(s, "# TYPE ephttpd_requests_total counter");
    want_line(s, "ephttpd_requests_total{server=\"example.org\",code=\"2xx\"} 10");
    want_line(s, "ephttpd_requests_total{server=\"example.org\",code=\"5xx\"} 0");
    /* Label values escape backslash, quote and newline. */
    want_line(s, "ephttpd_requests_total{server=\"we\\\"ird\\\\na\\nme\",code=\"4xx\"} 2");
    assert_null(strstr(s, "(other)")); /* nothing counted there */
    want_line(s, "ephttpd_connections{state=\"waiting\"} 106");
    want_line(s, "ephttpd_connections_accepted_total 16630948");
    want_line(s, "ephttpd_reloads_total{result=\"ok\"} 2");
    want_line(s, "ephttpd_reloads_total{result=\"failed\"} 1");
    want_line(s, "ephttpd_worker_restarts_total 3");
    want_line(s, "ephttpd_generation 4");
    want_line(s, "ephttpd_workers 2");
    /* The histogram is cumulative and ends with +Inf = _count. */
    want_line(s, "# TYPE ephttpd_request_duration_seconds histogram");
    want_line(s, "ephttpd_request_duration_seconds_bucket{le=\"0.005\"} 4");
    want_line(s, "ephttpd_request_duration_seconds_bucket{le=\"0.025\"} 4");
    want_line(s, "ephttpd_request_duration_seconds_bucket{le=\"0.050\"} 5");
    want_line(s, "ephttpd_request_duration_seconds_bucket{le=\"10.000\"} 5");
    want_line(s, "ephttpd_request_duration_seconds_bucket{le=\"+Inf\"} 7");
    want_line(s, "ephttpd_request_duration_seconds_count 7");
    want_line(s, "ephttpd_request_duration_seconds_sum 12.345");
    want_line(s, "ephttpd_write_queue_wait_seconds_total 1.500000000");
    want_line(s, "ephttpd_write_queue_run_seconds_total 0.000000007");
    /* Every sample's metric has its HELP and TYPE before it. */
    for (char *p = s; *p; p = strchr(p, '\n') + 1) {
        if (*p != '#') {
            char name[128];
            size_t n = strcspn(p, "{ ");
            snprintf(name, sizeof name, "# TYPE %.*s ", (int)n, p);
            char *base = strstr(name, "_bucket ");
            if (!base)
                base = strstr(name, "_sum ");
            if (!base)
                base = strstr(name, "_count ");
            if (base && strstr(s, "histogram"))
                strcpy(base, " ");
            if (!strstr(s, name))
                fail_msg("no \"%s\" for %.*s", name, (int)n, p);
        }
        if (!strchr(p, '\n'))
            break;
    }
    assert_int_equal(s[strlen(s) - 1], '\n');
    free(s);
    mx_close(r);
}

static void test_other_server(void **state)
{
    (void)state;
    mx_region *r = fixture();
    r->slots[0].c.by_status[MX_SERVERS - 1][1] = 9;
    const char *ct;
    char *s = render(r, CFG_STATUS_PROMETHEUS, &ct);
    want_line(s, "ephttpd_requests_total{server=\"(other)\",code=\"2xx\"} 9");
    free(s);
    s = render(r, CFG_STATUS_JSON, &ct);
    assert_non_null(strstr(s, "\"(other)\":{\"1xx\":0,\"2xx\":9,"));
    free(s);
    mx_close(r);
}

static void test_json(void **state)
{
    (void)state;
    mx_region *r = fixture();
    const char *ct;
    char *s = render(r, CFG_STATUS_JSON, &ct);
    assert_string_equal(ct, "application/json");
    assert_true(s[0] == '{');
    assert_non_null(strstr(s, "\"connections\":{\"active\":291,\"reading\":6,\"writing\":179,\"waiting\":106,"
                              "\"accepted\":16630948,\"handled\":16630948},\"requests\":31070465"));
    assert_non_null(strstr(s, "\"example.org\":{\"1xx\":0,\"2xx\":10,\"3xx\":0,\"4xx\":0,\"5xx\":0}"));
    assert_non_null(strstr(s, "\"we\\\"ird\\\\na\\u000ame\":{"));
    assert_non_null(strstr(s, "\"request_duration_ms\":{\"buckets\":{\"5\":4,\"10\":0,\"25\":0,\"50\":1,"));
    assert_non_null(strstr(s, "\"+Inf\":2},\"sum\":12345}"));
    assert_non_null(strstr(s, "{\"slot\":0,\"pid\":100,"));
    assert_non_null(strstr(s, "{\"slot\":1,\"pid\":101,"));
    assert_non_null(strstr(s, "\"reloads\":{\"ok\":2,\"failed\":1},\"worker_restarts\":3"));
    /* A free slot is no worker of the list, but its totals count above. */
    mx_slot_free(r, 1);
    free(s);
    s = render(r, CFG_STATUS_JSON, &ct);
    assert_null(strstr(s, "\"pid\":101"));
    assert_non_null(strstr(s, "\"2xx\":10"));
    assert_string_equal(s + strlen(s) - 3, "]}\n");
    free(s);
    mx_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stub),
        cmocka_unit_test(test_prometheus),
        cmocka_unit_test(test_other_server),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
