/* main.c: command-line flags → settings model → master. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "config/directives.h"
#include "http/prepare.h"
#include "config/dump.h"
#include "config/model.h"
#include "http/explain.h"
#include "log/log.h"
#include "master/control.h"
#include "master/daemon.h"
#include "master/master.h"
#include "master/preflight.h"
#include "master/priv.h"
#include "util/time.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "Usage: ephttpd -r DIR [options]     serve DIR (quick mode, no config file)\n"
    "       ephttpd [-c FILE] [-t|-T] [-d] run, test or print a configuration\n"
    "       ephttpd --explain HOST URI [-c FILE]\n"
    "       ephttpd -s reload|quit|stop|reopen|drain [-c FILE]\n"
    "Serve static files over HTTP/1.1.\n"
    "\n"
    "  -c, --config FILE         configuration file, libconfig or .yaml/.yml\n"
    "                            (default " EP_CONF_PATH " when -r is not given)\n"
    "  -t, --test                check the configuration, print warnings, exit\n"
    "  -T, --dump                check it and print it with every default filled in\n"
    "      --daemon              detach and run in the background (for init\n"
    "                            systems other than systemd); exits once serving\n"
    "  -s, --signal CMD          tell the running master (named by pid_file) to\n"
    "                            reload (waits for its verdict), quit, stop, reopen\n"
    "                            or drain (health checks fail, then a graceful stop)\n"
    "      --explain HOST URI    show the server, location, rules and outcome a\n"
    "                            request for URI with Host HOST would get\n"
    "  -r, --root DIR            document root (quick mode)\n"
    "  -w, --workers N|auto      worker processes (default 1; auto: one per core)\n"
    "  -a, --addr ADDR           listen address, IPv4 or IPv6 (default 0.0.0.0)\n"
    "  -p, --port PORT           listen port (default 8080)\n"
    "  -d, --debug               debug logging\n"
    "      --access-log PATH     access log file, '-' for stdout (default), 'syslog:...', or 'off'\n"
    "      --error-log PATH      error log file, '-' for stderr (default), or 'journald'\n"
    "      --header-timeout T    deadline for a request head (default 60s)\n"
    "      --keepalive-timeout T idle time between requests (default 75s)\n"
    "      --send-timeout T      longest wait for send progress (default 60s)\n"
    "      --offload auto|always hand file work to the write queue only when it\n"
    "                            could block (auto, default) or always\n"
    "  -h, --help                this text\n"
    "  -V, --version             the version\n"
    "\n"
    "Durations: 500ms, 10s, 2m, 1h (a bare number means seconds).\n";

enum { OPT_ACCESS_LOG = 256, OPT_ERROR_LOG, OPT_HEADER_TO, OPT_KEEPALIVE_TO, OPT_SEND_TO, OPT_OFFLOAD,
       OPT_EXPLAIN, OPT_DAEMON };

static const struct option long_opts[] = {
    { "config", required_argument, NULL, 'c' },
    { "test", no_argument, NULL, 't' },
    { "dump", no_argument, NULL, 'T' },
    { "signal", required_argument, NULL, 's' },
    { "daemon", no_argument, NULL, OPT_DAEMON },
    { "explain", required_argument, NULL, OPT_EXPLAIN },
    { "root", required_argument, NULL, 'r' },
    { "workers", required_argument, NULL, 'w' },
    { "addr", required_argument, NULL, 'a' },
    { "port", required_argument, NULL, 'p' },
    { "debug", no_argument, NULL, 'd' },
    { "access-log", required_argument, NULL, OPT_ACCESS_LOG },
    { "error-log", required_argument, NULL, OPT_ERROR_LOG },
    { "header-timeout", required_argument, NULL, OPT_HEADER_TO },
    { "keepalive-timeout", required_argument, NULL, OPT_KEEPALIVE_TO },
    { "send-timeout", required_argument, NULL, OPT_SEND_TO },
    { "offload", required_argument, NULL, OPT_OFFLOAD },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ephttpd: %s (see ephttpd --help)\n", msg);
    return EXIT_USAGE;
}

static int parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_timeout(const char *arg, const char *name, int64_t *field)
{
    if (time_parse_duration(arg, 86400000, field) < 0 || *field == 0) {
        fprintf(stderr, "ephttpd: %s: bad duration \"%s\" (see ephttpd --help)\n", name, arg);
        return EXIT_USAGE;
    }
    return 0;
}

/* Apply one flag to the model. Returns 0, or an exit status. */
static int apply_flag(cfg *c, int opt, const char *arg)
{
    long v;
    switch (opt) {
    case 'r':
        c->servers[0].r.set |= R_ROOT;
        return cfg_set_str(&c->servers[0].r.root, arg) < 0 ? 1 : 0;
    case 'w':
        if (strcmp(arg, "auto") == 0)
            c->workers = 0;
        else if (parse_int(arg, 1, 1024, &v) < 0)
            return usage_error("-w: expected a number from 1 to 1024 or \"auto\", got \"%s\"", arg);
        else
            c->workers = (int)v;
        return 0;
    case 'a':
        return cfg_set_str(&c->listens[0].addr, arg) < 0 ? 1 : 0;
    case 'p':
        if (parse_int(arg, 1, 65535, &v) < 0)
            return usage_error("-p: expected a port from 1 to 65535, got \"%s\"", arg);
        c->listens[0].port = (uint16_t)v;
        return 0;
    case 'd':
        c->log_level = LOGL_DEBUG;
        return 0;
    case OPT_ACCESS_LOG:
        return cfg_alog_set(&c->servers[0].r, arg) < 0 ? 1 : 0;
    case OPT_ERROR_LOG:
        return cfg_set_str(&c->error_log, arg) < 0 ? 1 : 0;
    case OPT_HEADER_TO:
        return parse_timeout(arg, "--header-timeout", &c->header_timeout_ms);
    case OPT_KEEPALIVE_TO:
        return parse_timeout(arg, "--keepalive-timeout", &c->keepalive_timeout_ms);
    case OPT_SEND_TO:
        return parse_timeout(arg, "--send-timeout", &c->send_timeout_ms);
    case OPT_OFFLOAD:
        if (strcmp(arg, "auto") != 0 && strcmp(arg, "always") != 0)
            return usage_error("--offload: expected \"auto\" or \"always\", got \"%s\"", arg);
        c->servers[0].r.offload_always = strcmp(arg, "always") == 0;
        c->servers[0].r.set |= R_OFFLOAD;
        return 0;
    default:
        return EXIT_USAGE;
    }
}

