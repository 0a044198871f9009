/* http/static.h: finding what a request path serves: try_files candidates, index files, listings, precompressed siblings.
 *
 * static_lookup() does the file-system work of one request and nothing else:
 * it touches only its static_req, never a connection, the loop or a log, so
 * it can run on the event loop (FILE_CACHED_ONLY: it answers FILE_WOULDBLOCK
 * as soon as anything would wait on a disk) or in a write-queue task. */
#ifndef EP_HTTP_STATIC_H
#define EP_HTTP_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/autoindex.h"
#include "http/file.h"

#define STATIC_FALLBACK 2 /* status: every try_files candidate failed; see fallback */

/* A lookup's working space: three path-sized slices, named, so that the
 * worker (a connection's scratch, sized by route_sizes_of) and --explain
 * lay it out the same way. */
typedef struct {
    char *cand;    /* a try_files candidate, expanded */
    char *sibling; /* a precompressed sibling's name */
    char *rel;     /* the path below an alias folder (the lookup's path) */
    size_t part;   /* each slice's size */
} static_scratch;

/* len bytes at buf, cut in three. */
static inline static_scratch static_scratch_of(char *buf, size_t len)
{
    size_t part = len / 3;
    return (static_scratch){ .cand = buf, .sibling = buf + part, .rel = buf + 2 * part, .part = part };
}

typedef struct {
    /* in */
    int dirfd;                    /* O_PATH root or alias directory */
    enum file_links links;
    const char *path;             /* decoded path relative to dirfd, starting with '/' */
    const char *uri;              /* the request's own path, for $uri in try_files */
    const char *const *index;
    size_t nindex;
    const char *const *try_files; /* templates with $uri; the last is the fallback */
    size_t ntry;
    bool autoindex, autoindex_json;
    uint8_t enc[3];               /* acceptable precompressed encodings (ENC_*), best first */
    size_t nenc;
    static_scratch sc;            /* where candidates and siblings' names are written */
    char *buf;                    /* read a small file here (task only), or NULL */
    size_t buflen;
    /* out */
    int status;                   /* 200, 301, 403, 404, 500, FILE_WOULDBLOCK, STATIC_FALLBACK */
    int err;                      /* errno behind a 500 */
    file_result res;              /* the file when status 200 and !listing */
    const char *name;             /* path whose extension gives the Content-Type */
    int enc_used;                 /* ENC_* of the sibling served; 0: the file itself */
    int sib_of_index;             /* the sibling is of index[i] (its type's name), or -1 */
    bool listing;                 /* status 200 with a rendered listing in out */
    ai_buf out;                   /* malloc'd; the caller frees out.data */
    ssize_t nread;                /* bytes of the file read into buf, or -1 */
} static_req;

/* Run the lookup; flags as for file_open. Returns q->status. On
 * FILE_WOULDBLOCK nothing stays open: run it again without the flag. */
int static_lookup(static_req *q, unsigned flags);

/* Which precompressed encodings of rules_enc (best first) the client's
 * Accept-Encoding value allows (q=0 refuses; "*" counts); writes them into
 * out and returns how many. */
size_t static_negotiate(const uint8_t *rules_enc, size_t nenc, const char *ae, size_t ae_len,
                        uint8_t *out);

/* The Content-Encoding token for an ENC_* value. */
const char *static_encoding_name(int enc);

#endif
