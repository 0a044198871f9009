/* config/front_libconfig.c: libconfig text to the neutral node tree (config/node.h). */
#include "config/front.h"
#include "config/lc_diag.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/grow.h"

/* An included file bigger than this is not a config (load.c's limit). */
#define LC_MAX_BYTES (16u << 20)

/* One file's integer literals, handed out in order as its settings are
 * converted (libconfig keeps the order of the text). */
typedef struct {
    const char *file; /* interned: the key */
    char *text;       /* a file of libconfig's @include, read again; NULL for the top */
    lc_scan_result scan;
    size_t next;      /* the next integer literal to hand out */
    int uses, used;   /* times libconfig reads the file; rounds of next done */
    size_t next_str;  /* string settings converted so far */
    size_t next_nul;  /* the next entry of scan.nuls */
} lc_src;

typedef struct {
    node_doc *d;
    const char *file; /* the top text's name, interned */
    const char *text; /* the top text, NUL-terminated */
    const char *dir;  /* file up to its last '/', or NULL when it has none */
    size_t dirlen;    /* including that '/' */
    lc_src *srcs;
    size_t nsrcs, capsrcs;
    /* The files being scanned, outermost first: one met again is a cycle. */
    struct {
        dev_t dev;
        ino_t ino;
    } open[CONF_MAX_INCLUDE_DEPTH + 2];
    char *err;
    size_t errlen;
} lc_ctx;

