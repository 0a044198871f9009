/* master/control.h: ephttpd -s reload|quit|stop|reopen|drain: signalling the running master. */
#ifndef EP_MASTER_CONTROL_H
#define EP_MASTER_CONTROL_H

#include <signal.h>
#include <stdbool.h>

/* -s reload sends its SIGHUP with sigqueue() and this value; only such a
 * sender gets an answer, so a plain kill -HUP (systemd, a shell) is never
 * sent a signal it does not expect. */
#define CONTROL_RELOAD_MAGIC 0x65706864

/* ... and sends it as this real-time signal, which the kernel queues once
 * per sender: several -s reload at once each reach the master and each get
 * an answer, where their SIGHUPs would merge into one. A master that does
 * not block it (an older one) is sent SIGHUP instead. */
#define CONTROL_RELOAD_SIGNAL (SIGRTMIN + 1)

/* The master answers that sender with this signal (sigqueue value: 1 = the
 * new generation serves, 0 = refused). */
#define CONTROL_ACK_SIGNAL SIGUSR2

/* Signal the master named in pid_file. For "reload", wait (up to timeout_ms)
 * for its answer. Prints what happened (for a refusal, the master's reason) and returns the exit
 * status: 0 done, 1 no master or refused, 2 unknown command. */
/* Is cmd one of reload, quit, stop, reopen, drain? */
bool control_known(const char *cmd);

/* error_log (or NULL) is the master's error log, where a refused reload's
 * reason is found to print it. */
int control_run(const char *pid_file, const char *cmd, const char *error_log, int timeout_ms);

#endif
