/* tests/unit/test_directives.c: config files of both syntaxes through conf_read into the model, and -T round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/directives.h"
#include "http/mime.h"
#include "http/prepare.h"
#include "config/dump.h"
#include "config/model.h"


#include "conf_fixture.h"

/* ---- the model: one site that sets everything ---------------------------- */

/* Every global, two listeners, two servers, every location kind and every
 * rule. "methods" comes before "autoindex_format" on purpose: a one-byte
 * bool written as an int used to wipe the methods after it. */
static const char site_conf[] =
    "# a site that sets everything\n"
    "workers = 2;\n"
    "user = \"root\";\n"
    "group = \"root\";\n"
    "worker_connections = 512;\n"
    "write_queue_threads = 8;\n"
    "header_timeout = \"500ms\";\n"
    "keepalive_timeout = \"2m\";\n"
    "send_timeout = 30; lingering_time = \"10s\";\n"
    "shutdown_timeout = \"1h\";\n"
    "stop_timeout = \"15s\";\n"
    "max_header_size = \"32k\";\n"
    "max_uri_length = \"4k\";\n"
    "max_body_size = \"2g\";\n"
    "keepalive_requests = 50;\n"
    "small_file_max = 0;\n"
    "open_file_cache = 1000;\n"
    "open_file_cache_valid = \"90s\"; open_file_cache_inactive = \"5m\";\n"
    "mime_types = \"@D/mime.types\";\n"
    "default_type = \"text/plain\";\n"
    "error_log = \"@D/error.log\";\n"
    "log_level = \"debug\";\n"
    "pid_file = \"@D/ephttpd.pid\";\n"
    "listen = (\n"
    "  { address = \"127.0.0.1\"; port = 8081; backlog = 64; reuseport = true; deferred = false;\n"
    "    default_server = \"b.example\"; },\n"
    "  { address = \"::1\"; port = 8082; }\n"
    ");\n"
    "servers = (\n"
    "  {\n"
    "    names = [ \"A.Example\", \"*.a.example\", \"\" ];\n"
    "    access_log = \"@D/access.log\";\n"
    "    root = \"@D/www\";\n"
    "    index = [ \"index.htm\", \"index.html\" ];\n"
    "    autoindex = true;\n"
    "    methods = [ \"GET\", \"HEAD\", \"OPTIONS\" ];\n"
    "    autoindex_format = \"json\";\n"
    "    add_header = { X-Frame-Options = \"DENY\"; X-Two = \"2\"; };\n"
    "    expires = \"1h\";\n"
    "    etag = false;\n"
    "    precompressed = [ \"br\", \"gzip\" ];\n"
    "    access = [ \"allow 10.0.0.0/8\", \"allow ::1\", \"deny all\" ];\n"
    "    error_page = ( { codes = [ 404, 410 ]; uri = \"/404.html\"; }, { codes = 500; uri = \"/5xx.html\"; } );\n"
    "    symlinks = \"follow\";\n"
    "    offload = \"always\";\n"
    "    sendfile_chunk = \"512k\";\n"
    "    locations = (\n"
    "      { match = \"= /healthz\"; return = { status = 200; body = \"ok\\n\"; }; },\n"
    "      { match = \"^~ /img/\"; alias = \"@D/data/\"; expires = \"off\"; autoindex = false; },\n"
    "      { match = \"/old/\"; return = { status = 301; url = \"https://b.example$request_uri\"; }; },\n"
    "      { match = \"~ \\\\.php$\"; return = 403; },\n"
    "      { match = \"~* \\\\.(png|jpe?g)$\"; expires = \"30d\"; etag = true;\n"
    "        add_header = { X-Content-Type-Options = \"nosniff\"; }; },\n"
    "      { match = \"/api/\"; methods = [ \"GET\", \"POST\", \"DELETE\" ]; return = { status = 204; }; },\n"
    "      { match = \"/spa/\"; root = \"@D\"; try_files = [ \"$uri\", \"$uri/\", \"/spa/index.html\" ];\n"
    "        index = [ ]; symlinks = \"off\"; offload = \"auto\"; sendfile_chunk = \"64k\";\n"
    "        autoindex_format = \"html\"; precompressed = [ \"zstd\" ]; },\n"
    "      { match = \"/private/\"; access = [ \"allow 192.168.0.0/16\", \"deny all\" ];\n"
    "        error_page = ( { codes = 403; uri = \"/denied.html\"; } ); try_files = [ \"$uri\", \"=404\" ]; }\n"
    "    );\n"
    "  },\n"
    "  {\n"
    "    names = [ \"b.example\" ];\n"
    "    listen_on = [ \"127.0.0.1:8081\" ];\n"
    "    root = \"@D/www/img\";\n"
    "  }\n"
    ");\n";

/* The same site in YAML: cfg_dump must print it byte for byte the same. */
static const char site_yaml[] =
    "# a site that sets everything\n"
    "workers: 2\n"
    "user: root\n"
    "group: root\n"
    "worker_connections: 512\n"
    "write_queue_threads: 8\n"
    "header_timeout: 500ms\n"
    "keepalive_timeout: 2m\n"
    "send_timeout: 30\n"
    "lingering_time: 10s\n"
    "shutdown_timeout: 1h\n"
    "stop_timeout: 15s\n"
    "max_header_size: 32k\n"
    "max_uri_length: 4k\n"
    "max_body_size: 2g\n"
    "keepalive_requests: 50\n"
    "small_file_max: 0\n"
    "open_file_cache: 1000\n"
    "open_file_cache_valid: 90s\n"
    "open_file_cache_inactive: 5m\n"
    "mime_types: @D/mime.types\n"
    "default_type: text/plain\n"
    "error_log: @D/error.log\n"
    "log_level: debug\n"
    "pid_file: @D/ephttpd.pid\n"
    "listen:\n"
    "  - address: 127.0.0.1\n"
    "    port: 8081\n"
    "    backlog: 64\n"
    "    reuseport: true\n"
    "    deferred: false\n"
    "    default_server: b.example\n"
    "  - { address: \"::1\", port: 8082 }\n"
    "servers:\n"
    "  - names: [A.Example, \"*.a.example\", \"\"]\n"
    "    access_log: @D/access.log\n"
    "    root: @D/www\n"
    "    index: [index.htm, index.html]\n"
    "    autoindex: true\n"
    "    methods: [GET, HEAD, OPTIONS]\n"
    "    autoindex_format: json\n"
    "    add_header:\n"
    "      X-Frame-Options: DENY\n"
    "      X-Two: \"2\"\n"
    "    expires: 1h\n"
    "    etag: false\n"
    "    precompressed: [br, gzip]\n"
    "    access: [allow 10.0.0.0/8, allow ::1, deny all]\n"
    "    error_page:\n"
    "      - { codes: [404, 410], uri: /404.html }\n"
    "      - { codes: 500, uri: /5xx.html }\n"
    "    symlinks: follow\n"
    "    offload: always\n"
    "    sendfile_chunk: 512k\n"
    "    locations:\n"
    "      - match: = /healthz\n"
    "        return: { status: 200, body: \"ok\\n\" }\n"
    "      - { match: ^~ /img/, alias: @D/data/, expires: off, autoindex: false }\n"
    "      - match: /old/\n"
    "        return:\n"
    "          status: 301\n"
    "          url: https://b.example$request_uri\n"
    "      - { match: '~ \\.php$', return: 403 }\n"
    "      - match: '~* \\.(png|jpe?g)$'\n"
    "        expires: 30d\n"
    "        etag: true\n"
    "        add_header: { X-Content-Type-Options: nosniff }\n"
    "      - { match: /api/, methods: [GET, POST, DELETE], return: { status: 204 } }\n"
    "      - match: /spa/\n"
    "        root: @D\n"
    "        try_files: [$uri, $uri/, /spa/index.html]\n"
    "        index: []\n"
    "        symlinks: \"off\"\n"
    "        offload: auto\n"
    "        sendfile_chunk: 64k\n"
    "        autoindex_format: html\n"
    "        precompressed: zstd\n"
    "      - match: /private/\n"
    "        access: [allow 192.168.0.0/16, deny all]\n"
    "        error_page: [{ codes: 403, uri: /denied.html }]\n"
    "        try_files: [$uri, \"=404\"]\n"
    "  - names: [b.example]\n"
    "    listen_on: 127.0.0.1:8081\n"
    "    root: @D/www/img\n";

