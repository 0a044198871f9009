/* tests/unit/test_cidr.c: allow/deny networks: parsing, refusals and their messages, formatting, matching v4/v6/mapped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "util/cidr.h"

/* ---- Parse and format --------------------------------------------------- */

/* Accepted input, and how cidr_format writes it back (the canonical form). */
static const struct {
    const char *in, *out;
    int family, bits;
} good_rows[] = {
    { "all", "all", 0, 0 },
    { "10.0.0.0/8", "10.0.0.0/8", 4, 8 },
    { "192.168.1.7", "192.168.1.7", 4, 32 },
    { "192.168.1.7/32", "192.168.1.7", 4, 32 },
    { "0.0.0.0/0", "0.0.0.0/0", 4, 0 },
    { "172.16.0.0/12", "172.16.0.0/12", 4, 12 },
    { "10.1.2.0/23", "10.1.2.0/23", 4, 23 },
    { "10.0.0.0/08", "10.0.0.0/8", 4, 8 }, /* leading zero: still decimal 8 (as nginx) */
    { "::1", "::1", 6, 128 },
    { "::1/128", "::1", 6, 128 },
    { "::/0", "::/0", 6, 0 },
    { "2001:db8::/32", "2001:db8::/32", 6, 32 },
    { "2001:DB8:0:0::/64", "2001:db8::/64", 6, 64 },
    { "fe80::/10", "fe80::/10", 6, 10 },
    { "2001:db8::8000/113", "2001:db8::8000/113", 6, 113 },
    /* The IPv4-mapped range is IPv4: written (and matched) as such. */
    { "::ffff:10.0.0.0/104", "10.0.0.0/8", 4, 8 },
    { "::ffff:127.0.0.1", "127.0.0.1", 4, 32 },
    { "::FFFF:192.168.0.0/112", "192.168.0.0/16", 4, 16 },
    { "::ffff:0:0/96", "0.0.0.0/0", 4, 0 },
    { "0:0:0:0:0:ffff:0a00:0001", "10.0.0.1", 4, 32 },
    /* Next to it, still IPv6. */
    { "::/96", "::/96", 6, 96 },
    { "::fffe:0:0/95", "::fffe:0:0/95", 6, 95 },
    { "::1:ffff:0:0/96", "::1:ffff:0:0/96", 6, 96 },
};

static void test_parse_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof good_rows / sizeof good_rows[0]; i++) {
        cidr n;
        char err[128] = "", buf[64];
        if (cidr_parse(good_rows[i].in, &n, err, sizeof err) != 0)
            fail_msg("%s: refused: %s", good_rows[i].in, err);
        assert_int_equal(n.family, good_rows[i].family);
        assert_int_equal(n.bits, good_rows[i].bits);
        cidr_format(&n, buf, sizeof buf);
        assert_string_equal(buf, good_rows[i].out);

        /* The canonical form parses to the very same network. */
        cidr again;
        assert_int_equal(cidr_parse(buf, &again, err, sizeof err), 0);
        assert_memory_equal(&n, &again, sizeof n);
    }
}

static void test_parse_fields(void **state)
{
    (void)state;
    cidr n;
    char err[128];
    assert_int_equal(cidr_parse("10.20.30.0/24", &n, err, sizeof err), 0);
    static const uint8_t want4[16] = { 10, 20, 30, 0 };
    assert_memory_equal(n.addr, want4, 16); /* the rest zeroed: structs compare */
    assert_int_equal(cidr_parse("all", &n, err, sizeof err), 0);
    static const uint8_t zero[16] = { 0 };
    assert_memory_equal(n.addr, zero, 16);
}

