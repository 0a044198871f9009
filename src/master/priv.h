/* master/priv.h: the identity workers run as. */
#ifndef EP_MASTER_PRIV_H
#define EP_MASTER_PRIV_H

#include <stddef.h>
#include <sys/types.h>

#include "config/model.h"

#define PRIV_DEFAULT_USER "www-data"

typedef struct {
    bool change;   /* switch identity in each worker */
    uid_t uid;
    gid_t gid;
    char user[64];
} priv_target;

/* Decide, in the master, whom workers become when it runs as root: the
 * configured user (and its group, or the configured group); with a
 * configuration file that names none, PRIV_DEFAULT_USER. Returns 0, or -1
 * with one line in err. */
int priv_resolve(const cfg *c, priv_target *t, char *err, size_t errlen);

/* In a new worker, after it opened its logs: drop to t for good. Returns 0,
 * or -1 with errno set. */
int priv_drop(const priv_target *t);

#endif
