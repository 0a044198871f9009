/* tests/unit/test_conf_h2.c: the HTTP/2 settings of both syntaxes into the model (values, defaults, ranges and their messages, the rule that they need an http2 listener), their -T round trips, and the packaged files' comments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dump.h"
#include "config/model.h"
#include "http/prepare.h"

#include "conf_fixture.h"

/* Every HTTP/2 setting away from its default: HTTP/2 over TLS, h2c on a
 * cleartext port, and a listener that stays HTTP/1.1 only. */
static const char h2_conf[] =
    "http2_max_concurrent_streams = 256;\n"
    "http2_max_header_list_size = \"32k\";\n"
    "http2_initial_window_size = \"1m\";\n"
    "http2_connection_window_size = \"16m\";\n"
    "listen = (\n"
    "  { address = \"0.0.0.0\"; port = 443; tls = true; http2 = true; },\n"
    "  { address = \"127.0.0.1\"; port = 8080; http2 = true; },\n"
    "  { address = \"0.0.0.0\"; port = 80; http2 = false; }\n"
    ");\n"
    "servers = (\n"
    "  { root = \"@D/www\"; tls_certificate = \"/c\"; tls_certificate_key = \"/k\"; }\n"
    ");\n";

static const char h2_yaml[] =
    "http2_max_concurrent_streams: 256\n"
    "http2_max_header_list_size: 32k\n"
    "http2_initial_window_size: 1m\n"
    "http2_connection_window_size: 16m\n"
    "listen:\n"
    "  - { address: 0.0.0.0, port: 443, tls: true, http2: true }\n"
    "  - address: 127.0.0.1\n"
    "    port: 8080\n"
    "    http2: yes\n"
    "  - { address: 0.0.0.0, port: 80, http2: false }\n"
    "servers:\n"
    "  - { root: @D/www, tls_certificate: /c, tls_certificate_key: /k }\n";

static void check_h2_site(const cfg *c)
{
    assert_int_equal(c->http2_max_concurrent_streams, 256);
    assert_int_equal(c->http2_max_header_list_size, 32 * 1024);
    assert_int_equal(c->http2_initial_window_size, 1024 * 1024);
    assert_int_equal(c->http2_connection_window_size, 16 * 1024 * 1024);
    assert_int_equal(c->nlistens, 3);
    assert_true(c->listens[0].http2);
    assert_true(c->listens[0].tls);
    assert_true(c->listens[1].http2);
    assert_false(c->listens[1].tls);
    assert_false(c->listens[2].http2);
    /* The setting sits between others: nothing around it was overwritten. */
    assert_int_equal(c->listens[1].port, 8080);
    assert_int_equal(c->listens[1].backlog, 511);
    assert_true(c->listens[1].deferred);
    assert_false(c->listens[1].reuseport);
}

static void test_h2_values(void **state)
{
    (void)state;
    cfg *c = load("h2.conf", h2_conf);
    check_h2_site(c);
    cfg *y = load("h2.yaml", h2_yaml);
    check_h2_site(y);
    assert_same_dump(c, y);
    cfg_free(y);
    cfg_free(c);
}

/* The defaults the man page and the packaged files state. */
static void assert_h2_defaults(const cfg *c)
{
    assert_int_equal(c->http2_max_concurrent_streams, 128);
    assert_int_equal(c->http2_max_header_list_size, 16384);
    assert_int_equal(c->http2_initial_window_size, 65535);
    assert_int_equal(c->http2_connection_window_size, 65535);
}

static void test_h2_defaults(void **state)
{
    (void)state;
    /* The command line's model (ephttpd -r DIR): HTTP/1.1 only. */
    cfg *c = cfg_new();
    assert_non_null(c);
    assert_h2_defaults(c);
    assert_false(c->listens[0].http2);
    char *d = dump(c);
    assert_non_null(strstr(d, "tls = false; http2 = false; }"));
    assert_null(strstr(d, "http2_"));
    free(d);
    cfg_free(c);
    /* Without HTTP/2, then HTTP/2 with nothing else set, in both syntaxes. */
    static const char *const files[] = {
        "plain.conf", "listen = ( { port = 80; } );\nservers = ( { root = \"@D/www\"; } );\n",
        "plain.yaml", "listen: [ { port: 80 } ]\nservers: [ { root: @D/www } ]\n",
        "deft.conf",  "listen = ( { port = 80; http2 = true; } );\nservers = ( { root = \"@D/www\"; } );\n",
        "deft.yaml",  "listen: [ { port: 80, http2: true } ]\nservers: [ { root: @D/www } ]\n",
    };
    for (size_t i = 0; i < 8; i += 2) {
        c = load(files[i], files[i + 1]);
        assert_h2_defaults(c);
        assert_int_equal(c->listens[0].http2, i >= 4);
        cfg_free(c);
    }
}

