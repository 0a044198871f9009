/* config/load.c: reads a config file with the front-end its name asks for and expands `include` settings. */
#include "config/front.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A config file bigger than this is a mistake (or /dev/zero), not a config. */
#define LOAD_MAX_BYTES (16u << 20)

typedef struct {
    node_doc *d;
    char *err;
    size_t errlen;
    /* The files being read, outermost first: a file met again is a cycle. */
    struct {
        dev_t dev;
        ino_t ino;
    } open[CONF_MAX_INCLUDE_DEPTH + 1];
    int nopen;
    int nfiles; /* read so far, so that a fan-out of globs stays bounded */
} ld_ctx;

/* What is being read: the top file (from NULL) or an include's match. */
typedef struct {
    const char *path;
    const cfg_node *from; /* the include's pattern node */
    bool literal;         /* the pattern had no glob characters */
} ld_src;

static cfg_node *load_file(ld_ctx *c, const ld_src *src, int depth);

static void ld_err_at(ld_ctx *c, const cfg_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ld_err_at(ld_ctx *c, const cfg_node *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    node_error(c->err, c->errlen, at->file, at->line, at->col, msg);
}

/* A pattern as shown in an error: control characters (a YAML "\n", say)
 * become '?' so that the message stays on one line. */
static const char *shown(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    buf[i] = '\0';
    return buf;
}

/* An error about reading src: where the include is, or the file itself. */
static void ld_err_src(ld_ctx *c, const ld_src *src, const char *what)
{
    char pat[256];

    if (!src->from)
        snprintf(c->err, c->errlen, "%s: %s", src->path, what);
    else if (src->literal)
        ld_err_at(c, src->from, "include \"%s\": %s", shown(src->from->text, pat, sizeof pat),
                  what);
    else
        ld_err_at(c, src->from, "include \"%s\": %s: %s",
                  shown(src->from->text, pat, sizeof pat), src->path, what);
}

/* The whole file, NUL-terminated for convenience; NULL with err set. */
static char *read_all(ld_ctx *c, const ld_src *src, int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);

    while (buf) {
        if (n + 1 == cap) {
            if (cap > LOAD_MAX_BYTES) {
                ld_err_src(c, src, "file too large");
                free(buf);
                return NULL;
            }
            char *grown = realloc(buf, cap * 2);
            if (!grown)
                break;
            buf = grown;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ld_err_src(c, src, strerror(errno));
            free(buf);
            return NULL;
        }
        if (r == 0) {
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        n += (size_t)r;
    }
    free(buf);
    ld_err_src(c, src, "out of memory");
    return NULL;
}

static bool is_yaml(const char *path)
{
    size_t n = strlen(path);
    return (n >= 5 && strcasecmp(path + n - 5, ".yaml") == 0) ||
           (n >= 4 && strcasecmp(path + n - 4, ".yml") == 0);
}

/* Opens src, refusing a file that is already being read; fills its text. */
static char *open_src(ld_ctx *c, const ld_src *src, size_t *len, struct stat *st)
{
    int fd = open(src->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, st) != 0) {
        ld_err_src(c, src, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    for (int i = 0; i < c->nopen; i++) {
        if (c->open[i].dev == st->st_dev && c->open[i].ino == st->st_ino) {
            ld_err_src(c, src, "includes itself (an include cycle)");
            close(fd);
            return NULL;
        }
    }
    char *text = read_all(c, src, fd, len);
    close(fd);
    return text;
}

/* ---- expansion ----------------------------------------------------------- */

static int expand(ld_ctx *c, cfg_node *n, int depth);

static bool has_glob_chars(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* dir of base (up to its last '/') + pat; with escape, the dir part gets
 * backslashes before glob characters so only pat acts as a pattern. */
static char *join_path(const char *base, const char *pat, bool escape)
{
    const char *slash = strrchr(base, '/');
    size_t dirlen = pat[0] == '/' || !slash ? 0 : (size_t)(slash - base) + 1;
    size_t patlen = strlen(pat);
    char *out = malloc(2 * dirlen + patlen + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < dirlen; i++) {
        if (escape && strchr("*?[\\", base[i]))
            *o++ = '\\';
        *o++ = base[i];
    }
    memcpy(o, pat, patlen + 1);
    return out;
}

/* Moves the root children of each file in paths[0..n) to the end of g. */
static int splice_files(ld_ctx *c, cfg_node *g, ld_src *src, char **paths, size_t n, int depth)
{
    for (size_t i = 0; i < n; i++) {
        src->path = paths[i];
        cfg_node *sub = load_file(c, src, depth);
        if (!sub)
            return -1;
        for (size_t j = 0; j < sub->nkids; j++) {
            if (node_add(g, sub->kids[j]) != 0) {
                node_free(sub); /* still owns kids j.. */
                ld_err_at(c, src->from, "out of memory");
                return -1;
            }
            sub->kids[j] = NULL;
        }
        node_free(sub);
    }
    return 0;
}

/* glob's error callback has no user pointer. */
static _Thread_local int glob_errno;

static int glob_error(const char *epath, int eerrno)
{
    (void)epath;
    if (eerrno == ENOENT || eerrno == ENOTDIR)
        return 0; /* no conf.d at all is as fine as an empty one */
    glob_errno = eerrno;
    return 1; /* stop: an unreadable directory must not look empty */
}

/* One include pattern (a scalar node): the files it names, spliced into g. */
static int include_one(ld_ctx *c, cfg_node *g, const cfg_node *pat, int depth)
{
    ld_src src = { .from = pat, .literal = !has_glob_chars(pat->text) };
    char *path = join_path(pat->file, pat->text, !src.literal);
    char show[256];
    int rc;

    if (!path) {
        ld_err_at(c, pat, "out of memory");
        return -1;
    }
    if (!pat->text[0]) {
        /* Would name the including file's directory. */
        ld_err_at(c, pat, "include: empty file name");
        free(path);
        return -1;
    }
    if (depth + 1 > CONF_MAX_INCLUDE_DEPTH) {
        ld_err_at(c, pat, "include \"%s\": includes nested deeper than %d levels",
                  shown(pat->text, show, sizeof show), CONF_MAX_INCLUDE_DEPTH);
        free(path);
        return -1;
    }
    if (src.literal) {
        rc = splice_files(c, g, &src, &path, 1, depth + 1);
        free(path);
        return rc;
    }
    glob_t gl;
    glob_errno = 0;
    int gr = glob(path, 0, glob_error, &gl);
    free(path);
    if (gr == GLOB_NOMATCH) {
        return 0; /* an empty conf.d is fine */
    } else if (gr != 0) {
        if (gr == GLOB_NOSPACE)
            ld_err_at(c, pat, "out of memory");
        else
            ld_err_at(c, pat, "include \"%s\": %s", shown(pat->text, show, sizeof show),
                      glob_errno ? strerror(glob_errno) : "cannot read a directory");
        globfree(&gl);
        return -1;
    }
    rc = splice_files(c, g, &src, gl.gl_pathv, gl.gl_pathc, depth + 1);
    globfree(&gl);
    return rc;
}

static bool is_text(const cfg_node *n)
{
    return n->kind == NODE_SCALAR && (n->sc == SC_STRING || n->sc == SC_PLAIN);
}

/* An `include` child of g: its value is one pattern or a list of them. */
static int include_node(ld_ctx *c, cfg_node *g, const cfg_node *inc, int depth)
{
    if (is_text(inc))
        return include_one(c, g, inc, depth);
    bool ok = inc->kind == NODE_LIST;
    for (size_t i = 0; ok && i < inc->nkids; i++)
        ok = is_text(inc->kids[i]);
    if (!ok) {
        ld_err_at(c, inc, "include takes a string or a list of strings (got %s)",
                  node_kind_name(inc));
        return -1;
    }
    for (size_t i = 0; i < inc->nkids; i++)
        if (include_one(c, g, inc->kids[i], depth) != 0)
            return -1;
    return 0;
}

/* Rebuilds g's children, each `include` replaced by what it names. */
static int expand_group(ld_ctx *c, cfg_node *g, int depth)
{
    cfg_node **old = g->kids;
    size_t n = g->nkids;
    int rc = 0;

    g->kids = NULL;
    g->nkids = g->cap = 0;
    for (size_t i = 0; i < n; i++) {
        cfg_node *k = old[i];
        if (rc == 0 && k->name && strcmp(k->name, "include") == 0) {
            rc = include_node(c, g, k, depth);
            node_free(k);
            continue;
        }
        if (rc == 0)
            rc = expand(c, k, depth);
        if (rc == 0 && node_add(g, k) != 0) {
            ld_err_at(c, k, "out of memory");
            rc = -1;
        }
        if (rc != 0)
            node_free(k);
    }
    free(old);
    return rc;
}

/* Finds the groups (at any depth, inside lists too) and expands them. */
static int expand(ld_ctx *c, cfg_node *n, int depth)
{
    if (n->kind == NODE_GROUP)
        return expand_group(c, n, depth);
    for (size_t i = 0; i < n->nkids; i++)
        if (expand(c, n->kids[i], depth) != 0)
            return -1;
    return 0;
}

/* Reads and parses one file, then expands its own includes. depth: how
 * many includes led here. NULL with err set. */
static cfg_node *load_file(ld_ctx *c, const ld_src *src, int depth)
{
    size_t len;
    struct stat st;

    if (++c->nfiles > CONF_MAX_INCLUDE_FILES) {
        char what[64];
        snprintf(what, sizeof what, "more than %d files included in all",
                 CONF_MAX_INCLUDE_FILES);
        ld_err_src(c, src, what);
        return NULL;
    }
    char *text = open_src(c, src, &len, &st);
    if (!text)
        return NULL;
    cfg_node *root = is_yaml(src->path)
                         ? front_yaml_parse(c->d, text, len, src->path, c->err, c->errlen)
                         : front_libconfig_parse(c->d, text, len, src->path, c->err, c->errlen);
    free(text);
    if (!root)
        return NULL;
    c->open[c->nopen].dev = st.st_dev;
    c->open[c->nopen].ino = st.st_ino;
    c->nopen++;
    int rc = expand(c, root, depth);
    c->nopen--;
    if (rc != 0) {
        node_free(root);
        return NULL;
    }
    return root;
}

int conf_load_file(node_doc *d, const char *path, char *err, size_t errlen)
{
    ld_ctx c = { .d = d, .err = err, .errlen = errlen };
    ld_src src = { .path = path };

    if (errlen)
        err[0] = '\0';
    node_free(d->root);
    d->root = NULL;
    d->root = load_file(&c, &src, 0);
    return d->root ? 0 : -1;
}
