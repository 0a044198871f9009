/* http/proxyproto.h: the PROXY protocol header (v1 text, v2 binary) a load balancer sends before a connection's bytes: pure parsing. */
#ifndef EP_HTTP_PROXYPROTO_H
#define EP_HTTP_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* v1's longest line (CRLF included), as the specification bounds it. */
#define PP_V1_MAX 107
/* The longest v2 header taken (16 bytes and its addresses and TLVs): HAProxy
 * sends a few hundred bytes at most; a longer one is refused. */
#define PP_V2_MAX 4096
/* What a caller should have received to decide: enough for either. */
#define PP_PEEK_MAX PP_V2_MAX

enum pp_result { PP_INVALID = -1, PP_INCOMPLETE = 0 };

typedef struct {
    bool local;                   /* no address: v1 UNKNOWN, v2 LOCAL or UNSPEC: keep the connection's own */
    struct sockaddr_storage src;  /* the client, as the balancer saw it */
    struct sockaddr_storage dst;  /* the address it connected to */
} pp_header;

/* Parse the header at the start of buf[0..len) (picohttpparser's contract:
 * no state, call again with more bytes). Returns its length (> 0; exactly
 * the bytes that belong to it, the connection's own bytes follow), 0 when
 * more bytes are needed (and could still make it valid), or PP_INVALID:
 * not a PROXY header (told from the first bytes), a v1 line (judged at its
 * CRLF, or past PP_V1_MAX bytes without one) with fields out
 * of their grammar (addresses, ports 0..65535 without leading zeros, single
 * spaces), v2 with another version or command, an address block shorter
 * than its family needs, or longer than PP_V2_MAX. */
int pp_parse(const uint8_t *buf, size_t len, pp_header *out);

#endif
