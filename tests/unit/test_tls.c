/* tests/unit/test_tls.c: a generation's TLS contexts: pairs checked, SNI picking the server, RSA and ECDSA side by side, protocols, tickets shared and rotated, expiry warnings; handshakes in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conf_fixture.h"
#include "tls/tls.h"

/* ---- certificates made here ------------------------------------------------ */

/* A self-signed certificate for cn valid from now - 1 day until now +
 * days, with its key, written as PEM to tmp/<file>.crt and .key. */
static void make_pair(const char *file, const char *alg, const char *cn, long days)
{
    EVP_PKEY *k = strcmp(alg, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                                          : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    char *p = xasprintf("%s/%s.crt", tmp, file);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    free(p);
    p = xasprintf("%s/%s.key", tmp, file);
    f = fopen(p, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    free(p);
    X509_free(x);
    EVP_PKEY_free(k);
}

static int tls_setup(void **state)
{
    int rc = setup(state);
    make_pair("a-rsa", "RSA", "a.test", 365);
    make_pair("a-ec", "EC", "a.test", 365);
    make_pair("b-ec", "EC", "b.test", 10);
    make_pair("old", "EC", "old.test", -2);
    return rc;
}

/* "[ \"@D/x\", ... ]" for the pairs' column col. */
static char *pair_list(const char *const (*pairs)[2], size_t n, int col)
{
    char *out = xasprintf("[");
    for (size_t i = 0; i < n; i++) {
        char *next = xasprintf("%s%s \"@D/%s\"", out, i ? "," : "", pairs[i][col]);
        free(out);
        out = next;
    }
    char *next = xasprintf("%s ]", out);
    free(out);
    return next;
}

/* Two servers on one TLS listener, a.test its default, with these pairs
 * (file names under tmp), as an administrator would write them. */
static cfg *two_servers(const char *const (*a_pairs)[2], size_t na, const char *const (*b_pairs)[2], size_t nb)
{
    char *ac = pair_list(a_pairs, na, 0), *ak = pair_list(a_pairs, na, 1);
    char *bc = pair_list(b_pairs, nb, 0), *bk = pair_list(b_pairs, nb, 1);
    char *text = xasprintf("listen = ( { address = \"127.0.0.1\"; port = 8443; tls = true; } );\n"
                           "servers = ( { names = [ \"a.test\" ]; root = \"@D/www\";\n"
                           "    tls_certificate = %s; tls_certificate_key = %s; },\n"
                           "  { names = [ \"b.test\" ]; root = \"@D/www\";\n"
                           "    tls_certificate = %s; tls_certificate_key = %s; } );\n",
                           ac, ak, bc, bk);
    cfg *c = load("tls.conf", text);
    free(text);
    free(ac);
    free(ak);
    free(bc);
    free(bk);
    return c;
}

/* ---- handshakes in memory ------------------------------------------------------ */

typedef struct {
    SSL *c, *s;
    bool ok;
} hs;

/* Run a client and a server over a BIO pair until both are done or one fails. */
static hs handshake(SSL_CTX *client, const tls_gen *g, const char *sni, const char *sigalgs, SSL_SESSION *resume)
{
    hs h = { SSL_new(client), SSL_new(g->lis[0].ctx), false };
    BIO *bc, *bs;
    assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
    SSL_set_bio(h.c, bc, bc);
    SSL_set_bio(h.s, bs, bs);
    SSL_set_connect_state(h.c);
    SSL_set_accept_state(h.s);
    if (sni)
        SSL_set_tlsext_host_name(h.c, sni);
    if (sigalgs)
        assert_int_equal(SSL_set1_sigalgs_list(h.c, sigalgs), 1);
    if (resume)
        SSL_set_session(h.c, resume);
    for (int i = 0; i < 50; i++) {
        int rc = SSL_do_handshake(h.c), rs = SSL_do_handshake(h.s);
        if (rc == 1 && rs == 1) {
            h.ok = true;
            break;
        }
        int ec = SSL_get_error(h.c, rc), es = SSL_get_error(h.s, rs);
        if ((rc != 1 && ec != SSL_ERROR_WANT_READ && ec != SSL_ERROR_WANT_WRITE) ||
            (rs != 1 && es != SSL_ERROR_WANT_READ && es != SSL_ERROR_WANT_WRITE))
            break;
    }
    ERR_clear_error();
    if (h.ok) { /* a byte each way: TLS 1.3 tickets arrive after the handshake */
        char b = 'x';
        size_t n;
        assert_int_equal(SSL_write_ex(h.s, &b, 1, &n), 1);
        assert_int_equal(SSL_read_ex(h.c, &b, 1, &n), 1);
    }
    return h;
}

static void hs_free(hs *h)
{
    /* Closed as by close_notify: a session freed unclosed is made unresumable. */
    SSL_set_shutdown(h->c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(h->c);
    SSL_free(h->s);
}

/* The CN and key type of the certificate the client was shown. */
static void peer_is(const hs *h, const char *cn, int key_type)
{
    X509 *x = SSL_get0_peer_certificate(h->c);
    assert_non_null(x);
    char got[128] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, got, sizeof got);
    assert_string_equal(got, cn);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), key_type);
}

