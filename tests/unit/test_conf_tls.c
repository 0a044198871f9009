/* tests/unit/test_conf_tls.c: the TLS settings of both syntaxes into the model (values, defaults, which servers need a certificate), and their -T round trips. */
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

/* Every TLS setting, set to something other than its default: two TLS
 * listeners and a plain one; an RSA and an ECDSA pair (lists), a single
 * pair (strings), and an HTTP server that redirects to HTTPS. */
static const char tls_conf[] =
    "tls_protocols = [ \"TLSv1.3\", \"TLSv1.2\" ];\n"
    "tls_ciphers = \"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384\";\n"
    "tls_session_tickets = false;\n"
    "tls_ktls = false;\n"
    "listen = (\n"
    "  { address = \"0.0.0.0\"; port = 443; tls = true; },\n"
    "  { address = \"::\"; port = 443; tls = true; default_server = \"b.example\"; },\n"
    "  { address = \"0.0.0.0\"; port = 80; tls = false; }\n"
    ");\n"
    "servers = (\n"
    "  { names = [ \"a.example\" ]; listen_on = [ \"0.0.0.0:443\", \"[::]:443\" ]; root = \"@D/www\";\n"
    "    tls_certificate = [ \"@D/a-rsa.pem\", \"@D/a-ec.pem\" ];\n"
    "    tls_certificate_key = [ \"@D/a-rsa.key\", \"@D/a-ec.key\" ]; },\n"
    "  { names = [ \"b.example\" ]; listen_on = \"443\"; root = \"@D/www\";\n"
    "    tls_certificate = \"@D/b.pem\"; tls_certificate_key = \"@D/b.key\"; },\n"
    "  { listen_on = \"80\"; return = { status = 301; url = \"https://$host$request_uri\"; }; }\n"
    ");\n";

static const char tls_yaml[] =
    "tls_protocols: [TLSv1.3, TLSv1.2]\n"
    "tls_ciphers: ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384\n"
    "tls_session_tickets: false\n"
    "tls_ktls: no\n"
    "listen:\n"
    "  - { address: 0.0.0.0, port: 443, tls: true }\n"
    "  - address: \"::\"\n"
    "    port: 443\n"
    "    tls: yes\n"
    "    default_server: b.example\n"
    "  - { address: 0.0.0.0, port: 80, tls: false }\n"
    "servers:\n"
    "  - names: [a.example]\n"
    "    listen_on: [\"0.0.0.0:443\", \"[::]:443\"]\n"
    "    root: @D/www\n"
    "    tls_certificate:\n"
    "      - @D/a-rsa.pem\n"
    "      - @D/a-ec.pem\n"
    "    tls_certificate_key: [@D/a-rsa.key, @D/a-ec.key]\n"
    "  - names: [b.example]\n"
    "    listen_on: \"443\"\n"
    "    root: @D/www\n"
    "    tls_certificate: @D/b.pem\n"
    "    tls_certificate_key: @D/b.key\n"
    "  - listen_on: \"80\"\n"
    "    return: { status: 301, url: \"https://$host$request_uri\" }\n";

static void assert_path(const char *got, const char *tmpl)
{
    char *want = expand(tmpl);
    assert_string_equal(got, want);
    free(want);
}

