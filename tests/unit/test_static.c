/* tests/unit/test_static.c: static_lookup on a real tree (index, try_files, autoindex, precompressed siblings, scratch limits) and static_negotiate. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fds.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/static.h"

typedef struct {
    char base[64];
    int rootfd;
    char *scratch; /* malloc'd to exactly scratch_len, so ASan sees any overrun */
    size_t scratch_len;
} fixture;

static const char *const idx[] = { "index.html", "index.htm" };

/* The candidate and sibling slices as two halves of buf (the alias slice
 * is not used by static_lookup), so the limits below are easy to state. */
static static_scratch halves(char *buf, size_t len)
{
    return (static_scratch){ .cand = buf, .sibling = buf + len / 2, .rel = NULL, .part = len / 2 };
}

static void put(const fixture *f, const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", f->base, rel);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(content, fp);
    assert_int_equal(fclose(fp), 0);
}

static void mkd(const fixture *f, const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", f->base, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}


static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->base, sizeof f->base, "/tmp/ep-static-XXXXXX");
    assert_non_null(mkdtemp(f->base));
    put(f, "index.html", "<root>");
    put(f, "a.txt", "plain");
    put(f, "a.txt.gz", "GZ");
    put(f, "a.txt.br", "BR");
    put(f, "only.txt", "only");
    put(f, "about.html", "about");
    put(f, "fallback.html", "fb");
    put(f, "abcdefghij.txt", "long"); /* 15 bytes with the '/' */
    put(f, "abcdefghij.txt.br", "LONGBR");
    put(f, "abcdefghijk.txt", "toolong"); /* 16 */
    mkd(f, "dir");
    put(f, "dir/index.htm", "<dir>");
    mkd(f, "list");
    put(f, "list/x.txt", "x");
    mkd(f, "list/sub");
    mkd(f, "pre");
    put(f, "pre/index.html", "<pre>");
    put(f, "pre/index.html.gz", "PREGZ");
    f->rootfd = open(f->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->rootfd >= 0);
    f->scratch_len = 512;
    f->scratch = malloc(f->scratch_len);
    assert_non_null(f->scratch);
    *state = f;
    return 0;
}

static int rm(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    fixture *f = *state;
    close(f->rootfd);
    nftw(f->base, rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f->scratch);
    free(f);
    return 0;
}

static static_req req(fixture *f, const char *path)
{
    return (static_req){ .dirfd = f->rootfd, .links = FILE_LINKS_BENEATH, .path = path, .uri = path,
                         .index = idx, .nindex = 2, .sc = halves(f->scratch, f->scratch_len) };
}

/* The body the lookup's fd holds. */
static void assert_body(const static_req *q, const char *want)
{
    char b[64];
    assert_true(q->res.fd >= 0);
    ssize_t n = pread(q->res.fd, b, sizeof b - 1, 0);
    assert_true(n >= 0);
    b[n] = '\0';
    assert_string_equal(b, want);
    assert_int_equal(q->res.st.st_size, (off_t)strlen(want));
}

static void done(static_req *q)
{
    if (q->res.fd >= 0)
        close(q->res.fd);
    free(q->out.data);
}

static void test_plain_file(void **state)
{
    static_req q = req(*state, "/only.txt");
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_body(&q, "only");
    assert_string_equal(q.name, "/only.txt");
    assert_int_equal(q.enc_used, 0);
    assert_false(q.listing);
    assert_int_equal(q.nread, -1); /* no buf given */
    done(&q);
}

static void test_missing_and_dir_without_slash(void **state)
{
    static_req q = req(*state, "/nope.txt");
    assert_int_equal(static_lookup(&q, 0), 404);
    assert_int_equal(q.res.fd, -1);
    q = req(*state, "/dir");
    assert_int_equal(static_lookup(&q, 0), 301);
    assert_int_equal(q.res.fd, -1);
}

/* A directory path serves the first index name present; Content-Type comes
 * from that name. */