static SSL_CTX *client_ctx(int min, int max)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    assert_non_null(c);
    SSL_CTX_set_min_proto_version(c, min);
    SSL_CTX_set_max_proto_version(c, max);
    SSL_CTX_set_security_level(c, 0); /* TLS 1.1 must be refused by the server, not by us */
    return c;
}

/* ---- tests ------------------------------------------------------------------------- */

static const char *const a_both[][2] = { { "a-rsa.crt", "a-rsa.key" }, { "a-ec.crt", "a-ec.key" } };
static const char *const b_ec[][2] = { { "b-ec.crt", "b-ec.key" } };

/* SNI picks the server by Host's rules; none or an unknown name: the default. */
static void test_sni_and_pairs(void **state)
{
    (void)state;
    cfg *c = two_servers(a_both, 2, b_ec, 1);
    tls_tickets tk = { 0 };
    assert_int_equal(tls_tickets_rotate(&tk), 0);
    tls_gen g;
    char err[512];
    assert_int_equal(tls_gen_build(&g, c, &tk, err, sizeof err), 0);
    SSL_CTX *cl = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
    static const struct {
        const char *sni, *sigalgs, *cn;
        int type;
    } rows[] = {
        { "b.test", NULL, "b.test", EVP_PKEY_EC },
        { "B.Test.", NULL, "b.test", EVP_PKEY_EC },       /* case and a trailing dot, as Host */
        { NULL, "ECDSA+SHA256", "a.test", EVP_PKEY_EC },  /* no SNI: the default server */
        { "nope.test", "ECDSA+SHA256", "a.test", EVP_PKEY_EC },
        { "a.test", "RSA-PSS+SHA256:RSA+SHA256", "a.test", EVP_PKEY_RSA }, /* the pair the client can check */
        { "a.test", "ECDSA+SHA256", "a.test", EVP_PKEY_EC },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hs h = handshake(cl, &g, rows[i].sni, rows[i].sigalgs, NULL);
        if (!h.ok)
            fail_msg("row %zu: no handshake", i);
        peer_is(&h, rows[i].cn, rows[i].type);
        assert_int_equal(tls_sni_server(c, 0, rows[i].sni), strcmp(rows[i].cn, "b.test") == 0 ? 1 : 0);
        hs_free(&h);
    }
    SSL_CTX_free(cl);
    tls_gen_free(&g);
    cfg_free(c);
}

