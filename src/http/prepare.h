/* http/prepare.h: what a configuration needs from http/ before it can serve: regexes compiled, the MIME table loaded. */
#ifndef EP_HTTP_PREPARE_H
#define EP_HTTP_PREPARE_H

#include <stddef.h>

#include "config/model.h"

/* Compile every regex location and load mime_types, after cfg_validate.
 * Returns 0, or -1 with one "file:line: setting: ..." line in err (c is then
 * still freed whole by cfg_free). */
int http_prepare(cfg *c, char *err, size_t errlen);
/* conf_read, then http_prepare: a configuration file ready to serve, or
 * NULL with the one-line error in err. */
cfg *http_conf_read(const char *path, char *err, size_t errlen);

#endif
