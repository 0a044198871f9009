/* tests/unit/test_realip.c: the client behind trusted proxies (nginx's real_ip, recursive), and forged or broken headers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "http/realip.h"

static cidr T[3];

static int setup(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(cidr_parse("10.0.0.0/8", &T[0], err, sizeof err), 0);
    assert_int_equal(cidr_parse("2001:db8:ffff::/48", &T[1], err, sizeof err), 0);
    assert_int_equal(cidr_parse("127.0.0.1", &T[2], err, sizeof err), 0);
    return 0;
}

static const struct sockaddr *addr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    }
    return (const struct sockaddr *)ss;
}

/* The client realip_pick_lines names for peer and lines, or "-" for none. */
static const char *pick_as(enum realip_syntax syntax, const char *peer, const char *const *lines, size_t n)
{
    static char out[INET6_ADDRSTRLEN];
    struct sockaddr_storage p, got;
    ep_str v[8];
    for (size_t i = 0; i < n; i++)
        v[i] = ep_str_make(lines[i], strlen(lines[i]));
    if (!realip_pick_lines(T, 3, addr(peer, &p), v, n, syntax, &got))
        return "-";
    if (got.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&got)->sin_addr, out, sizeof out);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&got)->sin6_addr, out, sizeof out);
    return out;
}

static const char *pick(const char *peer, const char *const *lines, size_t n)
{
    return pick_as(REALIP_LIST, peer, lines, n);
}

#define ONE(peer, line) pick((peer), (const char *const[]){ (line) }, 1)
#define FWD(peer, line) pick_as(REALIP_FORWARDED, (peer), (const char *const[]){ (line) }, 1)

static void test_picks(void **state)
{
    (void)state;
    assert_string_equal(ONE("10.1.1.1", "203.0.113.9"), "203.0.113.9");
    /* from the right, trusted ones skipped: the client the first untrusted */
    assert_string_equal(ONE("10.1.1.1", "198.51.100.2, 203.0.113.9, 10.2.2.2"), "203.0.113.9");
    assert_string_equal(ONE("10.1.1.1", "  198.51.100.2 ,203.0.113.9,\t10.2.2.2 "), "203.0.113.9");
    /* all trusted: the leftmost */
    assert_string_equal(ONE("10.1.1.1", "10.9.9.9, 127.0.0.1"), "10.9.9.9");
    /* ports, brackets, IPv6 */
    assert_string_equal(ONE("127.0.0.1", "203.0.113.9:4431"), "203.0.113.9");
    assert_string_equal(ONE("127.0.0.1", "[2001:db8::7]:443, 10.0.0.1"), "2001:db8::7");
    assert_string_equal(ONE("2001:db8:ffff::1", "2001:db8::7"), "2001:db8::7");
    /* IPv4-mapped, unbracketed, as dual-stack proxies write an IPv4 client */
    assert_non_null(strstr(ONE("127.0.0.1", "::ffff:198.51.100.7"), "198.51.100.7"));
    assert_string_equal(ONE("127.0.0.1", "203.0.113.9:65535"), "203.0.113.9");
    /* several lines: as if joined, the last one nearest */
    assert_string_equal(pick("10.1.1.1", (const char *const[]){ "198.51.100.2", "10.3.3.3" }, 2), "198.51.100.2");
    assert_string_equal(pick("10.1.1.1", (const char *const[]){ "198.51.100.2", "203.0.113.9" }, 2), "203.0.113.9");
}

