/* tls/tls.c: building a generation's OpenSSL contexts: pairs, protocols, ciphers, tickets, SNI. */
#include "tls/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "http/loc.h"
#include "http/uri.h"

#define EXPIRY_WARN_DAYS 30

int tls_tickets_rotate(tls_tickets *t)
{
    tls_ticket_key k;
    if (RAND_bytes(k.name, sizeof k.name) != 1 || RAND_bytes(k.aes, sizeof k.aes) != 1 ||
        RAND_bytes(k.hmac, sizeof k.hmac) != 1)
        return -1;
    size_t keep = t->nkeys < TLS_TICKET_KEYS ? t->nkeys : TLS_TICKET_KEYS - 1;
    memmove(&t->key[1], &t->key[0], keep * sizeof t->key[0]);
    t->key[0] = k;
    t->nkeys = keep + 1;
    OPENSSL_cleanse(&k, sizeof k);
    return 0;
}

/* OpenSSL's reason for a failure, its queue emptied: the first error
 * queued, the one that says what went wrong ("No such file or directory",
 * "no start line"), where the last only says which layer gave up ("PEM
 * lib", "system lib"). */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    if (!e) {
        snprintf(buf, len, "unknown error");
    } else {
        /* a system error's reason is its errno */
        const char *r = ERR_GET_LIB(e) == ERR_LIB_SYS ? strerror(ERR_GET_REASON(e))
                        : ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE
                            ? "not a PEM file (no \"-----BEGIN\" line)"
                            : ERR_reason_error_string(e);
        snprintf(buf, len, "%s", r ? r : "unknown error");
    }
    ERR_clear_error();
    return buf;
}

bool tls_kernel_offers_ktls(void)
{
    char buf[256] = "";
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
    if (!f)
        return false;
    bool found = false;
    while (fscanf(f, "%255s", buf) == 1 && !found)
        found = strcmp(buf, "tls") == 0;
    fclose(f);
    return found;
}

size_t tls_sni_server(const cfg *c, size_t li, const char *name)
{
    ep_str host;
    if (!name || uri_host(ep_str_make(name, strlen(name)), &host) != 0)
        return c->listens[li].default_server;
    return loc_server(c, li, host.p, host.len);
}

/* ---- callbacks, in the workers ----------------------------------------- */

/* SNI: move the handshake to the context of the server the name selects,
 * by the same rules as Host. A name without a server of its own keeps the
 * listener's default, as nginx does (no unrecognized_name alert: clients
 * treat it as fatal). */
static int tls_on_sni(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    const tls_listener *l = arg;
    const tls_gen *g = l->g;
    size_t s = tls_sni_server(g->cf, l->listen_idx, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
    if (g->srv[s] && g->srv[s] != SSL_get_SSL_CTX(ssl) && !SSL_set_SSL_CTX(ssl, g->srv[s]))
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
}

/* Session tickets with the master's keys (RFC 5077's layout: name, IV,
 * AES-256-CBC, HMAC-SHA256). Returns 1 to use a key, 2 to use it and issue
 * a fresh ticket (it was the previous key), 0 for a ticket no key knows
 * (a full handshake follows), -1 on error. */
static int tls_on_ticket(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    const tls_gen *g = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    const tls_tickets *t = g->tickets;
    const tls_ticket_key *k = NULL;
    int rc = 1;
    if (enc) {
        k = &t->key[0];
        memcpy(name, k->name, sizeof k->name);
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
            return -1;
    } else {
        for (size_t i = 0; i < t->nkeys && !k; i++)
            if (memcmp(name, t->key[i].name, sizeof t->key[i].name) == 0) {
                k = &t->key[i];
                rc = i == 0 ? 1 : 2;
            }
        if (!k)
            return 0;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof k->hmac),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_CipherInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv, enc) || !EVP_MAC_CTX_set_params(hctx, params))
        return -1;
    return rc;
}

/* ALPN: "h2" first where the connection's listener has http2, then
 * "http/1.1". A client that offers neither gets the no_application_protocol
 * alert, as from nginx: it could not speak to us anyway. */
