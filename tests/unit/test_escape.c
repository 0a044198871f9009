/* tests/unit/test_escape.c: log escaping (\xHH) and JSON escaping (valid UTF-8 whatever the bytes). */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/escape.h"

static const char *json(const char *s, size_t n)
{
    static char out[4096];
    size_t used, k = esc_json(ep_str_make(s, n), out, sizeof out - 1, &used);
    assert_int_equal(used, n);
    assert_int_equal(esc_json_len(ep_str_make(s, n), SIZE_MAX), k);
    out[k] = '\0';
    return out;
}

static void test_json_cases(void **state)
{
    (void)state;
    assert_string_equal(json("plain", 5), "plain");
    assert_string_equal(json("a\"b\\c", 5), "a\\\"b\\\\c");
    assert_string_equal(json("\n\r\t\x01\x1f", 5), "\\u000a\\u000d\\u0009\\u0001\\u001f");
    assert_string_equal(json("\x7f", 1), "\x7f"); /* DEL is fine in JSON */
    assert_string_equal(json("caf\xc3\xa9", 5), "caf\xc3\xa9");
    assert_string_equal(json("\xf0\x9f\x98\x80", 4), "\xf0\x9f\x98\x80");
    assert_string_equal(json("\xe9", 1), "\\ufffd");         /* a stray byte */
    assert_string_equal(json("\xc0\xaf", 2), "\\ufffd\\ufffd"); /* overlong: two parts */
    assert_string_equal(json("\xed\xa0\x80", 3), "\\ufffd\\ufffd\\ufffd"); /* a surrogate */
    assert_string_equal(json("\xe2\x82", 2), "\\ufffd");     /* cut: one maximal subpart */
    assert_string_equal(json("\xf4\x90\x80\x80", 4), "\\ufffd\\ufffd\\ufffd\\ufffd"); /* > U+10FFFF */
    assert_string_equal(json("a\0b", 3), "a\\u0000b");
    assert_true(esc_is_utf8(ep_str_make("caf\xc3\xa9", 5)));
    assert_false(esc_is_utf8(ep_str_make("caf\xe9", 4)));
}

/* Every single byte: escaped output is printable ASCII or well-formed
 * UTF-8 with no raw quote, backslash or control. */
static void test_json_every_byte(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        char in[3] = { 'x', (char)b, 'y' };
        const char *o = json(in, 3);
        size_t n = strlen(o);
        assert_true(esc_is_utf8(ep_str_make(o, n)));
        for (size_t i = 0; i < n; i++) { /* a JSON string's inside, as RFC 8259 7 reads it */
            unsigned char c = (unsigned char)o[i];
            assert_true(c >= 0x20 && c != '"');
            if (c != '\\')
                continue;
            c = (unsigned char)o[++i];
            if (c == 'u') {
                assert_int_equal(strspn(o + i + 1, "0123456789abcdef"), 4);
                i += 4;
            } else {
                assert_true(c == '"' || c == '\\');
            }
        }
    }
}

/* Room cuts at a whole sequence, never inside an escape or a character. */
static void test_json_room(void **state)
{
    (void)state;
    char out[16];
    size_t used;
    ep_str s = ep_str_make("ab\xc3\xa9\n", 5);
    assert_int_equal(esc_json(s, out, 3, &used), 2);
    assert_int_equal(used, 2);
    assert_int_equal(esc_json(s, out, 4, &used), 4);
    assert_int_equal(used, 4);
    assert_int_equal(esc_json(s, out, 9, &used), 4); /* \u000a needs 6 */
    assert_int_equal(esc_json(s, out, 10, &used), 10);
    assert_int_equal(used, 5);
    assert_int_equal(esc_json_len(s, 3), 4); /* stops once past the limit */
}

static void test_log_escape(void **state)
{
    (void)state;
    char out[64];
    size_t used;
    ep_str s = ep_str_make("a\"\\\x01\xff", 5);
    size_t n = esc_log(s, out, sizeof out, &used);
    out[n] = '\0';
    assert_string_equal(out, "a\\x22\\x5C\\x01\\xFF");
    assert_int_equal(used, 5);
    assert_int_equal(esc_log_len(s, SIZE_MAX), n);
    assert_int_equal(esc_log(s, out, 6, &used), 5); /* "a" and one \xHH */
    assert_int_equal(used, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_cases),
        cmocka_unit_test(test_json_every_byte),
        cmocka_unit_test(test_json_room),
        cmocka_unit_test(test_log_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
