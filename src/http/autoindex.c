/* http/autoindex.c: directory listings as HTML or JSON, built on write-queue threads. */
#include "http/autoindex.h"
#include "util/escape.h"
#include "util/grow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Everything here runs on write-queue threads, concurrently: state lives in
 * the arguments and on the stack only. readdir() is safe on a DIR that no
 * other thread uses, gmtime_r() and snprintf() (without locale-dependent
 * conversions) are safe anywhere. */

typedef struct {
    size_t off;       /* name's offset in ai_list.names while reading... */
    const char *name; /* ...and a pointer once names stops moving */
    size_t nlen;
    time_t mtime;
    long long size;
    bool dir;
} ai_entry;

typedef struct {
    ai_entry *v;
    size_t n, cap;
    char *names; /* every name, NUL-terminated, back to back */
    size_t nlen, ncap;
    bool truncated;
} ai_list;

/* ---- reading ------------------------------------------------------------ */


static int list_add(ai_list *l, const char *name, const struct stat *st)
{
    size_t n = strlen(name);

    if (ep_grow((void **)&l->v, &l->cap, l->n, 1, sizeof *l->v) != 0 ||
        ep_grow((void **)&l->names, &l->ncap, l->nlen, n + 1, 1) != 0)
        return -1;
    memcpy(l->names + l->nlen, name, n + 1);
    l->v[l->n++] = (ai_entry){
        .off = l->nlen,
        .nlen = n,
        .mtime = st->st_mtime,
        .size = (long long)st->st_size,
        .dir = S_ISDIR(st->st_mode),
    };
    l->nlen += n + 1;
    return 0;
}

/* Collect the visible entries of dirfd into l. Returns 0, or -1 with errno. */
static int read_dir(int dirfd, ai_list *l)
{
    /* A fresh open file description rather than dup(): a dup shares the
     * caller's offset, which readdir would move. */
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }

    int rc = 0, e = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno != 0)
                rc = -1, e = errno;
            break;
        }
        /* nginx hides every dot name; this also drops "." and "..". */
        if (de->d_name[0] == '.')
            continue;
        struct stat st;
        /* Follow symlinks, so a link shows what it leads to; one that leads
         * nowhere (or that we may not stat) is not listed. No automount:
         * listing a directory must not mount what is below it. */
        if (fstatat(fd, de->d_name, &st, AT_NO_AUTOMOUNT) != 0)
            continue;
        if (l->n == AUTOINDEX_MAX_ENTRIES) {
            l->truncated = true;
            break;
        }
        if (list_add(l, de->d_name, &st) != 0) {
            rc = -1, e = errno;
            break;
        }
    }
    closedir(d); /* closes fd too */
    errno = e;
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    const ai_entry *x = a, *y = b;

    if (x->dir != y->dir)
        return x->dir ? -1 : 1;
    return strcmp(x->name, y->name); /* compares as unsigned char: byte order */
}

/* ---- writing ------------------------------------------------------------ */

/* Appends to an ai_buf; the first failure sticks, so rendering code need not
 * check every call, and the caller looks once at the end. */
typedef struct {
    ai_buf *b;
    bool oom;
} writer;

static void put(writer *w, const char *s, size_t n)
{
    ai_buf *b = w->b;

    if (w->oom)
        return;
    /* + 1 keeps room for the NUL that follows the text. */
    if (n >= b->cap - b->len && ep_grow((void **)&b->data, &b->cap, b->len, n + 1, 1) != 0) {
        w->oom = true;
        return;
    }
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void puts_(writer *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Text or attribute value: the five characters that HTML gives a meaning,
 * in runs so plain names cost one copy. */
static void put_html(writer *w, const char *s, size_t n)
{
    size_t run = 0;

    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\0': rep = "&#xFFFD;"; break; /* what a browser shows anyway */
        default: continue;
        }
        put(w, s + run, i - run);
        puts_(w, rep);
        run = i + 1;
    }
    put(w, s + run, n - run);
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* A relative href: everything but RFC 3986 unreserved bytes and '/' is
 * %XX. That also keeps a name like "a:b" from reading as a scheme, and '?',
 * '#' and '%' from ending or changing the path. */
static void put_href(writer *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || c == '/')
            continue;
        char pct[3] = { '%', hex[c >> 4], hex[c & 15] };
        put(w, s + run, i - run);
        put(w, pct, 3);
        run = i + 1;
    }
    put(w, s + run, n - run);
}

/* The inside of a JSON string, valid UTF-8 whatever the bytes
 * (util/escape.h's esc_json: ill-formed parts become \ufffd; the entry
 * then carries the exact name in "href"). */
static void put_json(writer *w, const char *s, size_t n)
{
    char buf[1536];
    ep_str rest = ep_str_make(s, n);
    while (rest.len) {
        size_t used, k = esc_json(rest, buf, sizeof buf, &used);
        put(w, buf, k);
        rest = ep_str_make(rest.p + used, rest.len - used);
    }
}

/* gmtime_r only fails for years beyond int; such an mtime shows as the epoch
 * rather than failing the whole listing. */
