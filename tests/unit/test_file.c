/* tests/unit/test_file.c: file_open per symlink policy on a fixture tree, fd hygiene, cache probes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>

#include "http/file.h"

typedef struct {
    char base[PATH_MAX - 8]; /* mkdtemp() directory: holds root/ and outside */
    char root[PATH_MAX + 8];
    int rootfd;
    bool cached_supported;
} fixture;

static const char *const idx[] = { "index.html", "index.htm" };


static void put(const fixture *f, const char *rel, const char *content)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", f->root, rel);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(content, fp);
    assert_int_equal(fclose(fp), 0);
}

static void mkd(const fixture *f, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", f->root, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void lnk(const fixture *f, const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", f->root, rel);
    assert_int_equal(symlink(target, p), 0);
}

static void fifo(const fixture *f, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", f->root, rel);
    assert_int_equal(mkfifo(p, 0644), 0);
}

static void sock(const fixture *f, const char *rel)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    /* bind relative to the root keeps the name within sun_path's 108 bytes */
    int dfd = open(f->root, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    assert_true(cwd >= 0);
    assert_int_equal(fchdir(dfd), 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", rel);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(fchdir(cwd), 0);
    close(cwd);
    close(dfd);
    close(fd); /* the node stays after close */
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char p[PATH_MAX * 2];

    assert_non_null(f);
    snprintf(f->base, sizeof f->base, "%s/ephttpd-test-file-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(f->base));
    snprintf(f->root, sizeof f->root, "%s/root", f->base);
    assert_int_equal(mkdir(f->root, 0755), 0);
    snprintf(p, sizeof p, "%s/outside", f->base);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("outside\n", fp);
    fclose(fp);

    put(f, "file.txt", "hello\n");
    put(f, "index.html", "<root>\n");
    put(f, "space name.txt", "space\n");
    put(f, "\xD0\xBF\xD1\x80.txt", "cyrillic\n"); /* "пр.txt" */
    put(f, "mode000.txt", "secret\n");
    snprintf(p, sizeof p, "%s/mode000.txt", f->root);
    assert_int_equal(chmod(p, 0), 0);
    mkd(f, "dir");
    put(f, "dir/index.html", "<dir>\n");
    put(f, "dir/page.html", "<page>\n");
    mkd(f, "dir/sub");
    put(f, "dir/sub/other.txt", "other\n");
    mkd(f, "noindex");
    put(f, "noindex/other.txt", "other\n");
    mkd(f, "idxdir");
    mkd(f, "idxdir/index.html"); /* an index name that is a directory */
    mkd(f, "idxdir2");
    mkd(f, "idxdir2/index.html");
    put(f, "idxdir2/index.htm", "<second>\n");
    mkd(f, "idxfifo");
    fifo(f, "idxfifo/index.html");
    mkd(f, "idxpasswd");
    lnk(f, "/etc/passwd", "idxpasswd/index.html");
    mkd(f, "idxup");
    lnk(f, "../file.txt", "idxup/index.html");
    mkd(f, "idxout");
    lnk(f, "../../outside", "idxout/index.html");
    mkd(f, "idxdeep");
    mkd(f, "idxdeep/a");
    lnk(f, "../../dir/page.html", "idxdeep/a/index.html");
    put(f, "..x", "two dots, then a name\n");
    mkd(f, "idxin");
    put(f, "idxin/real.html", "<real>\n");
    lnk(f, "real.html", "idxin/index.html");
    fifo(f, "fifo");
    sock(f, "sock");
    lnk(f, "file.txt", "link_in");
    lnk(f, "../file.txt", "dir/link_up");
    lnk(f, "dir", "link_dir");
    lnk(f, "/etc/passwd", "link_passwd");
    lnk(f, "../outside", "link_out");
    lnk(f, "nonexistent", "link_dangling");
    lnk(f, "link_loop", "link_loop");
    lnk(f, "/etc", "link_etc");

    f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->rootfd >= 0);
    f->cached_supported = file_cached_open_supported(f->rootfd);
    *state = f;
    return 0;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

static int teardown(void **state)
{
    fixture *f = *state;

    close(f->rootfd);
    assert_int_equal(nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    assert_int_equal(access(f->base, F_OK), -1);
    free(f);
    return 0;
}

/* One file_open call with its fd accounting: the count of open fds must be
 * unchanged once a 200's fd is closed, and every other status has fd -1. */
static file_result open_checked(const fixture *f, const char *path, enum file_links links,
                                unsigned flags)
{
    file_result res;
    int before = count_fds();

    memset(&res, 0x5a, sizeof res);
    int r = file_open(f->rootfd, path, idx, 2, links, flags, &res);
    assert_int_equal(r, res.status);
    if (res.status == 200) {
        assert_true(res.fd >= 0);
        assert_true(S_ISREG(res.st.st_mode));
        assert_int_equal(res.err, 0);
        struct stat st;
        assert_int_equal(fstat(res.fd, &st), 0);
        assert_int_equal(st.st_ino, res.st.st_ino);
        assert_int_equal(fcntl(res.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
        assert_true(fcntl(res.fd, F_GETFD) & FD_CLOEXEC);
        close(res.fd);
    } else {
        assert_int_equal(res.fd, -1);
        assert_int_equal(res.index, -1);
    }
    assert_int_equal(count_fds(), before);
    return res;
}

typedef struct {
    const char *path;
    int status[3]; /* by enum file_links: BENEATH, ALL, NONE */
    int err[3];    /* expected res.err; -1: do not check */
    int index;     /* expected res.index for a 200 */
} open_case;

#define SAME(x) { x, x, x }

static const open_case open_cases[] = {
    { "/file.txt", SAME(200), SAME(0), -1 },
    { "/space name.txt", SAME(200), SAME(0), -1 },
    { "/\xD0\xBF\xD1\x80.txt", SAME(200), SAME(0), -1 },
    { "/dir/page.html", SAME(200), SAME(0), -1 },
    { "/", SAME(200), SAME(0), 0 },
    { "/dir/", SAME(200), SAME(0), 0 },
    { "/dir", SAME(301), SAME(0), -1 },
    { "/dir/sub", SAME(301), SAME(0), -1 },
    { "/dir/sub/", SAME(403), SAME(0), -1 },
    { "/noindex/", SAME(403), SAME(0), -1 },
    { "/idxdir/", SAME(403), SAME(0), -1 },
    { "/idxdir2/", SAME(200), SAME(0), 1 },
    { "/idxfifo/", SAME(403), SAME(0), -1 },
    { "/nonexistent", SAME(404), SAME(ENOENT), -1 },
    { "/dir/nonexistent/x", SAME(404), SAME(ENOENT), -1 },
    { "/file.txt/", SAME(404), SAME(ENOTDIR), -1 },
    { "/file.txt/x", SAME(404), SAME(ENOTDIR), -1 },
    { "/fifo", SAME(403), SAME(0), -1 },
    { "/fifo/", SAME(404), SAME(ENOTDIR), -1 },
    { "/sock", SAME(403), SAME(ENXIO), -1 },
    /* leading slashes are all stripped: never an absolute path */
    { "//etc/passwd", SAME(404), SAME(ENOENT), -1 },
    /* symlinks: inside the root, leaving it, dangling, looping */
    { "/link_in", { 200, 200, 403 }, { 0, 0, ELOOP }, -1 },
    { "/dir/link_up", { 200, 200, 403 }, { 0, 0, ELOOP }, -1 },
    { "/link_dir", { 301, 301, 403 }, { 0, 0, ELOOP }, -1 },
    { "/link_dir/", { 200, 200, 403 }, { 0, 0, ELOOP }, 0 },
    { "/link_dir/page.html", { 200, 200, 403 }, { 0, 0, ELOOP }, -1 },
    { "/link_passwd", { 403, 200, 403 }, { EXDEV, 0, ELOOP }, -1 },
    { "/link_out", { 403, 200, 403 }, { EXDEV, 0, ELOOP }, -1 },
    { "/link_etc/passwd", { 403, 200, 403 }, { EXDEV, 0, ELOOP }, -1 },
    { "/link_etc", { 403, 301, 403 }, { EXDEV, 0, ELOOP }, -1 },
    { "/link_dangling", { 404, 404, 403 }, { ENOENT, ENOENT, ELOOP }, -1 },
    { "/link_loop", SAME(403), SAME(ELOOP), -1 },
    /* index names that are symlinks: judged against the root, exactly as a
     * direct request for the index file is (issue 12) */
    { "/idxin/", { 200, 200, 403 }, { 0, 0, ELOOP }, 0 },
    { "/idxin/index.html", { 200, 200, 403 }, { 0, 0, ELOOP }, -1 },
    { "/idxpasswd/", { 403, 200, 403 }, { EXDEV, 0, ELOOP }, 0 },
    { "/idxpasswd/index.html", { 403, 200, 403 }, { EXDEV, 0, ELOOP }, -1 },
    { "/idxup/", { 200, 200, 403 }, { 0, 0, ELOOP }, 0 },
    { "/idxup/index.html", { 200, 200, 403 }, { 0, 0, ELOOP }, -1 },
    { "/idxdeep/a/", { 200, 200, 403 }, { 0, 0, ELOOP }, 0 },
    { "/idxdeep/a/index.html", { 200, 200, 403 }, { 0, 0, ELOOP }, -1 },
    { "/idxout/", { 403, 200, 403 }, { EXDEV, 0, ELOOP }, 0 },
    { "/idxout/index.html", { 403, 200, 403 }, { EXDEV, 0, ELOOP }, -1 },
    /* a ".." segment never climbs above the root, whatever the policy
     * ("follow" has no RESOLVE_BENEATH); a name that starts with ".." is a name */
    { "/../outside", SAME(404), SAME(ENOENT), -1 },
    { "../outside", SAME(404), SAME(ENOENT), -1 },
    { "/dir/../../outside", SAME(404), SAME(ENOENT), -1 },
    { "/dir/..", SAME(404), SAME(ENOENT), -1 },
    { "/dir/../", SAME(404), SAME(ENOENT), -1 },
    { "/..x", SAME(200), SAME(0), -1 },
};

/* Every case under every policy, with openat2 and then by hand (as where
 * openat2 is missing or filtered): the two must agree to the errno. */
static void test_open_policies(void **state)
{
    fixture *f = *state;
    int failures = 0;
    static const unsigned modes[] = { 0, FILE_NO_OPENAT2 };

    for (size_t m = 0; m < 2; m++) {
        for (size_t k = 0; k < sizeof open_cases / sizeof open_cases[0]; k++) {
            const open_case *c = &open_cases[k];
            for (int links = 0; links < 3; links++) {
                file_result res = open_checked(f, c->path, (enum file_links)links, modes[m]);
                int want_index = c->status[links] == 200 ? c->index : -1;
                if (res.status != c->status[links] ||
                    (c->err[links] >= 0 && res.err != c->err[links]) || res.index != want_index) {
                    printf("%s links=%d%s: status %d err %d (%s) index %d; want %d err %d index %d\n",
                           c->path, links, modes[m] ? " by hand" : "", res.status, res.err,
                           strerror(res.err), res.index, c->status[links], c->err[links], want_index);
                    failures++;
                }
            }
        }
    }
    assert_int_equal(failures, 0);
}

static void test_open_contents(void **state)
{
    fixture *f = *state;
    file_result res;
    char buf[64];

    assert_int_equal(file_open(f->rootfd, "/dir/", idx, 2, FILE_LINKS_BENEATH, 0, &res), 200);
    ssize_t n = pread(res.fd, buf, sizeof buf, 0);
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "<dir>\n", 6);
    assert_int_equal(res.st.st_size, 6);
    close(res.fd);

    assert_int_equal(file_open(f->rootfd, "/link_passwd", idx, 2, FILE_LINKS_ALL, 0, &res), 200);
    struct stat st;
    assert_int_equal(stat("/etc/passwd", &st), 0);
    assert_int_equal(res.st.st_ino, st.st_ino);
    close(res.fd);

    /* no index names at all: a directory is 403 */
    assert_int_equal(file_open(f->rootfd, "/dir/", NULL, 0, FILE_LINKS_BENEATH, 0, &res), 403);
    assert_int_equal(res.fd, -1);
    assert_int_equal(res.err, 0);
    /* a name too long for the filesystem is not found */
    char longp[400];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(file_open(f->rootfd, longp, idx, 2, FILE_LINKS_BENEATH, 0, &res), 404);
    assert_int_equal(res.err, ENAMETOOLONG);
    assert_int_equal(res.fd, -1);
}

static void test_open_mode000(void **state)
{
    fixture *f = *state;

    for (int links = 0; links < 3; links++) {
        file_result res = open_checked(f, "/mode000.txt", (enum file_links)links, 0);
        if (geteuid() == 0) {
            /* CAP_DAC_OVERRIDE: root reads it anyway */
            assert_int_equal(res.status, 200);
        } else {
            assert_int_equal(res.status, 403);
            assert_int_equal(res.err, EACCES);
        }
    }
}

/* With RESOLVE_CACHED each answer is the uncached one or FILE_WOULDBLOCK. */
static void test_open_cached(void **state)
{
    fixture *f = *state;
    int wouldblock = 0;

    printf("RESOLVE_CACHED supported: %s\n", f->cached_supported ? "yes" : "no");
    if (!f->cached_supported)
        skip();
    put(f, "fresh.txt", "just written\n");
    for (size_t k = 0; k < sizeof open_cases / sizeof open_cases[0]; k++) {
        const open_case *c = &open_cases[k];
        for (int links = 0; links < 3; links++) {
            file_result res = open_checked(f, c->path, (enum file_links)links, FILE_CACHED_ONLY);
            if (res.status == FILE_WOULDBLOCK) {
                assert_int_equal(res.err, EAGAIN);
                printf("  WOULDBLOCK: %s links=%d\n", c->path, links);
                wouldblock++;
                continue;
            }
            assert_int_equal(res.status, c->status[links]);
        }
    }
    file_result res = open_checked(f, "/fresh.txt", FILE_LINKS_BENEATH, FILE_CACHED_ONLY);
    assert_true(res.status == 200 || res.status == FILE_WOULDBLOCK);
    printf("FILE_WOULDBLOCK answers: %d\n", wouldblock);
}

static void test_nowait_probes(void **state)
{
    fixture *f = *state;
    enum { SZ = 1 << 20 };
    char *data = malloc(SZ), *buf = malloc(SZ);
    file_result res;

    assert_non_null(data);
    assert_non_null(buf);
    for (size_t i = 0; i < SZ; i++)
        data[i] = (char)(i * 7 + (i >> 12));
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/big.bin", f->root);
    int wfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(wfd >= 0);
    assert_int_equal(write(wfd, data, SZ), SZ);
    close(wfd);

    assert_int_equal(file_open(f->rootfd, "/big.bin", idx, 2, FILE_LINKS_BENEATH, 0, &res), 200);
    assert_int_equal(res.st.st_size, SZ);
    /* just written: every page is in the cache */
    assert_true(file_range_cached(res.fd, 0, SZ));
    assert_true(file_range_cached(res.fd, 4096, 1));
    assert_true(file_range_cached(res.fd, 0, 0));
    assert_true(file_range_cached(res.fd, SZ - 1, 1));
    /* past EOF reads 0 bytes: counts as cached */
    assert_true(file_range_cached(res.fd, SZ, 100));
    assert_true(file_range_cached(res.fd, (off_t)SZ * 4, 1));
    /* a range whose end would overflow off_t is left to the real send */
    assert_true(file_range_cached(res.fd, 1, SIZE_MAX));

    ssize_t n = file_read_nowait(res.fd, buf, SZ, 0);
    assert_true(n > 0);
    assert_memory_equal(buf, data, (size_t)n);
    n = file_read_nowait(res.fd, buf, 1000, SZ - 500);
    assert_int_equal(n, 500);
    assert_memory_equal(buf, data + SZ - 500, 500);
    assert_int_equal(file_read_nowait(res.fd, buf, 10, SZ), 0);

    /* cachestat, where the kernel has it, agrees: all cached */
    int cs = file_range_cachestat(res.fd, 0, SZ);
    assert_true(cs == 1 || cs == -1);
    if (cs == 1) {
        assert_int_equal(file_range_cachestat(res.fd, 4096, 1), 1);
        assert_int_equal(file_range_cachestat(res.fd, 0, 0), 1);
        /* pages past the end are never cached */
        assert_int_equal(file_range_cachestat(res.fd, 0, (size_t)SZ + 8192), 0);
    }

    /* Try to drop the pages. Whether the kernel obliges is not ours to
     * assert, but the probes must agree with each other. */
    assert_int_equal(fsync(res.fd), 0);
    posix_fadvise(res.fd, 0, 0, POSIX_FADV_DONTNEED);
    /* A NOWAIT read that misses still submits readahead (RWF_NOWAIT is not
     * IOCB_NOIO), and on a fast device the page can be back moments later:
     * right after cachestat() said "evicted" the probe may find the page, and
     * right after the probe said "evicted" a read may find it. What holds:
     * a page the probe saw is readable without waiting, and a NOWAIT read
     * either says EAGAIN or returns the right byte, never anything else. */
    if (cs == 1)
        printf("cachestat after POSIX_FADV_DONTNEED: %d\n", file_range_cachestat(res.fd, 0, 1));
    bool cached = file_range_cached(res.fd, 0, 1);
    errno = 0;
    n = file_read_nowait(res.fd, buf, 1, 0);
    printf("after POSIX_FADV_DONTNEED: first page %s, then read %zd\n", cached ? "still cached" : "evicted",
           n);
    if (cached || n != -1) {
        assert_int_equal(n, 1);
        assert_int_equal(buf[0], data[0]);
    } else {
        assert_int_equal(errno, EAGAIN);
    }
    close(res.fd);

    /* errors other than EAGAIN are not "not cached" */
    assert_true(file_range_cached(-1, 0, 10));
    errno = 0;
    assert_int_equal(file_read_nowait(-1, buf, 1, 0), -1);
    assert_int_equal(errno, EBADF);
    free(data);
    free(buf);
}

/* Out of descriptors is a moment's overload: 503, not a server error. */
static void test_open_without_descriptors(void **state)
{
    fixture *f = *state;
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int top = dup(0); /* the lowest free descriptor after the fixture's */
    assert_true(top >= 0);
    close(top);
    struct rlimit tight = { (rlim_t)top, old.rlim_max };
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
    file_result res;
    int status = file_open(f->rootfd, "/dir/", idx, 2, FILE_LINKS_BENEATH, 0, &res);
    int err = res.err;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(status, 503);
    assert_int_equal(err, EMFILE);
    assert_int_equal(res.fd, -1);
}

static void test_cached_supported(void **state)
{
    fixture *f = *state;

    /* Must not leak the probe's fd, whatever it answers. */
    int before = count_fds();
    bool a = file_cached_open_supported(f->rootfd);
    assert_int_equal(count_fds(), before);
    assert_int_equal(a, f->cached_supported);
    /* A bad dirfd is not "unsupported": the flag check comes first or not at
     * all, but it must not crash and must not leak. */
    (void)file_cached_open_supported(-1);
    assert_int_equal(count_fds(), before);
}

/* A worker reads root's files as another user: cachestat may refuse it
 * (EPERM on kernels that answer only for files the caller may write or
 * owns). Refused must read "cannot tell" (then the probes answer), never
 * "cached": that sent cold files from the event loop. As root only. */
static void test_cachestat_for_another_user(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char path[] = "/tmp/ep-cachestat-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static char block[1 << 16];
    memset(block, 'c', sizeof block);
    assert_int_equal(write(fd, block, sizeof block), (ssize_t)sizeof block);
    assert_int_equal(fsync(fd), 0);
    assert_int_equal(fchmod(fd, 0644), 0);
    close(fd);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        int rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (rfd < 0)
            _exit(3);
        posix_fadvise(rfd, 0, 0, POSIX_FADV_DONTNEED);
        int cs = file_range_cachestat(rfd, 0, sizeof block);
        /* 1 only where the kernel answered and still had every page */
        _exit(cs == 1 && (file_range_cached(rfd, 0, 1) == false) ? 1 : 0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    unlink(path);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_policies),
        cmocka_unit_test(test_open_contents),
        cmocka_unit_test(test_open_mode000),
        cmocka_unit_test(test_open_cached),
        cmocka_unit_test(test_nowait_probes),
        cmocka_unit_test(test_open_without_descriptors),
        cmocka_unit_test(test_cached_supported),
        cmocka_unit_test(test_cachestat_for_another_user),
    };
    /* A FIFO open that blocked would hang the run: fail loudly instead. */
    alarm(60);
    return cmocka_run_group_tests(tests, setup, teardown);
}
