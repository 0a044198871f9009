/* config/lc_diag.h: re-reads libconfig text with libconfig's grammar: explains syntax errors, finds what libconfig reads silently wrong. */
#ifndef EP_CONFIG_LC_DIAG_H
#define EP_CONFIG_LC_DIAG_H

#include <stddef.h>

/* libconfig says only "syntax error" and the line it had reached, which is
 * often past the mistake (an unclosed '{' is reported at the end of the
 * file). This re-reads text with libconfig's grammar and finds the first
 * token it cannot take. If that token ends on lc_line (so both readers
 * stopped at the same place), writes "what is wrong; expected ..." into msg
 * and returns the line to report (the token's, or an earlier one that the
 * mistake most likely is on: the unclosed bracket, the string that runs on,
 * the element before a missing ','). Returns 0 when it cannot tell. */
int lc_diagnose(const char *text, int lc_line, char *msg, size_t msglen);

/* What to say of a block comment that is never closed (libconfig takes the
 * rest of the text as comment, silently). */
#define LC_OPEN_COMMENT "the '/*' comment opened on this line is never closed, so the rest of " \
                        "the file would be ignored; expected '*/'"

/* An integer literal as written: libconfig 1.5 reads one without L through
 * atoi (4294967297 becomes 1) and one with L through atoll (saturating), so
 * the front-end reads the text itself. p points into the scanned text. */
typedef struct {
    const char *p;
    size_t len;
    int line;
} lc_int;

/* A string value (adjacent literals are one) holding the escape \x00:
 * libconfig drops the NUL it means without a word ("a\x00b" reads "ab"). */
typedef struct {
    size_t index; /* which string value of the text, from 0 */
    int line;     /* the line of the escape */
} lc_nul;

typedef struct {
    lc_int *ints;     /* every integer literal, in the order of the text */
    size_t n;
    lc_int *incs;     /* the file names of @include lines, as written */
    size_t nincs;
    lc_nul *nuls;     /* the string values with \x00, in order */
    size_t nnuls;
    int open_comment; /* the line of a block comment never closed, or 0 */
} lc_scan_result;

/* Scans text that libconfig accepted, with libconfig's tokens: the integer
 * literals (its settings' integers, in order; the text an @include brings
 * is not here, its name is in incs), the strings with \x00 (by their place
 * among its string settings) and a block comment left open.
 * 0, or -1 on OOM (nothing to free then). */
int lc_scan(const char *text, lc_scan_result *r);
void lc_scan_free(lc_scan_result *r);

#endif
