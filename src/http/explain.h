/* http/explain.h: --explain, the route and outcome a request would get, for admins debugging location order. */
#ifndef EP_HTTP_EXPLAIN_H
#define EP_HTTP_EXPLAIN_H

#include <stdio.h>

#include "config/model.h"

/* Print which listener, server and location a request for uri with Host
 * host reaches, the rules in effect, and what it would get (the file, a
 * listing, a redirect or a status), looking at the file system as a worker
 * would. Returns 0, or 1 when uri cannot be parsed. */
int explain(const cfg *c, const char *host, const char *uri, FILE *out);

#endif
