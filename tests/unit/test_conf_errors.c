/* tests/unit/test_conf_errors.c: bad config files of both syntaxes, one "file:line: ..." line each, the same answer (and numbers) from both; -t warnings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/directives.h"
#include "http/prepare.h"
#include "config/dump.h"
#include "config/model.h"


#include "conf_fixture.h"

typedef struct {
    const char *name;  /* file name in tmp: .conf or .yaml */
    const char *text;  /* with @D */
    int line, col;     /* expected position; col 0: none; line 0: "FILE: " */
    const char *want;  /* the setting, quoted, or another substring */
    const char *want2; /* a second substring, or NULL */
} err_case;

static const err_case err_cases[] = {
    /* unknown, misplaced, duplicated */
    { "e.conf", "workers = 1;\nkeepalive_timout = 5;\n", 2, 0, "unknown setting \"keepalive_timout\"",
      "did you mean \"keepalive_timeout\"?" },
    { "e.conf", "bogus_thing = 1;\n", 1, 0, "unknown setting \"bogus_thing\" in the top level", NULL },
    { "e.conf", "servers = ( {\n  root = \"@D/www\";\n  alias = \"@D/data\";\n} );\n", 3, 0,
      "\"alias\" is not allowed in a server", "only in a location" },
    { "e.conf", "servers = ( { root = \"@D/www\";\n  port = 80; } );\n", 2, 0, "\"port\" is not allowed in a server",
      NULL },
    { "e.conf", "root = \"@D/www\";\n", 1, 0, "\"root\" is not allowed in the top level", NULL },
    /* libconfig refuses a repeated name within one group itself (see
     * test_errors for one that comes from an include). */
    { "e.conf", "workers = 1;\nworkers = 2;\n", 2, 0, "duplicate setting name", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = ( { match = \"/\";\n"
                "  stauts = 1; } ); } );\n", 3, 0, "unknown setting \"stauts\" in a location", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n return = { stauts = 200; }; } );\n", 2, 0,
      "unknown setting \"stauts\" in return", "did you mean \"status\"" },
    /* types */
    { "e.conf", "worker_connections = \"many\";\n", 1, 0, "\"worker_connections\": expected an integer, got a string",
      NULL },
    { "e.conf", "user = [ \"a\" ];\n", 1, 0, "\"user\": expected a string, got a list", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n index = ( \"a\",\n 5 ); } );\n", 3, 0,
      "\"index\": expected a string, got an integer", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; etag = \"yes\"; } );\n", 1, 0,
      "\"etag\": expected true, false or \"content\", got \"yes\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; autoindex = 1; } );\n", 1, 0,
      "\"autoindex\": expected true or false, got \"1\"", NULL },
    { "e.conf", "servers = \"x\";\n", 1, 0, "\"servers\": expected a list of groups", "got a string" },
    { "e.conf", "servers = ( { root = \"@D/www\"; add_header = [ \"X\" ]; } );\n", 1, 0,
      "\"add_header\": expected a group", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; add_header = { X-A = 1; }; } );\n", 1, 0,
      "\"add_header\": \"X-A\": expected a string, got an integer", NULL },
    { "e.conf", "header_timeout = true;\n", 1, 0, "\"header_timeout\": expected a duration, got a boolean", NULL },
    { "e.conf", "workers = \"lots\";\n", 1, 0, "\"workers\": expected a number or \"auto\"", NULL },
    { "e.conf", "workers = 1.5;\n", 1, 0, "\"workers\": expected an integer, got a number", NULL },
    /* units and ranges */
    { "e.conf", "max_body_size = \"10x\";\n", 1, 0, "\"max_body_size\": bad size \"10x\"", NULL },
    { "e.conf", "max_body_size = \"10kb\";\n", 1, 0, "\"max_body_size\": bad size \"10kb\"", NULL },
    { "e.conf", "max_body_size = \"-1\";\n", 1, 0, "\"max_body_size\": bad size \"-1\"", NULL },
    { "e.conf", "header_timeout = \"10x\";\n", 1, 0, "\"header_timeout\": bad duration \"10x\"", NULL },
    { "e.conf", "header_timeout = \"2d\";\n", 1, 0, "\"header_timeout\": bad duration \"2d\"", "at most 86400s" },
    { "e.conf", "header_timeout = 0;\n", 1, 0, "\"header_timeout\": 0 is too short", NULL },
    { "e.conf", "worker_connections = 1;\n", 1, 0, "\"worker_connections\": 1 is out of range (16 to 1000000)",
      NULL },
    { "e.conf", "listen = ( { port = 70000; } );\n", 1, 0, "\"port\": 70000 is out of range (1 to 65535)", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; sendfile_chunk = \"2g\"; } );\n", 1, 0,
      "\"sendfile_chunk\": 2g is out of range", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; sendfile_chunk = 100; } );\n", 1, 0,
      "\"sendfile_chunk\": 100 is out of range", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; return = 99; } );\n", 1, 0, "\"return\": 99 is out of range",
      NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n error_page = ( { codes = [ 404, 200 ]; uri = \"/e\"; } ); } );\n",
      2, 0, "\"codes\": 200 is out of range (400 to 599)", NULL },
    { "e.conf", "max_uri_length = \"16k\";\nservers = ( { root = \"@D/www\"; } );\n", 0, 0,
      "\"max_header_size\" (16384) must exceed \"max_uri_length\" (16384)", NULL },
    /* Integers libconfig 1.5 would wrap (atoi): refused as written. */
    { "e.conf", "workers = 4294967297;\n", 1, 0, "\"workers\": 4294967297 is out of range (1 to 1024)", NULL },
    { "e.conf", "workers = -4294967295;\n", 1, 0, "\"workers\": -4294967295 is out of range (1 to 1024)", NULL },
    { "e.conf", "workers = 0x100000001;\n", 1, 0, "\"workers\": 0x100000001 is out of range (1 to 1024)", NULL },
    { "e.conf", "listen = (\n { port = 4294967377; } );\n", 2, 0, "\"port\": 4294967377 is out of range (1 to 65535)",
      NULL },
    { "e.conf", "header_timeout = 4294967297;\n", 1, 0, "\"header_timeout\": bad duration \"4294967297\"",
      "at most 86400s" },
    { "e.conf", "max_body_size = 9223372036854775807;\n", 1, 0,
      "\"max_body_size\": 9223372036854775807 is out of range (0 to 4611686018427387903 bytes)", NULL },
    { "e.conf", "max_body_size = 99999999999999999999L;\n", 1, 0,
      "\"max_body_size\": 99999999999999999999L is out of range (0 to 4611686018427387903 bytes)", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n error_page = ( { codes = [ 404, 4294967700 ]; uri = \"/e\"; } ); } );\n",
      2, 0, "\"codes\": 4294967700 is out of range (400 to 599)", NULL },
    { "e.conf", "workers = 2;\n/* off for now\nservers = ( { root = \"@D/www\"; } );\n", 2, 0,
      "the '/*' comment opened on this line is never closed", NULL },
    { "e.yaml", "workers: 4294967297\n", 1, 1, "\"workers\": 4294967297 is out of range (1 to 1024)", NULL },
    { "e.yaml", "workers: 99999999999999999999\n", 1, 1, "\"workers\": 99999999999999999999 is out of range (1 to 1024)",
      NULL },
    { "e.yaml", "max_body_size: 99999999999999999999\n", 1, 1,
      "\"max_body_size\": 99999999999999999999 is out of range (0 to 4611686018427387903 bytes)", NULL },
    /* Out of range, quoted as written (hex, L), in both syntaxes. */
    { "e.conf", "max_header_size = 0x80000000;\n", 1, 0,
      "\"max_header_size\": 0x80000000 is out of range (1024 to 1048576 bytes)", NULL },
    { "e.conf", "max_header_size = 2147483648L;\n", 1, 0,
      "\"max_header_size\": 2147483648L is out of range (1024 to 1048576 bytes)", NULL },
    { "e.conf", "max_header_size = 0x7fffffffL;\n", 1, 0,
      "\"max_header_size\": 0x7fffffffL is out of range (1024 to 1048576 bytes)", NULL },
    { "e.conf", "listen = ( { port = 0X10000; } );\n", 1, 0, "\"port\": 0X10000 is out of range (1 to 65535)",
      NULL },
    { "e.yaml", "listen:\n  - port: 0x10000\n", 2, 5, "\"port\": 0x10000 is out of range (1 to 65535)", NULL },
    { "e.yaml", "max_header_size: 0x80000000\n", 1, 1,
      "\"max_header_size\": 0x80000000 is out of range (1024 to 1048576 bytes)", NULL },
    { "e.yaml", "workers: 0x1FFFFFFFFFFFFFFFF\n", 1, 1, "\"workers\": 0x1FFFFFFFFFFFFFFFF is out of range", NULL },
    /* YAML takes what libconfig takes, and no more: no L, no octal or
     * binary, no sign on hex. */
    { "e.yaml", "workers: 10L\n", 1, 1, "\"workers\": expected an integer, got \"10L\"",
      "L is libconfig's 64-bit suffix; a YAML integer has none" },
    { "e.yaml", "max_body_size: 10L\n", 1, 1, "\"max_body_size\": expected an integer, got \"10L\"",
      "libconfig's 64-bit suffix" },
    { "e.yaml", "header_timeout: 0x10L\n", 1, 1, "\"header_timeout\": expected an integer, got \"0x10L\"",
      "libconfig's 64-bit suffix" },
    { "e.yaml", "workers: 0o17\n", 1, 1, "\"workers\": expected an integer, got \"0o17\"", NULL },
    { "e.yaml", "workers: 0b11\n", 1, 1, "\"workers\": expected an integer, got \"0b11\"", NULL },
    { "e.yaml", "workers: -0x1\n", 1, 1, "\"workers\": expected an integer, got \"-0x1\"", NULL },
    { "e.yaml", "workers: 1_000\n", 1, 1, "\"workers\": expected an integer, got \"1_000\"", NULL },
    { "e.yaml", "workers: 0x\n", 1, 1, "\"workers\": expected an integer, got \"0x\"", NULL },
    /* A NUL that libconfig would drop (\x00), named by its setting. */
    { "e.conf", "servers = ( {\n root = \"/tmp/www\\x00/etc\"; } );\n", 2, 0,
      "\"root\": a NUL character (\\x00) in a string", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n add_header = { X-A = \"a\\x00b\"; }; } );\n", 2, 0,
      "\"X-A\": a NUL character (\\x00) in a string", NULL },
    { "e.yaml", "servers:\n  - root: \"/tmp/www\\0/etc\"\n", 2, 11, "a NUL character in a scalar", NULL },
    /* values */
    { "e.conf", "log_level = \"loud\";\n", 1, 0, "\"log_level\": unknown level \"loud\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; symlinks = \"maybe\"; } );\n", 1, 0,
      "\"symlinks\": unknown value \"maybe\"", "\"within_root\", \"follow\", \"off\"" },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = ( { match = \"/\"; hidden = \"show\"; } ); } );\n",
      2, 0, "\"hidden\": unknown value \"show\"", "\"deny\", \"allow\"" },
    { "e.yaml", "servers:\n  - root: @D/www\n    hidden: true\n", 3, 5, "\"hidden\": unknown value \"true\"",
      "(one of \"deny\", \"allow\")" },
    { "e.conf", "hidden = \"allow\";\n", 1, 0, "\"hidden\" is not allowed in the top level", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = ( { match = \"/s\"; status_page = \"full\"; } ); } );\n",
      2, 0, "\"status_page\": unknown value \"full\"", "\"off\", \"stub\", \"json\", \"prometheus\"" },
    { "e.yaml", "servers:\n  - root: @D/www\n    status_page: true\n", 3, 5, "\"status_page\": unknown value \"true\"",
      NULL },
    { "e.conf", "status_page = \"stub\";\n", 1, 0, "\"status_page\" is not allowed in the top level", NULL },
    /* real_ip */
    { "e.conf", "servers = ( {\n root = \"@D/www\"; real_ip_header = \"X-Real-IP\"; } );\n", 1, 0,
      "\"real_ip_header\" without \"real_ip_from\": no proxy is trusted to name the client", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n real_ip_from = [ \"10.0.0.1/8\" ]; } );\n", 2, 0,
      "\"real_ip_from\": ", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; real_ip_from = [ \"10.0.0.0/8\" ];\n real_ip_header = \"X Real\"; } );\n",
      2, 0, "\"real_ip_header\": \"X Real\" is not a header name", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; real_ip_from = [ \"10.0.0.0/8\" ];\n real_ip_header = \"proxy_protocol\"; } );\n",
      2, 0, "\"real_ip_header\": \"proxy_protocol\" is nginx's PROXY protocol keyword", NULL },
    { "e.conf", "listen = ( { port = 80;\n proxy_protocol = \"yes\"; } );\nservers = ( { root = \"@D/www\"; } );\n", 2, 0,
      "\"proxy_protocol\": expected", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n last_modified = \"no\"; } );\n", 2, 0,
      "\"last_modified\": unknown value \"no\"", "\"off\", \"on\"" },
    /* logs */
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\nlog_formats = (\n { name = \"x\";\n  format = \"$nope\"; } );\n",
      3, 0, "\"log_formats\" \"x\": unknown variable \"$nope\"", NULL },
    { "e.yaml", "servers:\n  - root: @D/www\nlog_formats:\n  - name: x\n    format: \"${status\"\n", 4, 5,
      "\"log_formats\" \"x\": \"${\" without a closing \"}\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\nlog_formats = ( { name = \"x\"; format = \"a\"; },\n"
                " { name = \"x\"; format = \"b\"; } );\n", 3, 0, "\"log_formats\": \"x\" is defined twice (first at @D/e.conf:2)", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\nlog_formats = ( { name = \"combined\"; format = \"a\"; } );\n",
      2, 0, "\"log_formats\": \"combined\" is the built-in format's name", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\nlog_formats = ( { name = \"x\"; } );\n", 2, 0,
      "\"log_formats\": each entry needs a \"name\" and a \"format\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\nlog_formats = ( { name = \"x\"; format = \"a\"; escape = \"html\"; } );\n",
      2, 0, "\"escape\": unknown value \"html\"", "\"default\", \"json\", \"none\"" },
    { "e.conf", "servers = ( { root = \"@D/www\";\n access_log = ( { format = \"combined\"; } ); } );\n", 2, 0,
      "\"access_log\": each entry needs a \"path\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n access_log = ( { path = \"off\"; } ); } );\n", 2, 0,
      "\"access_log\": \"off\" is the whole setting", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n access_log = ( { path = \"/tmp/x\"; min_status = 99; } ); } );\n", 2, 0,
      "\"min_status\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = ( { match = \"/\";\n  access_log = ( { path = \"/tmp/x\"; format = \"main\"; } ); } ); } );\n",
      3, 0, "\"access_log\": unknown format \"main\" (not in \"log_formats\")", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; access_log = \"\"; } );\n", 1, 0,
      "\"access_log\": an empty path (\"off\" turns it off)", NULL },
    { "e.conf", "access_log = \"/tmp/x\";\n", 1, 0, "\"access_log\" is not allowed in the top level", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\nlog_formats = ( { name = \"x\"; format = \"a\"; path = \"/x\"; } );\n",
      2, 0, "\"path\" is not allowed in log_formats (only in access_log)", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; methods = [ \"GET\", \"BREW\" ]; } );\n", 1, 0,
      "\"methods\": unknown method \"BREW\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; methods = []; } );\n", 1, 0, "\"methods\": the list is empty",
      NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; precompressed = [ \"lz4\" ]; } );\n", 1, 0,
      "\"precompressed\": unknown encoding \"lz4\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; precompressed = [ \"br\", \"br\" ]; } );\n", 1, 0,
      "\"precompressed\": \"br\" is listed twice", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; access = [ \"permit all\" ]; } );\n", 1, 0,
      "\"access\": \"permit all\" must be", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; access = [ \"allow 10.0.0.1/8\" ]; } );\n", 1, 0, "\"access\": ",
      "10.0.0.1/8" },
    { "e.conf", "servers = ( { root = \"@D/www\";\n add_header = { Content-Length = \"1\"; }; } );\n", 2, 0,
      "\"add_header\": \"Content-Length\" is set by ephttpd itself", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n add_header = { X-A = \"a\\nb\"; }; } );\n", 2, 0,
      "\"add_header\": the value of \"X-A\" has a control character", NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    add_header: { X.A: b }\n", 3, 19,
      "\"add_header\": \"X.A\" is not a header name", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n error_page = ( { codes = 404; uri = \"e.html\"; } ); } );\n", 2, 0,
      "\"error_page\": uri \"e.html\" must start with '/'", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n error_page = ( { codes = 404; } ); } );\n", 2, 0,
      "\"error_page\": needs \"codes\" and \"uri\"", NULL },
    /* An error page is served as the file at its path: a query or fragment
     * would be part of the name, the page never found. */
    { "e.conf", "servers = ( { root = \"@D/www\";\n error_page = ( { codes = [404];\n"
                "  uri = \"/errs/404.html?x=1\"; } ); } );\n", 3, 0,
      "\"error_page\": uri \"/errs/404.html?x=1\" must be a plain path, without '?' or '#'", NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    error_page:\n      - codes: 404\n        uri: /e.html#top\n", 5, 9,
      "\"error_page\": uri \"/e.html#top\" must be a plain path", NULL },
    /* Statuses answered without error_page: refused, saying why. */
    { "e.conf", "servers = ( { root = \"@D/www\";\n error_page = ( { codes = [ 404,\n 405 ]; uri = \"/e\"; } ); } );\n",
      3, 0, "\"codes\": 405 cannot have an error page", "Allow header comes from the location's methods" },
    { "e.yaml", "servers:\n  - root: @D/www\n    error_page: [ { codes: [ 404, 416 ], uri: /e } ]\n", 3, 35,
      "\"codes\": 416 cannot have an error page", "Content-Range" },
    /* add_header: what ephttpd writes itself, and empty values. */
    { "e.conf", "servers = ( { root = \"@D/www\";\n add_header = { X-A = \"a\";\n ETag = \"\\\"fake\\\"\"; }; } );\n",
      3, 0, "\"add_header\": \"ETag\" is set by ephttpd itself", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n add_header = { X-E = \"\"; }; } );\n", 2, 0,
      "\"add_header\": \"X-E\" has an empty value", "leave the header out" },
    { "e.yaml", "servers:\n  - root: @D/www\n    add_header:\n      X-E: { value: \"\", always: true }\n", 4, 7,
      "\"add_header\": \"X-E\" has an empty value", NULL },
    /* Cache-Control and Expires where "expires" is in effect, after
     * inheritance: at the add_header, naming where it would go twice. */
    { "e.conf", "servers = ( { root = \"@D/www\"; expires = \"1h\";\n"
                " add_header = { Cache-Control = \"no-store\"; }; } );\n", 2, 0,
      "\"add_header\": \"Cache-Control\" would be sent twice in the server, where \"expires\" sends its own",
      NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n add_header = { expires = \"0\"; };\n"
                " locations = ( { match = \"/a/\"; },\n  { match = \"/b/\"; expires = 60; } ); } );\n", 2, 0,
      "\"add_header\": \"expires\" would be sent twice in the location at @D/e.conf:4", NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    expires: 1h\n    locations:\n      - match: /a/\n"
                "        add_header: { Cache-Control: public }\n", 6, 9,
      "\"add_header\": \"Cache-Control\" would be sent twice in the location at @D/e.yaml:5:9", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n try_files = [ \"$uri\" ]; } );\n", 2, 0,
      "\"try_files\": give at least one path and a fallback", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n try_files = [ \"=404\", \"$uri\" ]; } );\n", 2, 0,
      "\"try_files\": \"=404\" must start with '/' or $uri", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n try_files = [ \"$uri\", \"=99\" ]; } );\n", 2, 0,
      "\"try_files\": bad status \"=99\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n names = [ \"a/b\" ]; } );\n", 2, 0,
      "\"names\": \"a/b\" is not a host name", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n names = [ \"a.*.org\" ]; } );\n", 2, 0,
      "\"names\": \"a.*.org\": only a leading \"*.\" wildcard", NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    root: @D/www\n", 3, 5, "\"root\" is set twice",
      "(first at @D/e.yaml:2:5)" },
    { "e.conf", "servers = ( { root = \"\"; } );\n", 1, 0, "\"root\": must not be empty", NULL },
    /* return */
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = ( { match = \"/old\";\n  return = 301; } ); } );\n",
      3, 0, "\"return\": status 301 needs a \"url\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n return = { status = 200; url = \"/x\"; }; } );\n", 2, 0,
      "\"return\": \"url\" needs a 3xx status, not 200", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n return = { status = 302; url = \"/x\"; body = \"b\"; }; } );\n",
      2, 0, "\"return\": a redirect has a \"url\", not a \"body\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n return = { url = \"/x\"; }; } );\n", 2, 0,
      "\"return\": needs a \"status\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n return = { status = 301; url = \"/x\\r\\nSet-Cookie: a\"; }; } );\n",
      2, 0, "\"url\": must not contain a line break", NULL },
    /* locations */
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = (\n  { root = \"@D/www\"; } ); } );\n", 3, 0,
      "\"locations\": a location needs \"match\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = ( { match = \"img/\"; } ); } );\n", 2, 0,
      "\"match\": \"img/\" must start with '/'", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = ( { match = \"= \"; } ); } );\n", 2, 0,
      "\"match\": empty pattern", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = (\n  { match = \"~ (a\"; } ); } );\n", 3, 0,
      "\"match\": regex \"(a\": missing closing parenthesis", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = (\n  { match = \"~* \\\\.png$\"; alias = \"@D/data\"; } ); } );\n",
      3, 0, "\"alias\" is allowed only in prefix and exact locations, not in \"~* \\.png$\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = (\n  { match = \"/a/\";\n   root = \"@D/www\";\n"
                "   alias = \"@D/data/\"; } ); } );\n", 3, 0, "the location sets both \"root\" and \"alias\"", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = (\n  { match = \"/x\"; },\n  { match = \"^~ /x\"; } ); } );\n",
      4, 0, "location \"/x\" is defined twice (first at @D/e.conf:3)", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = (\n  { match = \"/up\";\n"
                "   methods = [ \"GET\", \"POST\" ]; } ); } );\n", 3, 0,
      "\"methods\": POST, PUT, DELETE and PATCH need a \"return\"", NULL },
    /* a status page and a return: which would answer? (the server's
     * return reaches the location: the pair is refused there too) */
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = (\n  { match = \"= /s\";\n"
                "   status_page = \"stub\"; return = 204; } ); } );\n", 3, 0,
      "\"status_page\" and \"return\" both answer in the location: keep one", NULL },
    { "e.conf", "servers = ( { return = 204;\n locations = (\n  { match = \"= /s\"; status_page = \"json\"; } ); } );\n",
      3, 0, "\"status_page\" and \"return\" both answer in the location: keep one", NULL },
    /* a place that answers every request itself, and says where files come from */
    { "e.conf", "servers = ( { root = \"@D/www\";\n locations = (\n  { match = \"= /healthz\";\n"
                "   health_check = true; try_files = [ \"$uri\", \"=404\" ]; } ); } );\n", 3, 0,
      "\"health_check\" answers every request in the location: its \"try_files\" would never apply; keep one", NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    locations:\n      - match: = /s\n        status_page: json\n"
                "        autoindex: true\n", 4, 9,
      "\"status_page\" answers every request in the location: its \"autoindex\" would never apply; keep one", NULL },
    /* roots */
    { "e.conf", "servers = (\n { root = \"@D/nope\"; } );\n", 2, 0, "\"root\": \"@D/nope\": No such file or directory",
      NULL },
    { "e.conf", "servers = (\n { root = \"@D/mime.types\"; } );\n", 2, 0, "\"root\": \"@D/mime.types\": not a directory",
      NULL },
    { "e.conf", "servers = (\n { root = \"www\"; } );\n", 2, 0, "\"root\": \"www\" must be an absolute path", NULL },
    { "e.conf", "servers = (\n { root = \"@D/www\"; locations = (\n { match = \"/d/\"; alias = \"@D/gone/\"; } ); } );\n",
      3, 0, "\"alias\": \"@D/gone/\": No such file or directory", NULL },
    { "e.conf", "servers = (\n { names = [ \"x\" ]; } );\n", 2, 0, "the server has no \"root\"", NULL },
    /* Locations that do not cover every path: the server needs a root. */
    { "e.conf", "servers = (\n { locations = ( { match = \"/a/\"; root = \"@D/www\"; } ); } );\n", 2, 0,
      "the server has no \"root\"", NULL },
    { "e.conf", "workers = 1;\n", 0, 0, "no server configured", NULL },
    { "e.conf", "listen = ();\nservers = ( { root = \"@D/www\"; } );\n", 0, 0,
      "no listener configured (\"listen\" is empty)", NULL },
    /* listeners */
    { "e.conf", "listen = (\n { port = 80; },\n { address = \"0.0.0.0\"; port = 80; } );\n"
                "servers = ( { root = \"@D/www\"; } );\n", 3, 0, "\"listen\": 0.0.0.0:80 is declared twice",
      "(first at @D/e.conf:2)" },
    { "e.conf", "listen = (\n { address = \"::\"; port = 80; },\n { address = \"0::0\"; port = 80; } );\n"
                "servers = ( { root = \"@D/www\"; } );\n", 3, 0, "\"listen\": 0::0:80 is declared twice", NULL },
    { "e.conf", "listen = (\n { address = \"localhost\"; port = 80; } );\n", 2, 0,
      "\"address\": \"localhost\" is not a numeric IPv4 or IPv6 address", NULL },
    { "e.conf", "listen = (\n { address = \"::1\"; } );\n", 2, 0, "\"listen\": a listener needs a \"port\"", NULL },
    { "e.conf", "listen = ( { port = 80; } );\nservers = (\n { root = \"@D/www\"; listen_on = \"127.0.0.1:9\"; } );\n",
      3, 0, "\"listen_on\": no listener \"127.0.0.1:9\"", NULL },
    { "e.conf", "listen = ( { port = 80; },\n { port = 81; } );\nservers = (\n { root = \"@D/www\"; listen_on = \"80\"; } );\n",
      2, 0, "\"listen\": no server uses 0.0.0.0:81", NULL },
    { "e.conf", "listen = (\n { port = 80; default_server = \"nope\"; } );\n"
                "servers = ( { names = [ \"a\" ]; root = \"@D/www\"; } );\n", 2, 0,
      "\"default_server\": no server named \"nope\" on 0.0.0.0:80", NULL },
    /* globals checked against the system */
    { "e.conf", "user = \"no-such-user-ephttpd\";\nservers = ( { root = \"@D/www\"; } );\n", 0, 0,
      "\"user\": no user \"no-such-user-ephttpd\"", NULL },
    { "e.conf", "group = \"no-such-group-ephttpd\";\nservers = ( { root = \"@D/www\"; } );\n", 0, 0,
      "\"group\": no group \"no-such-group-ephttpd\"", NULL },
    /* TLS: values (libconfig) */
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_protocols = [ \"TLSv1.2\", \"TLSv1.1\" ];\n", 2, 0,
      "\"tls_protocols\": \"TLSv1.1\" is not accepted: only \"TLSv1.2\" and \"TLSv1.3\" are", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_protocols = \"SSLv3\";\n", 2, 0,
      "\"tls_protocols\": \"SSLv3\" is not accepted: only \"TLSv1.2\" and \"TLSv1.3\" are", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_protocols = [ \"tlsv1.3\" ];\n", 2, 0,
      "\"tls_protocols\": \"tlsv1.3\" is not accepted", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_protocols = [ ];\n", 2, 0,
      "\"tls_protocols\": the list is empty (give \"TLSv1.2\", \"TLSv1.3\" or both)", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_protocols = [ \"TLSv1.3\", \"TLSv1.3\" ];\n", 2, 0,
      "\"tls_protocols\": \"TLSv1.3\" is listed twice", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_protocols = 13;\n", 2, 0,
      "\"tls_protocols\": expected a string, got an integer", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_ciphers = \"ECDHE-RSA-AES128-GCM-SHA256 AES256\";\n",
      2, 0, "\"tls_ciphers\": \"ECDHE-RSA-AES128-GCM-SHA256 AES256\" has a space; separate the suites with ':'", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_ciphers = \"AES128\\tAES256\";\n", 2, 0,
      "\"tls_ciphers\": \"AES128\\tAES256\" has a character that is not printable ASCII", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_ciphers = \"\";\n", 2, 0,
      "\"tls_ciphers\": must not be empty (leave it out for the built-in list)", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_ciphers = [ \"AES128\" ];\n", 2, 0,
      "\"tls_ciphers\": expected a string, got a list", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_ktls = \"maybe\";\n", 2, 0,
      "\"tls_ktls\": expected true or false, got \"maybe\"", NULL },
    { "e.conf", "listen = ( { port = 443;\n tls = 1; } );\n", 2, 0, "\"tls\": expected true or false, got \"1\"", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = ( { root = \"@D/www\";\n"
                " tls_certificate = \"cert.pem\"; tls_certificate_key = \"@D/k\"; } );\n", 3, 0,
      "\"tls_certificate\": \"cert.pem\" must be an absolute path", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = ( { root = \"@D/www\"; tls_certificate = \"@D/c\";\n"
                " tls_certificate_key = [ \"@D/k\",\n \"k2\" ]; } );\n", 4, 0,
      "\"tls_certificate_key\": \"k2\" must be an absolute path", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = ( { root = \"@D/www\";\n"
                " tls_certificate = \"\"; tls_certificate_key = \"@D/k\"; } );\n", 3, 0,
      "\"tls_certificate\": must not be empty", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = ( { root = \"@D/www\";\n"
                " tls_certificate = [ ]; } );\n", 3, 0, "\"tls_certificate\": the list is empty", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = ( { root = \"@D/www\";\n"
                " tls_certificate = [ \"@D/c\", \"@D/c\" ]; tls_certificate_key = [ \"@D/k\", \"@D/k2\" ]; } );\n", 3, 0,
      "\"tls_certificate\": \"@D/c\" is listed twice", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = ( { root = \"@D/www\";\n"
                " tls_certificate = { a = \"@D/c\"; }; } );\n", 3, 0,
      "\"tls_certificate\": expected a string, got a group", NULL },
    /* TLS: placement */
    { "e.conf", "servers = ( { root = \"@D/www\";\n tls = true; } );\n", 2, 0,
      "\"tls\" is not allowed in a server (only in a listener)", NULL },
    { "e.conf", "tls_certificate = \"@D/c\";\n", 1, 0,
      "\"tls_certificate\" is not allowed in the top level (only in a server)", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; locations = (\n { match = \"/\"; tls_certificate_key = \"@D/k\"; } ); } );\n",
      2, 0, "\"tls_certificate_key\" is not allowed in a location (only in a server)", NULL },
    { "e.conf", "listen = ( { port = 443;\n tls_protocols = \"TLSv1.3\"; } );\n", 2, 0,
      "\"tls_protocols\" is not allowed in a listener (only in the top level)", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\";\n ssl_certificate = \"@D/c\"; } );\n", 2, 0,
      "unknown setting \"ssl_certificate\" in a server; did you mean \"tls_certificate\"?", NULL },
    /* TLS: a certificate and its key, in pairs (at the server) */
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = (\n { root = \"@D/www\"; tls_certificate = \"@D/c\"; } );\n",
      3, 0, "\"tls_certificate\" without \"tls_certificate_key\": give the private key of each certificate", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = (\n { root = \"@D/www\"; tls_certificate_key = \"@D/k\"; } );\n",
      3, 0, "\"tls_certificate_key\" without \"tls_certificate\"", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\nservers = (\n { root = \"@D/www\";\n"
                "  tls_certificate = [ \"@D/rsa.pem\", \"@D/ec.pem\" ]; tls_certificate_key = \"@D/rsa.key\"; } );\n",
      3, 0, "\"tls_certificate\" lists 2 files but \"tls_certificate_key\" 1: each certificate needs its key", NULL },
    /* TLS: every server a TLS listener reaches has a certificate, by each
     * way a server gets a listener: no listen_on, a port, an address */
    { "e.conf", "listen = (\n { port = 80; },\n { port = 443; tls = true; } );\n"
                "servers = (\n { names = [ \"a.example\" ]; root = \"@D/www\"; } );\n", 5, 0,
      "the server \"a.example\" has no \"tls_certificate\", but the TLS listener 0.0.0.0:443 (at @D/e.conf:3) reaches it",
      NULL },
    { "e.conf", "listen = (\n { port = 80; },\n { address = \"::\"; port = 443; tls = true; } );\n"
                "servers = ( { root = \"@D/www\"; listen_on = \"80\"; },\n { root = \"@D/www\"; listen_on = \"443\"; } );\n",
      5, 0, "the server has no \"tls_certificate\", but the TLS listener :::443 (at @D/e.conf:3) reaches it", NULL },
    { "e.conf", "listen = (\n { port = 80; },\n { address = \"127.0.0.1\"; port = 443; tls = true; } );\n"
                "servers = ( { root = \"@D/www\"; listen_on = \"80\"; },\n"
                " { names = [ \"b\" ]; root = \"@D/www\"; listen_on = [ \"0.0.0.0:80\", \"127.0.0.1:443\" ]; } );\n",
      5, 0, "the server \"b\" has no \"tls_certificate\", but the TLS listener 127.0.0.1:443", NULL },
    /* TLS: a certificate no TLS listener reaches would do nothing */
    { "e.conf", "servers = (\n { root = \"@D/www\"; tls_certificate = \"@D/c\"; tls_certificate_key = \"@D/k\"; } );\n", 2, 0,
      "\"tls_certificate\": no listener has tls = true, so it would do nothing", NULL },
    { "e.conf", "listen = ( { port = 80; }, { port = 443; tls = true; } );\n"
                "servers = ( { root = \"@D/www\"; listen_on = \"443\"; tls_certificate = \"@D/c\"; tls_certificate_key = \"@D/k\"; },\n"
                " { root = \"@D/www\"; listen_on = \"80\";\n  tls_certificate = \"@D/c\"; tls_certificate_key = \"@D/k\"; } );\n",
      3, 0, "\"tls_certificate\": the server's \"listen_on\" leaves out every TLS listener, so it would do nothing", NULL },
    /* TLS: globals with no TLS listener, at their own line */
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\ntls_protocols = [ \"TLSv1.3\" ];\n", 2, 0,
      "\"tls_protocols\": no listener has tls = true, so it would do nothing", NULL },
    { "e.conf", "tls_ciphers = \"ECDHE-RSA-AES128-GCM-SHA256\";\nservers = ( { root = \"@D/www\"; } );\n", 1, 0,
      "\"tls_ciphers\": no listener has tls = true, so it would do nothing", NULL },
    { "e.conf", "listen = ( { port = 80; tls = false; } );\nservers = ( { root = \"@D/www\"; } );\n"
                "tls_session_tickets = true;\n", 3, 0,
      "\"tls_session_tickets\": no listener has tls = true, so it would do nothing", NULL },
    { "e.conf", "servers = ( { root = \"@D/www\"; } );\n\ntls_ktls = false;\n", 3, 0,
      "\"tls_ktls\": no listener has tls = true, so it would do nothing", NULL },
    { "e.conf", "listen = ( { port = 443; tls = true; } );\ntls_protocols = \"TLSv1.3\";\n"
                "tls_ciphers = \"ECDHE-RSA-AES128-GCM-SHA256\";\n", 3, 0,
      "\"tls_ciphers\" is for TLS 1.2, which \"tls_protocols\" leaves out, so it would do nothing", NULL },
    /* TLS: one socket per address and port, whatever it speaks */
    { "e.conf", "listen = (\n { port = 443; tls = true; },\n { address = \"0.0.0.0\"; port = 443; } );\n"
                "servers = ( { root = \"@D/www\"; } );\n", 3, 0, "\"listen\": 0.0.0.0:443 is declared twice",
      "(first at @D/e.conf:2)" },
    { "e.conf", "listen = (\n { address = \"::\"; port = 443; },\n { address = \"0::0\"; port = 443; tls = true; } );\n"
                "servers = ( { root = \"@D/www\"; tls_certificate = \"@D/c\"; tls_certificate_key = \"@D/k\"; } );\n",
      3, 0, "\"listen\": 0::0:443 is declared twice", NULL },
    /* TLS: the same in YAML, with columns */
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\ntls_protocols: [TLSv1.2, TLSv1.1]\n", 2, 26,
      "\"tls_protocols\": \"TLSv1.1\" is not accepted: only \"TLSv1.2\" and \"TLSv1.3\" are", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\ntls_protocols: SSLv3\n", 2, 1,
      "\"tls_protocols\": \"SSLv3\" is not accepted", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\ntls_protocols: []\n", 2, 1,
      "\"tls_protocols\": the list is empty", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\ntls_protocols:\n  - TLSv1.2\n  - TLSv1.2\n", 4, 5,
      "\"tls_protocols\": \"TLSv1.2\" is listed twice", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\ntls_ciphers: ECDHE-RSA-AES128-GCM-SHA256 AES256\n", 2, 1,
      "\"tls_ciphers\": \"ECDHE-RSA-AES128-GCM-SHA256 AES256\" has a space", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\ntls_ciphers: \"AES128\\x01\"\n", 2, 1,
      "\"tls_ciphers\": \"AES128\\x01\" has a character that is not printable ASCII", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\ntls_ciphers: \"\"\n", 2, 1, "\"tls_ciphers\": must not be empty",
      NULL },
    { "e.yaml", "listen:\n  - port: 443\n    tls: sure\n", 3, 5, "\"tls\": expected true or false, got \"sure\"", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\nservers:\n  - root: @D/www\n"
                "    tls_certificate: [ cert.pem, @D/c ]\n    tls_certificate_key: [ @D/k, @D/k2 ]\n", 4, 24,
      "\"tls_certificate\": \"cert.pem\" must be an absolute path", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\nservers:\n  - root: @D/www\n    tls_certificate: @D/c\n", 3, 5,
      "\"tls_certificate\" without \"tls_certificate_key\"", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\nservers:\n  - root: @D/www\n"
                "    tls_certificate: [ @D/rsa.pem, @D/ec.pem ]\n    tls_certificate_key: @D/rsa.key\n", 3, 5,
      "\"tls_certificate\" lists 2 files but \"tls_certificate_key\" 1", NULL },
    { "e.yaml", "listen:\n  - { port: 80 }\n  - { port: 443, tls: true }\nservers:\n  - names: [a.example]\n"
                "    root: @D/www\n", 5, 5,
      "the server \"a.example\" has no \"tls_certificate\", but the TLS listener 0.0.0.0:443 (at @D/e.yaml:3:5) reaches it",
      NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    tls_certificate: @D/c\n    tls_certificate_key: @D/k\n", 2, 5,
      "\"tls_certificate\": no listener has tls = true, so it would do nothing", NULL },
    { "e.yaml", "servers: [ { root: @D/www } ]\ntls_session_tickets: false\n", 2, 1,
      "\"tls_session_tickets\": no listener has tls = true, so it would do nothing", NULL },
    { "e.yaml", "listen: [ { port: 443, tls: true } ]\ntls_protocols: TLSv1.3\ntls_ciphers: ECDHE-RSA-AES128-GCM-SHA256\n",
      3, 1, "\"tls_ciphers\" is for TLS 1.2, which \"tls_protocols\" leaves out", NULL },
    { "e.yaml", "listen:\n  - { port: 443, tls: true }\n  - { address: 0.0.0.0, port: 443 }\n"
                "servers: [ { root: @D/www } ]\n", 3, 5, "\"listen\": 0.0.0.0:443 is declared twice", NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    locations:\n      - match: /\n        tls_certificate: @D/c\n", 5, 9,
      "\"tls_certificate\" is not allowed in a location (only in a server)", NULL },
    /* syntax (the front-ends) */
    { "e.conf", "workers = 1;\nuser = ;\n", 2, 0, "\"user\" has no value", "expected a value after '='" },
    { "e.conf", "include = \"@D/missing.conf\";\n", 1, 0, "include \"@D/missing.conf\": No such file", NULL },
    /* YAML: the same checks, with columns */
    { "e.yaml", "workers: 1\nkeepalive_timout: 5\n", 2, 1, "unknown setting \"keepalive_timout\"",
      "did you mean \"keepalive_timeout\"?" },
    { "e.yaml", "servers:\n  - root: @D/www\n    alias: @D/data\n", 3, 5, "\"alias\" is not allowed in a server",
      NULL },
    { "e.yaml", "listen:\n  - port: eighty\n", 2, 5, "\"port\": expected an integer, got \"eighty\"", NULL },
    { "e.yaml", "listen:\n  - port: \"80\"\n", 2, 5, "\"port\": expected an integer, got a string", NULL },
    { "e.yaml", "user:\n  - a\n", 1, 1, "\"user\": expected a string, got a list", NULL },
    { "e.yaml", "max_body_size: 10x\n", 1, 1, "\"max_body_size\": bad size \"10x\"", NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    index: [a, [b]]\n", 3, 16, "\"index\": expected a string, got a list",
      NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    locations:\n      - match: /x\n        return: 302\n", 5, 9,
      "\"return\": status 302 needs a \"url\"", NULL },
    { "e.yaml", "servers:\n  - root: @D/www\n    locations:\n      - match: \"~ (\"\n", 4, 9,
      "\"match\": regex \"(\"", NULL },
    { "e.yaml", "servers:\n  - root: @D/nope\n", 2, 5, "\"root\": \"@D/nope\": No such file", NULL },
    { "e.yaml", "servers:\n  - root: [unclosed\n", 3, 1, "did not find expected", NULL },
    { "e.yaml", "servers:\n  - root: a\n   bad: b\n", 3, 4, "did not find expected '-' indicator", NULL },
    { "e.yaml", "workers: 1: 2\n", 1, 11, "mapping values are not allowed", NULL },
    { "e.yaml", "workers: 1\nworkers: 2\n", 2, 1, "\"workers\" is set twice", "(first at @D/e.yaml:1:1)" },
    /* A line break in a quoted value stays out of the one-line message. */
    { "e.yaml", "log_level: \"lo\n\n  ud\"\n", 1, 1, "\"log_level\": unknown level \"lo\\nud\"", NULL },
    { "e.yaml", "servers:\n  - root: \"/no\n\n    pe\\t\\x01\"\n", 2, 5, "\"root\": \"/no\\npe\\t\\x01\": No such file", NULL },
};

/* One error case: conf_read fails with one line "FILE:LINE[:COL]: ...",
 * FILE being e->name's path, or in_file (with @D) for an included file. */
static void check_error_in(const err_case *e, const char *in_file)
{
    char err[1024] = "";
    char *path = write_conf(e->name, e->text);
    cfg *c = http_conf_read(path, err, sizeof err);
    if (c) {
        cfg_free(c);
        fail_msg("accepted:\n%s", e->text);
    }
    char *file = in_file ? expand(in_file) : strdup(path);
    char *want_at = e->line == 0  ? xasprintf("%s: ", file)
                    : e->col == 0 ? xasprintf("%s:%d: ", file, e->line)
                                  : xasprintf("%s:%d:%d: ", file, e->line, e->col);
    free(file);
    char *want = expand(e->want), *want2 = e->want2 ? expand(e->want2) : NULL;
    if (strncmp(err, want_at, strlen(want_at)) != 0 || !strstr(err, want) || (want2 && !strstr(err, want2)) ||
        strchr(err, '\n'))
        fail_msg("for:\n%s\ngot:  %s\nwant: %s... %s%s%s", e->text, err, want_at, want, want2 ? " ... " : "",
                 want2 ? want2 : "");
    free(want);
    free(want2);
    free(want_at);
    free(path);
}

static void check_error(const err_case *e)
{
    check_error_in(e, NULL);
}

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++)
        check_error(&err_cases[i]);
    /* A setting repeated by an included file: the error is in that file. */
    free(write_conf("dup.inc", "# included\nworkers = 2;\n"));
    static const err_case dup = { "e.conf", "workers = 1;\ninclude = \"@D/dup.inc\";\n", 2, 0,
                                  "\"workers\" is set twice", "(first at @D/e.conf:1)" };
    check_error_in(&dup, "@D/dup.inc");
    /* An error in a YAML file included from a libconfig one. */
    free(write_conf("bad.yaml", "servers:\n  - root: @D/www\n    etag: maybe\n"));
    static const err_case yinc = { "e.conf", "include = \"bad.yaml\";\n", 3, 5,
                                   "\"etag\": expected true, false or \"content\", got \"maybe\"", NULL };
    check_error_in(&yinc, "@D/bad.yaml");
}

/* Both syntaxes say the same of the same number. */
static void test_same_answers(void **state)
{
    (void)state;
    static const same_row rows[] = {
        { "workers = 4294967297;\n", "workers: 4294967297\n" },
        { "workers = -4294967295;\n", "workers: -4294967295\n" },
        { "workers = 99999999999999999999;\n", "workers: 99999999999999999999\n" },
        { "listen = ( { port = 4294967377; } );\n", "listen: [ { port: 4294967377 } ]\n" },
        { "header_timeout = 4294967297;\n", "header_timeout: 4294967297\n" },
        { "max_body_size = 9223372036854775807;\n", "max_body_size: 9223372036854775807\n" },
        { "max_body_size = 99999999999999999999;\n", "max_body_size: 99999999999999999999\n" },
        { "max_body_size = -1;\n", "max_body_size: -1\n" },
        { "worker_connections = 1;\n", "worker_connections: 1\n" },
        /* Hex, as written, in both. */
        { "listen = ( { port = 0x10000; } );\n", "listen: [ { port: 0x10000 } ]\n" },
        { "max_header_size = 0x80000000;\n", "max_header_size: 0x80000000\n" },
        { "workers = 0xFFFFFFFFFFFFFFFF;\n", "workers: 0xFFFFFFFFFFFFFFFF\n" },
        { "header_timeout = 0x1000000;\n", "header_timeout: 0x1000000\n" },
        { "max_body_size = 0x4000000000000000;\n", "max_body_size: 0x4000000000000000\n" },
        /* TLS */
        { "listen = ( { port = 443; tls = true; } );\ntls_protocols = [ \"TLSv1.2\", \"TLSv1.1\" ];\n",
          "listen: [ { port: 443, tls: true } ]\ntls_protocols: [ TLSv1.2, TLSv1.1 ]\n" },
        { "listen = ( { port = 443; tls = true; } );\ntls_protocols = [];\n",
          "listen: [ { port: 443, tls: true } ]\ntls_protocols: []\n" },
        { "listen = ( { port = 443; tls = true; } );\ntls_ciphers = \"A B\";\n",
          "listen: [ { port: 443, tls: true } ]\ntls_ciphers: A B\n" },
        { "listen = ( { port = 443; tls = true; } );\ntls_ktls = 1;\n",
          "listen: [ { port: 443, tls: true } ]\ntls_ktls: 1\n" },
        { "servers = ( { root = \"/\"; tls_certificate = \"c.pem\"; } );\n",
          "servers: [ { root: /, tls_certificate: c.pem } ]\n" },
        { "servers = ( { root = \"/\"; tls_certificate = [ \"/c\", \"/c\" ]; } );\n",
          "servers: [ { root: /, tls_certificate: [ /c, /c ] } ]\n" },
        { "listen = ( { port = 443; tls = true; } );\nservers = ( { root = \"/\"; tls_certificate = [ \"/a\", \"/b\" ];"
          " tls_certificate_key = \"/k\"; } );\n",
          "listen: [ { port: 443, tls: true } ]\nservers: [ { root: /, tls_certificate: [ /a, /b ], tls_certificate_key: /k } ]\n" },
        { "servers = ( { root = \"/\"; tls_certificate = \"/c\"; tls_certificate_key = \"/k\"; } );\n",
          "servers: [ { root: /, tls_certificate: /c, tls_certificate_key: /k } ]\n" },
        { "servers = ( { root = \"/\"; } );\ntls_protocols = \"TLSv1.2\";\n",
          "servers: [ { root: / } ]\ntls_protocols: TLSv1.2\n" },
        { "listen = ( { port = 443; tls = true; } );\ntls_protocols = \"TLSv1.3\";\ntls_ciphers = \"AES128\";\n",
          "listen: [ { port: 443, tls: true } ]\ntls_protocols: TLSv1.3\ntls_ciphers: AES128\n" },
    };
    assert_same_messages(rows, sizeof rows / sizeof rows[0]);
}

/* YAML reads an integer as libconfig does: decimal or 0x hex, for integers,
 * sizes, durations and rules alike. */
static void test_same_integers(void **state)
{
    (void)state;
    cfg *c = load("ints.yaml", "workers: 0x2\nmax_body_size: 0x100\nheader_timeout: 0x10\n"
                               "worker_connections: +512\nlisten:\n  - port: 0x1F90\n"
                               "servers:\n  - root: @D/www\n    expires: 0x3C\n"
                               "    error_page: [ { codes: [ 0x194 ], uri: /e.html } ]\n");
    assert_int_equal(c->workers, 2);
    assert_int_equal(c->max_body_size, 256);
    assert_int_equal(c->header_timeout_ms, 16000);
    assert_int_equal(c->worker_connections, 512);
    assert_int_equal(c->listens[0].port, 8080);
    assert_int_equal(c->servers[0].r.expires, 60);
    assert_int_equal(c->servers[0].r.error_pages[0].status, 404);
    cfg_free(c);
    /* The same in libconfig. */
    c = load("ints.conf", "workers = 0x2;\nmax_body_size = 0x100;\nheader_timeout = 0x10;\n"
                          "worker_connections = +512;\nlisten = ( { port = 0x1F90; } );\n"
                          "servers = ( { root = \"@D/www\"; expires = 0x3C;\n"
                          "  error_page = ( { codes = [ 0x194 ]; uri = \"/e.html\"; } ); } );\n");
    assert_int_equal(c->workers, 2);
    assert_int_equal(c->max_body_size, 256);
    assert_int_equal(c->header_timeout_ms, 16000);
    assert_int_equal(c->worker_connections, 512);
    assert_int_equal(c->listens[0].port, 8080);
    assert_int_equal(c->servers[0].r.expires, 60);
    assert_int_equal(c->servers[0].r.error_pages[0].status, 404);
    cfg_free(c);
}

/* Every status that never goes through error_page is refused; the ones
 * that do (through a 403, a 404, a failed open, try_files =CODE) are taken. */
static void test_error_page_codes(void **state)
{
    (void)state;
    static const int refused[] = { 400, 405, 408, 412, 413, 414, 416, 417, 431, 501, 505 };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *text = xasprintf("servers = ( { root = \"@D/www\";\n error_page = ( { codes = [ %d ]; "
                               "uri = \"/e.html\"; } ); } );\n", refused[i]);
        char *want = xasprintf("\"codes\": %d cannot have an error page: ephttpd always sends its built-in "
                               "one", refused[i]);
        err_case e = { "e.conf", text, 2, 0, want, NULL };
        check_error(&e);
        free(text);
        free(want);
    }
    cfg *c = load("pages.conf", "servers = ( { root = \"@D/www\"; error_page = ( { codes = [ 403, 404, 410, "
                                "429, 500, 502, 503, 504 ]; uri = \"/e.html\"; } ); } );\n");
    assert_int_equal(c->servers[0].r.nerror_pages, 8);
    cfg_free(c);
}

/* add_header refuses every header ephttpd writes itself (any case); the
 * review's example refused as a whole; what stays allowed. */
static void test_add_header_owned(void **state)
{
    (void)state;
    static const char *const owned[] = { "ETag", "Content-Type", "Last-Modified", "Content-Encoding",
                                         "Accept-Ranges", "Content-Range", "Location", "Allow", "Date",
                                         "Server", "Connection", "Transfer-Encoding", "Content-Length",
                                         "Keep-Alive", "Upgrade", "Trailer", "etag", "SERVER" };
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        char *text = xasprintf("servers = ( { root = \"@D/www\";\n add_header = { %s = { value = \"x\"; "
                               "always = true; }; }; } );\n", owned[i]);
        char *want = xasprintf("\"add_header\": \"%s\" is set by ephttpd itself", owned[i]);
        err_case e = { "e.conf", text, 2, 0, want, NULL };
        check_error(&e);
        free(text);
        free(want);
    }
    static const err_case review = { "e.conf", "servers = ( { root = \"@D/www\"; expires = \"1h\";\n"
                                     "  add_header = { ETag = \"\\\"fake\\\"\"; Content-Type = \"text/evil\";\n"
                                     "    Cache-Control = \"no-store\"; X-E = \"\"; }; } );\n",
                                     2, 0, "\"add_header\": \"ETag\" is set by ephttpd itself", NULL };
    check_error(&review);
    /* Cache-Control without expires (or where a location turns it off),
     * Vary (a list: it adds to ephttpd's), and the always form. */
    cfg *c = load("ok.conf", "servers = ( { root = \"@D/www\"; expires = \"1h\";\n"
                             "  add_header = { Vary = \"Origin\"; X-A = { value = \"a\"; always = true; }; };\n"
                             "  locations = ( { match = \"/n/\"; expires = \"off\";\n"
                             "    add_header = { Cache-Control = \"no-store\"; Expires = \"0\"; }; } ); },\n"
                             "  { names = [ \"b\" ]; root = \"@D/www\"; add_header = { Cache-Control = \"no-cache\"; }; } );\n");
    assert_int_equal(c->servers[0].r.nheaders, 2);
    assert_true(c->servers[0].r.headers[1].always);
    assert_int_equal(c->servers[0].locs[0].r.nheaders, 2);
    assert_string_equal(c->servers[1].r.headers[0].name, "Cache-Control");
    cfg_free(c);
}

static void test_unreadable_root(void **state)
{
    (void)state;
    if (geteuid() == 0)
        skip(); /* root reads anything */
    mkdir_in("locked", 0);
    static const err_case e = { "e.conf", "servers = (\n { root = \"@D/locked\"; } );\n", 2, 0,
                                "\"root\": \"@D/locked\" cannot be read", "Permission denied" };
    check_error(&e);
}

static void test_suggest(void **state)
{
    (void)state;
    assert_string_equal(conf_suggest("keepalive_timout"), "keepalive_timeout");
    assert_string_equal(conf_suggest("rot"), "root");
    assert_string_equal(conf_suggest("server"), "servers");
    assert_string_equal(conf_suggest("autoindx_format"), "autoindex_format");
    assert_null(conf_suggest("completely_unrelated_name"));
    assert_null(conf_suggest("zzz"));
}

static void test_lint(void **state)
{
    (void)state;
    mkdir_in("open", 0777);
    mkdir_in("sticky", 01777);
    cfg *c = load("lint.conf", "servers = (\n"
                               "  { root = \"@D/www\";\n"
                               "    autoindex = true;\n"
                               "    locations = (\n"
                               "      { match = \"/img\"; alias = \"@D/data/\"; },\n"
                               "      { match = \"/img2/\"; alias = \"@D/data/\"; },\n"
                               "      { match = \"/open/\"; alias = \"@D/open/\"; },\n"
                               "      { match = \"/tmp/\"; alias = \"@D/sticky/\"; }\n"
                               "    ); },\n"
                               "  { names = [ \"b\" ]; root = \"@D/spa\";\n"
                               "    locations = (\n"
                               "      { match = \"/\"; autoindex = true; },\n"
                               "      { match = \"/x/\"; autoindex = true; }\n"
                               "    ); }\n"
                               ");\n");
    warnings w = { .n = 0 };
    int n = cfg_lint(c, collect, &w);
    assert_int_equal(n, w.n);
    assert_int_equal(n, 4);
    assert_true(warned(&w, "@D/lint.conf:5: ", "alias"));
    assert_true(warned(&w, "@D/lint.conf:5: ", "\"/img\""));
    assert_true(warned(&w, "@D/lint.conf:2: ", "autoindex lists the whole document root"));
    assert_true(warned(&w, "@D/lint.conf:12: ", "autoindex lists the whole document root"));
    assert_true(warned(&w, "@D/lint.conf:7: ", "anyone may write to the document root"));
    cfg_free(c);

    /* A careful configuration: nothing to say. */
    c = load("lint2.conf", "servers = ( { root = \"@D/www\"; locations = (\n"
                           "  { match = \"/img/\"; alias = \"@D/data/\"; autoindex = true; },\n"
                           "  { match = \"= /\"; autoindex = true; } ); },\n"
                           "  { names = [ \"r\" ]; locations = (\n"
                           "  { match = \"/\"; autoindex = true; return = 404; } ); } );\n");
    w.n = 0;
    assert_int_equal(cfg_lint(c, collect, &w), 0);
    cfg_free(c);

    /* An IPv6 rule that holds every IPv4 client, said once where written;
     * a rule in the mapped range is an IPv4 rule and says so itself. */
    c = load("lint3.conf", "servers = ( { root = \"@D/www\";\n"
                           "  access = [ \"allow ::1\", \"deny ::/0\" ];\n"
                           "  locations = (\n"
                           "    { match = \"/a/\"; access = [ \"deny ::ffff:0:0/96\", \"allow 2001:db8::/32\" ]; },\n"
                           "    { match = \"/b/\"; },\n"
                           "    { match = \"/c/\"; access = [ \"allow ::/80\" ]; } ); } );\n");
    w.n = 0;
    assert_int_equal(cfg_lint(c, collect, &w), 2);
    assert_true(warned(&w, "@D/lint3.conf:1: ", "access rule matches every IPv4 client too"));
    assert_true(warned(&w, "@D/lint3.conf:1: ", "\"deny ::/0\""));
    assert_true(warned(&w, "@D/lint3.conf:6: ", "\"allow ::/80\""));
    cfg_free(c);
}

/* A rule written in the IPv4-mapped range is dumped as the IPv4 rule it is. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_same_answers),
        cmocka_unit_test(test_same_integers),
        cmocka_unit_test(test_error_page_codes),
        cmocka_unit_test(test_add_header_owned),
        cmocka_unit_test(test_unreadable_root),
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_lint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
