/* master/master.h: the master process: listeners, workers, signals. */
#ifndef EP_MASTER_MASTER_H
#define EP_MASTER_MASTER_H

#include "config/model.h"

/* Open the listeners and roots of c, start its workers and supervise them
 * until told to stop; on SIGHUP read c->source again and replace the workers
 * by a new generation. c stays the caller's. ready_fd (or -1) is --daemon's
 * report to its waiting parent, made once the workers serve. Returns the
 * exit status. */
int master_run(cfg *c, int ready_fd);

#endif