static void test_index_choice(void **state)
{
    static_req q = req(*state, "/");
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.res.index, 0);
    assert_string_equal(q.name, "index.html");
    assert_body(&q, "<root>");
    done(&q);
    q = req(*state, "/dir/");
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.res.index, 1);
    assert_string_equal(q.name, "index.htm");
    assert_body(&q, "<dir>");
    done(&q);
}

/* No index and no autoindex: 403; with autoindex a rendered listing. */
static void test_autoindex_listing(void **state)
{
    static_req q = req(*state, "/list/");
    assert_int_equal(static_lookup(&q, 0), 403);
    assert_false(q.listing);
    q = req(*state, "/list/");
    q.autoindex = true;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_true(q.listing);
    assert_int_equal(q.res.fd, -1);
    assert_non_null(q.out.data);
    assert_non_null(strstr(q.out.data, "x.txt"));
    assert_non_null(strstr(q.out.data, "sub/"));
    done(&q);
    q = req(*state, "/list/");
    q.autoindex = q.autoindex_json = true;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_true(q.listing);
    assert_non_null(strstr(q.out.data, "\"name\":\"sub\",\"type\":\"directory\""));
    assert_non_null(strstr(q.out.data, "\"name\":\"x.txt\",\"type\":\"file\""));
    done(&q);
    /* a directory with an index is never listed */
    q = req(*state, "/dir/");
    q.autoindex = true;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_false(q.listing);
    done(&q);
}

/* try_files: candidates in order, the first that exists wins and names the
 * Content-Type; a 301 or 404 candidate moves on. */
static void test_try_files_candidates(void **state)
{
    const char *const tf[] = { "$uri", "$uri.html", "$uri/", "=404" };
    static_req q = req(*state, "/about");
    q.try_files = tf, q.ntry = 4;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_string_equal(q.name, "/about.html");
    assert_body(&q, "about");
    done(&q);
    q = req(*state, "/dir"); /* "$uri" is a 301, "$uri.html" a 404 */
    q.try_files = tf, q.ntry = 4;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_string_equal(q.name, "index.htm");
    assert_body(&q, "<dir>");
    done(&q);
}

/* Every candidate failing is STATIC_FALLBACK, whatever the last entry is: the
 * fallback ("=CODE" or a URI) is the caller's, never opened as a file here. */
static void test_try_files_fallback(void **state)
{
    const char *const code[] = { "$uri", "=418" };
    static_req q = req(*state, "/nope");
    q.try_files = code, q.ntry = 2;
    assert_int_equal(static_lookup(&q, 0), STATIC_FALLBACK);
    assert_int_equal(q.res.fd, -1);
    const char *const uri[] = { "$uri", "/fallback.html" };
    q = req(*state, "/nope");
    q.try_files = uri, q.ntry = 2;
    assert_int_equal(static_lookup(&q, 0), STATIC_FALLBACK);
    assert_int_equal(q.res.fd, -1);
}

static void test_precompressed_sibling(void **state)
{
    static_req q = req(*state, "/a.txt");
    q.enc[0] = ENC_BR, q.enc[1] = ENC_GZIP, q.nenc = 2;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.enc_used, ENC_BR);
    assert_body(&q, "BR");
    assert_string_equal(q.name, "/a.txt"); /* typed as the original */
    done(&q);
    q = req(*state, "/a.txt");
    q.enc[0] = ENC_ZSTD, q.enc[1] = ENC_GZIP, q.nenc = 2; /* no .zst: next one */
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.enc_used, ENC_GZIP);
    assert_body(&q, "GZ");
    done(&q);
    q = req(*state, "/only.txt");
    q.enc[0] = ENC_GZIP, q.nenc = 1;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.enc_used, 0);
    assert_body(&q, "only");
    done(&q);
    q = req(*state, "/a.txt"); /* nothing acceptable: the file itself */
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.enc_used, 0);
    assert_body(&q, "plain");
    done(&q);
}

