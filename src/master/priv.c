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
    if (geteuid() != 0)
        return 0; /* only root can switch; an unprivileged master's workers stay as they are */
    /* Started as root from a configuration file, workers never stay root
     * unless it says user = "root". Quick mode (-r, no file) is a developer's
     * tool: its workers switch only when "user" is given. */
    const char *user = c->user ? c->user : c->source ? PRIV_DEFAULT_USER : NULL;
    if (!user)
        return 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "%s%s\"user\": no user \"%s\" on this system%s", c->source ? c->source : "",
                 c->source ? ": " : "", user, c->user ? "" : " (the default when started as root; set \"user\")");
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
    if (pw->pw_uid == 0) /* user = "root", said explicitly: allowed */
        return 0;
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
