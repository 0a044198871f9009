/* util/logfile.h: opening a log file without following a link someone else planted. */
#ifndef EP_UTIL_LOGFILE_H
#define EP_UTIL_LOGFILE_H

#include <sys/types.h>

/* open(path, flags | O_CLOEXEC | O_NOCTTY, mode), refused with ELOOP when
 * path, or any folder on the way to it, is a symbolic link that belongs to
 * someone other than us or root: whoever can write a log folder must not steer a root
 * process into creating or appending to another file (CVE-2016-1247's
 * kind). Links of our own or root's (/var/log/x -> /dev/stdout) are
 * followed. Returns the fd or -1. */
int logfile_open(const char *path, int flags, mode_t mode);

#endif