/* TLS 1.2 and 1.3 by default, 1.1 never; tls_protocols narrows. */
static void test_protocols(void **state)
{
    (void)state;
    cfg *c = two_servers(a_both, 2, b_ec, 1);
    tls_tickets tk = { 0 };
    assert_int_equal(tls_tickets_rotate(&tk), 0);
    static const struct {
        unsigned protocols;
        int cmin, cmax;
        bool ok;
    } rows[] = {
        { CFG_TLS12 | CFG_TLS13, TLS1_3_VERSION, TLS1_3_VERSION, true },
        { CFG_TLS12 | CFG_TLS13, TLS1_2_VERSION, TLS1_2_VERSION, true },
        { CFG_TLS12 | CFG_TLS13, TLS1_1_VERSION, TLS1_1_VERSION, false },
        { CFG_TLS13, TLS1_2_VERSION, TLS1_2_VERSION, false },
        { CFG_TLS12, TLS1_3_VERSION, TLS1_3_VERSION, false },
        { CFG_TLS12, TLS1_2_VERSION, TLS1_3_VERSION, true },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        c->tls_protocols = rows[i].protocols;
        tls_gen g;
        char err[512];
        assert_int_equal(tls_gen_build(&g, c, &tk, err, sizeof err), 0);
        SSL_CTX *cl = client_ctx(rows[i].cmin, rows[i].cmax);
        hs h = handshake(cl, &g, "a.test", NULL, NULL);
        if (h.ok != rows[i].ok)
            fail_msg("row %zu: handshake %s", i, h.ok ? "succeeded" : "failed");
        hs_free(&h);
        SSL_CTX_free(cl);
        tls_gen_free(&g);
    }
    cfg_free(c);
}

/* A ticket issued by one worker resumes on another (same keys, its own
 * contexts); after a reload (keys rotated, contexts rebuilt) it still does,
 * after a second one it no longer does. */
static void test_tickets(void **state)
{
    (void)state;
    cfg *c = two_servers(a_both, 2, b_ec, 1);
    tls_tickets tk = { 0 };
    assert_int_equal(tls_tickets_rotate(&tk), 0);
    char err[512];
    SSL_CTX *cl = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
    for (int v = 0; v < 2; v++) { /* TLS 1.3, then 1.2 */
        SSL_CTX_set_max_proto_version(cl, v == 0 ? TLS1_3_VERSION : TLS1_2_VERSION);
        tls_gen g1, g2;
        assert_int_equal(tls_gen_build(&g1, c, &tk, err, sizeof err), 0);
        assert_int_equal(tls_gen_build(&g2, c, &tk, err, sizeof err), 0);
        hs h = handshake(cl, &g1, "b.test", NULL, NULL);
        assert_true(h.ok);
        SSL_SESSION *sess = SSL_get1_session(h.c);
        assert_non_null(sess);
        hs_free(&h);
        h = handshake(cl, &g2, "b.test", NULL, sess);
        assert_true(h.ok);
        assert_true(SSL_session_reused(h.c));
        hs_free(&h);
        /* a reload: new key in front, contexts anew */
        assert_int_equal(tls_tickets_rotate(&tk), 0);
        tls_gen_free(&g2);
        assert_int_equal(tls_gen_build(&g2, c, &tk, err, sizeof err), 0);
        h = handshake(cl, &g2, "b.test", NULL, sess);
        assert_true(h.ok);
        assert_true(SSL_session_reused(h.c));
        hs_free(&h);
        assert_int_equal(tls_tickets_rotate(&tk), 0);
        h = handshake(cl, &g2, "b.test", NULL, sess);
        assert_true(h.ok);
        assert_false(SSL_session_reused(h.c));
        hs_free(&h);
        SSL_SESSION_free(sess);
        tls_gen_free(&g1);
        tls_gen_free(&g2);
    }
    /* tls_session_tickets = false: nothing to resume with */
    c->tls_session_tickets = false;
    tls_gen g;
    assert_int_equal(tls_gen_build(&g, c, NULL, err, sizeof err), 0);
    hs h = handshake(cl, &g, "a.test", NULL, NULL);
    assert_true(h.ok);
    SSL_SESSION *sess = SSL_get1_session(h.c);
    hs_free(&h);
    h = handshake(cl, &g, "a.test", NULL, sess);
    assert_true(h.ok);
    assert_false(SSL_session_reused(h.c));
    hs_free(&h);
    SSL_SESSION_free(sess);
    tls_gen_free(&g);
    SSL_CTX_free(cl);
    cfg_free(c);
}

