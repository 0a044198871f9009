/* config/directives.h: the one directive table that checks and applies a config tree to the model. */
#ifndef EP_CONFIG_DIRECTIVES_H
#define EP_CONFIG_DIRECTIVES_H

#include <stddef.h>

#include "config/model.h"
#include "config/node.h"

/* Apply the tree (root: a NODE_GROUP from a front-end) to c, which cfg_new()
 * filled with defaults. Every unknown, misplaced, duplicated or ill-typed
 * setting is an error: -1 with one line in err,
 *   FILE:LINE[:COL]: "setting": what is wrong
 * The model is then half-built: the caller frees it. */
int conf_apply(cfg *c, const cfg_node *root, char *err, size_t errlen);

/* Read a config file of either syntax and return a validated model, or NULL
 * with one line in err. Nothing outside the returned model changes. */
cfg *conf_read(const char *path, char *err, size_t errlen);

/* The known setting closest to name (edit distance at most 2, or a third of
 * its length), for "did you mean"; NULL when none is close. */
const char *conf_suggest(const char *name);

#endif
