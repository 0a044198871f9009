/* tests/unit/fds.h: how many descriptors the test process has open, for the tests that check nothing leaks one. */
#ifndef EP_TEST_FDS_H
#define EP_TEST_FDS_H

#include <dirent.h>

/* Include after <cmocka.h>. Counts /proc/self/fd's entries (the count
 * includes the directory's own descriptor, the same each time). */
static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

#endif
