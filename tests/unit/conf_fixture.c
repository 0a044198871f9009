/* tests/unit/conf_fixture.c: the config unit tests' temp dir, the files written into it, and -t warnings collected. */
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