static void test_globals(void **state)
{
    (void)state;
    cfg *c = load("site.conf", site_conf);
    char *www = expand("@D/www");
    assert_int_equal(c->workers, 2);
    assert_string_equal(c->user, "root");
    assert_string_equal(c->group, "root");
    assert_int_equal(c->worker_connections, 512);
    assert_int_equal(c->wq_threads, 8);
    assert_int_equal(c->header_timeout_ms, 500);
    assert_int_equal(c->keepalive_timeout_ms, 120000);
    assert_int_equal(c->send_timeout_ms, 30000);
    assert_int_equal(c->lingering_time_ms, 10000);
    assert_int_equal(c->shutdown_timeout_ms, 3600000);
    assert_int_equal(c->stop_timeout_ms, 15000);
    assert_int_equal(c->max_header_size, 32768);
    assert_int_equal(c->max_uri_len, 4096);
    assert_int_equal(c->max_body_size, 2LL << 30);
    assert_int_equal(c->keepalive_requests, 50);
    assert_int_equal(c->small_file_max, 0);
    assert_int_equal(c->open_file_cache, 1000);
    assert_int_equal(c->open_file_cache_valid_ms, 90000);
    assert_int_equal(c->open_file_cache_inactive_ms, 300000);
    assert_non_null(c->mime);
    assert_string_equal(c->default_type, "text/plain");
    assert_int_equal(c->log_level, LOGL_DEBUG);
    assert_non_null(strstr(c->pid_file, "/ephttpd.pid"));
    assert_non_null(strstr(c->error_log, "/error.log"));
    assert_non_null(strstr(c->source, "/site.conf"));
    /* Every distinct root and alias directory, once. */
    assert_int_equal(c->ndirs, 4);
    assert_string_equal(c->dirs[c->servers[0].r.dir], www);
    free(www);
    cfg_free(c);
}

static void test_defaults(void **state)
{
    (void)state;
    cfg *c = load("min.conf", "servers = ( { root = \"@D/www\"; } );\n");
    /* No listen: the command line's 0.0.0.0:8080 stays. */
    assert_int_equal(c->nlistens, 1);
    assert_string_equal(c->listens[0].addr, "0.0.0.0");
    assert_int_equal(c->listens[0].port, 8080);
    assert_int_equal(c->workers, 1);
    assert_null(c->user);
    assert_null(c->mime_types);
    /* The built-in table, indexed (mime_builtin_table). */
    assert_non_null(c->mime);
    assert_string_equal(mime_lookup(c->mime, "/a.CSS", 6, "x"), "text/css");
    assert_int_equal(c->keepalive_timeout_ms, 75000);
    assert_int_equal(c->shutdown_timeout_ms, 60000);
    assert_int_equal(c->stop_timeout_ms, 5000);
    assert_int_equal(c->max_body_size, 1 << 20);
    assert_string_equal(c->default_type, "application/octet-stream");
    assert_string_equal(c->error_log, "-");
    assert_int_equal(c->log_level, LOGL_INFO);
    const cfg_server *s = &c->servers[0];
    assert_int_equal(s->nnames, 0);
    assert_int_equal(s->r.nalogs, 0); /* "off" */
    assert_int_equal(s->r.nindex, 1);
    assert_string_equal(s->r.index[0], "index.html");
    assert_false(s->r.autoindex);
    assert_int_equal(s->r.methods, M_GET | M_HEAD);
    assert_int_equal(s->r.expires, CFG_EXPIRES_OFF);
    assert_true(s->r.etag);
    assert_int_equal(s->r.nenc, 0);
    assert_int_equal(s->r.links, FILE_LINKS_BENEATH);
    assert_false(s->r.offload_always);
    assert_int_equal(s->r.sendfile_chunk, 1 << 20);
    cfg_free(c);

    c = load("auto.conf", "workers = \"auto\";\nservers = ( { root = \"@D/www\"; } );\n");
    assert_int_equal(c->workers, 0);
    assert_true(cfg_worker_count(c) >= 1);
    cfg_free(c);
}

static void test_listeners(void **state)
{
    (void)state;
    cfg *c = load("site.conf", site_conf);
    assert_int_equal(c->nlistens, 2);
    const cfg_listen *l = &c->listens[0];
    assert_string_equal(l->addr, "127.0.0.1");
    assert_int_equal(l->port, 8081);
    assert_int_equal(l->backlog, 64);
    assert_true(l->reuseport);
    assert_false(l->deferred);
    assert_string_equal(l->default_name, "b.example");
    assert_int_equal(l->default_server, 1);
    char *where = expand("@D/site.conf:25");
    assert_string_equal(l->where, where);
    free(where);
    l = &c->listens[1];
    assert_string_equal(l->addr, "::1");
    assert_int_equal(l->port, 8082);
    assert_int_equal(l->backlog, 511);
    assert_false(l->reuseport);
    assert_true(l->deferred);
    assert_null(l->default_name);
    assert_int_equal(l->default_server, 0); /* the first server on it */
    /* Server 0 has no listen_on: every listener. Server 1 only the first. */
    assert_int_equal(c->servers[0].nlistens, 2);
    assert_int_equal(c->servers[1].nlistens, 1);
    assert_int_equal(c->servers[1].listens[0], 0);
    assert_int_equal(c->servers[1].nlisten_refs, 1);
    cfg_free(c);

    /* The reference forms: a port alone, [v6]:port. */
    c = load("refs.conf", "listen = ( { port = 81; }, { address = \"::\"; port = 82; } );\n"
                          "servers = ( { root = \"@D/www\"; listen_on = [ \"82\" ]; },\n"
                          "            { root = \"@D/www\"; listen_on = \"[::]:82\"; },\n"
                          "            { root = \"@D/www\"; listen_on = \"0.0.0.0:81\"; } );\n");
    assert_int_equal(c->servers[0].nlistens, 1);
    assert_int_equal(c->servers[0].listens[0], 1);
    assert_int_equal(c->servers[1].listens[0], 1);
    assert_int_equal(c->servers[2].listens[0], 0);
    assert_int_equal(c->listens[0].default_server, 2);
    assert_int_equal(c->listens[1].default_server, 0);
    cfg_free(c);
}