static void lc_err(lc_ctx *c, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lc_err(lc_ctx *c, const char *file, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(c->err, c->errlen, "%s:%d: %s", file, line, msg);
    else
        snprintf(c->err, c->errlen, "%s: %s", file, msg);
}

/* The interned name of the file a setting (or error) came from. libconfig
 * reports NULL for the top text, and for its own @include the name as
 * written, which it opened relative to the include dir: prefix that dir so
 * the name works from here (later includes resolve against it). */
static const char *lc_file(lc_ctx *c, const char *src)
{
    if (!src)
        return c->file;
    if (src[0] == '/' || !c->dir)
        return node_intern_file(c->d, src);
    size_t n = strlen(src);
    char *full = malloc(c->dirlen + n + 1);
    if (!full)
        return NULL;
    memcpy(full, c->dir, c->dirlen);
    memcpy(full + c->dirlen, src, n + 1);
    const char *interned = node_intern_file(c->d, full);
    free(full);
    return interned;
}

/* Shortest "%.*g" text that reads back as exactly v (17 digits always do). */
static void fmt_double(char *buf, size_t size, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* A whole file of libconfig's @include, NUL-terminated, and its identity;
 * NULL with errno. */
static char *lc_read(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0, cap = 0;
    char *buf = NULL;

    if (fd < 0)
        return NULL;
    if (fstat(fd, st) != 0)
        goto fail;
    for (;;) {
        if (ep_grow((void **)&buf, &cap, n, 4096, 1) < 0 || n > LC_MAX_BYTES) {
            errno = n > LC_MAX_BYTES ? EFBIG : ENOMEM;
            break;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0)
                break;
            buf[n] = '\0';
            close(fd);
            return buf;
        }
        n += (size_t)r;
    }
fail:;
    int e = errno;
    free(buf);
    close(fd);
    errno = e;
    return NULL;
}

static lc_src *lc_find(lc_ctx *c, const char *file)
{
    for (size_t i = 0; i < c->nsrcs; i++)
        if (c->srcs[i].file == file)
            return &c->srcs[i];
    return NULL;
}

/* What the @include line inc of from names: "@include \"x\": " in err. */
static void lc_inc_err(lc_ctx *c, const lc_src *from, const lc_int *inc, const char *what)
{
    lc_err(c, from->file, inc->line, "@include \"%.*s\": %s", (int)(inc->len < 200 ? inc->len : 200),
           inc->p, what);
}

/* The path an @include names (as libconfig resolves it), or NULL with the
 * error said at the including file's line. */
static const char *lc_inc_path(lc_ctx *c, lc_int name, const char *file)
{
    char *rel = strndup(name.p, name.len);
    const char *path = rel ? lc_file(c, rel) : NULL;
    free(rel);
    if (!path)
        lc_err(c, file, name.line, "out of memory");
    return path;
}

/* libconfig reads a file once more at each further @include of it (not in
 * a cycle), and so the files it @includes in turn: one more use of each,
 * for their integers to be handed out again. 0, or -1 with err set. */
static int lc_read_again(lc_ctx *c, size_t at)
{
    c->srcs[at].uses++;
    for (size_t i = 0; i < c->srcs[at].scan.nincs; i++) {
        const char *path = lc_inc_path(c, c->srcs[at].scan.incs[i], c->srcs[at].file);
        if (!path)
            return -1;
        lc_src *found = lc_find(c, path);
        if (found && lc_read_again(c, (size_t)(found - c->srcs)) < 0)
            return -1;
    }
    return 0;
}

/* The text of the file the @include line inc of c->srcs[from] names, at
 * depth, unless it is one being read already (a cycle); NULL with err set. */
static char *lc_read_include(lc_ctx *c, const char *file, size_t from, const lc_int *inc, int depth,
                             struct stat *st)
{
    char *text;
    if (depth > CONF_MAX_INCLUDE_DEPTH) {
        char what[64];
        snprintf(what, sizeof what, "includes nested deeper than %d levels", CONF_MAX_INCLUDE_DEPTH);
        lc_inc_err(c, &c->srcs[from], inc, what);
        return NULL;
    }
    if (!(text = lc_read(file, st))) {
        lc_inc_err(c, &c->srcs[from], inc, strerror(errno));
        return NULL;
    }
    for (int i = 0; i < depth; i++)
        if (c->open[i].dev == st->st_dev && c->open[i].ino == st->st_ino) {
            free(text);
            lc_inc_err(c, &c->srcs[from], inc, "includes itself (an include cycle)");
            return NULL;
        }
    return text;
}

/* Scans file (interned): the top text (inc NULL), or the file the @include
 * line inc of c->srcs[from] names, which libconfig will read; then, depth
 * first, the files its own @include lines name. This runs before libconfig
 * reads anything, so that a file that includes itself, or one that is not
 * there, gets a message that names it (libconfig says "duplicate setting
 * name" of the first, and "cannot open include file" of the second).
 * 0, or -1 with err set. */
static int lc_scan_file(lc_ctx *c, const char *file, size_t from, const lc_int *inc, int depth)
{
    struct stat st = { 0 };
    char *text = NULL;

    if (inc && !(text = lc_read_include(c, file, from, inc, depth, &st)))
        return -1;
    lc_src *again = lc_find(c, file);
    if (again) {
        free(text);
        return lc_read_again(c, (size_t)(again - c->srcs));
    }
    if (!inc && stat(file, &st) != 0)
        st = (struct stat){ 0 }; /* text that is not a file of its own (tests) */
    if (ep_grow((void **)&c->srcs, &c->capsrcs, c->nsrcs, 1, sizeof *c->srcs) < 0) {
        free(text);
        lc_err(c, file, 0, "out of memory");
        return -1;
    }
    size_t at = c->nsrcs; /* an index: the array moves as includes are added */
    c->srcs[at] = (lc_src){ .file = file, .text = text, .uses = 1 };
    if (lc_scan(text ? text : c->text, &c->srcs[at].scan) < 0) {
        free(text);
        lc_err(c, file, 0, "out of memory");
        return -1;
    }
    c->nsrcs++;
    c->open[depth].dev = st.st_dev;
    c->open[depth].ino = st.st_ino;
    for (size_t i = 0; i < c->srcs[at].scan.nincs; i++) {
        const char *path = lc_inc_path(c, c->srcs[at].scan.incs[i], file);
        if (!path)
            return -1;
        if (lc_scan_file(c, path, at, &c->srcs[at].scan.incs[i], depth + 1) < 0)
            return -1;
    }
    return 0;
}

/* A block comment left open in any file scanned, the first in the order
 * libconfig reads them: it would drop the rest of the including file too,
 * even where no setting follows. 0, or -1 with err set. */
static int lc_open_comments(lc_ctx *c)
{
    for (size_t i = 0; i < c->nsrcs; i++)
        if (c->srcs[i].scan.open_comment) {
            lc_err(c, c->srcs[i].file, c->srcs[i].scan.open_comment, "%s", LC_OPEN_COMMENT);
            return -1;
        }
    return 0;
}

/* Every integer literal scanned went to a setting: libconfig and the scan
 * read the same text. 0, or -1 with err set. */
static int lc_all_read(lc_ctx *c)
{
    for (size_t i = 0; i < c->nsrcs; i++) {
        const lc_src *src = &c->srcs[i];
        if (src->next < src->scan.n) {
            const lc_int *lit = &src->scan.ints[src->next];
            lc_err(c, src->file, lit->line, "the number %.*s on this line was not read (libconfig "
                   "and ephttpd disagree on this text)", (int)(lit->len < 40 ? lit->len : 40), lit->p);
            return -1;
        }
        if (src->next_nul < src->scan.nnuls) {
            lc_err(c, src->file, src->scan.nuls[src->next_nul].line, "a NUL character (\\x00) in a string");
            return -1;
        }
    }
    return 0;
}

static void lc_sources_free(lc_ctx *c)
{
    for (size_t i = 0; i < c->nsrcs; i++) {
        lc_scan_free(&c->srcs[i].scan);
        free(c->srcs[i].text);
    }
    free(c->srcs);
}

/* A setting's name for messages: its own, or its list's for an element. */
static const char *lc_name(const config_setting_t *s)
{
    const config_setting_t *up = config_setting_parent(s);
    if (config_setting_name(s))
        return config_setting_name(s);
    if (up && config_setting_name(up))
        return config_setting_name(up);
    return "list item";
}

/* Could libconfig have read got from the literal at lit? It reads one
 * without L with atoi (or, in later versions, as 64 bits) and one with L
 * with atoll; hex through strtoul or strtoull. These stop where the
 * literal does, as what follows it in the text cannot continue a number
 * (number_prefix in lc_diag.c took the longest one). A no means the text
 * scanned is not the text libconfig read (an @include file changed). */
static bool lit_agrees(const char *lit, long long got)
{
    if (lit[0] == '0' && (lit[1] == 'x' || lit[1] == 'X'))
        return got == (int)strtoul(lit, NULL, 16) || got == (long long)strtoull(lit, NULL, 16);
    return got == atoi(lit) || got == atoll(lit);
}

/* An integer setting's text: the next literal of its file, as written
 * (0x10, 5000000000L), for the directives to read exactly and to quote in
 * their messages. libconfig's own value wraps: workers = 4294967297 would
 * be 1. 0, or -1 with err set. */
static int lc_int_text(lc_ctx *c, lc_src *src, const config_setting_t *s, int line, const char **text,
                       size_t *len)
{
    const char *file = src->file;
    const char *name = lc_name(s);
    if (src->next == src->scan.n) {
        lc_err(c, file, line, "\"%s\": no integer for it in the text (libconfig and ephttpd "
               "disagree on this text)", name);
        return -1;
    }
    const lc_int *lit = &src->scan.ints[src->next++];
    if (src->next == src->scan.n && src->used + 1 < src->uses)
        src->next = 0, src->used++; /* the next @include of it reads it again */
    long long got = config_setting_get_int64(s);
    if (!lit_agrees(lit->p, got)) {
        lc_err(c, file, line, "\"%s\": libconfig read %lld, not %.*s (line %d); libconfig and "
               "ephttpd disagree on this text (did it change?)", name, got,
               (int)(lit->len < 40 ? lit->len : 40), lit->p, lit->line);
        return -1;
    }
    *text = lit->p;
    *len = lit->len;
    return 0;
}

/* A string setting whose text held \x00, which libconfig dropped ("a\x00b"
 * reads "ab"): refused, as YAML's front-end refuses a NUL in a scalar.
 * 0, or -1 with err set. */
static int lc_string_nul(lc_ctx *c, lc_src *src, const config_setting_t *s)
{
    size_t index = src->next_str++;
    if (src->next_nul == src->scan.nnuls || src->scan.nuls[src->next_nul].index != index)
        return 0;
    lc_err(c, src->file, src->scan.nuls[src->next_nul].line, "\"%s\": a NUL character (\\x00) in a string",
           lc_name(s));
    return -1;
}

/* A scalar setting as a node; NULL with err set. */
static cfg_node *lc_scalar(lc_ctx *c, lc_src *src, const config_setting_t *s, int line)
{
    const char *file = src->file;
    char buf[64];
    const char *text = buf;
    size_t len = 0; /* 0: strlen(text) */
    node_scalar sc;

    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        if (lc_int_text(c, src, s, line, &text, &len) < 0)
            return NULL;
        sc = SC_INT;
        break;
    case CONFIG_TYPE_FLOAT:
        fmt_double(buf, sizeof buf, config_setting_get_float(s));
        sc = SC_FLOAT;
        break;
    case CONFIG_TYPE_BOOL:
        text = config_setting_get_bool(s) ? "true" : "false";
        sc = SC_BOOL;
        break;
    case CONFIG_TYPE_STRING:
        if (lc_string_nul(c, src, s) < 0)
            return NULL;
        text = config_setting_get_string(s);
        if (!text)
            text = "";
        sc = SC_STRING;
        break;
    default:
        lc_err(c, file, line, "setting without a value");
        return NULL;
    }
    cfg_node *n = node_new_scalar(sc, config_setting_name(s), text, len ? len : strlen(text), file,
                                  line, 0);
    if (!n)
        lc_err(c, file, line, "out of memory");
    return n;
}

