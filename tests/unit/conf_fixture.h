/* tests/unit/conf_fixture.h: a temp dir with document roots, config files written into it, and -T dump checks, for the config unit tests. */
#ifndef EP_TEST_CONF_FIXTURE_H
#define EP_TEST_CONF_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/model.h"

extern char tmp[64]; /* mkdtemp's dir; every file a test writes goes here */

char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* text with every "@D" replaced by the temp dir (malloc'd). */
char *expand(const char *text);
void write_raw(const char *path, const char *text);
/* Writes template text (with "@D") to tmp/name; returns the path (malloc'd). */
char *write_conf(const char *name, const char *text);
char *slurp(const char *path);
/* conf_read of the text written as tmp/name; fails the test on an error. */
cfg *load(const char *name, const char *text);
/* conf_read's error for the text written as tmp/name, after its
 * "FILE:LINE[:COL]: " (malloc'd); fails the test if the text loads. */
char *message_of(const char *name, const char *text);
/* The same setting in both syntaxes: each must be refused with the same
 * message (after the position). */
typedef struct {
    const char *conf, *yaml;
} same_row;
void assert_same_messages(const same_row *rows, size_t n);
/* cfg_dump's text (malloc'd). */
char *dump(const cfg *c);
void mkdir_in(const char *rel, mode_t mode);
/* cmocka group setup/teardown: the temp dir with www, www/img, data, spa, mime.types. */
int setup(void **state);
int teardown(void **state);

/* The dumps of a and b are the same but for their "# from FILE:LINE"
 * comments, and each has one per server and location from a file. */
void assert_same_dump(const cfg *a, const cfg *b);
/* Dump c, read the dump back (as tmp/name), and dump again: the same text,
 * but for the origins, which now name the dump's file and lines. */
void assert_round_trip(const cfg *c, const char *name);

/* -t warnings, collected through conf_lint's callback. */
typedef struct {
    char lines[8][512];
    int n;
} warnings;
void collect(void *ctx, const char *line);
/* A warning at "FILE:LINE" (with @D) that mentions what. */
bool warned(const warnings *w, const char *at, const char *what);

#endif