static void test_servers_and_locations(void **state)
{
    (void)state;
    cfg *c = load("site.conf", site_conf);
    assert_int_equal(c->nservers, 2);
    const cfg_server *s = &c->servers[0];
    assert_int_equal(s->nnames, 3);
    assert_string_equal(s->names[0], "a.example"); /* lower-cased */
    assert_string_equal(s->names[1], "*.a.example");
    assert_string_equal(s->names[2], "");
    assert_int_equal(s->r.nalogs, 1);
    assert_non_null(strstr(s->r.alogs[0].path, "/access.log"));
    assert_int_equal(s->r.alogs[0].fmt, 0); /* combined */
    static const struct {
        loc_kind kind;
        const char *pattern;
    } want[] = {
        { LOC_EXACT, "/healthz" },      { LOC_PREFIX_NOREGEX, "/img/" },
        { LOC_PREFIX, "/old/" },        { LOC_REGEX, "\\.php$" },
        { LOC_REGEX_ICASE, "\\.(png|jpe?g)$" },
        { LOC_PREFIX, "/api/" },        { LOC_PREFIX, "/spa/" },
        { LOC_PREFIX, "/private/" },
    };
    assert_int_equal(s->nlocs, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < s->nlocs; i++) {
        assert_int_equal(s->locs[i].kind, want[i].kind);
        assert_string_equal(s->locs[i].pattern, want[i].pattern);
        bool regex = want[i].kind == LOC_REGEX || want[i].kind == LOC_REGEX_ICASE;
        assert_true((s->locs[i].re != NULL) == regex);
        assert_non_null(s->locs[i].where);
    }
    char *where = expand("@D/site.conf:48");
    assert_string_equal(s->locs[0].where, where);
    free(where);
    assert_string_equal(c->servers[1].names[0], "b.example");
    assert_int_equal(c->servers[1].nlocs, 0);
    cfg_free(c);
}

static void test_server_rules(void **state)
{
    (void)state;
    cfg *c = load("site.conf", site_conf);
    const cfg_rules *r = &c->servers[0].r;
    char *www = expand("@D/www");
    assert_string_equal(r->root, www);
    assert_null(r->alias);
    assert_int_equal(r->nindex, 2);
    assert_string_equal(r->index[0], "index.htm");
    assert_string_equal(r->index[1], "index.html");
    assert_true(r->autoindex);
    assert_true(r->autoindex_json);
    assert_int_equal(r->methods, M_GET | M_HEAD | M_OPTIONS);
    assert_int_equal(r->return_status, 0);
    assert_int_equal(r->nheaders, 2);
    assert_string_equal(r->headers[0].name, "X-Frame-Options");
    assert_string_equal(r->headers[0].value, "DENY");
    assert_string_equal(r->headers[1].value, "2");
    assert_int_equal(r->expires, 3600);
    assert_false(r->etag);
    assert_int_equal(r->nenc, 2);
    assert_int_equal(r->enc[0], ENC_BR);
    assert_int_equal(r->enc[1], ENC_GZIP);
    assert_int_equal(r->nacl, 3);
    char net[64];
    assert_true(r->acl[0].allow);
    cidr_format(&r->acl[0].net, net, sizeof net);
    assert_string_equal(net, "10.0.0.0/8");
    assert_true(r->acl[1].allow);
    cidr_format(&r->acl[1].net, net, sizeof net);
    assert_string_equal(net, "::1");
    assert_false(r->acl[2].allow);
    assert_int_equal(r->acl[2].net.family, 0); /* all */
    assert_int_equal(r->nerror_pages, 3);
    assert_int_equal(r->error_pages[0].status, 404);
    assert_int_equal(r->error_pages[1].status, 410);
    assert_string_equal(r->error_pages[1].uri, "/404.html");
    assert_int_equal(r->error_pages[2].status, 500);
    assert_string_equal(r->error_pages[2].uri, "/5xx.html");
    assert_int_equal(r->ntry_files, 0);
    assert_int_equal(r->links, FILE_LINKS_ALL);
    assert_true(r->offload_always);
    assert_int_equal(r->sendfile_chunk, 512 * 1024);
    free(www);
    cfg_free(c);
}

static void test_location_rules_and_inheritance(void **state)
{
    (void)state;
    cfg *c = load("site.conf", site_conf);
    const cfg_server *s = &c->servers[0];
    const cfg_rules *sr = &s->r;

    /* = /healthz sets only return; everything else is the server's. */
    const cfg_rules *r = &s->locs[0].r;
    assert_int_equal(r->set, R_RETURN);
    assert_int_equal(r->return_status, 200);
    assert_string_equal(r->return_text, "ok\n");
    assert_ptr_equal(r->root, sr->root);
    assert_int_equal(r->dir, sr->dir);
    assert_ptr_equal(r->index, sr->index);
    assert_int_equal(r->nindex, 2);
    assert_true(r->autoindex && r->autoindex_json);
    assert_int_equal(r->methods, sr->methods);
    assert_ptr_equal(r->headers, sr->headers);
    assert_int_equal(r->expires, 3600);
    assert_false(r->etag);
    assert_int_equal(r->nenc, 2);
    assert_ptr_equal(r->acl, sr->acl);
    assert_ptr_equal(r->error_pages, sr->error_pages);
    assert_int_equal(r->links, FILE_LINKS_ALL);
    assert_true(r->offload_always);
    assert_int_equal(r->sendfile_chunk, 512 * 1024);

    /* ^~ /img/: alias replaces the root; expires off. */
    r = &s->locs[1].r;
    char *data = expand("@D/data/");
    assert_string_equal(r->alias, data);
    assert_null(r->root);
    assert_string_equal(c->dirs[r->dir], data);
    assert_int_equal(r->expires, CFG_EXPIRES_OFF);
    assert_false(r->autoindex);
    assert_false(r->etag); /* inherited */
    free(data);

    /* /old/: a redirect. */
    r = &s->locs[2].r;
    assert_int_equal(r->return_status, 301);
    assert_string_equal(r->return_text, "https://b.example$request_uri");

    /* ~ \.php$: the integer shorthand, no text. */
    r = &s->locs[3].r;
    assert_int_equal(r->return_status, 403);
    assert_null(r->return_text);

    cfg_free(c);
}