/* Refused input and a piece of the message it must give. */
static const struct {
    const char *in, *why;
} bad_rows[] = {
    { "", "empty address" },
    { "10.0.0.1/8", "host bits set below the prefix; did you mean \"10.0.0.0/8\"?" },
    { "192.168.1.1/24", "did you mean \"192.168.1.0/24\"?" },
    { "10.1.3.0/23", "did you mean \"10.1.2.0/23\"?" },
    { "2001:db8::1/32", "did you mean \"2001:db8::/32\"?" },
    { "::1/0", "did you mean \"::/0\"?" },
    { "2001:db8::c000/113", "did you mean \"2001:db8::8000/113\"?" },
    { "::ffff:10.0.0.1/104", "did you mean \"::ffff:10.0.0.0/104\"?" }, /* in the form written */
    { "::ffff:0:0/95", "did you mean \"::fffe:0:0/95\"?" },
    { "10.0.0.0/33", "prefix length must be 0..32" },
    { "10.0.0.0/99999999999999999999", "prefix length must be 0..32" },
    { "::/129", "prefix length must be 0..128" },
    { "10.0.0.0/", "missing prefix length after \"/\"" },
    { "/8", "missing address before \"/\"" },
    { "/", "missing address before \"/\"" },
    { "10.0.0.0/08x", "prefix length is not a decimal number" },
    { "10.0.0.0/-1", "prefix length is not a decimal number" },
    { "10.0.0.0/+8", "prefix length is not a decimal number" },
    { "10.0.0.0/8/8", "prefix length is not a decimal number" },
    { "10.0.0.0/ 8", "prefix length is not a decimal number" },
    { "10.0.0.0/8 ", "prefix length is not a decimal number" },
    { " 10.0.0.0/8", "not an IPv4 or IPv6 address" },
    { "10.0.0.0 /8", "not an IPv4 or IPv6 address" },
    { "10.0.0. 0", "not an IPv4 or IPv6 address" },
    { "10.0.0", "not an IPv4 or IPv6 address" },
    { "10.0.0.256", "not an IPv4 or IPv6 address" },
    { "010.0.0.0", "not an IPv4 or IPv6 address" },
    { "example.org", "not an IPv4 or IPv6 address" },
    { "ALL", "not an IPv4 or IPv6 address" },
    { "all/8", "not an IPv4 or IPv6 address" },
    { "fe80::1%eth0", "not an IPv4 or IPv6 address" },
    { "[::1]", "not an IPv4 or IPv6 address" },
    { "1:2:3:4:5:6:7:8:9", "not an IPv4 or IPv6 address" },
    { "0000:0000:0000:0000:0000:ffff:255.255.255.255:1", "not an IPv4 or IPv6 address" },
};

static void test_parse_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
        cidr n;
        char err[160] = "";
        if (cidr_parse(bad_rows[i].in, &n, err, sizeof err) != -1)
            fail_msg("%s: accepted", bad_rows[i].in);
        if (!strstr(err, bad_rows[i].why))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad_rows[i].in, err, bad_rows[i].why);
        assert_null(strchr(err, '\n'));
    }
}

static void test_parse_message_shape(void **state)
{
    (void)state;
    cidr n;
    char err[160];
    assert_int_equal(cidr_parse("10.0.0.1/8", &n, err, sizeof err), -1);
    assert_string_equal(err, "\"10.0.0.1/8\": host bits set below the prefix; did you mean \"10.0.0.0/8\"?");
    assert_int_equal(n.family, 0); /* no half-filled result */
    assert_int_equal(cidr_parse("10.0.0.0/", &n, err, sizeof err), -1);
    assert_string_equal(err, "\"10.0.0.0/\": missing prefix length after \"/\"");

    /* A tiny or missing buffer is not written past. */
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(cidr_parse("nope", &n, small, 5), -1);
    assert_string_equal(small, "\"nop");
    assert_int_equal(small[5], 'x');
    assert_int_equal(cidr_parse("nope", &n, NULL, 0), -1);
    assert_int_equal(cidr_parse(NULL, &n, err, sizeof err), -1);

    /* Very long junk is quoted in part, on one line. */
    char longin[300];
    memset(longin, '1', sizeof longin - 1);
    longin[sizeof longin - 1] = '\0';
    assert_int_equal(cidr_parse(longin, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "not an IPv4 or IPv6 address"));
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    cidr n;
    char err[64], buf[64];
    assert_int_equal(cidr_parse("2001:db8:1234:5678:9abc:def0:1234:0/112", &n, err, sizeof err), 0);
    cidr_format(&n, buf, sizeof buf);
    assert_string_equal(buf, "2001:db8:1234:5678:9abc:def0:1234:0/112");
    char small[6];
    cidr_format(&n, small, sizeof small);
    assert_string_equal(small, "2001:");
    cidr_format(&n, buf, 0); /* nothing written, no crash */
}

/* ---- Matching ----------------------------------------------------------- */

static struct sockaddr_storage peer(const char *addr)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
    }
    return ss;
}

static bool matches(const char *net, const char *addr)
{
    cidr n;
    char err[128];
    if (cidr_parse(net, &n, err, sizeof err) != 0)
        fail_msg("%s: %s", net, err);
    struct sockaddr_storage ss = peer(addr);
    return cidr_match(&n, (const struct sockaddr *)&ss);
}

