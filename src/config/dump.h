/* config/dump.h: printing a model back as a libconfig file (-T), and the -t warnings. */
#ifndef EP_CONFIG_DUMP_H
#define EP_CONFIG_DUMP_H

#include <stdio.h>

#include "config/model.h"

/* The effective configuration with every default filled in, in libconfig
 * syntax that ephttpd reads back to the same model. Locations show only the
 * rules they set themselves; the rest they inherit from their server. */
void cfg_dump(const cfg *c, FILE *f);

/* Legal but dangerous settings: calls warn once per finding with one line
 * ("FILE:LINE: ..."). Returns the number of findings. */
int cfg_lint(const cfg *c, void (*warn)(void *ctx, const char *line), void *ctx);

#endif
