/* util/logfile.c: opening a log file without following a link someone else planted. */
#include "util/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is any component of path (the file itself included) a symbolic link that
 * belongs to someone else than us or root (root's /var/run -> /run is
 * trusted)? Each prefix is looked at as it is named. */
static bool through_foreign_link(const char *path)
{
    char prefix[4096];
    size_t len = strlen(path);
    if (len >= sizeof prefix)
        return false; /* open() answers ENAMETOOLONG itself */
    for (size_t i = 1; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        memcpy(prefix, path, i);
        prefix[i] = '\0';
        struct stat st;
        if (lstat(prefix, &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != geteuid() && st.st_uid != 0)
            return true;
    }
    return false;
}

int logfile_open(const char *path, int flags, mode_t mode)
{
    if (through_foreign_link(path)) {
        errno = ELOOP;
        return -1;
    }
    return open(path, flags | O_CLOEXEC | O_NOCTTY, mode);
}
