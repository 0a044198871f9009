/* util/sys.h: send and recv for the hot path, without glibc's thread-cancellation bracket. */
#ifndef EP_UTIL_SYS_H
#define EP_UTIL_SYS_H

#include <stddef.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* glibc's send() and recv() are cancellation points: in a process with
 * threads (the write queue) each call enables and disables asynchronous
 * cancellation around the system call, about 1 % of a hot request's CPU.
 * No thread here is ever cancelled, so the loop calls the kernel directly;
 * errors still come back as -1 and errno. */
static inline ssize_t sys_send(int fd, const void *buf, size_t len, int flags)
{
    return (ssize_t)syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

static inline ssize_t sys_recv(int fd, void *buf, size_t len, int flags)
{
    return (ssize_t)syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}

#endif
