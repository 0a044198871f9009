/* tls/tls.h: a generation's TLS contexts: certificate pairs loaded by the master, protocol, cipher and ticket settings, SNI choosing the server as Host does.
 *
 * The master builds them (as root, before workers drop privileges: workers
 * never open a key file) completely before a generation may serve; a
 * reload whose certificate or key does not load is refused with the file
 * and the reason. Workers inherit the contexts through fork and only read
 * them. One SSL_CTX per server with certificates (its RSA and ECDSA pairs
 * side by side: OpenSSL picks per client) and one per TLS listener, which
 * the handshake starts in (its default server's pairs); the SNI callback
 * moves the connection to the context of the server its name selects,
 * through the same matching as Host (http/loc.h's loc_server). */
#ifndef EP_TLS_TLS_H
#define EP_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "config/model.h"

/* Session ticket keys, made by the master: every worker of every
 * generation shares them, so a ticket one worker issued resumes on
 * another. A reload rotates them: the new key encrypts, the previous one
 * still decrypts (and the ticket is renewed), so resumption survives one
 * reload. */
#define TLS_TICKET_KEYS 2

typedef struct {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
} tls_ticket_key;

typedef struct {
    tls_ticket_key key[TLS_TICKET_KEYS]; /* [0] encrypts; all decrypt */
    size_t nkeys;
} tls_tickets;

/* A fresh key in front; the oldest beyond TLS_TICKET_KEYS goes. -1 when
 * the random generator fails. */
int tls_tickets_rotate(tls_tickets *t);

struct tls_gen;

/* What a TLS listener's handshake starts with. */
typedef struct {
    struct tls_gen *g;
    size_t listen_idx;
    SSL_CTX *ctx;      /* the listener's default server's pairs */
} tls_listener;

typedef struct tls_gen {
    const cfg *cf;
    const tls_tickets *tickets; /* the master's, copied into workers by fork */
    SSL_CTX **srv;              /* per cfg server, NULL: no certificates */
    tls_listener *lis;          /* per cfg listener; ctx NULL: not TLS */
    size_t nsrv, nlis;
} tls_gen;

/* Build every context of c. tickets may be NULL when c turns tickets off.
 * Returns 0, or -1 with one line in err naming the server's file:line,
 * the setting, the file and OpenSSL's reason; nothing is left allocated
 * then. A configuration without TLS listeners builds nothing. */
int tls_gen_build(tls_gen *g, const cfg *c, const tls_tickets *tickets, char *err, size_t errlen);
void tls_gen_free(tls_gen *g);

/* -t: each certificate's expiry, as warn lines ("file:line: tls_certificate
 * \"path\": expires on DATE (in N days)" or "has expired on DATE"), for
 * those that expire within 30 days of now. */
void tls_gen_expiry(const tls_gen *g, time_t now, void (*warn)(void *ctx, const char *line), void *ctx);

/* A server-side connection on fd in listener l's context (the handshake
 * may move it to another server's by SNI; ALPN offers h2 where l has
 * http2). NULL when OpenSSL cannot make one. */
SSL *tls_conn_new(const tls_listener *l, int fd);

/* Whether this kernel can encrypt TLS records itself (the "tls" upper
 * layer protocol is available: built in, or its module loaded). */
bool tls_kernel_offers_ktls(void);

/* The server index the SNI name selects on listener li: the listener's
 * default when the name is absent, malformed or matches none. */
size_t tls_sni_server(const cfg *c, size_t li, const char *name);

#endif