static int tls_on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg)
{
    (void)arg;
    static const unsigned char h2[] = "\x02h2\x08http/1.1", h1[] = "\x08http/1.1";
    const tls_listener *l = SSL_get_app_data(ssl);
    bool offer_h2 = l && l->g->cf->listens[l->listen_idx].http2;
    const unsigned char *ours = offer_h2 ? h2 : h1;
    unsigned len = offer_h2 ? sizeof h2 - 1 : sizeof h1 - 1;
    unsigned char *sel;
    unsigned char sel_len;
    if (SSL_select_next_proto(&sel, &sel_len, ours, len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    *outlen = sel_len;
    return SSL_TLSEXT_ERR_OK;
}

SSL *tls_conn_new(const tls_listener *l, int fd)
{
    SSL *ssl = SSL_new(l->ctx);
    if (!ssl || !SSL_set_fd(ssl, fd)) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_app_data(ssl, (void *)l); /* for ALPN: which listener */
    SSL_set_accept_state(ssl);
    return ssl;
}

/* ---- building ------------------------------------------------------------ */

/* One line on a setting's file: "FILE:LINE: \"setting\" \"path\": why". */
static void tls_msg(char *buf, size_t len, const char *where, const char *setting, const char *path,
                    const char *why)
{
    snprintf(buf, len, "%s%s\"%s\" \"%s\": %s", where ? where : "", where ? ": " : "", setting, path, why);
}

/* tls_ciphers for TLS 1.2: OpenSSL must know a suite of it, and one must
 * be left once the security level and the protocol versions have had
 * their say ("aNULL:RC4" parses, and then no TLS 1.2 client could connect). */
static int tls_ciphers_check(SSL_CTX *ctx, const cfg *c, char *err, size_t errlen)
{
    const char *ciphers = c->tls_ciphers ? c->tls_ciphers : CFG_TLS_CIPHERS_DEFAULT;
    const char *why = NULL;
    if (!SSL_CTX_set_cipher_list(ctx, ciphers)) {
        why = strncmp(ciphers, "TLS_", 4) == 0 ? "names TLS 1.3 suites, which OpenSSL always offers; tls_ciphers "
                                                 "lists TLS 1.2 ones (e.g. ECDHE-ECDSA-AES128-GCM-SHA256)"
                                               : "no cipher OpenSSL knows";
    } else {
        SSL *probe = SSL_new(ctx);
        STACK_OF(SSL_CIPHER) *usable = probe ? SSL_get1_supported_ciphers(probe) : NULL;
        int n = 0;
        for (int i = 0; usable && i < sk_SSL_CIPHER_num(usable); i++)
            n += strcmp(SSL_CIPHER_get_version(sk_SSL_CIPHER_value(usable, i)), "TLSv1.3") != 0;
        sk_SSL_CIPHER_free(usable);
        SSL_free(probe);
        if (n == 0)
            why = "leaves no TLS 1.2 suite OpenSSL would use (all are too weak for its security level)";
    }
    ERR_clear_error();
    if (!why)
        return 0;
    tls_msg(err, errlen, c->tls_ciphers_where, "tls_ciphers", ciphers, why);
    return -1;
}

/* The settings every context of a generation shares. */
static int tls_ctx_setup(SSL_CTX *ctx, const tls_gen *g, char *err, size_t errlen)
{
    const cfg *c = g->cf;
    char why[256];
    int min = c->tls_protocols & CFG_TLS12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    int max = c->tls_protocols & CFG_TLS13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (!SSL_CTX_set_min_proto_version(ctx, min) || !SSL_CTX_set_max_proto_version(ctx, max)) {
        snprintf(err, errlen, "\"tls_protocols\": %s", ssl_reason(why, sizeof why));
        return -1;
    }
    if ((c->tls_protocols & CFG_TLS12) && tls_ciphers_check(ctx, c, err, errlen) < 0)
        return -1;
    /* No compression (CRIME), no renegotiation (a client-driven CPU sink),
     * the server's cipher order. */
    uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (c->tls_ktls)
        opts |= SSL_OP_ENABLE_KTLS;
    if (!c->tls_session_tickets)
        opts |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, opts);
    /* Read what the socket has, not a record header and then its body: one
     * read(2) per request instead of two (nginx does the same). What is
     * read ahead shows in SSL_has_pending, which the loop drains. */
    SSL_CTX_set_read_ahead(ctx, 1);
    /* An idle keep-alive connection gives its record buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_ENABLE_PARTIAL_WRITE);
    /* Resumption is by tickets only: a per-worker session cache would not
     * be shared with the other workers anyway. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* One context id for every context of every generation: a session
     * resumes whichever server context the SNI switch left it in. */
    static const unsigned char sid_ctx[] = "ephttpd";
    if (!SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1)) {
        snprintf(err, errlen, "TLS: %s", ssl_reason(why, sizeof why));
        return -1;
    }
    if (c->tls_session_tickets) {
        if (!g->tickets || !SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_on_ticket)) {
            snprintf(err, errlen, "\"tls_session_tickets\": cannot install the ticket keys");
            return -1;
        }
        SSL_CTX_set_num_tickets(ctx, 1);
    } else {
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    SSL_CTX_set_alpn_select_cb(ctx, tls_on_alpn, NULL);
    SSL_CTX_set_app_data(ctx, (void *)g);
    return 0;
}