static cfg_node *lc_convert(lc_ctx *c, const config_setting_t *s, int depth)
{
    const char *file = lc_file(c, config_setting_source_file(s));
    int line = (int)config_setting_source_line(s);
    cfg_node *n;

    if (line < 1)
        line = 1; /* the root group has line 0 */
    if (!file) {
        lc_err(c, c->file, 0, "out of memory");
        return NULL;
    }
    lc_src *src = lc_find(c, file);
    if (!src) {
        lc_err(c, file, line, "libconfig read a file ephttpd did not (libconfig and ephttpd disagree "
               "on this text)");
        return NULL;
    }
    if (!config_setting_is_aggregate(s))
        return lc_scalar(c, src, s, line);
    if (depth >= FRONT_MAX_DEPTH) {
        lc_err(c, file, line, "nesting deeper than %d levels", FRONT_MAX_DEPTH);
        return NULL;
    }
    n = node_new(config_setting_is_group(s) ? NODE_GROUP : NODE_LIST, config_setting_name(s),
                 file, line, 0);
    if (!n) {
        lc_err(c, file, line, "out of memory");
        return NULL;
    }
    int len = config_setting_length(s);
    for (int i = 0; i < len; i++) {
        cfg_node *kid = lc_convert(c, config_setting_get_elem(s, (unsigned)i), depth + 1);
        if (!kid || node_add(n, kid) != 0) {
            if (kid) {
                node_free(kid);
                lc_err(c, file, line, "out of memory");
            }
            node_free(n);
            return NULL;
        }
    }
    return n;
}

