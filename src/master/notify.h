/* master/notify.h: systemd's readiness protocol, spoken directly (a datagram to $NOTIFY_SOCKET). */
#ifndef EP_MASTER_NOTIFY_H
#define EP_MASTER_NOTIFY_H

/* Send one notification, e.g. "READY=1\nSTATUS=serving". A no-op without
 * $NOTIFY_SOCKET (not started by systemd with Type=notify). Returns 0, or -1
 * with errno when the datagram could not be sent. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with the MONOTONIC_USEC systemd wants beside it. */
int notify_reloading(const char *status);

#endif
