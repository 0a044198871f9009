/* master/preflight.h: checks a generation must pass before it may serve. */
#ifndef EP_MASTER_PREFLIGHT_H
#define EP_MASTER_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/model.h"
#include "master/priv.h"

/* Every access log of c, and error_log (the one in use, which a reload
 * cannot move; NULL: none): with create, open it as the master, creating a
 * missing one for the workers' user p (mode 0640, the folder's group), and
 * when a reload changed that user (prev: the running workers' user, or
 * NULL), giving it the plain files prev owned, since the workers reopen
 * them after a rotation; without create (ephttpd -t), check that this could
 * be done and create nothing. Returns 0, or -1 with one line in err naming
 * the file, the setting and the reason. */
int preflight_logs(const cfg *c, const priv_target *p, const priv_target *prev, const char *error_log,
                   bool create, char *err, size_t errlen);

/* The group a new log at path gets: its folder's, as a set-group-ID folder
 * would give it, so that /var/log/ephttpd (root:adm) yields www-data:adm,
 * what logrotate's "create" makes; fallback if the folder cannot be read. */
gid_t preflight_log_group(const char *path, gid_t fallback);

/* The pid file's folder must let the master write it. Returns 0, or -1
 * with one line in err. */
int preflight_pidfile(const cfg *c, char *err, size_t errlen);

/* Every root and alias directory of c must be readable by the workers'
 * user p (checked in a child that becomes p). Returns 0, or -1 with one
 * line in err. */
int preflight_dirs(const cfg *c, const priv_target *p, char *err, size_t errlen);

/* Raises the open-file limit to its hard limit (once; any process may)
 * and warns when c's connections and open-file cache could need more
 * descriptors than that (cfg_conn_fds). */
void preflight_fds(const cfg *c);

/* Every certificate pair of c's TLS servers loads and each key matches its
 * certificate (built as a start or reload would, then freed); warn, when
 * given, hears of each certificate within 30 days of its end or past it.
 * Returns 0, or -1 with one line in err naming the server's file:line, the
 * setting, the file and the reason. */
int preflight_tls(const cfg *c, void (*warn)(void *ctx, const char *line), void *ctx, char *err, size_t errlen);

#endif