/* The sibling of an index file is index name + suffix. */
static void test_precompressed_index(void **state)
{
    static_req q = req(*state, "/pre/");
    q.enc[0] = ENC_GZIP, q.nenc = 1;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.enc_used, ENC_GZIP);
    /* the name its Content-Type comes from is the index file's, not the folder's */
    assert_string_equal(q.name, "index.html");
    assert_body(&q, "PREGZ");
    done(&q);
}

/* Negotiation keeps the rules' order and drops what q=0 refuses. */
static void test_negotiate(void **state)
{
    (void)state;
    const uint8_t rules[] = { ENC_ZSTD, ENC_BR, ENC_GZIP };
    uint8_t out[3];
    struct {
        const char *ae;
        size_t n;
        uint8_t first;
    } cases[] = {
        { "gzip", 1, ENC_GZIP },
        { "GZip", 1, ENC_GZIP },
        { "gzip, br", 2, ENC_BR },
        { "gzip;q=1.0, br;q=0", 1, ENC_GZIP },
        { "br;q=0.5, gzip;q=0", 1, ENC_BR },
        { "gzip;q=0.000", 0, 0 },
        { "gzip;q=0.001", 1, ENC_GZIP },
        { "*", 3, ENC_ZSTD },
        { "*;q=0, gzip", 1, ENC_GZIP },
        { "zstd;q=0, *", 2, ENC_BR },
        { "identity", 0, 0 },
        { "xgzip, gzipx", 0, 0 },
        { "deflate ; q=0.9 , br", 1, ENC_BR },
        { "", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = static_negotiate(rules, 3, cases[i].ae, strlen(cases[i].ae), out);
        if (n != cases[i].n || (n && out[0] != cases[i].first))
            fail_msg("\"%s\": %zu encodings, first %d", cases[i].ae, n, n ? out[0] : 0);
    }
    assert_int_equal(static_negotiate(rules, 3, NULL, 0, out), 0);
    /* the length bounds the value: "gzip" cut to "gz" names nothing */
    assert_int_equal(static_negotiate(rules, 3, "gzip", 2, out), 0);
    assert_string_equal(static_encoding_name(ENC_GZIP), "gzip");
    assert_string_equal(static_encoding_name(0), "");
    assert_string_equal(static_encoding_name(99), "");
}

/* A small file is read into buf; a larger one, or one under FILE_CACHED_ONLY, is not. */
static void test_small_file_buf(void **state)
{
    char buf[8];
    static_req q = req(*state, "/only.txt");
    q.buf = buf, q.buflen = sizeof buf;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.nread, 4);
    assert_memory_equal(buf, "only", 4);
    done(&q);
    q = req(*state, "/only.txt"); /* exactly buflen bytes still fits */
    q.buf = buf, q.buflen = 4;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.nread, 4);
    done(&q);
    q = req(*state, "/only.txt");
    q.buf = buf, q.buflen = 3;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.nread, -1);
    done(&q);
}

/* On the loop a listing always needs the task (it reads a directory), and
 * nothing stays open when the lookup says FILE_WOULDBLOCK. */
static void test_cached_only(void **state)
{
    fixture *f = *state;
    if (!file_cached_open_supported(f->rootfd))
        skip();
    static_req q = req(f, "/list/");
    static_lookup(&q, 0); /* warm the lookup: then only the listing itself needs the task */
    int before = count_fds();
    q = req(f, "/list/");
    q.autoindex = true;
    assert_int_equal(static_lookup(&q, FILE_CACHED_ONLY), FILE_WOULDBLOCK);
    assert_false(q.listing);
    assert_null(q.out.data);
    assert_int_equal(count_fds(), before);

    char buf[8];
    q = req(f, "/a.txt");
    q.enc[0] = ENC_GZIP, q.nenc = 1;
    q.buf = buf, q.buflen = sizeof buf;
    int st = static_lookup(&q, FILE_CACHED_ONLY);
    if (st == FILE_WOULDBLOCK) {
        assert_int_equal(q.res.fd, -1);
        assert_int_equal(count_fds(), before);
        st = static_lookup(&q, 0); /* the retry off the loop */
    } else {
        assert_int_equal(q.nread, -1); /* no read on the loop */
    }
    assert_int_equal(st, 200);
    assert_int_equal(q.enc_used, ENC_GZIP);
    done(&q);
    assert_int_equal(count_fds(), before);
}

