/* tests/unit/test_logformat.c: log_format compiling (every variable, the errors) and writing (escapes, cuts, bounds). */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "log/format.h"

static struct sockaddr_in peer4;

static ep_str S(const char *s)
{
    return ep_str_make(s, strlen(s));
}

static ep_str header(const lf_req *r, ep_str lname)
{
    (void)r;
    if (lname.len == 15 && strncmp(lname.p, "x-forwarded-for", 15) == 0)
        return S("203.0.113.9, 10.0.0.1");
    return S("");
}

static lf_req sample(void)
{
    peer4.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.7", &peer4.sin_addr);
    return (lf_req){ .peer = (const struct sockaddr *)&peer4, .when = 784111777,
                     .request_line = S("GET /a?b=1 HTTP/1.1"), .method = S("GET"), .uri = S("/a"),
                     .args = S("b=1"), .host = S("a.test"), .server_name = S("a.test"),
                     .referer = S(""), .user_agent = S("curl/7.88"), .status = 200, .bytes = 38,
                     .bytes_sent = 250, .ms = 1234, .server_port = 8080, .https = true, .connection = 17,
                     .connection_requests = 3, .header = header };
}

static char *line(const char *fmt, enum lf_escape esc, const lf_req *r)
{
    lf_format f;
    char err[256];
    if (lf_compile(&f, fmt, esc, err, sizeof err) < 0)
        fail_msg("%s: %s", fmt, err);
    char *out = malloc(f.line_max + 1);
    size_t n = lf_write(&f, r, out);
    assert_true(n <= f.line_max);
    out[n] = '\0';
    lf_free(&f);
    return out;
}

static void want(const char *fmt, enum lf_escape esc, const lf_req *r, const char *expect)
{
    char *got = line(fmt, esc, r);
    assert_string_equal(got, expect);
    free(got);
}

static void test_combined(void **state)
{
    (void)state;
    lf_req r = sample();
    want(LF_COMBINED, LF_ESC_DEFAULT, &r,
         "192.0.2.7 - - [06/Nov/1994:08:49:37 +0000] \"GET /a?b=1 HTTP/1.1\" 200 38 \"-\" \"curl/7.88\"\n");
}

static void test_every_variable(void **state)
{
    (void)state;
    lf_req r = sample();
    want("$time_iso8601|$request_time|$bytes_sent|$host|$server_name|$server_port|$scheme|$request_method|"
         "$uri|$args|$connection|$connection_requests|$http_x_forwarded_for|$http_X_Forwarded_For|$http_none",
         LF_ESC_DEFAULT, &r,
         "1994-11-06T08:49:37+00:00|1.234|250|a.test|a.test|8080|https|GET|/a|b=1|17|3|203.0.113.9, 10.0.0.1|"
         "203.0.113.9, 10.0.0.1|-\n");
    want("${status}ms ${body_bytes_sent}B", LF_ESC_DEFAULT, &r, "200ms 38B\n");
    char *pid = line("$pid $msec", LF_ESC_DEFAULT, &r), want_pid[32];
    snprintf(want_pid, sizeof want_pid, "%d ", (int)getpid());
    assert_true(strncmp(pid, want_pid, strlen(want_pid)) == 0);
    assert_non_null(strchr(pid + strlen(want_pid), '.'));
    free(pid);
    r.header = NULL; /* nothing to look headers up in */
    want("[$http_x_forwarded_for]", LF_ESC_DEFAULT, &r, "[-]\n");
    for (size_t i = 0; lf_var_names[i]; i++) { /* every name compiles */
        char fmt[64], err[128];
        lf_format f;
        snprintf(fmt, sizeof fmt, "${%s}", lf_var_names[i]);
        int rc = lf_compile(&f, fmt, LF_ESC_DEFAULT, err, sizeof err);
        assert_int_equal(rc, strcmp(lf_var_names[i], "http_") == 0 ? -1 : 0);
        if (rc == 0)
            lf_free(&f);
    }
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *fmt, *err;
    } cases[] = {
        { "$remote_addr $nope", "unknown variable \"$nope\"" },
        { "a $ b", "a \"$\" without a variable name at \"$ b\"" },
        { "cost: $", "a \"$\" without a variable name at \"$\"" },
        { "${status", "\"${\" without a closing \"}\" at \"${status\"" },
        { "${}", "a \"$\" without a variable name at \"${}\"" },
        { "$http_", "unknown variable \"$http_\"" },
        { "$Status", "unknown variable \"$Status\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lf_format f;
        char err[256] = "";
        assert_int_equal(lf_compile(&f, cases[i].fmt, LF_ESC_DEFAULT, err, sizeof err), -1);
        assert_string_equal(err, cases[i].err);
        assert_null(f.ops); /* nothing kept */
    }
}

static void test_escapes(void **state)
{
    (void)state;
    lf_req r = sample();
    r.user_agent = S("a\"b\\c\n\xff\xc3\xa9");
    r.referer = S("");
    want("\"$http_user_agent\" \"$http_referer\"", LF_ESC_DEFAULT, &r,
         "\"a\\x22b\\x5Cc\\x0A\\xFF\\xC3\\xA9\" \"-\"\n");
    want("{\"ua\":\"$http_user_agent\",\"ref\":\"$http_referer\"}", LF_ESC_JSON, &r,
         "{\"ua\":\"a\\\"b\\\\c\\u000a\\ufffd\xc3\xa9\",\"ref\":\"\"}\n");
    want("$http_user_agent", LF_ESC_NONE, &r, "a\"b\\c\\x0A\xff\xc3\xa9\n");
}

/* A value past LF_FIELD_MAX is cut with a marker; the longest line of a
 * format fits its line_max whatever every variable holds. */
static void test_bounds(void **state)
{
    (void)state;
    size_t big = 3 * LF_FIELD_MAX;
    char *junk = malloc(big);
    memset(junk, '\n', big); /* escapes to 4 or 6 bytes each */
    lf_req r = sample();
    ep_str j = ep_str_make(junk, big);
    r.request_line = r.method = r.uri = r.args = r.host = r.server_name = r.referer = r.user_agent = j;
    r.status = 999, r.bytes = r.bytes_sent = UINT64_MAX, r.ms = INT64_MAX, r.connection = UINT64_MAX;
    r.connection_requests = UINT64_MAX, r.server_port = 65535;
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
    memset(&v6.sin6_addr, 0xff, sizeof v6.sin6_addr);
    inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &v6.sin6_addr);
    r.peer = (const struct sockaddr *)&v6;
    char fmt[2048] = "";
    for (size_t i = 0; lf_var_names[i]; i++)
        if (strcmp(lf_var_names[i], "http_") != 0)
            snprintf(fmt + strlen(fmt), sizeof fmt - strlen(fmt), "$%s ", lf_var_names[i]);
    for (int esc = LF_ESC_DEFAULT; esc <= LF_ESC_NONE; esc++) {
        char *l = line(fmt, (enum lf_escape)esc, &r);
        char *ua = strstr(l, "...[+");
        assert_non_null(ua);
        assert_int_equal(strchr(l, '\n'), l + strlen(l) - 1); /* one line */
        free(l);
    }
    free(junk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_combined),
        cmocka_unit_test(test_every_variable),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