typedef struct {
    const char *config;  /* -c */
    bool test, dump;     /* -t, -T */
    const char *explain_host, *explain_uri;
    const char *signal;  /* -s */
    bool daemon;         /* --daemon */
    const char *quick;   /* the first quick-mode flag given, for the -c conflict message */
    bool debug;
} cli;

static void warn_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "ephttpd: warning: %s\n", line);
}

/* warn_line, counting into *(int *)ctx. */
static void warn_line_count(void *ctx, const char *line)
{
    ++*(int *)ctx;
    warn_line(NULL, line);
}

/* The configuration file's model: a file given with -c (or the default file
 * when no -r was given) replaces the quick-mode model. */
static cfg *load_config(cfg *quick, const cli *o, int *rc)
{
    const char *path = o->config ? o->config : EP_CONF_PATH;
    if (!o->config && quick->servers[0].r.root)
        return quick;
    if (o->quick) {
        *rc = usage_error("%s cannot be combined with a configuration file; set it there", o->quick);
        return NULL;
    }
    char err[1024];
    cfg *c = http_conf_read(path, err, sizeof err);
    if (!c) {
        fprintf(stderr, "ephttpd: %s\n", err);
        if (!o->config && access(path, F_OK) < 0)
            fprintf(stderr, "ephttpd: give a document root with -r DIR, or a configuration with -c FILE\n");
        *rc = EP_EXIT_CONFIG;
        return NULL;
    }
    if (o->debug)
        c->log_level = LOGL_DEBUG;
    cfg_free(quick);
    return c;
}

/* What a start or reload would open or check beyond the file itself (logs,
 * roots as the workers' user), without creating anything. Returns 0, or
 * -1 with one line in err. */
static int check_environment(const cfg *c, char *err, size_t errlen)
{
    priv_target p;
    if (priv_resolve(c, &p, err, errlen) < 0 || preflight_logs(c, &p, NULL, c->error_log, false, err, errlen) < 0 ||
        preflight_dirs(c, &p, err, errlen) < 0 || preflight_pidfile(c, err, errlen) < 0 ||
        preflight_tls(c, NULL, NULL, err, errlen) < 0)
        return -1;
    return 0;
}

/* -s: the pid file comes from the configuration. A reload is checked here
 * first, so a broken file (or a log that cannot be opened) is reported with
 * its line and the master is not disturbed; the other commands work with a
 * broken default file (falling back to the default pid file), never with a
 * broken file of one's own. */