/* Each error names the server's place, the setting, the file and why. */
static void test_bad_pairs(void **state)
{
    (void)state;
    static const struct {
        const char *pair[1][2];
        const char *setting, *file, *why;
    } rows[] = {
        { { { "a-rsa.crt", "a-ec.key" } }, "\"tls_certificate_key\"", "a-ec.key", "does not match the certificate" },
        { { { "missing.crt", "a-ec.key" } }, "\"tls_certificate\"", "missing.crt", "" },
        { { { "a-ec.key", "a-ec.key" } }, "\"tls_certificate\"", "a-ec.key", "" },
        { { { "a-ec.crt", "a-ec.crt" } }, "\"tls_certificate_key\"", "a-ec.crt", "" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cfg *c = two_servers(rows[i].pair, 1, b_ec, 1);
        tls_gen g;
        char err[512] = "";
        c->tls_session_tickets = false;
        assert_int_equal(tls_gen_build(&g, c, NULL, err, sizeof err), -1);
        char *where = xasprintf("%s/tls.conf:", tmp);
        if (strncmp(err, where, strlen(where)) != 0 || !strstr(err, rows[i].setting) ||
            !strstr(err, rows[i].file) || !strstr(err, rows[i].why))
            fail_msg("row %zu: %s", i, err);
        assert_null(g.srv); /* nothing left allocated */
        free(where);
        cfg_free(c);
    }
}

/* OpenSSL keeps one pair per key type: a second ECDSA pair is refused,
 * never silently dropped. */
static void test_one_pair_per_key_type(void **state)
{
    (void)state;
    static const char *const two_ec[][2] = { { "a-ec.crt", "a-ec.key" }, { "b-ec.crt", "b-ec.key" } };
    cfg *c = two_servers(two_ec, 2, b_ec, 1);
    c->tls_session_tickets = false;
    tls_gen g;
    char err[512] = "";
    assert_int_equal(tls_gen_build(&g, c, NULL, err, sizeof err), -1);
    if (!strstr(err, "\"tls_certificate\"") || !strstr(err, "b-ec.crt") || !strstr(err, "same key type as") ||
        !strstr(err, "a-ec.crt"))
        fail_msg("%s", err);
    cfg_free(c);
}

/* -t warns for a certificate within 30 days of its end, and one past it. */
static void test_expiry(void **state)
{
    (void)state;
    static const char *const old[][2] = { { "old.crt", "old.key" } };
    cfg *c = two_servers(old, 1, b_ec, 1);
    c->tls_session_tickets = false;
    tls_gen g;
    char err[512];
    assert_int_equal(tls_gen_build(&g, c, NULL, err, sizeof err), 0);
    warnings w = { .n = 0 };
    /* an hour on: b.test's ten days are then nine and some hours */
    tls_gen_expiry(&g, time(NULL) + 3600, collect, &w);
    assert_int_equal(w.n, 2);
    assert_non_null(strstr(w.lines[0], "old.crt\": has expired on "));
    assert_non_null(strstr(w.lines[1], "b-ec.crt\": expires on "));
    if (!strstr(w.lines[1], "(in 9 days)"))
        fail_msg("%s", w.lines[1]);
    /* 60 days earlier both had more than 30 days to go */
    w.n = 0;
    tls_gen_expiry(&g, time(NULL) - 60L * 86400, collect, &w);
    assert_int_equal(w.n, 0);
    tls_gen_free(&g);
    cfg_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sni_and_pairs), cmocka_unit_test(test_protocols), cmocka_unit_test(test_tickets),
        cmocka_unit_test(test_bad_pairs),     cmocka_unit_test(test_one_pair_per_key_type),
        cmocka_unit_test(test_expiry),
    };
    return cmocka_run_group_tests(tests, tls_setup, teardown);
}
