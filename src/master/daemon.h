/* master/daemon.h: --daemon, detaching from the terminal for non-systemd use. */
#ifndef EP_MASTER_DAEMON_H
#define EP_MASTER_DAEMON_H

#include <stdbool.h>

/* Fork into a new session. The parent waits until the child reports that it
 * serves (daemon_ready) and exits 0, or exits with the child's status if it
 * dies first; it never returns. The child returns the descriptor to report on. */
int daemon_detach(void);

/* In the daemon, before the workers start: let go of the invoker's standard
 * input and output (and error, when the error log is a file), so that
 * nothing waits on them. */
void daemon_quiet(bool stderr_too);

/* In the daemon, once serving: tell the waiting parent. */
void daemon_ready(int fd);

#endif