/* The ends of every range, and the forms a value may take, in both syntaxes. */
static void test_h2_ranges(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text;
        uint32_t streams, list, window, conn;
    } rows[] = {
        { "lo.conf", "http2_max_concurrent_streams = 1;\nhttp2_max_header_list_size = 1024;\n"
                     "http2_initial_window_size = 0;\nhttp2_connection_window_size = 65535;\n",
          1, 1024, 0, 65535 },
        { "hi.conf", "http2_max_concurrent_streams = 1024;\nhttp2_max_header_list_size = \"1m\";\n"
                     "http2_initial_window_size = 2147483647;\nhttp2_connection_window_size = \"2147483647\";\n",
          1024, 1 << 20, 2147483647u, 2147483647u },
        { "hex.conf", "http2_max_concurrent_streams = 0x40;\nhttp2_max_header_list_size = \"1k\";\n"
                      "http2_initial_window_size = 0x7FFFFFFF;\nhttp2_connection_window_size = \"64k\";\n",
          64, 1024, 2147483647u, 65536 },
        { "lo.yaml", "http2_max_concurrent_streams: 1\nhttp2_max_header_list_size: 1024\n"
                     "http2_initial_window_size: 0\nhttp2_connection_window_size: 65535\n",
          1, 1024, 0, 65535 },
        { "hi.yaml", "http2_max_concurrent_streams: 1024\nhttp2_max_header_list_size: 1M\n"
                     "http2_initial_window_size: 2147483647\nhttp2_connection_window_size: \"2147483647\"\n",
          1024, 1 << 20, 2147483647u, 2147483647u },
        { "hex.yaml", "http2_max_concurrent_streams: 0x40\nhttp2_max_header_list_size: 1K\n"
                      "http2_initial_window_size: 0x7FFFFFFF\nhttp2_connection_window_size: 64k\n",
          64, 1024, 2147483647u, 65536 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bool yaml = strstr(rows[i].name, ".yaml") != NULL;
        char *text = xasprintf("%s%s", rows[i].text,
                               yaml ? "listen: [ { port: 80, http2: true } ]\nservers: [ { root: @D/www } ]\n"
                                    : "listen = ( { port = 80; http2 = true; } );\n"
                                      "servers = ( { root = \"@D/www\"; } );\n");
        cfg *c = load(rows[i].name, text);
        if (c->http2_max_concurrent_streams != rows[i].streams || c->http2_max_header_list_size != rows[i].list ||
            c->http2_initial_window_size != rows[i].window || c->http2_connection_window_size != rows[i].conn)
            fail_msg("%s: got %u %u %u %u", rows[i].name, c->http2_max_concurrent_streams,
                     c->http2_max_header_list_size, c->http2_initial_window_size, c->http2_connection_window_size);
        assert_round_trip(c, "range-rt.conf");
        cfg_free(c);
        free(text);
    }
}

/* ---- errors ----------------------------------------------------------------- */

/* An HTTP/2 listener, so that a bad global is judged on its value. */
#define H2_LISTEN_CONF "listen = ( { port = 80; http2 = true; } );\nservers = ( { root = \"@D/www\"; } );\n"
#define H2_LISTEN_YAML "listen: [ { port: 80, http2: true } ]\nservers: [ { root: @D/www } ]\n"

typedef struct {
    const char *name, *text; /* file name in tmp (.conf or .yaml), text with @D */
    int line, col;           /* where the message points; col 0: none */
    const char *msg;         /* the whole message after "FILE:LINE[:COL]: ", with @D */
} h2_err;