static void check_tls_site(const cfg *c)
{
    assert_int_equal(c->tls_protocols, CFG_TLS12 | CFG_TLS13);
    assert_string_equal(c->tls_ciphers, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384");
    assert_false(c->tls_session_tickets);
    assert_false(c->tls_ktls);
    assert_int_equal(c->nlistens, 3);
    assert_true(c->listens[0].tls);
    assert_true(c->listens[1].tls);
    assert_false(c->listens[2].tls);
    assert_int_equal(c->listens[0].default_server, 0);
    assert_int_equal(c->listens[1].default_server, 1);
    assert_int_equal(c->listens[2].default_server, 2);
    const cfg_server *a = &c->servers[0], *b = &c->servers[1], *r = &c->servers[2];
    /* Paired by position, in the order written. */
    assert_int_equal(a->ntls_certs, 2);
    assert_int_equal(a->ntls_keys, 2);
    assert_path(a->tls_certs[0], "@D/a-rsa.pem");
    assert_path(a->tls_keys[0], "@D/a-rsa.key");
    assert_path(a->tls_certs[1], "@D/a-ec.pem");
    assert_path(a->tls_keys[1], "@D/a-ec.key");
    /* A string is a list of one. */
    assert_int_equal(b->ntls_certs, 1);
    assert_int_equal(b->ntls_keys, 1);
    assert_path(b->tls_certs[0], "@D/b.pem");
    assert_path(b->tls_keys[0], "@D/b.key");
    assert_int_equal(b->nlistens, 2); /* "443": both TLS listeners */
    /* The plain server needs none. */
    assert_int_equal(r->ntls_certs, 0);
    assert_null(r->tls_certs);
    assert_int_equal(r->ntls_keys, 0);
    assert_null(r->tls_keys);
}

static void test_tls_values(void **state)
{
    (void)state;
    cfg *c = load("tls.conf", tls_conf);
    check_tls_site(c);
    cfg *y = load("tls.yaml", tls_yaml);
    check_tls_site(y);
    assert_same_dump(c, y);
    cfg_free(y);
    cfg_free(c);
}

/* The TLS settings' defaults, whatever the listeners say. */
static void assert_tls_defaults(const cfg *c)
{
    assert_int_equal(c->tls_protocols, CFG_TLS12 | CFG_TLS13);
    assert_null(c->tls_ciphers);
    assert_true(c->tls_session_tickets);
    assert_true(c->tls_ktls);
}

static void test_tls_defaults(void **state)
{
    (void)state;
    /* The command line's model, and a file without TLS. */
    cfg *c = cfg_new();
    assert_non_null(c);
    assert_tls_defaults(c);
    assert_false(c->listens[0].tls);
    assert_int_equal(c->servers[0].ntls_certs, 0);
    cfg_free(c);
    /* Without TLS, then TLS with nothing else set, in both syntaxes. */
    static const char *const files[] = {
        "plain.conf", "listen = ( { port = 80; } );\nservers = ( { root = \"@D/www\"; } );\n",
        "plain.yaml", "listen: [ { port: 80 } ]\nservers: [ { root: @D/www } ]\n",
        "deft.conf", "listen = ( { port = 443; tls = true; } );\n"
                     "servers = ( { root = \"@D/www\"; tls_certificate = \"@D/c.pem\"; tls_certificate_key = \"@D/c.key\"; } );\n",
        "deft.yaml", "listen: [ { port: 443, tls: true } ]\n"
                     "servers: [ { root: @D/www, tls_certificate: @D/c.pem, tls_certificate_key: @D/c.key } ]\n",
    };
    for (size_t i = 0; i < 8; i += 2) {
        bool tls = i >= 4;
        c = load(files[i], files[i + 1]);
        assert_tls_defaults(c);
        assert_int_equal(c->listens[0].tls, tls);
        assert_int_equal(c->servers[0].ntls_certs, tls);
        assert_int_equal(c->servers[0].ntls_keys, tls);
        cfg_free(c);
    }
}

/* The built-in list is what the man page promises: forward-secret (ECDHE)
 * AEAD suites only, ECDSA and RSA alike. */
static void test_tls_cipher_default(void **state)
{
    (void)state;
    char *list = strdup(CFG_TLS_CIPHERS_DEFAULT);
    assert_non_null(list);
    size_t n = 0, ecdsa = 0, rsa = 0;
    for (char *save, *suite = strtok_r(list, ":", &save); suite; suite = strtok_r(NULL, ":", &save), n++) {
        assert_int_equal(strncmp(suite, "ECDHE-", 6), 0);
        assert_true(strstr(suite, "-GCM-") || strstr(suite, "-CHACHA20-POLY1305"));
        ecdsa += strncmp(suite, "ECDHE-ECDSA-", 12) == 0;
        rsa += strncmp(suite, "ECDHE-RSA-", 10) == 0;
    }
    assert_int_equal(n, 6);
    assert_int_equal(ecdsa, 3);
    assert_int_equal(rsa, 3);
    free(list);
}

/* tls_protocols takes one name as a string too, and either order. */
static void test_tls_protocols(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text;
        unsigned want;
    } rows[] = {
        { "p1.conf", "tls_protocols = \"TLSv1.3\";\n", CFG_TLS13 },
        { "p2.conf", "tls_protocols = [ \"TLSv1.2\" ];\n", CFG_TLS12 },
        { "p3.conf", "tls_protocols = [ \"TLSv1.3\", \"TLSv1.2\" ];\n", CFG_TLS12 | CFG_TLS13 },
        { "p1.yaml", "tls_protocols: TLSv1.3\n", CFG_TLS13 },
        { "p2.yaml", "tls_protocols: [ TLSv1.2 ]\n", CFG_TLS12 },
        { "p3.yaml", "tls_protocols:\n  - TLSv1.2\n  - TLSv1.3\n", CFG_TLS12 | CFG_TLS13 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bool yaml = strstr(rows[i].name, ".yaml") != NULL;
        char *text = xasprintf("%s%s", rows[i].text,
                               yaml ? "listen: [ { port: 443, tls: true } ]\n"
                                      "servers: [ { root: @D/www, tls_certificate: /c, tls_certificate_key: /k } ]\n"
                                    : "listen = ( { port = 443; tls = true; } );\n"
                                      "servers = ( { root = \"@D/www\"; tls_certificate = \"/c\"; "
                                      "tls_certificate_key = \"/k\"; } );\n");
        cfg *c = load(rows[i].name, text);
        if (c->tls_protocols != rows[i].want)
            fail_msg("%s: tls_protocols %u, want %u", rows[i].name, c->tls_protocols, rows[i].want);
        cfg_free(c);
        free(text);
    }
}

/* Every way a listener reaches a server: no listen_on (every listener), a
 * port alone, an address; a server on a TLS and a plain listener at once
 * (the same site over HTTP and HTTPS, as Debian's nginx default site). */
static void test_tls_reach(void **state)
{
    (void)state;
    cfg *c = load("reach.conf", "listen = ( { port = 80; }, { port = 443; tls = true; },\n"
                                "  { address = \"127.0.0.1\"; port = 8443; tls = true; } );\n"
                                "servers = (\n"
                                "  { names = [ \"both\" ]; root = \"@D/www\"; tls_certificate = \"/c1\";\n"
                                "    tls_certificate_key = \"/k1\"; },\n"
                                "  { names = [ \"port\" ]; listen_on = \"443\"; root = \"@D/www\";\n"
                                "    tls_certificate = \"/c2\"; tls_certificate_key = \"/k2\"; },\n"
                                "  { names = [ \"addr\" ]; listen_on = \"127.0.0.1:8443\"; root = \"@D/www\";\n"
                                "    tls_certificate = \"/c3\"; tls_certificate_key = \"/k3\"; },\n"
                                "  { names = [ \"plain\" ]; listen_on = \"80\"; root = \"@D/www\"; } );\n");
    assert_int_equal(c->servers[0].nlistens, 3);
    assert_int_equal(c->servers[1].nlistens, 1);
    assert_int_equal(c->servers[1].listens[0], 1);
    assert_int_equal(c->servers[2].listens[0], 2);
    assert_int_equal(c->servers[3].ntls_certs, 0);
    assert_round_trip(c, "reach-rt.conf");
    cfg_free(c);
}

/* What -T writes: every TLS setting, read back to the same model. */
static void test_tls_dump(void **state)
{
    (void)state;
    cfg *c = load("tls.conf", tls_conf);
    char *d = dump(c);
    if (!strstr(d, "tls_protocols = [ \"TLSv1.2\", \"TLSv1.3\" ];\n"
                   "tls_ciphers = \"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384\";\n"
                   "tls_session_tickets = false;\ntls_ktls = false;\n"))
        fail_msg("dump:\n%s", d);
    assert_non_null(strstr(d, "{ address = \"::\"; port = 443; backlog = 511; reuseport = false; deferred = true; "
                              "tls = true; http2 = false; default_server = \"b.example\"; }"));
    assert_non_null(strstr(d, "port = 80; backlog = 511; reuseport = false; deferred = true; tls = false; http2 = false; }"));
    char *pair = expand("    tls_certificate = [ \"@D/a-rsa.pem\", \"@D/a-ec.pem\" ];\n"
                        "    tls_certificate_key = [ \"@D/a-rsa.key\", \"@D/a-ec.key\" ];\n");
    assert_non_null(strstr(d, pair));
    free(pair);
    free(d);
    assert_round_trip(c, "tls-rt1.conf");
    cfg_free(c);
    c = load("tls.yaml", tls_yaml);
    assert_round_trip(c, "tls-rt2.conf");
    cfg_free(c);

    /* Without a TLS listener, no TLS global (a file may not set them). */
    c = load("plain.conf", "servers = ( { root = \"@D/www\"; } );\n");
    d = dump(c);
    assert_null(strstr(d, "tls_"));
    assert_non_null(strstr(d, "tls = false;"));
    free(d);
    assert_round_trip(c, "plain-rt.conf");
    cfg_free(c);

    /* TLS 1.3 only: no cipher list, which would do nothing. */
    c = load("tls13.conf", "tls_protocols = \"TLSv1.3\";\nlisten = ( { port = 443; tls = true; } );\n"
                           "servers = ( { root = \"@D/www\"; tls_certificate = \"/c\"; tls_certificate_key = \"/k\"; } );\n");
    d = dump(c);
    assert_non_null(strstr(d, "tls_protocols = [ \"TLSv1.3\" ];\ntls_session_tickets = true;\n"));
    assert_null(strstr(d, "tls_ciphers"));
    free(d);
    assert_round_trip(c, "tls13-rt.conf");
    cfg_free(c);
}

/* The built-in cipher list shows as a comment: read back, tls_ciphers is
 * still unset (NULL), not a copy of the default. */
static void test_tls_dump_defaults(void **state)
{
    (void)state;
    cfg *c = load("deft.conf", "listen = ( { port = 443; tls = true; } );\n"
                               "servers = ( { root = \"@D/www\"; tls_certificate = \"/c\"; tls_certificate_key = \"/k\"; } );\n");
    char *d = dump(c);
    if (!strstr(d, "tls_protocols = [ \"TLSv1.2\", \"TLSv1.3\" ];\n"
                   "# tls_ciphers = \"" CFG_TLS_CIPHERS_DEFAULT "\"; (built in)\n"
                   "tls_session_tickets = true;\ntls_ktls = true;\n"))
        fail_msg("dump:\n%s", d);
    char *path = xasprintf("%s/deft-rt.conf", tmp);
    write_raw(path, d);
    char err[1024] = "";
    cfg *again = http_conf_read(path, err, sizeof err);
    if (!again)
        fail_msg("the dump does not read back: %s", err);
    assert_null(again->tls_ciphers);
    assert_int_equal(again->tls_protocols, CFG_TLS12 | CFG_TLS13);
    assert_true(again->tls_session_tickets);
    assert_true(again->tls_ktls);
    assert_true(again->listens[0].tls);
    assert_string_equal(again->servers[0].tls_certs[0], "/c");
    assert_string_equal(again->servers[0].tls_keys[0], "/k");
    assert_same_dump(c, again);
    cfg_free(again);
    free(path);
    free(d);
    cfg_free(c);
}

/* The nth .EX ... .EE block after the line `after` of the man page, as
 * plain text: troff's \- and \e are - and \ (malloc'd). */
static char *man_example(const char *after, int nth)
{
    char *path = xasprintf("%s/man/ephttpd.conf.5", EP_SOURCE_DIR), *man = slurp(path);
    const char *p = strstr(man, after);
    if (!p)
        fail_msg("no \"%s\" in %s", after, path);
    for (int i = 0; i < nth; i++) {
        p = strstr(p, "\n.EX\n");
        assert_non_null(p);
        p += 5;
    }
    const char *end = strstr(p, "\n.EE\n");
    assert_non_null(end);
    char *out = malloc((size_t)(end - p) + 2), *o = out;
    assert_non_null(out);
    for (; p <= end; p++) {
        if (p[0] == '\\' && (p[1] == '-' || p[1] == 'e'))
            *o++ = p[1] == '-' ? '-' : '\\', p++;
        else
            *o++ = *p;
    }
    *o = '\0';
    free(path);
    free(man);
    return out;
}

/* s with the first `from` (which must be there) replaced by "@D/www" (malloc'd). */
static char *with_www(const char *s, const char *from)
{
    const char *at = strstr(s, from);
    if (!at)
        fail_msg("no \"%s\" in:\n%s", from, s);
    return xasprintf("%.*s@D/www%s", (int)(at - s), s, at + strlen(from));
}

/* The man page's TLS examples are configurations that load, with their
 * folder moved into tmp (certificates are not read here). */
static void test_man_examples(void **state)
{
    (void)state;
    static const struct {
        const char *section;
        int nth;
        const char *name, *root;
        size_t nlistens, ntls, ncerts;
    } ex[] = {
        { ".SS Debian's self\\-signed certificate", 1, "man-snakeoil.conf", "/var/www/html", 4, 2, 1 },
        { ".SS HTTPS with an RSA and an ECDSA certificate", 1, "man-https.conf", "/srv/example.org", 4, 2, 2 },
        { ".SS HTTPS with an RSA and an ECDSA certificate", 2, "man-https.yaml", "/srv/example.org", 1, 1, 2 },
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        char *text = man_example(ex[i].section, ex[i].nth), *fixed = with_www(text, ex[i].root);
        cfg *c = load(ex[i].name, fixed);
        size_t ntls = 0;
        for (size_t k = 0; k < c->nlistens; k++)
            ntls += c->listens[k].tls;
        assert_int_equal(c->nlistens, ex[i].nlistens);
        assert_int_equal(ntls, ex[i].ntls);
        const cfg_server *s = &c->servers[c->nservers - 1]; /* the HTTPS one */
        assert_int_equal(s->ntls_certs, ex[i].ncerts);
        assert_int_equal(s->ntls_keys, ex[i].ncerts);
        if (c->nservers == 2) { /* the redirect, and HSTS always */
            assert_int_equal(c->servers[0].r.return_status, 301);
            assert_string_equal(c->servers[0].r.return_text, "https://$host$request_uri");
        }
        assert_int_equal(s->r.nheaders, i > 0); /* HSTS in the two HTTPS examples */
        if (s->r.nheaders) {
            assert_string_equal(s->r.headers[0].name, "Strict-Transport-Security");
            assert_true(s->r.headers[0].always);
        }
        cfg_free(c);
        free(fixed);
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_values),
        cmocka_unit_test(test_tls_defaults),
        cmocka_unit_test(test_tls_cipher_default),
        cmocka_unit_test(test_tls_protocols),
        cmocka_unit_test(test_tls_reach),
        cmocka_unit_test(test_tls_dump),
        cmocka_unit_test(test_tls_dump_defaults),
        cmocka_unit_test(test_man_examples),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
