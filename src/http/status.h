/* http/status.h: the status page's bodies from the shared counters (log/metrics.h). */
#ifndef EP_HTTP_STATUS_H
#define EP_HTTP_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/model.h"
#include "log/metrics.h"

/* The body for kind (stub, json or prometheus) as of now, malloc'd, with
 * its length and Content-Type; NULL when out of memory. Reads the region
 * with relaxed loads: the workers go on counting meanwhile, so the figures
 * are each whole but not one instant's. */
char *status_render(enum cfg_status_page kind, const mx_region *r, size_t *len, const char **ctype);

#endif