static const h2_err h2_errors[] = {
    /* values, libconfig */
    { "e.conf", "http2_max_concurrent_streams = 0;\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_max_concurrent_streams\": 0 is out of range (1 to 1024)" },
    { "e.conf", H2_LISTEN_CONF "http2_max_concurrent_streams = 1025;\n", 3, 0,
      "\"http2_max_concurrent_streams\": 1025 is out of range (1 to 1024)" },
    { "e.conf", "http2_max_concurrent_streams = \"many\";\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_max_concurrent_streams\": expected an integer, got a string" },
    { "e.conf", "http2_max_concurrent_streams = 1.5;\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_max_concurrent_streams\": expected an integer, got a number" },
    { "e.conf", "http2_max_header_list_size = 1023;\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_max_header_list_size\": 1023 is out of range (1024 to 1048576 bytes)" },
    { "e.conf", "http2_max_header_list_size = \"2m\";\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_max_header_list_size\": 2m is out of range (1024 to 1048576 bytes)" },
    { "e.conf", "http2_max_header_list_size = \"16kb\";\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_max_header_list_size\": bad size \"16kb\" (use bytes, or a number with k, m or g)" },
    { "e.conf", "http2_max_header_list_size = true;\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_max_header_list_size\": expected a size, got a boolean" },
    { "e.conf", "http2_initial_window_size = \"2g\";\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_initial_window_size\": 2g is out of range (0 to 2147483647 bytes)" },
    { "e.conf", "http2_initial_window_size = 2147483648;\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_initial_window_size\": 2147483648 is out of range (0 to 2147483647 bytes)" },
    { "e.conf", "http2_initial_window_size = -1;\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_initial_window_size\": -1 is out of range (0 to 2147483647 bytes)" },
    { "e.conf", "http2_connection_window_size = 65534;\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_connection_window_size\": 65534 is out of range (65535 to 2147483647 bytes)" },
    { "e.conf", "http2_connection_window_size = \"63k\";\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_connection_window_size\": 63k is out of range (65535 to 2147483647 bytes)" },
    { "e.conf", "http2_connection_window_size = 2147483648;\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_connection_window_size\": 2147483648 is out of range (65535 to 2147483647 bytes)" },
    { "e.conf", "http2_connection_window_size = [ 65535 ];\n" H2_LISTEN_CONF, 1, 0,
      "\"http2_connection_window_size\": expected a size, got a list" },
    { "e.conf", "listen = ( { port = 80;\n  http2 = \"yes\"; } );\n", 2, 0, "\"http2\": expected true or false, got \"yes\"" },
    { "e.conf", "listen = ( { port = 80;\n  http2 = 1; } );\n", 2, 0, "\"http2\": expected true or false, got \"1\"" },
    /* placement and names */
    { "e.conf", "http2 = true;\n", 1, 0, "\"http2\" is not allowed in the top level (only in a listener)" },
    { "e.conf", "servers = ( { root = \"@D/www\";\n  http2 = true; } );\n", 2, 0,
      "\"http2\" is not allowed in a server (only in a listener)" },
    { "e.conf", "listen = ( { port = 80; http2 = true;\n  http2_max_concurrent_streams = 8; } );\n", 2, 0,
      "\"http2_max_concurrent_streams\" is not allowed in a listener (only in the top level)" },
    { "e.conf", "http2_max_concurent_streams = 8;\n", 1, 0,
      "unknown setting \"http2_max_concurent_streams\" in the top level; did you mean "
      "\"http2_max_concurrent_streams\"?" },
    /* the globals with no HTTP/2 listener, at their own line */
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\nhttp2_max_concurrent_streams = 64;\n", 2, 0,
      "\"http2_max_concurrent_streams\": no listener has http2 = true, so it would do nothing" },
    { "e.conf", "listen = ( { port = 80; http2 = false; } );\nservers = ( { root = \"@D/www\"; } );\n"
                "http2_max_header_list_size = \"8k\";\n", 3, 0,
      "\"http2_max_header_list_size\": no listener has http2 = true, so it would do nothing" },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = ( { root = \"@D/www\"; tls_certificate = \"/c\";\n"
                "  tls_certificate_key = \"/k\"; } );\n\nhttp2_initial_window_size = 0;\n", 5, 0,
      "\"http2_initial_window_size\": no listener has http2 = true, so it would do nothing" },
    /* the first the file sets, not the first in some list */
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\nhttp2_connection_window_size = \"1m\";\n"
                "http2_max_concurrent_streams = 64;\n", 2, 0,
      "\"http2_connection_window_size\": no listener has http2 = true, so it would do nothing" },
    /* values, YAML (with columns) */
    { "e.yaml", "http2_max_concurrent_streams: 0\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_max_concurrent_streams\": 0 is out of range (1 to 1024)" },
    { "e.yaml", H2_LISTEN_YAML "http2_max_concurrent_streams: 1025\n", 3, 1,
      "\"http2_max_concurrent_streams\": 1025 is out of range (1 to 1024)" },
    { "e.yaml", "http2_max_concurrent_streams: \"128\"\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_max_concurrent_streams\": expected an integer, got a string" },
    { "e.yaml", "http2_max_concurrent_streams: 1k\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_max_concurrent_streams\": expected an integer, got \"1k\"" },
    { "e.yaml", "http2_max_header_list_size: 512\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_max_header_list_size\": 512 is out of range (1024 to 1048576 bytes)" },
    { "e.yaml", "http2_max_header_list_size: 16q\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_max_header_list_size\": bad size \"16q\" (use bytes, or a number with k, m or g)" },
    { "e.yaml", "http2_initial_window_size: 2g\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_initial_window_size\": 2g is out of range (0 to 2147483647 bytes)" },
    { "e.yaml", "http2_initial_window_size: 0x80000000\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_initial_window_size\": 0x80000000 is out of range (0 to 2147483647 bytes)" },
    { "e.yaml", "http2_connection_window_size: 1000\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_connection_window_size\": 1000 is out of range (65535 to 2147483647 bytes)" },
    { "e.yaml", "http2_connection_window_size: 2g\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_connection_window_size\": 2g is out of range (65535 to 2147483647 bytes)" },
    { "e.yaml", "http2_connection_window_size: { a: 1 }\n" H2_LISTEN_YAML, 1, 1,
      "\"http2_connection_window_size\": expected a size, got a group" },
    { "e.yaml", "listen:\n  - port: 80\n    http2: sure\n", 3, 5, "\"http2\": expected true or false, got \"sure\"" },
    { "e.yaml", "servers:\n  - root: @D/www\n    http2: true\n", 3, 5,
      "\"http2\" is not allowed in a server (only in a listener)" },
    { "e.yaml", H2_LISTEN_YAML "http2_max_concurrent_streams: 8\nhttp2_max_concurrent_streams: 9\n", 4, 1,
      "\"http2_max_concurrent_streams\" is set twice (first at @D/e.yaml:3:1)" },
    { "e.yaml", "servers: [ { root: @D/www } ]\nlisten:\n  - { port: 80, http2: off }\n"
                "http2_connection_window_size: 1m\n", 4, 1,
      "\"http2_connection_window_size\": no listener has http2 = true, so it would do nothing" },
    { "e.yaml", "servers: [ { root: @D/www } ]\n\nhttp2_initial_window_size: 0\n", 3, 1,
      "\"http2_initial_window_size\": no listener has http2 = true, so it would do nothing" },
};