static void test_location_own_rules(void **state)
{
    (void)state;
    cfg *c = load("site.conf", site_conf);
    const cfg_server *s = &c->servers[0];

    /* ~* images: its own headers, expires, etag. */
    const cfg_rules *r = &s->locs[4].r;
    assert_int_equal(r->set, R_EXPIRES | R_ETAG | R_HEADERS);
    assert_int_equal(r->expires, 30 * 86400);
    assert_true(r->etag);
    assert_int_equal(r->nheaders, 1);
    assert_string_equal(r->headers[0].name, "X-Content-Type-Options");

    /* /api/: more methods, allowed because of the return. */
    r = &s->locs[5].r;
    assert_int_equal(r->methods, M_GET | M_POST | M_DELETE);
    assert_int_equal(r->return_status, 204);

    /* /spa/: its own root, try_files, empty index, and the enum rules. */
    r = &s->locs[6].r;
    assert_string_equal(r->root, tmp);
    assert_int_equal(r->ntry_files, 3);
    assert_string_equal(r->try_files[0], "$uri");
    assert_string_equal(r->try_files[2], "/spa/index.html");
    assert_int_equal(r->nindex, 0);
    assert_int_equal(r->links, FILE_LINKS_NONE);
    assert_false(r->offload_always);
    assert_int_equal(r->sendfile_chunk, 64 * 1024);
    assert_true(r->autoindex); /* inherited, while the format is its own */
    assert_false(r->autoindex_json);
    assert_int_equal(r->nenc, 1);
    assert_int_equal(r->enc[0], ENC_ZSTD);
    assert_int_equal(r->methods, M_GET | M_HEAD | M_OPTIONS); /* not wiped by the format */

    /* /private/: access, error_page, try_files with a status. */
    r = &s->locs[7].r;
    assert_int_equal(r->nacl, 2);
    assert_true(r->acl[0].allow);
    assert_false(r->acl[1].allow);
    assert_int_equal(r->nerror_pages, 1);
    assert_int_equal(r->error_pages[0].status, 403);
    assert_string_equal(r->error_pages[0].uri, "/denied.html");
    assert_string_equal(r->try_files[1], "=404");

    /* The second server keeps the built-in defaults. */
    r = &c->servers[1].r;
    assert_int_equal(r->methods, M_GET | M_HEAD);
    assert_true(r->etag);
    assert_int_equal(r->nindex, 1);
    cfg_free(c);
}

/* ---- sizes and durations ------------------------------------------------- */

