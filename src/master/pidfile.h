/* master/pidfile.h: the pid file that names the running master. */
#ifndef EP_MASTER_PIDFILE_H
#define EP_MASTER_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/* The pid a pid file names, if that process is alive and is an ephttpd;
 * 0 otherwise. */
pid_t pidfile_running(const char *path);

/* Write our pid to path (a new file renamed into place, so readers never see
 * it half-written). Refuses when the file names another live ephttpd.
 * Returns 0, or -1 with one line in err. */
int pidfile_write(const char *path, char *err, size_t errlen);

/* The signals pid blocks (its /proc status SigBlk mask), 0 if unknown. */
unsigned long long pidfile_sigblk(pid_t pid);

/* Remove path if it still names this process. */
void pidfile_remove(const char *path);

#endif
