/* tests/unit/test_access.c: access log lines: Combined Log Format, escaping, long fields cut (never a line dropped). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/access.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    strcpy(path, "/tmp/ephttpd-access-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return unlink(path);
}

static struct sockaddr_storage peer4(const char *addr)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
    return ss;
}

/* The whole log file (malloc'd), after the lines were written and flushed. */
static char *written(const access_entry *e, size_t n)
{
    access_log al;
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(access_log_open(&al, path, 128 * 1024), 0);
    for (size_t i = 0; i < n; i++)
        access_log_write(&al, &e[i]);
    access_log_close(&al);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

/* A line of the Combined Log Format: one line, six quotes (three quoted
 * fields: no quote inside one), printable ASCII only. */
static void assert_clf_line(const char *line, size_t len)
{
    size_t quotes = 0;
    assert_true(len > 0 && line[len - 1] == '\n');
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (ch < 0x20 || ch >= 0x7f)
            fail_msg("byte 0x%02x at %zu", ch, i);
        quotes += ch == '"';
    }
    assert_int_equal(quotes, 6);
}

/* The n-th quoted field (0: request line, 1: referer, 2: user agent) of a
 * line, into a malloc'd string. */
static char *field(const char *line, int n)
{
    const char *p = line;
    for (int i = 0; i < 2 * n + 1; i++)
        p = strchr(p, '"') + 1;
    const char *end = strchr(p, '"');
    return strndup(p, (size_t)(end - p));
}

static ep_str str_of(const char *s, size_t n)
{
    return ep_str_make(s, n);
}

static void test_line(void **state)
{
    (void)state;
    struct sockaddr_storage ss = peer4("192.0.2.1");
    static const char ua[] = "curl/8 \"quoted\" back\\slash \x01\xff";
    access_entry e = { .peer = (const struct sockaddr *)&ss, .when = 784111777, .request_line = str_of("GET / HTTP/1.1", 14),
                       .status = 200, .bytes = 5, .user_agent = str_of(ua, sizeof ua - 1) };
    char *text = written(&e, 1);
    assert_string_equal(text, "192.0.2.1 - - [06/Nov/1994:08:49:37 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" "
                              "\"curl/8 \\x22quoted\\x22 back\\x5Cslash \\x01\\xFF\"\n");
    free(text);
}

/* A field up to ACCESS_FIELD_MAX bytes (as written) is whole; one byte more
 * and it is cut, at a whole byte, and says how much was left out. */
static void test_field_limit(void **state)
{
    (void)state;
    struct sockaddr_storage ss = peer4("192.0.2.1");
    char *big = malloc(2 * ACCESS_FIELD_MAX);
    assert_non_null(big);
    memset(big, 'A', ACCESS_FIELD_MAX + 1);
    access_entry e[2] = {
        { .peer = (const struct sockaddr *)&ss, .when = 0, .status = 200, .user_agent = str_of(big, ACCESS_FIELD_MAX) },
        { .peer = (const struct sockaddr *)&ss, .when = 0, .status = 200, .user_agent = str_of(big, ACCESS_FIELD_MAX + 1) },
    };
    char *text = written(e, 2);
    char *nl = strchr(text, '\n');
    char *ua = field(text, 2);
    assert_int_equal(strlen(ua), ACCESS_FIELD_MAX);
    assert_null(strstr(ua, "..."));
    free(ua);
    ua = field(nl + 1, 2);
    char want[64];
    snprintf(want, sizeof want, "...[+%d bytes]", ACCESS_FIELD_MAX + 1 - (ACCESS_FIELD_MAX - 32));
    assert_int_equal(strlen(ua), ACCESS_FIELD_MAX - 32 + strlen(want));
    assert_string_equal(ua + ACCESS_FIELD_MAX - 32, want);
    free(ua);
    free(text);

    /* An escape is never split: 'A's up to two bytes short of the room,
     * then bytes that take four. */
    size_t room = ACCESS_FIELD_MAX - 32;
    memset(big, 'A', room - 2);
    memset(big + room - 2, 0xff, 100);
    e[0].user_agent = str_of(big, room - 2 + 100);
    text = written(e, 1);
    ua = field(text, 2);
    snprintf(want, sizeof want, "...[+100 bytes]");
    assert_int_equal(strlen(ua), room - 2 + strlen(want));
    assert_string_equal(ua + room - 2, want);
    free(ua);
    free(text);
    free(big);
}

/* The lines the buffer could not hold before: a 40 KB User-Agent, and a
 * megabyte in each field, all of it bytes that escape to four. Each gets
 * its line, a valid one, in order. */
static void test_huge_fields(void **state)
{
    (void)state;
    struct sockaddr_storage ss = peer4("198.51.100.7");
    size_t mb = 1 << 20;
    char *ua = malloc(40 * 1024), *junk = malloc(mb);
    assert_non_null(ua);
    assert_non_null(junk);
    memset(ua, 'U', 40 * 1024);
    memset(junk, 0xff, mb);
    access_entry e[8];
    for (size_t i = 0; i < 8; i++)
        e[i] = (access_entry){ .peer = (const struct sockaddr *)&ss, .when = 0, .status = 200 + (int)i, .bytes = i,
                               .request_line = str_of(junk, i % 2 ? mb : 14),
                               .referer = str_of(junk, i % 2 ? mb : 0),
                               .user_agent = str_of(i % 2 ? junk : ua, i % 2 ? mb : 40 * 1024) };
    char *text = written(e, 8);
    const char *line = text;
    for (int i = 0; i < 8; i++) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        size_t len = (size_t)(nl - line) + 1;
        assert_true(len <= ACCESS_LINE_MAX);
        assert_clf_line(line, len);
        char status[8];
        snprintf(status, sizeof status, "\" %d ", 200 + i);
        assert_non_null(strstr(line, status));
        char *f = field(line, 2);
        if (i % 2) {
            assert_true(strlen(f) <= ACCESS_FIELD_MAX);
            assert_int_equal(strncmp(f, "\\xFF\\xFF", 8), 0);
            assert_non_null(strstr(f, "...[+"));
        } else {
            char want[32];
            snprintf(want, sizeof want, "...[+%d bytes]", 40 * 1024 - (ACCESS_FIELD_MAX - 32));
            assert_string_equal(f + ACCESS_FIELD_MAX - 32, want);
        }
        free(f);
        line = nl + 1;
    }
    assert_int_equal(*line, '\0');
    free(text);
    free(ua);
    free(junk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line),
        cmocka_unit_test(test_field_limit),
        cmocka_unit_test(test_huge_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