static void test_sizes_and_durations(void **state)
{
    (void)state;
    static const struct {
        const char *setting, *value;
        int64_t want;
    } rows[] = {
        { "max_body_size", "0", 0 },
        { "max_body_size", "12345", 12345 },
        { "max_body_size", "\"12345\"", 12345 },
        { "max_body_size", "\"8k\"", 8192 },
        { "max_body_size", "\"8K\"", 8192 },
        { "max_body_size", "\"3m\"", 3 << 20 },
        { "max_body_size", "\"5g\"", 5LL << 30 },
        { "max_body_size", "10000000000L", 10000000000LL },
        /* No L: libconfig 1.5 alone would read 1410065408 (atoi). */
        { "max_body_size", "10000000000", 10000000000LL },
        { "max_body_size", "0x100000000", 1LL << 32 },
        { "max_body_size", "0x100000000L", 1LL << 32 },
        { "max_body_size", "+4096", 4096 },
        { "header_timeout", "0x10", 16000 },
        { "header_timeout", "+7", 7000 },
        { "header_timeout", "7L", 7000 },
        { "small_file_max", "\"1m\"", 1 << 20 },
        { "header_timeout", "5", 5000 },
        { "header_timeout", "\"5\"", 5000 },
        { "header_timeout", "\"250ms\"", 250 },
        { "header_timeout", "\"2m\"", 120000 },
        { "header_timeout", "\"1h\"", 3600000 },
        { "header_timeout", "\"1d\"", 86400000 },
        { "keepalive_timeout", "0", 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *text = xasprintf("%s = %s;\nservers = ( { root = \"@D/www\"; } );\n", rows[i].setting,
                               rows[i].value);
        cfg *c = load("size.conf", text);
        int64_t got = strcmp(rows[i].setting, "max_body_size") == 0    ? c->max_body_size
                      : strcmp(rows[i].setting, "small_file_max") == 0 ? (int64_t)c->small_file_max
                      : strcmp(rows[i].setting, "header_timeout") == 0 ? c->header_timeout_ms
                                                                        : c->keepalive_timeout_ms;
        if (got != rows[i].want)
            fail_msg("%s = %s: got %lld, want %lld", rows[i].setting, rows[i].value, (long long)got,
                     (long long)rows[i].want);
        cfg_free(c);
        free(text);
    }
    /* Rules: sendfile_chunk (a size) and expires (a duration kept in seconds). */
    static const struct {
        const char *rule, *value;
        int64_t want;
    } rules[] = {
        { "sendfile_chunk", "4096", 4096 },
        { "sendfile_chunk", "\"16k\"", 16384 },
        { "sendfile_chunk", "\"1g\"", 1 << 30 },
        { "expires", "0", 0 },
        { "expires", "60", 60 },
        { "expires", "\"90s\"", 90 },
        { "expires", "\"2w\"", 14 * 86400 },
        { "expires", "\"1y\"", 365 * 86400 },
        { "expires", "\"off\"", CFG_EXPIRES_OFF },
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        char *text = xasprintf("servers = ( { root = \"@D/www\"; %s = %s; } );\n", rules[i].rule,
                               rules[i].value);
        cfg *c = load("rule.conf", text);
        const cfg_rules *r = &c->servers[0].r;
        int64_t got = rules[i].rule[0] == 's' ? (int64_t)r->sendfile_chunk : r->expires;
        if (got != rules[i].want)
            fail_msg("%s = %s: got %lld, want %lld", rules[i].rule, rules[i].value, (long long)got,
                     (long long)rules[i].want);
        cfg_free(c);
        free(text);
    }
}

/* ---- dumps --------------------------------------------------------------- */

static void test_yaml_dumps_like_libconfig(void **state)
{
    (void)state;
    cfg *a = load("site.conf", site_conf);
    cfg *b = load("site.yaml", site_yaml);
    /* The origins name site.conf and site.yaml, each with its own lines. */
    assert_same_dump(a, b);
    char *da = dump(a);
    /* Spot checks that the dump holds what it should. */
    assert_non_null(strstr(da, "workers = 2;\n"));
    assert_non_null(strstr(da, "header_timeout = \"500ms\";\n"));
    assert_non_null(strstr(da, "keepalive_timeout = \"2m\";\n"));   /* the largest exact unit */
    assert_non_null(strstr(da, "send_timeout = \"30s\";\nlingering_time = \"10s\";\n"));
    assert_non_null(strstr(da, "shutdown_timeout = \"1h\";\nstop_timeout = \"15s\";\n"));
    assert_non_null(strstr(da, "expires = \"30d\";\n"));
    assert_non_null(strstr(da, "max_body_size = \"2g\";\n"));
    assert_non_null(strstr(da, "default_server = \"b.example\";"));
    assert_non_null(strstr(da, "match = \"~* \\\\.(png|jpe?g)$\";"));
    assert_non_null(strstr(da, "return = { status = 200; body = \"ok\\n\"; };"));
    assert_non_null(strstr(da, "expires = \"off\";"));
    assert_non_null(strstr(da, "access = [ \"allow 10.0.0.0/8\", \"allow ::1\", \"deny all\" ];"));
    free(da);
    cfg_free(a);
    cfg_free(b);
}

static void test_dump_round_trip(void **state)
{
    (void)state;
    cfg *c = load("site.conf", site_conf);
    assert_round_trip(c, "rt1.conf");
    cfg_free(c);
    c = load("site.yaml", site_yaml);
    assert_round_trip(c, "rt2.conf");
    cfg_free(c);
    /* Defaults only, "auto" workers, a server whose root comes from "/". */
    c = load("min.conf", "workers = \"auto\";\n"
                         "servers = ( { locations = ( { match = \"/\"; root = \"@D/www\"; } ); } );\n");
    assert_null(c->servers[0].r.root);
    assert_round_trip(c, "rt3.conf");
    char *d = dump(c);
    assert_non_null(strstr(d, "workers = \"auto\";\n"));
    assert_null(strstr(d, "try_files")); /* an empty list could not be read back */
    free(d);
    cfg_free(c);
    /* Strings that need escapes. */
    c = load("esc.conf", "servers = ( { root = \"@D/www\"; locations = ( { match = \"= /q\";\n"
                         "  return = { status = 200; body = \"a \\\"quoted\\\" \\\\ back\\tslash\\n\"; }; } ); } );\n");
    assert_string_equal(c->servers[0].locs[0].r.return_text, "a \"quoted\" \\ back\tslash\n");
    assert_round_trip(c, "rt4.conf");
    cfg_free(c);
}

/* Where needle starts in s; strlen(s) when it is not there. */
/* noinline: inlined next to dump(), GCC 12+ mistakes the result for a
 * pointer to dump's local and warns (-Wdangling-pointer). */
__attribute__((noinline)) static size_t strcspn_str(const char *s, const char *needle)
{
    const char *p = strstr(s, needle);
    return p ? (size_t)(p - s) : strlen(s);
}

/* "hidden": deny by default, set in a server or a location, inherited like
 * the other rules, the same in both syntaxes, and written back by -T. */
static void test_hidden_rule(void **state)
{
    (void)state;
    static const char conf[] =
        "servers = (\n"
        "  { names = [ \"a\" ]; root = \"@D/www\"; locations = (\n"
        "      { match = \"/dot/\"; hidden = \"allow\"; },\n"
        "      { match = \"/plain/\"; } ); },\n"
        "  { names = [ \"b\" ]; root = \"@D/www\"; hidden = \"allow\"; locations = (\n"
        "      { match = \"/strict/\"; hidden = \"deny\"; },\n"
        "      { match = \"/inherit/\"; } ); } );\n";
    static const char yaml[] =
        "servers:\n"
        "  - names: [ a ]\n    root: @D/www\n    locations:\n"
        "      - match: /dot/\n        hidden: allow\n"
        "      - match: /plain/\n"
        "  - names: [ b ]\n    root: @D/www\n    hidden: allow\n    locations:\n"
        "      - match: /strict/\n        hidden: deny\n"
        "      - match: /inherit/\n";
    cfg *c = load("hidden.conf", conf);
    const cfg_server *a = &c->servers[0], *b = &c->servers[1];
    assert_false(a->r.hidden_allow); /* the default */
    assert_true(a->locs[0].r.hidden_allow);
    assert_int_equal(a->locs[0].r.set, R_HIDDEN);
    assert_false(a->locs[1].r.hidden_allow);
    assert_true(b->r.hidden_allow);
    assert_false(b->locs[0].r.hidden_allow);
    assert_true(b->locs[1].r.hidden_allow); /* from its server */
    assert_int_equal(b->locs[1].r.set, 0);

    cfg *y = load("hidden.yaml", yaml);
    assert_same_dump(c, y);
    char *d = dump(c);
    /* servers always show it, locations only when they set it */
    size_t sb = strcspn_str(d, "names = [ \"b\" ]"), len = strlen(d);
    assert_true(sb < len);
    assert_true(strcspn_str(d, "\n    hidden = \"deny\";\n") < sb);
    assert_true(strcspn_str(d + sb, "\n    hidden = \"allow\";\n") < len - sb);
    assert_non_null(strstr(d, "match = \"/dot/\";\n        hidden = \"allow\";\n"));
    assert_non_null(strstr(d, "match = \"/strict/\";\n        hidden = \"deny\";\n"));
    assert_non_null(strstr(d, "match = \"/inherit/\";\n      }"));
    free(d);
    assert_round_trip(c, "hidden-rt.conf");
    cfg_free(y);
    cfg_free(c);
}

/* "status_page": off by default, a location's answer without a root of
 * its own, the same in both syntaxes, and written back by -T. */
static void test_status_page_rule(void **state)
{
    (void)state;
    static const char conf[] =
        "servers = (\n"
        "  { names = [ \"a\" ]; root = \"@D/www\"; locations = (\n"
        "      { match = \"= /status\"; status_page = \"stub\"; access = [ \"allow 127.0.0.1\", \"deny all\" ]; },\n"
        "      { match = \"= /metrics\"; status_page = \"prometheus\"; },\n"
        "      { match = \"/files/\"; } ); },\n"
        "  { names = [ \"b\" ]; status_page = \"json\"; } );\n";
    static const char yaml[] =
        "servers:\n"
        "  - names: [ a ]\n    root: @D/www\n    locations:\n"
        "      - match: = /status\n        status_page: stub\n        access: [ allow 127.0.0.1, deny all ]\n"
        "      - match: = /metrics\n        status_page: prometheus\n"
        "      - match: /files/\n"
        "  - names: [ b ]\n    status_page: json\n";
    cfg *c = load("status.conf", conf);
    const cfg_server *a = &c->servers[0], *b = &c->servers[1];
    assert_int_equal(a->r.status_page, CFG_STATUS_OFF);
    assert_int_equal(a->locs[0].r.status_page, CFG_STATUS_STUB);
    assert_int_equal(a->locs[1].r.status_page, CFG_STATUS_PROMETHEUS);
    assert_int_equal(a->locs[1].r.set, R_STATUS_PAGE);
    assert_int_equal(a->locs[2].r.status_page, CFG_STATUS_OFF);
    assert_int_equal(b->r.status_page, CFG_STATUS_JSON); /* a server of nothing else: no root needed */
    cfg *y = load("status.yaml", yaml);
    assert_same_dump(c, y);
    char *d = dump(c);
    assert_non_null(strstr(d, "match = \"= /status\";\n        access = [ \"allow 127.0.0.1\", \"deny all\" ];\n"
                              "        status_page = \"stub\";\n"));
    assert_non_null(strstr(d, "match = \"/files/\";\n      }"));
    assert_non_null(strstr(d, "    status_page = \"off\";\n"));
    free(d);
    assert_round_trip(c, "status-rt.conf");
    cfg_free(y);
    cfg_free(c);
}

/* log_formats and access_log in both syntaxes: a path, "off", a list with
 * formats and min_status; a location's own replaces its server's, one
 * without inherits; -T writes it back and reads the same. */
static void test_access_log_rule(void **state)
{
    (void)state;
    static const char conf[] =
        "log_formats = (\n"
        "  { name = \"json\"; escape = \"json\"; format = \"{\\\"s\\\":$status}\"; },\n"
        "  { name = \"short\"; format = \"$status $uri\"; } );\n"
        "servers = (\n"
        "  { names = [ \"a\" ]; root = \"@D/www\";\n"
        "    access_log = ( { path = \"@D/a.log\"; }, { path = \"@D/j.log\"; format = \"json\"; },\n"
        "                   { path = \"@D/e.log\"; format = \"short\"; min_status = 400; } );\n"
        "    locations = (\n"
        "      { match = \"/quiet/\"; access_log = \"off\"; },\n"
        "      { match = \"/own/\"; access_log = \"@D/own.log\"; },\n"
        "      { match = \"/inherit/\"; } ); },\n"
        "  { names = [ \"b\" ]; root = \"@D/www\"; } );\n";
    static const char yaml[] =
        "log_formats:\n"
        "  - { name: json, escape: json, format: '{\"s\":$status}' }\n"
        "  - { name: short, format: $status $uri }\n"
        "servers:\n"
        "  - names: [ a ]\n    root: @D/www\n"
        "    access_log:\n"
        "      - { path: @D/a.log }\n"
        "      - { path: @D/j.log, format: json }\n"
        "      - { path: @D/e.log, format: short, min_status: 400 }\n"
        "    locations:\n"
        "      - { match: /quiet/, access_log: \"off\" }\n"
        "      - { match: /own/, access_log: @D/own.log }\n"
        "      - { match: /inherit/ }\n"
        "  - names: [ b ]\n    root: @D/www\n";
    cfg *c = load("logs.conf", conf);
    assert_int_equal(c->nlog_formats, 3);
    assert_string_equal(c->log_formats[0].name, "combined");
    assert_string_equal(c->log_formats[1].name, "json");
    assert_int_equal(c->log_formats[1].escape, 1);
    const cfg_server *a = &c->servers[0], *b = &c->servers[1];
    assert_int_equal(a->r.nalogs, 3);
    assert_int_equal(a->r.alogs[0].fmt, 0);
    assert_int_equal(a->r.alogs[1].fmt, 1);
    assert_int_equal(a->r.alogs[2].fmt, 2);
    assert_int_equal(a->r.alogs[2].min_status, 400);
    assert_int_equal(a->locs[0].r.nalogs, 0);
    assert_int_equal(a->locs[1].r.nalogs, 1);
    assert_true(a->locs[2].r.alogs == a->r.alogs); /* inherited: the same set */
    assert_int_equal(b->r.nalogs, 0);              /* off by default */
    assert_int_equal(c->nalog_sets, 2);
    assert_int_not_equal(a->r.alogs[0].set, a->locs[1].r.alogs[0].set);
    cfg *y = load("logs.yaml", yaml);
    assert_same_dump(c, y);
    char *d = dump(c);
    assert_non_null(strstr(d, "log_formats = (\n  { name = \"json\"; escape = \"json\";\n"));
    assert_non_null(strstr(d, "      { path = \"@D/e.log\"; format = \"short\"; min_status = 400; }\n") ||
                    strstr(d, "format = \"short\"; min_status = 400; }\n"));
    assert_non_null(strstr(d, "match = \"/quiet/\";\n        access_log = \"off\";\n"));
    assert_non_null(strstr(d, "    access_log = \"off\";\n")); /* server b */
    free(d);
    assert_round_trip(c, "logs-rt.conf");
    cfg_free(y);
    cfg_free(c);
}

/* proxy_protocol: a listener's, off by default, in both syntaxes and -T. */
static void test_proxy_protocol_listener(void **state)
{
    (void)state;
    cfg *c = load("pp.conf", "listen = ( { address = \"127.0.0.1\"; port = 8080; proxy_protocol = true; },\n"
                             "           { address = \"127.0.0.1\"; port = 8081; } );\n"
                             "drain_delay = \"30s\";\n"
                             "servers = ( { root = \"@D/www\"; real_ip_from = [ \"10.0.0.0/8\", \"::1\" ];\n"
                             "              real_ip_header = \"X-Real-IP\"; last_modified = \"off\";\n"
                             "              locations = ( { match = \"= /h\"; health_check = true; },\n"
                             "                            { match = \"/c/\"; etag = \"content\"; } ); } );\n");
    cfg *y = load("pp.yaml", "listen:\n  - { address: 127.0.0.1, port: 8080, proxy_protocol: true }\n"
                             "  - { address: 127.0.0.1, port: 8081 }\n"
                             "drain_delay: 30s\n"
                             "servers:\n  - root: @D/www\n    real_ip_from: [ 10.0.0.0/8, \"::1\" ]\n"
                             "    real_ip_header: X-Real-IP\n    last_modified: \"off\"\n"
                             "    locations:\n      - { match: = /h, health_check: true }\n"
                             "      - { match: /c/, etag: content }\n");
    assert_true(c->listens[0].proxy_protocol);
    assert_false(c->listens[1].proxy_protocol);
    assert_same_dump(c, y);
    char *d = dump(c);
    assert_non_null(strstr(d, "http2 = false; proxy_protocol = true;"));
    assert_non_null(strstr(d, "    real_ip_from = [ \"10.0.0.0/8\", \"::1\" ];\n    real_ip_header = \"X-Real-IP\";\n"));
    assert_int_equal(c->servers[0].nreal_ip_from, 2);
    assert_int_equal(c->drain_delay_ms, 30000);
    assert_true(c->servers[0].locs[0].r.health_check);
    assert_false(c->servers[0].r.health_check);
    assert_false(c->servers[0].r.last_modified);
    assert_false(c->servers[0].locs[0].r.last_modified); /* inherited */
    assert_non_null(strstr(d, "    last_modified = \"off\";\n"));
    assert_non_null(strstr(d, "match = \"/c/\";\n        etag = \"content\";\n"));
    assert_true(c->servers[0].locs[1].r.etag_content);
    assert_false(c->servers[0].r.etag_content);
    assert_non_null(strstr(d, "match = \"= /h\";\n        health_check = true;\n"));
    free(d);
    assert_round_trip(c, "pp-rt.conf");
    cfg_free(y);
    cfg_free(c);
}

/* -T names the file and line each server and location came from. */
static void test_dump_origins(void **state)
{
    (void)state;
    cfg *c = load("site.conf", site_conf);
    char *site = expand("@D/site.conf");
    assert_string_equal(c->servers[0].from.file, site);
    assert_int_equal(c->servers[0].from.line, 30);
    assert_int_equal(c->servers[0].locs[0].from.line, 48);
    char *d = dump(c), *want = xasprintf("servers = (\n  # from %s:30\n  {\n", site);
    assert_non_null(strstr(d, want));
    free(want);
    want = xasprintf("    locations = (\n      # from %s:48\n      {\n", site);
    assert_non_null(strstr(d, want));
    free(d), free(want), free(site);
    cfg_free(c);
    /* YAML: the line of the block's first key. */
    c = load("site.yaml", site_yaml);
    assert_int_equal(c->servers[0].from.line, 35);
    assert_int_equal(c->servers[1].from.line, 82);
    cfg_free(c);

    /* A server from an included file names that file, not the top one. */
    mkdir_in("inc", 0755);
    mkdir_in("inc/sites", 0755);
    free(write_conf("inc/sites/b.conf", "# site b\n\nservers = ( { names = [ \"b\" ]; root = \"@D/www\";\n"
                                        "  locations = ( { match = \"/x/\"; } ); } );\n"));
    c = load("inc/main.conf", "servers = ( { names = [ \"a\" ]; root = \"@D/www\"; } );\n"
                              "include = \"sites/*.conf\";\n");
    char *main_conf = expand("@D/inc/main.conf"), *b = expand("@D/inc/sites/b.conf");
    d = dump(c);
    char *w1 = xasprintf("  # from %s:1\n  {\n    names = [ \"a\" ];", main_conf);
    char *w2 = xasprintf("  # from %s:3\n  {\n    names = [ \"b\" ];", b);
    char *w3 = xasprintf("      # from %s:4\n      {\n        match = \"/x/\";", b);
    assert_non_null(strstr(d, w1));
    assert_non_null(strstr(d, w2));
    assert_non_null(strstr(d, w3));
    assert_round_trip(c, "inc-rt.conf");
    free(d), free(w1), free(w2), free(w3), free(main_conf), free(b);
    cfg_free(c);

    /* A newline in a file name cannot end the comment early. */
    c = load("odd\nname.conf", "servers = ( { root = \"@D/www\"; } );\n");
    d = dump(c);
    want = expand("  # from @D/odd\\x0aname.conf:1\n");
    assert_non_null(strstr(d, want));
    assert_round_trip(c, "odd-rt.conf");
    free(d), free(want);
    cfg_free(c);

    /* The command line's server has no file: no comment. */
    c = cfg_new();
    assert_non_null(c);
    d = dump(c);
    assert_null(strstr(d, "# from"));
    free(d);
    cfg_free(c);
}

/* ---- errors -------------------------------------------------------------- */

static void test_access_mapped(void **state)
{
    (void)state;
    cfg *c = load("mapped.conf", "servers = ( { root = \"@D/www\";\n"
                                 "  access = [ \"deny ::ffff:127.0.0.1\", \"allow ::ffff:10.0.0.0/104\",\n"
                                 "             \"deny ::ffff:0:0/96\", \"allow ::1\" ]; } );\n");
    char *d = dump(c);
    if (!strstr(d, "access = [ \"deny 127.0.0.1\", \"allow 10.0.0.0/8\", \"deny 0.0.0.0/0\", \"allow ::1\" ];"))
        fail_msg("dump:\n%s", d);
    free(d);
    cfg_free(c);
}

/* ---- the packaged conf/ephttpd.conf and conf/ephttpd.yaml ---------------- */

/* A file in the repository: tests/CMakeLists.txt gives the source directory
 * (__FILE__ would not do: -ffile-prefix-map, as Debian builds use, rewrites it). */
static char *repo_path(const char *rel)
{
    return xasprintf("%s/%s", EP_SOURCE_DIR, rel);
}

/* dst = src with every `from` replaced by `to` (malloc'd). */
static char *replace(const char *src, const char *from, const char *to)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    for (const char *p = src, *q; *p; p = q + strlen(from)) {
        q = strstr(p, from);
        if (!q) {
            fputs(p, f);
            break;
        }
        fwrite(p, 1, (size_t)(q - p), f);
        fputs(to, f);
    }
    fclose(f);
    return out;
}