static const struct {
    const char *net, *peer;
    bool want;
} match_rows[] = {
    { "all", "1.2.3.4", true },
    { "all", "2001:db8::1", true },
    { "all", "::ffff:1.2.3.4", true },
    { "10.0.0.0/8", "10.255.255.255", true },
    { "10.0.0.0/8", "11.0.0.0", false },
    { "10.0.0.0/8", "9.255.255.255", false },
    { "10.1.2.0/23", "10.1.3.200", true },
    { "10.1.2.0/23", "10.1.4.0", false },
    { "10.1.2.0/23", "10.1.1.255", false },
    { "192.168.1.7", "192.168.1.7", true },
    { "192.168.1.7", "192.168.1.6", false },
    { "0.0.0.0/0", "255.255.255.255", true },
    /* IPv4-mapped peers (dual-stack sockets) are IPv4 clients. */
    { "10.0.0.0/8", "::ffff:10.9.8.7", true },
    { "10.0.0.0/8", "::ffff:11.9.8.7", false },
    { "0.0.0.0/0", "::ffff:1.2.3.4", true },
    /* Rules written in the mapped range are IPv4 rules: they match the
     * IPv4 client on an IPv4 listener and on a dual-stack one alike. */
    { "::ffff:127.0.0.1", "127.0.0.1", true },
    { "::ffff:127.0.0.1", "::ffff:127.0.0.1", true },
    { "::ffff:127.0.0.1", "127.0.0.2", false },
    { "::ffff:127.0.0.1", "::1", false },
    { "::ffff:0.0.0.0/96", "::ffff:1.2.3.4", true },
    { "::ffff:0:0/96", "1.2.3.4", true },
    { "::ffff:0:0/96", "2001:db8::1", false },
    { "::ffff:0:0/96", "::", false },
    { "::ffff:10.0.0.0/104", "10.200.0.1", true },
    { "::ffff:10.0.0.0/104", "::ffff:10.200.0.1", true },
    { "::ffff:10.0.0.0/104", "11.0.0.1", false },
    /* An IPv6 network that holds the whole mapped range holds every IPv4
     * client: one address space, a.b.c.d being ::ffff:a.b.c.d. */
    { "::/0", "::ffff:1.2.3.4", true },
    { "::/0", "10.0.0.1", true },
    { "::/80", "10.0.0.1", true },
    { "::fffe:0:0/95", "1.2.3.4", true },
    { "::fffe:0:0/95", "::fffe:1:1", true },
    { "::fffe:0:0/95", "::fffd:1:1", false },
    /* ... and one that does not, none. */
    { "::/96", "10.0.0.1", false },
    { "::/96", "::a00:1", true },
    { "2001:db8::/32", "10.0.0.1", false },
    { "2001:db8::/32", "::ffff:10.0.0.1", false },
    /* IPv4 rules match IPv4 clients only. */
    { "0.0.0.0/0", "2001:db8::1", false },
    { "0.0.0.0/0", "::", false },
    { "0.0.0.0/0", "::a00:1", false }, /* IPv4-compatible (deprecated) is IPv6 */
    { "0.0.0.0/0", "::1:ffff:a00:1", false },
    { "::/0", "2001:db8::1", true },
    { "::1", "::1", true },
    { "::1", "::2", false },
    { "2001:db8::/32", "2001:db8:ffff::1", true },
    { "2001:db8::/32", "2001:db9::1", false },
    { "fe80::/10", "febf::1", true },
    { "fe80::/10", "fec0::1", false },
    { "2001:db8::8000/113", "2001:db8::ffff", true },
    { "2001:db8::8000/113", "2001:db8::7fff", false },
};

static void test_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof match_rows / sizeof match_rows[0]; i++)
        if (matches(match_rows[i].net, match_rows[i].peer) != match_rows[i].want)
            fail_msg("%s vs %s: want %d", match_rows[i].net, match_rows[i].peer, match_rows[i].want);
}

static void test_covers_ipv4(void **state)
{
    (void)state;
    static const struct {
        const char *net;
        bool want;
    } rows[] = {
        { "::/0", true },         { "::/80", true },          { "::fffe:0:0/95", true },
        { "::/96", false },       { "2001:db8::/32", false }, { "::ffff:0:0/96", false },
        { "0.0.0.0/0", false },   { "all", false },           { "::1", false },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cidr n;
        char err[128];
        assert_int_equal(cidr_parse(rows[i].net, &n, err, sizeof err), 0);
        if (cidr_covers_ipv4(&n) != rows[i].want)
            fail_msg("%s: want %d", rows[i].net, rows[i].want);
    }
}

static void test_match_other_families(void **state)
{
    (void)state;
    cidr v4, v6, all;
    char err[64];
    assert_int_equal(cidr_parse("0.0.0.0/0", &v4, err, sizeof err), 0);
    assert_int_equal(cidr_parse("::/0", &v6, err, sizeof err), 0);
    assert_int_equal(cidr_parse("all", &all, err, sizeof err), 0);
    struct sockaddr un = { .sa_family = AF_UNIX };
    assert_false(cidr_match(&v4, &un));
    assert_false(cidr_match(&v6, &un));
    assert_true(cidr_match(&all, &un)); /* family 0 matches everything */
    assert_false(cidr_match(&v4, NULL));
    assert_true(cidr_match(&all, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_message_shape),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_covers_ipv4),
        cmocka_unit_test(test_match_other_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
