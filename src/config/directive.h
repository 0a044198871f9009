/* config/directive.h: the directive table's types and helpers, shared by directives.c, values.c and rules.c (internal). */
#ifndef EP_CONFIG_DIRECTIVE_H
#define EP_CONFIG_DIRECTIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "config/node.h"

/* Where a setting may appear. */
enum {
    X_TOP = 1u << 0,
    X_LISTEN = 1u << 1,
    X_SERVER = 1u << 2,
    X_LOC = 1u << 3,
    X_RETURN = 1u << 4,
    X_ERRPAGE = 1u << 5,
    X_ALOG = 1u << 6,   /* an access_log = ( { ... } ) entry */
    X_LOGFMT = 1u << 7, /* a log_formats = ( { ... } ) entry */
};

/* Which struct a directive's offset is relative to. */
typedef enum { B_CFG, B_LISTEN, B_SERVER, B_RULES, B_LOC, B_ERRPAGE, B_ALOG, B_LOGFMT, B_COUNT } dbase;

typedef enum { T_INT, T_SIZE, T_DURATION, T_BOOL, T_STR, T_STRLIST, T_ENUM, T_CUSTOM } dtype;

/* An error_page entry while it is being read: several codes, one URI. */
typedef struct {
    int codes[32];
    size_t ncodes;
    char *uri;
} errpage_tmp;

typedef struct apply_ctx apply_ctx;
typedef struct directive directive;

struct directive {
    const char *name;
    unsigned where;  /* X_* */
    dbase base;
    dtype type;
    size_t off;      /* field offset within the base struct */
    size_t size;     /* T_ENUM: sizeof the field (a bool or an int-sized enum) */
    size_t off_n;    /* T_STRLIST: offset of the count */
    uint32_t rbit;   /* R_* bit for rules, 0 otherwise */
    int64_t min, max; /* T_INT, T_SIZE, T_DURATION (ms) */
    const char *const *names; /* T_ENUM: value names, index = stored int */
    int (*set)(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
    bool multi;      /* may appear more than once in a group (lists that append) */
};

struct apply_ctx {
    cfg *c;
    const char *setting; /* the directive being applied, for its list items */
    void *base[B_COUNT];
    char *err;
    size_t errlen;
};

/* ---- values.c: reading typed values from nodes, errors ---- */

/* Make a message one line: control characters become \n, \t, \r or \xNN. */
void dir_one_line(char *s, size_t size);
/* One line "FILE:LINE[:COL]: message" into a->err; returns -1. */
int dir_fail(apply_ctx *a, const cfg_node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int dir_oom(apply_ctx *a, const cfg_node *n);
/* The setting a node belongs to, for messages (a list item names its list). */
const char *dir_name(const apply_ctx *a, const cfg_node *n);
/* "a string", "an integer", ... for messages. */
const char *dir_kind(const cfg_node *n);
/* Each sets *out even when it fails. 0, or -1 with the error in a->err. */
int dir_want_string(apply_ctx *a, const cfg_node *n, const char **out);
int dir_want_int(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out);
int dir_want_size(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out);
int dir_want_duration(apply_ctx *a, const cfg_node *n, int64_t min, int64_t max, int64_t *out);
int dir_want_bool(apply_ctx *a, const cfg_node *n, bool *out);
int dir_want_strlist(apply_ctx *a, const cfg_node *n, char ***out, size_t *nout);
/* The setter of every directive with a plain type (T_INT ... T_ENUM). */
int dir_set_scalar(apply_ctx *a, const directive *d, const cfg_node *n, void *field);

/* ---- directives.c ---- */

int dir_apply_group(apply_ctx *a, const cfg_node *g, unsigned where);
/* "file:line[:col]" of n, for checks made later (malloc'd; NULL on OOM). */
char *dir_where(const cfg_node *n);
int dir_expect_group(apply_ctx *a, const cfg_node *n, const char *what);
int dir_each_group(apply_ctx *a, const cfg_node *n, const char *what,
                   int (*each)(apply_ctx *, const cfg_node *));

/* ---- rules.c: setters of the per-location rules with a shape of their own ---- */

bool dir_is_tchar(unsigned char ch);
int rule_methods(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_return(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_return_text(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_headers(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_expires(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_precompressed(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_access(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_codes(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_error_pages(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_try_files(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_names(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_etag(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_real_ip_from(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int rule_real_ip_header(apply_ctx *a, const directive *d, const cfg_node *n, void *field);

/* ---- tls_settings.c: the TLS settings (plain data; OpenSSL reads them elsewhere) ---- */

int tls_set_protocols(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int tls_set_ciphers(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
int tls_set_paths(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
/* After the whole tree is applied: global TLS settings that would do nothing. */
int tls_check_globals(apply_ctx *a, const cfg_node *root);

/* ---- h2_settings.c: the HTTP/2 settings (plain data; nghttp2 reads them elsewhere) ---- */

/* A T_INT or T_SIZE directive (d->min..d->max) into a uint32_t field. */
int h2_set_u32(apply_ctx *a, const directive *d, const cfg_node *n, void *field);
/* After the whole tree is applied: http2_* globals that would do nothing. */
int h2_check_globals(apply_ctx *a, const cfg_node *root);

#endif