/* conf_read refuses name/text with exactly "FILE:LINE[:COL]: msg". */
static void expect_error(const char *name, const char *text, int line, int col, const char *msg,
                         const char *in_file)
{
    char err[1024] = "";
    char *path = write_conf(name, text);
    cfg *c = http_conf_read(path, err, sizeof err);
    if (c) {
        cfg_free(c);
        fail_msg("accepted:\n%s", text);
    }
    char *file = in_file ? expand(in_file) : strdup(path), *m = expand(msg);
    char *want = col ? xasprintf("%s:%d:%d: %s", file, line, col, m) : xasprintf("%s:%d: %s", file, line, m);
    if (strcmp(err, want) != 0)
        fail_msg("for:\n%s\ngot:  %s\nwant: %s", text, err, want);
    free(want), free(m), free(file), free(path);
}

static void test_h2_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof h2_errors / sizeof h2_errors[0]; i++) {
        const h2_err *e = &h2_errors[i];
        expect_error(e->name, e->text, e->line, e->col, e->msg, NULL);
    }
}

/* The rule looks at the whole configuration, includes and all: a listener
 * from an include counts, and a global from an include is named there. */
static void test_h2_needs_listener_across_includes(void **state)
{
    (void)state;
    free(write_conf("h2-listen.inc", "listen = ( { port = 8443; http2 = true; } );\n"));
    cfg *c = load("inc1.conf", "http2_max_concurrent_streams = 32;\ninclude = \"@D/h2-listen.inc\";\n"
                               "servers = ( { root = \"@D/www\"; } );\n");
    assert_int_equal(c->http2_max_concurrent_streams, 32);
    assert_true(c->listens[0].http2);
    cfg_free(c);
    free(write_conf("h2-global.inc", "# HTTP/2 tuning\nhttp2_initial_window_size = \"1m\";\n"));
    expect_error("inc2.conf", "listen = ( { port = 80; } );\ninclude = \"@D/h2-global.inc\";\n"
                              "servers = ( { root = \"@D/www\"; } );\n", 2, 0,
                 "\"http2_initial_window_size\": no listener has http2 = true, so it would do nothing",
                 "@D/h2-global.inc");
    /* The same include, once a listener has HTTP/2. */
    c = load("inc3.conf", "listen = ( { port = 80; http2 = true; } );\ninclude = \"@D/h2-global.inc\";\n"
                          "servers = ( { root = \"@D/www\"; } );\n");
    assert_int_equal(c->http2_initial_window_size, 1 << 20);
    cfg_free(c);
}