/* A candidate too long for the scratch is skipped, cleanly. Half of a
 * 32-byte scratch holds 15 characters and the NUL. */
static void test_scratch_candidate_limit(void **state)
{
    fixture *f = *state;
    const char *const tf[] = { "$uri", "=404" };
    free(f->scratch);
    f->scratch_len = 32;
    f->scratch = malloc(f->scratch_len);
    assert_non_null(f->scratch);
    static_req q = req(f, "/abcdefghij.txt"); /* 15 */
    q.try_files = tf, q.ntry = 2;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_body(&q, "long");
    done(&q);
    const char *const tf2[] = { "$uri.x", "$uri", "=404" }; /* 17, then 15 */
    q = req(f, "/abcdefghij.txt");
    q.try_files = tf2, q.ntry = 3;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_string_equal(q.name, "/abcdefghij.txt");
    done(&q);
    const char *const tf3[] = { "$uri/", "=404" }; /* 16: does not fit */
    q = req(f, "/abcdefghij.txt");
    q.try_files = tf3, q.ntry = 2;
    assert_int_equal(static_lookup(&q, 0), STATIC_FALLBACK);
    assert_int_equal(q.res.fd, -1);
    q = req(f, "/abcdefghijk.txt"); /* exists, but 16 bytes: never served cut or unterminated */
    q.try_files = tf, q.ntry = 2;
    assert_int_equal(static_lookup(&q, 0), STATIC_FALLBACK);
    assert_int_equal(q.res.fd, -1);
    const char *const tf4[] = { "$urik.txt", "=404" }; /* the same 16 bytes, ending in literal text */
    q = req(f, "/abcdefghij");
    q.try_files = tf4, q.ntry = 2;
    assert_int_equal(static_lookup(&q, 0), STATIC_FALLBACK);
    assert_int_equal(q.res.fd, -1);
}

/* A sibling name too long for the scratch's second half: the file itself. */
static void test_scratch_sibling_limit(void **state)
{
    fixture *f = *state;
    free(f->scratch);
    f->scratch_len = 32;
    f->scratch = malloc(f->scratch_len);
    assert_non_null(f->scratch);
    static_req q = req(f, "/abcdefghij.txt"); /* + ".br" = 18 > 15 */
    q.enc[0] = ENC_BR, q.nenc = 1;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.enc_used, 0);
    assert_body(&q, "long");
    done(&q);
    q = req(f, "/a.txt"); /* short enough: the sibling */
    q.enc[0] = ENC_BR, q.nenc = 1;
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.enc_used, ENC_BR);
    done(&q);
}

/* No scratch at all (length 0): every candidate skipped, no write. */
static void test_scratch_empty(void **state)
{
    fixture *f = *state;
    const char *const tf[] = { "$uri", "=404" };
    static_req q = req(f, "/a.txt");
    q.try_files = tf, q.ntry = 2;
    q.sc = halves(q.sc.cand, 0);
    assert_int_equal(static_lookup(&q, 0), STATIC_FALLBACK);
    q = req(f, "/a.txt");
    q.enc[0] = ENC_BR, q.nenc = 1;
    q.sc = halves(q.sc.cand, 1);
    assert_int_equal(static_lookup(&q, 0), 200);
    assert_int_equal(q.enc_used, 0);
    done(&q);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_plain_file),
        T(test_missing_and_dir_without_slash),
        T(test_index_choice),
        T(test_autoindex_listing),
        T(test_try_files_candidates),
        T(test_try_files_fallback),
        T(test_precompressed_sibling),
        T(test_precompressed_index),
        T(test_negotiate),
        T(test_small_file_buf),
        T(test_cached_only),
        T(test_scratch_candidate_limit),
        T(test_scratch_sibling_limit),
        T(test_scratch_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