/* libconfig reads C strings: a NUL would silently end the text early. */
static bool lc_check_nul(lc_ctx *c, const char *text, size_t len)
{
    const char *nul = memchr(text, '\0', len);
    if (!nul)
        return true;
    int line = 1;
    for (const char *p = text; p < nul; p++)
        line += *p == '\n';
    lc_err(c, c->file, line, "contains a NUL byte");
    return false;
}

/* libconfig's own words are "syntax error" and the line it had reached,
 * often past the mistake; lc_diagnose says what and where when it can. Its
 * other errors (duplicate setting name, mismatched element type in array,
 * cannot open include file) name the right line already. */
static void lc_syntax_error(lc_ctx *c, const config_t *cfg, const char *text)
{
    const char *src = config_error_file(cfg), *etext = config_error_text(cfg);
    const char *efile = lc_file(c, src);
    int line = config_error_line(cfg) > 0 ? config_error_line(cfg) : 1;
    char msg[224];

    if (!efile)
        efile = c->file;
    if (!etext)
        etext = "syntax error";
    if (strcmp(etext, "syntax error") != 0) {
        lc_err(c, efile, line, "%s", etext);
        return;
    }
    /* An error in a file of libconfig's own @include: not text we have. */
    int at = src ? 0 : lc_diagnose(text, line, msg, sizeof msg);
    if (at > 0)
        lc_err(c, efile, at, "%s", msg);
    else
        lc_err(c, efile, line, "syntax error on this line or shortly before it");
}

static cfg_node *lc_parse(lc_ctx *c, config_t *cfg, const char *text)
{
    if (c->dir) {
        /* The include dir is a C string: the dir without its '/', or "/". */
        char *dir = strndup(c->dir, c->dirlen > 1 ? c->dirlen - 1 : 1);
        if (!dir) {
            lc_err(c, c->file, 0, "out of memory");
            return NULL;
        }
        config_set_include_dir(cfg, dir);
        free(dir);
    }
    /* The top text and its @includes are scanned before libconfig reads
     * them, to refuse an include cycle or a missing file by name. */
    if (lc_scan_file(c, c->file, 0, NULL, 0) < 0)
        return NULL;
    if (!config_read_string(cfg, text)) {
        lc_syntax_error(c, cfg, text);
        return NULL;
    }
    if (lc_open_comments(c) < 0)
        return NULL;
    cfg_node *root = lc_convert(c, config_root_setting(cfg), 0);
    if (root && lc_all_read(c) < 0) {
        node_free(root);
        return NULL;
    }
    return root;
}

cfg_node *front_libconfig_parse(node_doc *d, const char *text, size_t len, const char *file,
                                char *err, size_t errlen)
{
    lc_ctx c = { .d = d, .err = err, .errlen = errlen };
    const char *slash = strrchr(file, '/');
    cfg_node *root = NULL;

    if (errlen)
        err[0] = '\0';
    c.file = node_intern_file(d, file);
    if (!c.file) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    if (slash) {
        c.dir = c.file;
        c.dirlen = (size_t)(slash - file) + 1;
    }
    if (!lc_check_nul(&c, text, len))
        return NULL;
    char *copy = strndup(text, len);
    if (!copy) {
        lc_err(&c, c.file, 0, "out of memory");
        return NULL;
    }
    config_t cfg;
    config_init(&cfg);
    c.text = copy;
    root = lc_parse(&c, &cfg, copy);
    config_destroy(&cfg);
    lc_sources_free(&c);
    free(copy);
    return root;
}
