/* tests/fuzz/fuzz_route.c: libFuzzer target for request -> route -> plan: any bytes as a request head, through a worker's checks and routing over a fixed site, must give a plan that keeps its promises. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/loc.h"
#include "http/parser.h"
#include "http/prepare.h"
#include "http/request.h"
#include "http/route.h"
#include "util/time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

/* The site: files of known sizes, a folder without an index, a dotfile,
 * precompressed siblings, an alias; and a configuration that uses every
 * kind of rule a plan can come from. */
static const char conf_fmt[] =
    "max_uri_length = 512;\n"
    "servers = ( { names = [ \"a.test\" ]; root = \"%s/www\"; autoindex = true;\n"
    "  expires = \"1h\"; add_header = { X-A = \"1\"; };\n"
    "  error_page = ( { codes = 404; uri = \"/missing.html\"; } );\n"
    "  locations = (\n"
    "    { match = \"= /h\"; return = 204; },\n"
    "    { match = \"/r/\"; return = { status = 301; url = \"$scheme://$host$request_uri?$args$uri\"; }; },\n"
    "    { match = \"/t/\"; return = { status = 200; body = \"$host $uri $args\"; }; },\n"
    "    { match = \"/spa/\"; try_files = [ \"$uri\", \"$uri/\", \"/index.html\" ]; },\n"
    "    { match = \"/loop/\"; try_files = [ \"$uri\", \"/loop/x\" ]; },\n"
    "    { match = \"/al/\"; alias = \"%s/www/sub/\"; methods = [ \"GET\", \"OPTIONS\" ]; },\n"
    "    { match = \"/p/\"; methods = [ \"POST\", \"GET\" ]; return = { status = 201; body = \"$request_uri\"; }; },\n"
    "    { match = \"~* \\\\.js$\"; precompressed = [ \"gzip\", \"br\" ]; access = [ \"deny 192.0.2.0/24\" ]; }\n"
    "  ); },\n"
    "  { names = [ \"b.test\" ]; root = \"%s/www\"; autoindex = false; autoindex_format = \"json\"; } );\n";

static cfg *site;
static route_sizes sizes;
static char *scratch, *parts, *body, *path;
static void *lscratch;
static int64_t file_size[4];

static void put_file(const char *dir, const char *name, size_t len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    check(f != NULL);
    for (size_t i = 0; i < len; i++)
        fputc('a' + (int)(i % 26), f);
    fclose(f);
}

static void setup(void)
{
    static char tmp[] = "/tmp/fuzz_route.XXXXXX";
    check(mkdtemp(tmp) != NULL);
    char www[256], sub[256], conf[256];
    snprintf(www, sizeof www, "%s/www", tmp);
    snprintf(sub, sizeof sub, "%s/www/sub", tmp);
    check(mkdir(www, 0755) == 0 && mkdir(sub, 0755) == 0);
    put_file(www, "index.html", 100);
    put_file(www, "missing.html", 10);
    put_file(www, "big.bin", 200000);
    put_file(www, "app.js", 5000);
    put_file(www, "app.js.gz", 700);
    put_file(www, ".env", 5);
    put_file(sub, "index.html", 0);
    put_file(sub, "x.txt", 33);
    snprintf(conf, sizeof conf, "%s/site.conf", tmp);
    FILE *f = fopen(conf, "w");
    check(f != NULL);
    fprintf(f, conf_fmt, tmp, tmp, tmp);
    fclose(f);
    char err[1024];
    site = http_conf_read(conf, err, sizeof err);
    if (!site) {
        fprintf(stderr, "fuzz_route: %s\n", err);
        abort();
    }
    route_sizes_of(site, &sizes);
    scratch = malloc(sizes.scratch);
    parts = malloc(sizes.parts);
    body = malloc(site->small_file_max);
    path = malloc(site->max_uri_len + 1);
    lscratch = loc_scratch_new();
    check(scratch && parts && body && path && lscratch);
    (void)file_size;
}

/* Run the lookups the way a worker does, blocking allowed. */
static enum route_state run(route *rt, enum route_state s)
{
    while (s == ROUTE_LOOKUP) {
        check(rt->dir >= 0 && (size_t)rt->dir < site->ndirs);
        int dirfd = open(site->dirs[rt->dir], O_PATH | O_DIRECTORY | O_CLOEXEC);
        check(dirfd >= 0);
        rt->lookup.dirfd = dirfd;
        static_lookup(&rt->lookup, 0);
        close(dirfd);
        s = route_lookup_done(rt);
    }
    return s;
}

/* What every plan must keep: a status a head can carry, a Content-Length
 * equal to the body it sends (or none where none is allowed), segments
 * inside the file, and a head that fits the space sized for it. */
static void check_plan(const route *rt, bool head_only)
{
    const http_plan *p = &rt->plan;
    check(p->status >= 200 && p->status <= 599);
    uint64_t sum = 0;
    struct stat st;
    bool has_file = p->fd >= 0 && fstat(p->fd, &st) == 0;
    for (size_t i = 0; i < p->nseg; i++) {
        check(p->seg[i].len > 0);
        if (!p->seg[i].mem)
            check(has_file && p->seg[i].off >= 0 && p->seg[i].off + (off_t)p->seg[i].len <= st.st_size);
        sum += p->seg[i].len;
    }
    if (p->status == 204 || p->status == 304)
        check(p->nseg == 0 && p->f.content_length < 0);
    else
        check(p->f.content_length >= 0 && (uint64_t)p->f.content_length == p->body_len);
    check(head_only ? p->nseg == 0 : sum == p->body_len);
    char date[TIME_HTTP_LEN + 1];
    time_http_date(0, date);
    resp_fields f = p->f;
    f.date = date;
    char *head = malloc(sizes.head);
    check(head != NULL);
    check(resp_head(head, sizes.head, p->status, &f) > 0);
    free(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!site)
        setup();
    if (size < 2 || size > 4096)
        return 0;
    /* The first byte picks the client: inside or outside the denied net. */
    struct sockaddr_in peer = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(data[0] & 1 ? 0xC0000207 : 0x7F000001) };
    hp_request head;
    int n = hp_parse_request((const char *)data + 1, size - 1, &head);
    if (n <= 0)
        return 0;
    http_req rq;
    route_env env = { .cf = site, .listen_idx = 0, .peer = (struct sockaddr *)&peer, .now = 1000000000,
                      .seq = size, .loc_scratch = lscratch, .scratch = scratch, .scratch_len = sizes.scratch,
                      .parts = parts, .parts_len = sizes.parts, .body = data[0] & 2 ? body : NULL,
                      .body_len = site->small_file_max };
    route rt;
    int st = http_req_make(&rq, &head, site, path);
    route_begin(&rt, &env, &rq);
    if (st)
        route_error(&rt, st, true);
    else
        run(&rt, route_request(&rt));
    check_plan(&rt, rq.head_only);
    if (rt.plan.fd >= 0)
        close(rt.plan.fd);
    route_abandon(&rt);
    plan_clear(&rt.plan);
    return 0;
}
