/* tests/unit/conf_fixture.c: the config unit tests' temp dir, the files written into it, -T dumps compared and read back, and -t warnings collected. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/directives.h"
#include "http/prepare.h"
#include "config/dump.h"
#include "config/model.h"

#include "conf_fixture.h"

char tmp[64]; /* mkdtemp's dir; every file a test writes goes here */

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}

/* text with every "@D" replaced by the temp dir (malloc'd). */
char *expand(const char *text)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "@D")); p += 2)
        n++;
    char *out = malloc(strlen(text) + n * strlen(tmp) + 1), *o = out;
    assert_non_null(out);
    for (const char *p = text; *p;) {
        if (p[0] == '@' && p[1] == 'D') {
            o = stpcpy(o, tmp);
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

void write_raw(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* Writes template text (with "@D") to tmp/name; returns the path (malloc'd). */
char *write_conf(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", tmp, name);
    char *body = expand(text);
    write_raw(path, body);
    free(body);
    return path;
}

char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0;
    FILE *m = open_memstream(&buf, &cap);
    assert_non_null(m);
    int ch;
    while ((ch = fgetc(f)) != EOF)
        fputc(ch, m);
    fclose(f);
    fclose(m);
    return buf;
}

cfg *load(const char *name, const char *text)
{
    char err[1024] = "";
    char *path = write_conf(name, text);
    cfg *c = http_conf_read(path, err, sizeof err);
    if (!c)
        fail_msg("%s: unexpected error: %s", name, err);
    free(path);
    return c;
}

char *dump(const cfg *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cfg_dump(c, f);
    fclose(f);
    return buf;
}

void mkdir_in(const char *rel, mode_t mode)
{
    char *p = xasprintf("%s/%s", tmp, rel);
    assert_int_equal(mkdir(p, mode), 0);
    assert_int_equal(chmod(p, mode), 0); /* past the umask */
    free(p);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    chmod(path, 0700); /* an unreadable test dir must still go */
    return remove(path);
}

int setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/ephttpd-directives-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    mkdir_in("www", 0755);
    mkdir_in("www/img", 0755);
    mkdir_in("data", 0755);
    mkdir_in("spa", 0755);
    char *mime = xasprintf("%s/mime.types", tmp);
    write_raw(mime, "text/html html htm\ntext/css css\nimage/png png\n");
    free(mime);
    return 0;
}

int teardown(void **state)
{
    (void)state;
    return nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void collect(void *ctx, const char *line)
{
    warnings *w = ctx;
    assert_true(w->n < 8);
    assert_null(strchr(line, '\n'));
    snprintf(w->lines[w->n++], sizeof w->lines[0], "%s", line);
}

bool warned(const warnings *w, const char *at, const char *what)
{
    char *a = expand(at);
    bool found = false;
    for (int i = 0; i < w->n; i++)
        found |= strncmp(w->lines[i], a, strlen(a)) == 0 && strstr(w->lines[i], what);
    free(a);
    return found;
}

/* ---- -T dumps ------------------------------------------------------------ */

/* A "# from FILE:LINE" line of the dump: spaces, the comment, digits at the end. */
static bool is_origin_line(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && line[i] == ' ')
        i++;
    if (len - i < 8 || strncmp(line + i, "# from ", 7) != 0)
        return false;
    size_t d = len;
    while (d > i && line[d - 1] >= '0' && line[d - 1] <= '9')
        d--;
    return d < len && line[d - 1] == ':';
}

/* The dump without its origin comments (malloc'd), and how many there were:
 * the one part of a dump that names the file rather than the settings. */
static char *strip_origins(const char *text, size_t *n)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    assert_non_null(out);
    *n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t whole = len + (nl != NULL); /* with its newline */
        if (is_origin_line(p, len)) {
            ++*n;
        } else {
            memcpy(o, p, whole);
            o += whole;
        }
        p += whole;
    }
    *o = '\0';
    return out;
}

/* One origin comment per server and location that came from a file. */
static size_t origins_in(const cfg *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nservers; i++) {
        n += c->servers[i].from.file != NULL;
        for (size_t j = 0; j < c->servers[i].nlocs; j++)
            n += c->servers[i].locs[j].from.file != NULL;
    }
    return n;
}

/* The dumps of a and b are the same but for the origin comments. */
void assert_same_dump(const cfg *a, const cfg *b)
{
    char *da = dump(a), *db = dump(b);
    size_t na, nb;
    char *sa = strip_origins(da, &na), *sb = strip_origins(db, &nb);
    assert_string_equal(sb, sa);
    assert_int_equal(na, origins_in(a));
    assert_int_equal(nb, origins_in(b));
    free(da), free(db), free(sa), free(sb);
}

/* Each origin comment of a dump read back from path names path and the
 * line right below it, where its block starts. */
static void assert_origins_point_below(const char *text, const char *path)
{
    int line = 1;
    for (const char *p = text; *p; line++) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (is_origin_line(p, (size_t)(nl - p))) {
            char *want = xasprintf("# from %s:%d\n", path, line + 1);
            const char *got = strstr(p, "# from ");
            assert_true(strncmp(got, want, strlen(want)) == 0);
            free(want);
        }
        p = nl + 1;
    }
}

/* Dump c, read the dump back, and dump again: the same text, but for the
 * origins, which now name the dump's file and lines. */
void assert_round_trip(const cfg *c, const char *name)
{
    char *first = dump(c);
    char *path = xasprintf("%s/%s", tmp, name);
    write_raw(path, first);
    char err[1024] = "";
    cfg *again = http_conf_read(path, err, sizeof err);
    if (!again)
        fail_msg("the dump does not read back: %s\n%s", err, first);
    assert_same_dump(c, again);
    char *second = dump(again);
    assert_origins_point_below(second, path);
    free(second);
    cfg_free(again);
    free(path);
    free(first);
}

char *message_of(const char *name, const char *text)
{
    char err[1024] = "";
    char *path = write_conf(name, text);
    cfg *c = http_conf_read(path, err, sizeof err);
    if (c) {
        cfg_free(c);
        fail_msg("accepted:\n%s", text);
    }
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
    const char *p = err + strlen(path);
    for (int i = 0; i < 2 && p[0] == ':' && p[1] >= '0' && p[1] <= '9'; i++)
        for (p++; *p >= '0' && *p <= '9';)
            p++;
    assert_int_equal(strncmp(p, ": ", 2), 0);
    free(path);
    return strdup(p + 2);
}

void assert_same_messages(const same_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *a = message_of("same.conf", rows[i].conf), *b = message_of("same.yaml", rows[i].yaml);
        if (strcmp(a, b) != 0)
            fail_msg("%s  -> %s\n%s  -> %s", rows[i].conf, a, rows[i].yaml, b);
        free(a);
        free(b);
    }
}
