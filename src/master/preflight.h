/* master/preflight.h: checks a generation must pass before it may serve. */
#ifndef EP_MASTER_PREFLIGHT_H
#define EP_MASTER_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/model.h"
#include "master/priv.h"

/* Every log file of c (the error log only if error_log is true: a reload
 * keeps the running one): with create, open it as the master, creating a
 * missing one for the workers' user (mode 0640, the folder's group), as
 * the workers will reopen it after a rotation; without (ephttpd -t), check
 * that this could be done and create nothing. Returns 0, or -1 with one
 * line in err naming the file, the setting and the reason. */
int preflight_logs(const cfg *c, const priv_target *p, bool error_log, bool create, char *err,
                   size_t errlen);

/* The pid file's folder must let the master write it. Returns 0, or -1
 * with one line in err. */
int preflight_pidfile(const cfg *c, char *err, size_t errlen);

/* Every root and alias directory of c must be readable by the workers'
 * user p (checked in a child that becomes p). Returns 0, or -1 with one
 * line in err. */
int preflight_dirs(const cfg *c, const priv_target *p, char *err, size_t errlen);

#endif