/* Both syntaxes say the same of the same value. */
static void test_h2_same_answers(void **state)
{
    (void)state;
    static const same_row rows[] = {
        { "http2_max_concurrent_streams = 4294967297;\n" H2_LISTEN_CONF,
          "http2_max_concurrent_streams: 4294967297\n" H2_LISTEN_YAML },
        { "http2_max_concurrent_streams = -1;\n" H2_LISTEN_CONF, "http2_max_concurrent_streams: -1\n" H2_LISTEN_YAML },
        { "http2_max_header_list_size = \"1g\";\n" H2_LISTEN_CONF, "http2_max_header_list_size: 1g\n" H2_LISTEN_YAML },
        { "http2_max_header_list_size = \"x\";\n" H2_LISTEN_CONF, "http2_max_header_list_size: x\n" H2_LISTEN_YAML },
        { "http2_initial_window_size = 0x80000000;\n" H2_LISTEN_CONF,
          "http2_initial_window_size: 0x80000000\n" H2_LISTEN_YAML },
        { "http2_initial_window_size = 99999999999999999999;\n" H2_LISTEN_CONF,
          "http2_initial_window_size: 99999999999999999999\n" H2_LISTEN_YAML },
        { "http2_connection_window_size = 65534;\n" H2_LISTEN_CONF,
          "http2_connection_window_size: 65534\n" H2_LISTEN_YAML },
        { "listen = ( { port = 80; http2 = 1; } );\n", "listen: [ { port: 80, http2: 1 } ]\n" },
        { "servers = ( { root = \"@D/www\"; } );\nhttp2_max_header_list_size = \"8k\";\n",
          "servers: [ { root: @D/www } ]\nhttp2_max_header_list_size: 8k\n" },
    };
    assert_same_messages(rows, sizeof rows / sizeof rows[0]);
}

/* ---- -T --------------------------------------------------------------------- */

static void test_h2_dump(void **state)
{
    (void)state;
    cfg *c = load("h2.conf", h2_conf);
    char *d = dump(c);
    if (!strstr(d, "tls_ktls = true;\n"
                   "http2_max_concurrent_streams = 256;\n"
                   "http2_max_header_list_size = \"32k\";\n"
                   "http2_initial_window_size = \"1m\";\n"
                   "http2_connection_window_size = \"16m\";\n"
                   "listen = (\n"))
        fail_msg("dump:\n%s", d);
    assert_non_null(strstr(d, "port = 443; backlog = 511; reuseport = false; deferred = true; tls = true; "
                              "http2 = true; }"));
    assert_non_null(strstr(d, "port = 8080; backlog = 511; reuseport = false; deferred = true; tls = false; "
                              "http2 = true; }"));
    assert_non_null(strstr(d, "port = 80; backlog = 511; reuseport = false; deferred = true; tls = false; "
                              "http2 = false; }"));
    free(d);
    assert_round_trip(c, "h2-rt1.conf");
    cfg_free(c);
    c = load("h2.yaml", h2_yaml);
    assert_round_trip(c, "h2-rt2.conf");
    cfg_free(c);

    /* HTTP/2 with the defaults: every one written out, and read back. */
    c = load("deft.conf", "listen = ( { port = 80; http2 = true; } );\nservers = ( { root = \"@D/www\"; } );\n");
    d = dump(c);
    if (!strstr(d, "log_level = \"info\";\n"
                   "http2_max_concurrent_streams = 128;\n"
                   "http2_max_header_list_size = \"16k\";\n"
                   "http2_initial_window_size = \"65535\";\n"
                   "http2_connection_window_size = \"65535\";\n"))
        fail_msg("dump:\n%s", d);
    free(d);
    assert_round_trip(c, "deft-rt.conf");
    cfg_free(c);

    /* Without an HTTP/2 listener, no http2_ global (a file may not set
     * them), and every listener says http2 = false. */
    c = load("plain.yaml", "listen: [ { port: 80 }, { port: 443, tls: true } ]\n"
                           "servers: [ { root: @D/www, tls_certificate: /c, tls_certificate_key: /k } ]\n");
    d = dump(c);
    assert_null(strstr(d, "http2_"));
    assert_null(strstr(d, "http2 = true"));
    const char *first = strstr(d, "http2 = false; }");
    assert_non_null(first);
    assert_non_null(strstr(first + 1, "http2 = false; }"));
    free(d);
    assert_round_trip(c, "plain-rt.conf");
    cfg_free(c);
}

