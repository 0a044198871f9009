/* master/priv.c: resolving and dropping to the workers' user and group. */
#include "master/priv.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int priv_resolve(const cfg *c, priv_target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (!c->user || geteuid() != 0)
        return 0; /* only root can switch; an unprivileged master's workers stay as they are */
    struct passwd *pw = getpwnam(c->user);
    if (!pw) {
        snprintf(err, errlen, "\"user\": no user \"%s\" on this system", c->user);
        return -1;
    }
    t->uid = pw->pw_uid;
    t->gid = pw->pw_gid;
    if (c->group) {
        struct group *gr = getgrnam(c->group);
        if (!gr) {
            snprintf(err, errlen, "\"group\": no group \"%s\" on this system", c->group);
            return -1;
        }
        t->gid = gr->gr_gid;
    }
    snprintf(t->user, sizeof t->user, "%s", pw->pw_name);
    t->change = true;
    return 0;
}

int priv_drop(const priv_target *t)
{
    if (!t->change)
        return 0;
    if (initgroups(t->user, t->gid) < 0 || setgid(t->gid) < 0 || setuid(t->uid) < 0)
        return -1;
    /* Belt and braces: a worker that could regain root must not run. */
    if (t->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        errno = EPERM;
        return -1;
    }
    return 0;
}