/* The packaged file, with the paths of a real system moved into tmp. */
static char *packaged(const char *rel, const char *name)
{
    char *src = repo_path(rel);
    char *text = slurp(src);
    char *mime = repo_path("conf/mime.types");
    if (access(mime, R_OK) != 0) {
        free(mime);
        mime = expand("@D/mime.types");
    }
    char *www = expand("@D/www"), *inc = expand("@D/conf.d/*.conf");
    char *t1 = replace(text, "/var/www/html", www);
    char *t2 = replace(t1, "/etc/ephttpd/mime.types", mime);
    char *t3 = replace(t2, "ephttpd/conf.d/*.conf", inc);
    char *t4 = getpwnam("www-data") ? strdup(t3) : replace(t3, "\"www-data\"", "\"root\"");
    char *t5 = getpwnam("www-data") ? strdup(t4) : replace(t4, "user: www-data", "user: root");
    char *path = xasprintf("%s/%s", tmp, name);
    write_raw(path, t5);
    free(src), free(text), free(mime), free(www), free(inc);
    free(t1), free(t2), free(t3), free(t4), free(t5);
    return path;
}

static void test_packaged_configs(void **state)
{
    (void)state;
    mkdir_in("conf.d", 0755);
    char *conf = packaged("conf/ephttpd.conf", "packaged.conf");
    char *yaml = packaged("conf/ephttpd.yaml", "packaged.yaml");
    char err[1024] = "";

    /* With an empty conf.d first, then with a drop-in vhost in it. */
    for (int round = 0; round < 2; round++) {
        cfg *a = http_conf_read(conf, err, sizeof err);
        if (!a)
            fail_msg("conf/ephttpd.conf: %s", err);
        cfg *b = http_conf_read(yaml, err, sizeof err);
        if (!b)
            fail_msg("conf/ephttpd.yaml: %s", err);
        assert_same_dump(a, b);
        assert_round_trip(a, "packaged-rt.conf");

        assert_int_equal(a->workers, 0); /* auto */
        assert_string_equal(a->user, getpwnam("www-data") ? "www-data" : "root");
        assert_string_equal(a->error_log, "/var/log/ephttpd/error.log");
        assert_string_equal(a->pid_file, "/run/ephttpd/ephttpd.pid");
        assert_non_null(a->mime);
        assert_int_equal(a->nlistens, 2);
        assert_string_equal(a->listens[0].addr, "0.0.0.0");
        assert_int_equal(a->listens[0].port, 80);
        assert_string_equal(a->listens[1].addr, "::");
        assert_int_equal(a->listens[1].port, 80);
        const cfg_server *s = &a->servers[0];
        assert_string_equal(s->r.alogs[0].path, "/var/log/ephttpd/access.log");
        char *www = expand("@D/www");
        assert_string_equal(s->r.root, www);
        free(www);
        assert_true(s->r.nindex >= 1);
        assert_int_equal(a->nservers, 1 + round);
        if (round == 1)
            assert_string_equal(a->servers[1].names[0], "dropin.example");

        warnings w = { .n = 0 };
        assert_int_equal(cfg_lint(a, collect, &w), 0);
        cfg_free(a), cfg_free(b);
        char *drop = write_conf("conf.d/vhost.conf", "servers = ( { names = [ \"dropin.example\" ];\n"
                                                     "  root = \"@D/spa\"; } );\n");
        free(drop);
    }
    free(conf);
    free(yaml);
}

