/* worker/conntls.c: a TLS connection's start: the first byte told from a cleartext request, the handshake, SNI's server, ALPN's HTTP/2. */
#include "worker/conn.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "log/log.h"
#include "worker/h2.h"

/* OpenSSL reads the socket itself, as much as its read-ahead buffer takes:
 * a read that returns less than it asked for emptied the socket, as recv's
 * short read does above, so the next SSL_read need not make the read that
 * could only say EAGAIN (two such reads a batch were 6% of a small HTTP/2
 * request over TLS). Not with kernel TLS receiving: there a read returns
 * one record, whatever else is queued. */
static long conn_bio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
                        size_t *done)
{
    (void)argp, (void)argi, (void)argl;
    conn *c = (conn *)(void *)BIO_get_callback_arg(b);
    if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && done && *done < len && !c->rdhup &&
        !BIO_get_ktls_recv(b))
        c->can_read = false;
    return ret;
}

/* (conn.h) */
bool conn_tls_handshake(conn *c)
{
    if (!c->ssl) {
        unsigned char first;
        ssize_t n = recv(c->io.fd, &first, 1, MSG_PEEK);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            c->can_read = false;
            return false;
        }
        if (n <= 0) {
            conn_close(c);
            return false;
        }
        if (first != 0x16) { /* a TLS handshake record's type */
            if (first < 'A' || first > 'Z') {
                conn_close(c);
                return false;
            }
            c->plain_on_tls = true;
            conn_set_state(c, CS_IDLE);
            return true;
        }
        /* Made only now: a silent connection costs no TLS state (8 KB). */
        if (!(c->ssl = tls_conn_new(&c->w->tls->lis[c->listen_idx], c->io.fd))) {
            conn_log_msg(c, LOGL_ERROR, "out of memory for a TLS connection");
            conn_close(c);
            return false;
        }
        BIO_set_callback_ex(SSL_get_rbio(c->ssl), conn_bio_cb);
        BIO_set_callback_arg(SSL_get_rbio(c->ssl), (char *)c);
    }
    int rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        mx_add(&c->w->mx->c.tls_handshakes, 1);
        if (SSL_session_reused(c->ssl))
            mx_add(&c->w->mx->c.tls_resumed, 1);
        c->tls_srv = (uint32_t)tls_sni_server(c->w->cfg, c->listen_idx,
                                              SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name));
        conn_set_state(c, CS_IDLE);
        const unsigned char *proto;
        unsigned len;
        SSL_get0_alpn_selected(c->ssl, &proto, &len);
        if (len == 2 && memcmp(proto, "h2", 2) == 0) {
            timer_disarm(&c->timer);
            h2_start(c, NULL, 0);
            return false; /* h2.c drives it now (or it is closed) */
        }
        return true;
    }
    int e = SSL_get_error(c->ssl, rc);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ)
        c->can_read = false;
    else if (e == SSL_ERROR_WANT_WRITE)
        c->can_write = false;
    else
        conn_close(c); /* a failed handshake: nothing we could answer in */
    return false;
}
