/* http/static.c: try_files, index, autoindex and precompressed lookups for one request path. */
#include "http/static.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/model.h"

static const char *const enc_suffix[] = { "", ".zst", ".br", ".gz" };

const char *static_encoding_name(int enc)
{
    return enc > 0 && enc <= CFG_MAX_ENCODINGS ? cfg_encoding_names[enc] : "";
}

/* The q-value the Accept-Encoding list gives token (or "*"), 1000 = 1.0;
 * -1 when neither is listed. */
static int ae_quality(const char *ae, size_t len, const char *token)
{
    int star = -1, own = -1;
    size_t i = 0, tl = strlen(token);
    while (i < len) {
        while (i < len && (ae[i] == ' ' || ae[i] == '\t' || ae[i] == ','))
            i++;
        size_t start = i;
        while (i < len && ae[i] != ',' && ae[i] != ';' && ae[i] != ' ' && ae[i] != '\t')
            i++;
        size_t tlen = i - start;
        int q = 1000;
        while (i < len && ae[i] != ',') {
            if (ae[i] == 'q' && i + 1 < len && ae[i + 1] == '=') {
                i += 2;
                q = (i < len && ae[i] == '1') ? 1000 : 0;
                if (i < len && ae[i] == '0' && i + 1 < len && ae[i + 1] == '.') {
                    int scale = 100;
                    for (i += 2; i < len && ae[i] >= '0' && ae[i] <= '9' && scale; i++, scale /= 10)
                        q += (ae[i] - '0') * scale;
                }
                continue;
            }
            i++;
        }
        if (tlen == tl && strncasecmp(ae + start, token, tl) == 0)
            own = q;
        else if (tlen == 1 && ae[start] == '*')
            star = q;
    }
    return own >= 0 ? own : star;
}

size_t static_negotiate(const uint8_t *rules_enc, size_t nenc, const char *ae, size_t ae_len,
                        uint8_t *out)
{
    size_t n = 0;
    if (!ae || !ae_len)
        return 0;
    for (size_t i = 0; i < nenc; i++) {
        int q = ae_quality(ae, ae_len, static_encoding_name(rules_enc[i]));
        if (q > 0)
            out[n++] = rules_enc[i];
    }
    return n;
}

/* Expand a try_files template ($uri → the request path) into dst. */
static bool expand(const char *tpl, const char *uri, char *dst, size_t cap)
{
    size_t n = 0, ul = strlen(uri);
    for (const char *p = tpl; *p; p++) {
        if (strncmp(p, "$uri", 4) == 0) {
            if (n + ul >= cap)
                return false;
            memcpy(dst + n, uri, ul);
            n += ul;
            p += 3;
        } else {
            if (n + 1 >= cap)
                return false;
            dst[n++] = *p;
        }
    }
    dst[n] = '\0';
    return n > 0;
}

/* A directory without an index: list it when allowed. */
static int list_dir(static_req *q, const char *path, unsigned flags)
{
    if (flags & FILE_CACHED_ONLY) /* reading a directory may wait on the disk */
        return q->status = FILE_WOULDBLOCK;
    int fd = file_open_dir(q->dirfd, path, q->links, 0);
    if (fd < 0) {
        q->err = errno;
        return q->status = errno == ENOENT || errno == ENOTDIR ? 404 : 403;
    }
    int rc = autoindex_render(fd, q->uri, strlen(q->uri), q->autoindex_json, &q->out);
    q->err = errno;
    close(fd);
    if (rc < 0)
        return q->status = 500;
    q->listing = true;
    return q->status = 200;
}

/* Swap the file for a precompressed sibling the client accepts, if one exists. */
static int try_sibling(static_req *q, const char *path, unsigned flags)
{
    size_t pl = strlen(path);
    const char *idx = q->res.index >= 0 ? q->index[q->res.index] : "";
    char *name = q->sc.sibling;
    for (size_t i = 0; i < q->nenc; i++) {
        if (snprintf(name, q->sc.part, "%s%s%s", path, idx, enc_suffix[q->enc[i]]) >= (int)q->sc.part || !pl)
            return 0;
        file_result sib;
        file_open(q->dirfd, name, NULL, 0, q->links, flags, &sib);
        if (sib.status == FILE_WOULDBLOCK) {
            close(q->res.fd);
            q->res.fd = -1;
            return q->status = FILE_WOULDBLOCK;
        }
        if (sib.status == 200) {
            close(q->res.fd);
            q->sib_of_index = q->res.index; /* the type is still the index file's */
            q->res = sib;
            q->res.index = -1;
            q->enc_used = q->enc[i];
            return 0;
        }
    }
    return 0;
}

/* One candidate path: 200 (found), or the status that says why not. */
static int try_path(static_req *q, const char *path, unsigned flags)
{
    file_open(q->dirfd, path, q->index, q->nindex, q->links, flags, &q->res);
    q->err = q->res.err;
    size_t pl = strlen(path);
    if (q->res.status == 403 && q->res.err == 0 && q->autoindex && pl && path[pl - 1] == '/')
        return list_dir(q, path, flags);
    if (q->res.status != 200)
        return q->status = q->res.status;
    q->status = 200;
    if (q->nenc)
        try_sibling(q, path, flags);
    return q->status;
}

int static_lookup(static_req *q, unsigned flags)
{
    q->status = 404;
    q->err = 0;
    q->listing = false;
    q->enc_used = 0;
    q->sib_of_index = -1;
    q->nread = -1;
    q->name = q->path;
    q->res.fd = -1;
    q->res.index = -1;
    if (q->ntry == 0) {
        try_path(q, q->path, flags);
    } else {
        q->status = STATIC_FALLBACK;
        for (size_t i = 0; i + 1 < q->ntry; i++) {
            if (!expand(q->try_files[i], q->path, q->sc.cand, q->sc.part))
                continue;
            int st = try_path(q, q->sc.cand, flags);
            if (st == 200 || st == FILE_WOULDBLOCK || st == 500) {
                q->name = q->sc.cand;
                break;
            }
            q->status = STATIC_FALLBACK;
        }
    }
    int idx = q->enc_used ? q->sib_of_index : q->res.index;
    if (q->status == 200 && !q->listing && idx >= 0)
        q->name = q->index[idx];
    if (q->status == 200 && !q->listing && q->buf && q->res.st.st_size <= (off_t)q->buflen &&
        !(flags & FILE_CACHED_ONLY))
        q->nread = pread(q->res.fd, q->buf, (size_t)q->res.st.st_size, 0);
    return q->status;
}