/* The packaged files with their HTTPS example uncommented: every commented
 * line of a TLS setting or a TLS listener (the snakeoil pair, and the TLS
 * globals at the values they claim are the defaults). *n: how many. */
static char *uncomment_tls(const char *text, int *n)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    assert_non_null(out);
    *n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p), sp = strspn(p, " ");
        char line[1024];
        assert_true(len < sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        const char *rest = line + sp + 2;
        bool tls = strncmp(line + sp, "# ", 2) == 0 &&
                   (strncmp(rest, "tls_", 4) == 0 || strstr(rest, "tls = true") || strstr(rest, "tls: true"));
        memcpy(o, line, sp);                   /* the indentation */
        o = stpcpy(o + sp, tls ? rest : line + sp);
        *n += tls;
        p += len;
    }
    *o = '\0';
    return out;
}

static char *packaged_https(const char *rel, const char *name)
{
    char *path = packaged(rel, name), *text = slurp(path);
    int n;
    char *https = uncomment_tls(text, &n);
    /* 4 globals, 2 listeners, the certificate and its key */
    if (n != 8)
        fail_msg("%s: %d TLS lines to uncomment, want 8", rel, n);
    write_raw(path, https);
    free(text);
    free(https);
    return path;
}

/* The HTTPS example of the packaged files works once uncommented, the same
 * in both: the same server on 80 and 443, as Debian's nginx default site. */
