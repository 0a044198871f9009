/* config/logs.h: log_formats and access_log settings: setters for the directive table, checks, freeing. */
#ifndef EP_CONFIG_LOGS_H
#define EP_CONFIG_LOGS_H

#include <stddef.h>

#include "config/model.h"

struct apply_ctx;
struct directive;
struct cfg_node;

int rule_access_log(struct apply_ctx *a, const struct directive *d, const struct cfg_node *n, void *field);
int set_log_formats(struct apply_ctx *a, const struct directive *d, const struct cfg_node *n, void *field);
/* After the tree is read: "combined" and every log format compiled, every
 * place's access_log formats found. 0, or -1 with one line in err. */
int cfg_check_logs(cfg *c, char *err, size_t errlen);
void cfg_alogs_free(cfg_rules *r);
void cfg_log_formats_free(cfg *c);

#endif
