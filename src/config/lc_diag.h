/* config/lc_diag.h: explains a libconfig syntax error: what is wrong, what was expected, on which line. */
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

#endif