static void test_keeps_the_peer(void **state)
{
    (void)state;
    /* an untrusted peer may say anything: nothing changes */
    assert_string_equal(ONE("203.0.113.50", "10.1.1.1"), "-");
    /* broken or forged values change nothing */
    static const char *const bad[] = { "", " ", ",", "203.0.113.9,", "unknown", "203.0.113.9 198.51.100.2",
                                       "[2001:db8::7", "[2001:db8::7]x", "2001:db8::7]:1", "1.2.3.4.5", "1.2.3.4, -",
                                       "198.51.100.7:80:junk.x", "198.51.100.7:99999999", "198.51.100.7:65536",
                                       "198.51.100.7:", "[198.51.100.7]", "192.0.2.9:xyz", "192.0.2.9:1:2:3",
                                       "[2001:db8::7]:", "[2001:db8::7]:x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strcmp(ONE("10.1.1.1", bad[i]), "-") != 0)
            fail_msg("\"%s\" named a client", bad[i]);
    assert_string_equal(pick("10.1.1.1", NULL, 0), "-");
    /* what lies left of the client, the client wrote: not read */
    assert_string_equal(ONE("10.1.1.1", "- , 1.2.3.4"), "1.2.3.4");
    struct sockaddr_storage got;
    assert_false(realip_pick(T, 3, NULL, ep_str_make("1.2.3.4", 7), REALIP_LIST, &got));
    assert_false(realip_pick(T, 0, addr("10.1.1.1", &got), ep_str_make("1.2.3.4", 7), REALIP_LIST, &got));
}

/* RFC 7239's Forwarded: each element's "for", from the right as above. */
static void test_forwarded(void **state)
{
    (void)state;
    /* the RFC's own examples (section 4 and 7.1) */
    assert_string_equal(FWD("10.1.1.1", "for=\"_gazonk\", for=192.0.2.60"), "192.0.2.60");
    assert_string_equal(FWD("10.1.1.1", "For=\"[2001:db8:cafe::17]:4711\""), "2001:db8:cafe::17");
    assert_string_equal(FWD("10.1.1.1", "for=192.0.2.60;proto=http;by=203.0.113.43"), "192.0.2.60");
    assert_string_equal(FWD("10.1.1.1", "for=192.0.2.43, for=198.51.100.17"), "198.51.100.17");
    /* trusted hops skipped; all trusted: the leftmost */
    assert_string_equal(FWD("10.1.1.1", "for=198.51.100.17;proto=https, for=10.2.2.2"), "198.51.100.17");
    assert_string_equal(FWD("10.1.1.1", "for=10.9.9.9, for=\"127.0.0.1:80\""), "10.9.9.9");
    /* OWS around separators, quoted IPv4 with a port or an obfuscated port, escapes */
    assert_string_equal(FWD("10.1.1.1", " by=x ; for=\"192.0.2.5:8080\" ,\tfor=10.1.2.3 "), "192.0.2.5");
    assert_string_equal(FWD("10.1.1.1", "for=\"[2001:db8::9]:_p1\""), "2001:db8::9");
    assert_string_equal(FWD("10.1.1.1", "for=\"192.0.\\2.7\""), "192.0.2.7");
    /* several lines: as if joined */
    assert_string_equal(pick_as(REALIP_FORWARDED, "10.1.1.1",
                                (const char *const[]){ "for=198.51.100.2", "for=10.3.3.3;proto=https" }, 2),
                        "198.51.100.2");
    /* what the client wrote left of itself is not read */
    assert_string_equal(FWD("10.1.1.1", "garbage, for=unknown, for=198.51.100.9"), "198.51.100.9");
    /* broken, unknown or obfuscated hops nearer than the client change nothing */
    static const char *const bad[] = { "", "for=", "for=unknown", "for=_hidden", "for=198.51.100.1, for=_x",
                                       "proto=https", "for=1.2.3.4;for=5.6.7.8", "for=\"1.2.3.4",
                                       "for=[2001:db8::1]", "for=1.2.3.4 x", "for = 1.2.3.4",
                                       "for=\"[2001:db8::1]:_b/d\"", "for=198.51.100.1,", "198.51.100.1",
                                       "for=\"198.51.100.1:99999\"", "for=\"1234567890123456789012345678901234567890"
                                       "12345678901234567890123456789\"" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strcmp(FWD("10.1.1.1", bad[i]), "-") != 0)
            fail_msg("\"%s\" named a client", bad[i]);
    /* junk or an unterminated quote from the client never swallows the
     * element its proxy appended (review 22's F1) */
    static const char *const junk[] = { "@", "for=1.2.3.4:80", "for=\"x", "a=b c", "for=\"1.2.3.4, 5" };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "%s, for=198.51.100.77", junk[i]);
        if (strcmp(FWD("10.1.1.1", line), "198.51.100.77") != 0)
            fail_msg("\"%s\" hid the client", line);
    }
    /* an X-Forwarded-For list is no Forwarded value, and the other way round */
    assert_string_equal(FWD("10.1.1.1", "198.51.100.1, 10.0.0.2"), "-");
    assert_string_equal(ONE("10.1.1.1", "for=198.51.100.1"), "-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_picks),
        cmocka_unit_test(test_keeps_the_peer),
        cmocka_unit_test(test_forwarded),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