static void test_packaged_https(void **state)
{
    (void)state;
    char *dir = expand("@D/conf.d"), *drop = expand("@D/conf.d/vhost.conf");
    assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
    unlink(drop);
    char *conf = packaged_https("conf/ephttpd.conf", "https.conf");
    char *yaml = packaged_https("conf/ephttpd.yaml", "https.yaml");
    char err[1024] = "";
    cfg *a = http_conf_read(conf, err, sizeof err);
    if (!a)
        fail_msg("conf/ephttpd.conf with HTTPS: %s", err);
    cfg *b = http_conf_read(yaml, err, sizeof err);
    if (!b)
        fail_msg("conf/ephttpd.yaml with HTTPS: %s", err);
    assert_same_dump(a, b);
    assert_round_trip(a, "https-rt.conf");
    assert_int_equal(a->nlistens, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(a->listens[i].port, i < 2 ? 443 : 80);
        assert_true(a->listens[i].tls == (i < 2));
        assert_true(a->listens[i].http2 == (i < 2));
    }
    const cfg_server *s = &a->servers[0];
    assert_int_equal(s->nlistens, 4);
    assert_int_equal(s->ntls_certs, 1);
    assert_string_equal(s->tls_certs[0], "/etc/ssl/certs/ssl-cert-snakeoil.pem");
    assert_string_equal(s->tls_keys[0], "/etc/ssl/private/ssl-cert-snakeoil.key");
    /* The commented values are the defaults. */
    assert_int_equal(a->tls_protocols, CFG_TLS12 | CFG_TLS13);
    assert_string_equal(a->tls_ciphers, CFG_TLS_CIPHERS_DEFAULT);
    assert_true(a->tls_session_tickets);
    assert_true(a->tls_ktls);
    warnings w = { .n = 0 };
    assert_int_equal(cfg_lint(a, collect, &w), 0);
    cfg_free(a), cfg_free(b);

    /* A drop-in without listen_on is on 443 too, as the comment says. */
    free(write_conf("conf.d/vhost.conf", "servers = ( { names = [ \"dropin.example\" ];\n  root = \"@D/spa\"; } );\n"));
    assert_null(http_conf_read(conf, err, sizeof err));
    char *want = expand("@D/conf.d/vhost.conf:1: the server \"dropin.example\" has no \"tls_certificate\", "
                        "but the TLS listener 0.0.0.0:443");
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("got:  %s\nwant: %s", err, want);
    free(want);
    free(write_conf("conf.d/vhost.conf", "servers = ( { names = [ \"dropin.example\" ]; listen_on = [ \"80\" ];\n"
                                         "  root = \"@D/spa\"; } );\n"));
    a = http_conf_read(conf, err, sizeof err);
    if (!a)
        fail_msg("with a drop-in on port 80: %s", err);
    assert_int_equal(a->servers[1].nlistens, 2);
    cfg_free(a);
    assert_int_equal(unlink(drop), 0);
    assert_int_equal(rmdir(dir), 0);
    free(conf), free(yaml), free(dir), free(drop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_globals),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_listeners),
        cmocka_unit_test(test_servers_and_locations),
        cmocka_unit_test(test_server_rules),
        cmocka_unit_test(test_location_rules_and_inheritance),
        cmocka_unit_test(test_location_own_rules),
        cmocka_unit_test(test_sizes_and_durations),
        cmocka_unit_test(test_yaml_dumps_like_libconfig),
        cmocka_unit_test(test_dump_round_trip),
        cmocka_unit_test(test_dump_origins),
        cmocka_unit_test(test_hidden_rule),
        cmocka_unit_test(test_status_page_rule),
        cmocka_unit_test(test_access_log_rule),
        cmocka_unit_test(test_proxy_protocol_listener),
        cmocka_unit_test(test_access_mapped),
        cmocka_unit_test(test_packaged_configs),
        cmocka_unit_test(test_packaged_https),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