/* An encrypted key would make OpenSSL ask for its pass phrase on the
 * terminal, stalling -t and a reloading master: refuse to decrypt, and
 * note that it was asked. */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *asked)
{
    (void)buf, (void)size, (void)rwflag;
    if (asked)
        *(bool *)asked = true;
    return 0;
}

/* A server's context with each of its certificate pairs. */
static SSL_CTX *tls_server_ctx(const tls_gen *g, const cfg_server *s, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char why[256];
    if (!ctx) {
        snprintf(err, errlen, "TLS: %s", ssl_reason(why, sizeof why));
        return NULL;
    }
    if (tls_ctx_setup(ctx, g, err, errlen) < 0)
        goto fail;
    SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
    int types[8] = { 0 };
    for (size_t i = 0; i < s->ntls_certs && i < s->ntls_keys; i++) {
        if (SSL_CTX_use_certificate_chain_file(ctx, s->tls_certs[i]) != 1) {
            tls_msg(err, errlen, s->where, "tls_certificate", s->tls_certs[i], ssl_reason(why, sizeof why));
            goto fail;
        }
        bool asked = false;
        SSL_CTX_set_default_passwd_cb_userdata(ctx, &asked);
        int loaded = SSL_CTX_use_PrivateKey_file(ctx, s->tls_keys[i], SSL_FILETYPE_PEM);
        SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
        if (loaded != 1) {
            /* A key of the certificate's type but not its own fails here
             * already: the same words as the check below. */
            if (asked) {
                ERR_clear_error();
                snprintf(why, sizeof why, "is encrypted with a pass phrase; give it unencrypted, readable by root "
                                          "only (openssl pkey -in KEY -out KEY.plain)");
            } else if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
                ERR_clear_error();
                snprintf(why, sizeof why, "does not match the certificate \"%s\"", s->tls_certs[i]);
            } else {
                ssl_reason(why, sizeof why);
            }
            tls_msg(err, errlen, s->where, "tls_certificate_key", s->tls_keys[i], why);
            goto fail;
        }
        /* The key just loaded must be the certificate's own. */
        if (SSL_CTX_check_private_key(ctx) != 1) {
            ERR_clear_error();
            snprintf(why, sizeof why, "does not match the certificate \"%s\"", s->tls_certs[i]);
            tls_msg(err, errlen, s->where, "tls_certificate_key", s->tls_keys[i], why);
            goto fail;
        }
        /* OpenSSL keeps one pair per key type: a second RSA pair would
         * silently replace the first. */
        int type = EVP_PKEY_get_base_id(X509_get0_pubkey(SSL_CTX_get0_certificate(ctx)));
        for (size_t j = 0; j < i && j < 8; j++)
            if (types[j] == type) {
                snprintf(why, sizeof why, "has the same key type as \"%s\": one pair per type (RSA, ECDSA, ...)",
                         s->tls_certs[j]);
                tls_msg(err, errlen, s->where, "tls_certificate", s->tls_certs[i], why);
                goto fail;
            }
        if (i < 8)
            types[i] = type;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* A TLS listener's starting context: its default server's pairs, and the
 * SNI callback that may move the handshake elsewhere. */
static int tls_listener_ctx(tls_gen *g, size_t li, char *err, size_t errlen)
{
    const cfg *c = g->cf;
    const cfg_server *s = &c->servers[c->listens[li].default_server];
    tls_listener *l = &g->lis[li];
    *l = (tls_listener){ .g = g, .listen_idx = li };
    if (!(l->ctx = tls_server_ctx(g, s, err, errlen)))
        return -1;
    SSL_CTX_set_tlsext_servername_callback(l->ctx, tls_on_sni);
    SSL_CTX_set_tlsext_servername_arg(l->ctx, l);
    return 0;
}

int tls_gen_build(tls_gen *g, const cfg *c, const tls_tickets *tickets, char *err, size_t errlen)
{
    *g = (tls_gen){ .cf = c, .tickets = tickets };
    bool any = false;
    for (size_t i = 0; i < c->nlistens; i++)
        any |= c->listens[i].tls;
    if (!any)
        return 0;
    g->srv = calloc(c->nservers, sizeof *g->srv);
    g->lis = calloc(c->nlistens, sizeof *g->lis);
    g->nsrv = c->nservers;
    g->nlis = c->nlistens;
    if (!g->srv || !g->lis) {
        snprintf(err, errlen, "TLS: out of memory");
        tls_gen_free(g);
        return -1;
    }
    for (size_t i = 0; i < c->nservers; i++)
        if (c->servers[i].ntls_certs && !(g->srv[i] = tls_server_ctx(g, &c->servers[i], err, errlen))) {
            tls_gen_free(g);
            return -1;
        }
    for (size_t i = 0; i < c->nlistens; i++)
        if (c->listens[i].tls && tls_listener_ctx(g, i, err, errlen) < 0) {
            tls_gen_free(g);
            return -1;
        }
    return 0;
}

void tls_gen_free(tls_gen *g)
{
    for (size_t i = 0; g->srv && i < g->nsrv; i++)
        SSL_CTX_free(g->srv[i]);
    for (size_t i = 0; g->lis && i < g->nlis; i++)
        SSL_CTX_free(g->lis[i].ctx);
    free(g->srv);
    free(g->lis);
    *g = (tls_gen){ 0 };
}

/* ---- -t ------------------------------------------------------------------ */

void tls_gen_expiry(const tls_gen *g, time_t now, void (*warn)(void *ctx, const char *line), void *wctx)
{
    const cfg *c = g->cf;
    for (size_t i = 0; i < g->nsrv; i++) {
        const cfg_server *s = &c->servers[i];
        for (size_t j = 0; g->srv[i] && j < s->ntls_certs; j++) {
            FILE *f = fopen(s->tls_certs[j], "r");
            X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
            if (f)
                fclose(f);
            if (!x) {
                ERR_clear_error();
                continue; /* it loaded a moment ago: gone since, build says so next time */
            }
            int days = 0, secs = 0;
            ASN1_TIME *nw = ASN1_TIME_set(NULL, now);
            if (nw && ASN1_TIME_diff(&days, &secs, nw, X509_get0_notAfter(x)) && days < EXPIRY_WARN_DAYS) {
                char line[1024], why[128], date[64] = "";
                struct tm tm;
                if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
                    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
                if (days < 0 || (days == 0 && secs <= 0))
                    snprintf(why, sizeof why, "has expired on %s", date);
                else
                    snprintf(why, sizeof why, "expires on %s (in %d days)", date, days);
                tls_msg(line, sizeof line, s->where, "tls_certificate", s->tls_certs[j], why);
                warn(wctx, line);
            }
            ASN1_TIME_free(nw);
            X509_free(x);
        }
    }
}