static int signal_master(const cli *o)
{
    const char *path = o->config ? o->config : EP_CONF_PATH;
    char err[1024];
    if (!control_known(o->signal))
        return usage_error("-s: unknown command \"%s\" (reload, quit, stop, reopen or drain)", o->signal);
    cfg *c = http_conf_read(path, err, sizeof err);
    bool reload = strcmp(o->signal, "reload") == 0;
    if (reload && (!c || check_environment(c, err, sizeof err) < 0)) {
        fprintf(stderr, "ephttpd: %s\nephttpd: reload not sent; the running configuration stays\n", err);
        cfg_free(c);
        return EP_EXIT_CONFIG;
    }
    /* The default pid file is a guess that fits only the default
     * configuration: a broken file of one's own must not reach whichever
     * master happens to own the default (nginx refuses too). */
    if (!c && o->config && strcmp(o->config, EP_CONF_PATH) != 0) {
        fprintf(stderr, "ephttpd: %s\nephttpd: -s %s not sent: the pid file is named in a "
                        "configuration that cannot be read\n", err, o->signal);
        return EP_EXIT_CONFIG;
    }
    if (c && !c->pid_file) {
        fprintf(stderr, "ephttpd: -s: %s sets no pid_file, so the master cannot be found\n", path);
        cfg_free(c);
        return 1;
    }
    if (!c)
        fprintf(stderr, "ephttpd: warning: %s; using the pid file %s\n", err, EP_PID_PATH);
    /* A drain waits for the stop: its delay and the responses in flight. */
    int wait_ms = c && strcmp(o->signal, "drain") == 0 ? (int)(c->drain_delay_ms + c->stop_timeout_ms + 15000) : 60000;
    int rc = control_run(c ? c->pid_file : EP_PID_PATH, o->signal, c ? c->error_log : NULL, wait_ms);
    cfg_free(c);
    return rc;
}

static int run(cfg *c, const cli *o)
{
    char err[1024];
    if (!c->source && (cfg_validate(c, err, sizeof err) < 0 || http_prepare(c, err, sizeof err) < 0)) {
        fprintf(stderr, "ephttpd: %s\n", err);
        return EP_EXIT_CONFIG;
    }
    if (o->explain_host)
        return explain(c, o->explain_host, o->explain_uri, stdout);
    if (o->dump) {
        cfg_dump(c, stdout);
        return 0;
    }
    if (o->test) {
        if (check_environment(c, err, sizeof err) < 0) {
            fprintf(stderr, "ephttpd: %s\n", err);
            return EP_EXIT_CONFIG;
        }
        int n = cfg_lint(c, warn_line, NULL);
        int tls_warnings = 0;
        preflight_tls(c, warn_line_count, &tls_warnings, err, sizeof err); /* built above: cannot fail */
        n += tls_warnings;
        printf("ephttpd: configuration %s is valid%s\n", c->source ? c->source : "from the command line",
               n ? " (with warnings above)" : "");
        return 0;
    }
    if (log_open(c->error_log, c->log_level) < 0) {
        fprintf(stderr, "ephttpd: %s%s\"error_log\" \"%s\": %s\n", c->source ? c->source : "",
                c->source ? ": " : "", c->error_log, strerror(errno));
        return EP_EXIT_CONFIG;
    }
    if (o->daemon && strcmp(c->error_log, "-") == 0)
        fprintf(stderr, "ephttpd: warning: --daemon with the error log on standard error: once "
                        "detached, errors go wherever stderr points\n");
    return master_run(c, o->daemon ? daemon_detach() : -1);
}

int main(int argc, char **argv)
{
    cfg *c = cfg_new();
    if (!c) {
        fprintf(stderr, "ephttpd: out of memory\n");
        return 1;
    }
    cli o = { 0 };
    opterr = 0;
    int opt, rc = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, ":c:s:tTr:w:a:p:dhV", long_opts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage_text, stdout);
            goto out;
        } else if (opt == 'V') {
            printf("ephttpd %s\n", EP_VERSION);
            goto out;
        } else if (opt == '?') {
            rc = usage_error("unknown option \"%s\"", argv[optind - 1]);
        } else if (opt == ':') {
            rc = usage_error("option \"%s\" needs a value", argv[optind - 1]);
        } else if (opt == 'c') {
            o.config = optarg;
        } else if (opt == OPT_DAEMON) {
            o.daemon = true;
        } else if (opt == 's') {
            o.signal = optarg;
        } else if (opt == 't' || opt == 'T') {
            o.test |= opt == 't';
            o.dump |= opt == 'T';
        } else if (opt == OPT_EXPLAIN) {
            if (optind >= argc)
                rc = usage_error("--explain needs HOST and URI");
            o.explain_host = optarg;
            o.explain_uri = argv[optind++];
        } else {
            if (opt != 'd' && !o.quick)
                o.quick = argv[optind - 1][0] == '-' ? argv[optind - 1] : argv[optind - 2];
            o.debug |= opt == 'd';
            rc = apply_flag(c, opt, optarg);
        }
    }
    if (rc == 0 && optind < argc)
        rc = usage_error("unexpected argument \"%s\"", argv[optind]);
    if (rc)
        goto out;
    if (o.signal) {
        rc = signal_master(&o);
        goto out;
    }
    if (o.config || !c->servers[0].r.root) {
        cfg *file = load_config(c, &o, &rc);
        if (!file)
            goto out;
        c = file;
    }
    rc = run(c, &o);
out:
    cfg_free(c);
    return rc;
}