static void utc(time_t t, struct tm *tm)
{
    time_t zero = 0;

    if (!gmtime_r(&t, tm))
        gmtime_r(&zero, tm);
}

/* ---- HTML --------------------------------------------------------------- */

/* snprintf into buf and append; a value that does not fit (it always fits:
 * buffers are sized for 64-bit numbers) is left out rather than cut. */
#define PUTF(w, buf, ...)                                                   \
    do {                                                                   \
        int n_ = snprintf(buf, sizeof buf, __VA_ARGS__);                   \
        put(w, buf, n_ > 0 && (size_t)n_ < sizeof buf ? (size_t)n_ : 0);   \
    } while (0)

static void html_row(writer *w, const ai_entry *e)
{
    struct tm tm;
    char num[64];

    utc(e->mtime, &tm);
    puts_(w, "<tr><td><a href=\"");
    put_href(w, e->name, e->nlen);
    puts_(w, e->dir ? "/\">" : "\">");
    put_html(w, e->name, e->nlen);
    puts_(w, e->dir ? "/</a></td><td>" : "</a></td><td>");
    /* long long year: tm_year + 1900 could overflow int near the limit. */
    PUTF(w, num, "%04lld-%02d-%02d %02d:%02d", (long long)tm.tm_year + 1900, tm.tm_mon + 1,
         tm.tm_mday, tm.tm_hour, tm.tm_min);
    puts_(w, "</td><td>");
    if (e->dir)
        puts_(w, "-");
    else
        PUTF(w, num, "%lld", e->size);
    puts_(w, "</td></tr>\n");
}

static void render_html(writer *w, const ai_list *l, const char *path, size_t len)
{
    puts_(w, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Index of ");
    put_html(w, path, len);
    puts_(w, "</title>\n<style>td{padding:0 2em 0 0}td:last-child{text-align:right}</style>\n"
             "</head>\n<body>\n<h1>Index of ");
    put_html(w, path, len);
    puts_(w, "</h1>\n<table>\n<tr><th>Name</th><th>Last modified</th><th>Size</th></tr>\n");
    /* The root has no parent to offer. */
    if (!(len == 0 || (len == 1 && path[0] == '/')))
        puts_(w, "<tr><td><a href=\"../\">../</a></td><td></td><td>-</td></tr>\n");
    for (size_t i = 0; i < l->n; i++)
        html_row(w, &l->v[i]);
    puts_(w, "</table>\n");
    if (l->truncated) {
        char note[96];
        PUTF(w, note, "<p>Listing truncated: only %d entries are shown.</p>\n",
             AUTOINDEX_MAX_ENTRIES);
    }
    puts_(w, "</body>\n</html>\n");
}

/* ---- JSON --------------------------------------------------------------- */

static void json_row(writer *w, const ai_entry *e)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    char tail[128];

    utc(e->mtime, &tm);
    puts_(w, "{\"name\":\"");
    put_json(w, e->name, e->nlen);
    /* A name \ufffd stands in for cannot be rebuilt from "name": the
     * link, as the HTML listing writes it, says which file it is. */
    if (!esc_is_utf8(ep_str_make(e->name, e->nlen))) {
        puts_(w, "\",\"href\":\"");
        put_href(w, e->name, e->nlen);
        if (e->dir)
            puts_(w, "/");
    }
    puts_(w, e->dir ? "\",\"type\":\"directory\"" : "\",\"type\":\"file\"");
    /* IMF-fixdate by hand: strftime's names would follow the locale. */
    PUTF(w, tail, ",\"mtime\":\"%s, %02d %s %04lld %02d:%02d:%02d GMT\"", days[tm.tm_wday],
         tm.tm_mday, months[tm.tm_mon], (long long)tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
         tm.tm_sec);
    if (!e->dir)
        PUTF(w, tail, ",\"size\":%lld", e->size);
    puts_(w, "}");
}

static void render_json(writer *w, const ai_list *l)
{
    puts_(w, "[");
    for (size_t i = 0; i < l->n; i++) {
        puts_(w, i ? ",\n" : "\n");
        json_row(w, &l->v[i]);
    }
    puts_(w, "\n]\n");
}

/* ---- entry point -------------------------------------------------------- */

static void list_free(ai_list *l)
{
    free(l->v);
    free(l->names);
}

int autoindex_render(int dirfd, const char *uri_path, size_t len, bool json, ai_buf *out)
{
    ai_list l = { 0 };
    writer w = { out, false };

    *out = (ai_buf){ 0 };
    if (read_dir(dirfd, &l) != 0) {
        int e = errno;
        list_free(&l);
        errno = e;
        return -1;
    }
    for (size_t i = 0; i < l.n; i++)
        l.v[i].name = l.names + l.v[i].off;
    if (l.n > 1)
        qsort(l.v, l.n, sizeof l.v[0], entry_cmp);

    if (json)
        render_json(&w, &l);
    else
        render_html(&w, &l, uri_path, len);
    list_free(&l);
    if (w.oom) {
        free(out->data);
        *out = (ai_buf){ 0 };
        errno = ENOMEM;
        return -1;
    }
    return 0;
}