/* ---- the packaged files ----------------------------------------------------- */

/* The "# http2_..." lines of a packaged file, uncommented (malloc'd);
 * *n: how many. */
static char *h2_comments(const char *rel, int *n)
{
    char *path = xasprintf("%s/%s", EP_SOURCE_DIR, rel), *text = slurp(path);
    char *out = malloc(strlen(text) + 1), *o = out;
    assert_non_null(out);
    *n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (strncmp(p, "# http2_", 8) == 0) {
            memcpy(o, p + 2, len - 2);
            o += len - 2;
            ++*n;
        }
        p += len;
    }
    *o = '\0';
    free(path);
    free(text);
    return out;
}

/* The packaged files list every http2_ global, commented, at its default;
 * uncommented with an HTTP/2 listener they load, the same in both. (That
 * their HTTPS example offers HTTP/2 is test_directives' test_packaged_https.) */
static void test_h2_packaged(void **state)
{
    (void)state;
    int nconf, nyaml;
    char *conf = h2_comments("conf/ephttpd.conf", &nconf), *yaml = h2_comments("conf/ephttpd.yaml", &nyaml);
    assert_int_equal(nconf, 4);
    assert_int_equal(nyaml, 4);
    char *tconf = xasprintf("%s" H2_LISTEN_CONF, conf), *tyaml = xasprintf("%s" H2_LISTEN_YAML, yaml);
    cfg *a = load("pkg-h2.conf", tconf), *b = load("pkg-h2.yaml", tyaml);
    assert_h2_defaults(a);
    assert_h2_defaults(b);
    assert_same_dump(a, b);
    cfg_free(a), cfg_free(b);
    free(tconf), free(tyaml), free(conf), free(yaml);
}

/* ---- the man page ----------------------------------------------------------- */

/* The nth .EX ... .EE block of ephttpd.conf(5)'s HTTP/2 section as plain
 * text (troff's \- is -), with its document root moved into tmp (malloc'd). */
static char *man_h2_example(int nth)
{
    char *path = xasprintf("%s/man/ephttpd.conf.5", EP_SOURCE_DIR), *man = slurp(path);
    const char *p = strstr(man, "\n.SH HTTP/2\n"), *end = p ? strstr(p + 1, "\n.SH ") : NULL;
    assert_non_null(end);
    for (int i = 0; i < nth; i++) {
        p = strstr(p, "\n.EX\n");
        assert_true(p && p < end);
        p += 5;
    }
    const char *ee = strstr(p, "\n.EE\n");
    assert_true(ee && ee < end);
    char *text = malloc((size_t)(ee - p) + 2), *o = text;
    assert_non_null(text);
    for (; p <= ee; p++) {
        if (p[0] == '\\' && p[1] == '-')
            p++;
        *o++ = *p;
    }
    *o = '\0';
    const char *root = strstr(text, "/srv/example.org");
    assert_non_null(root);
    char *out = xasprintf("%.*s@D/www%s", (int)(root - text), text, root + strlen("/srv/example.org"));
    free(text), free(man), free(path);
    return out;
}

/* The section's examples load, say what the text around them says, and say
 * the same in both syntaxes. */
static void test_h2_man_examples(void **state)
{
    (void)state;
    char *conf = man_h2_example(1), *yaml = man_h2_example(2);
    cfg *a = load("man-h2.conf", conf), *b = load("man-h2.yaml", yaml);
    assert_int_equal(a->nlistens, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(a->listens[i].http2);
        assert_int_equal(a->listens[i].tls, i < 2);
    }
    assert_int_equal(a->http2_max_concurrent_streams, 256);
    assert_same_dump(a, b);
    cfg_free(a), cfg_free(b);
    free(conf), free(yaml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h2_values),
        cmocka_unit_test(test_h2_defaults),
        cmocka_unit_test(test_h2_ranges),
        cmocka_unit_test(test_h2_errors),
        cmocka_unit_test(test_h2_needs_listener_across_includes),
        cmocka_unit_test(test_h2_same_answers),
        cmocka_unit_test(test_h2_dump),
        cmocka_unit_test(test_h2_packaged),
        cmocka_unit_test(test_h2_man_examples),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
