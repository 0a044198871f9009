/* config/model.h: the settings model: plain structs filled by the CLI or a config file. */
#ifndef EP_CONFIG_MODEL_H
#define EP_CONFIG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/log.h"
#include "util/cidr.h"

typedef struct {
    char *addr;        /* numeric IPv4 or IPv6 address, "0.0.0.0" or "::" for all */
    uint16_t port;
    int backlog;
    bool reuseport;    /* one socket per worker (SO_REUSEPORT) instead of one shared */
    bool deferred;     /* TCP_DEFER_ACCEPT: accept once the request has arrived */
    bool tls;          /* HTTPS: every server it reaches has tls_certificate */
    bool http2;        /* HTTP/2: by ALPN over TLS, by its preface (h2c) in cleartext */
    bool proxy_protocol; /* each connection starts with a PROXY protocol header (v1 or v2) */
    char *default_name; /* server name chosen as this listener's default, or NULL */
    size_t default_server; /* resolved by cfg_validate: index into cfg.servers */
    char *where;       /* "file:line" of its definition, or NULL (command line) */
} cfg_listen;

/* Where a server or location block was defined, so that -T can say which
 * file (of several, with include) each block came from. */
typedef struct {
    char *file; /* the path as the loader opened it; NULL: the command line */
    int line;   /* 1-based line of the block (its first key in YAML) */
} cfg_origin;

/* Location kinds, in nginx's notation: "= /x", "^~ /x", "/x", "~ re", "~* re". */
typedef enum {
    LOC_EXACT,
    LOC_PREFIX,
    LOC_PREFIX_NOREGEX,
    LOC_REGEX,
    LOC_REGEX_ICASE,
} loc_kind;

/* Methods, as a bit set: bit i is cfg_method_names[i]. */
#define CFG_NMETHODS 7
extern const char *const cfg_method_names[CFG_NMETHODS];
enum {
    M_GET = 1u << 0,
    M_HEAD = 1u << 1,
    M_OPTIONS = 1u << 2,
    M_POST = 1u << 3,
    M_PUT = 1u << 4,
    M_DELETE = 1u << 5,
    M_PATCH = 1u << 6,
};

/* Precompressed encodings; a rule lists them in the order of preference.
 * cfg_encoding_names[e] is the Content-Encoding token ("" for 0). */
typedef enum { ENC_ZSTD = 1, ENC_BR, ENC_GZIP } cfg_encoding;
#define CFG_MAX_ENCODINGS 3
extern const char *const cfg_encoding_names[CFG_MAX_ENCODINGS + 1];

/* The "symlinks" setting: what a symlink below a root may do (http/file.c
 * turns it into RESOLVE_* flags). */
enum file_links {
    FILE_LINKS_BENEATH = 0, /* default: a symlink may not leave the root (RESOLVE_BENEATH) */
    FILE_LINKS_ALL,         /* follow any symlink */
    FILE_LINKS_NONE,        /* refuse every symlink (RESOLVE_NO_SYMLINKS) */
};

/* The "status_page" setting: what a location answers with the server's
 * counters (http/status.c), or CFG_STATUS_OFF: its usual content. */
enum cfg_status_page { CFG_STATUS_OFF = 0, CFG_STATUS_STUB, CFG_STATUS_JSON, CFG_STATUS_PROMETHEUS };

/* The "status_page" values, indexed by enum cfg_status_page; NULL-terminated. */
extern const char *const cfg_status_names[5];

/* The "symlinks" values, indexed by enum file_links; NULL-terminated. */
extern const char *const cfg_links_names[4];

/* One add_header entry. Without always it goes only on the success and
 * redirect statuses nginx adds it to (resp_header_applies). */
typedef struct {
    char *name, *value;
    bool always; /* on every response, errors included */
} cfg_header;

/* One allow/deny rule; the first rule that matches the client decides. */
typedef struct {
    bool allow;
    cidr net;
} cfg_acl;

typedef struct {
    int status;
    char *uri; /* served (internal redirect) with the original status */
} cfg_error_page;

/* Which cfg_rules fields a server or location sets itself; the rest it
 * inherits (location from server, server from the built-in defaults). */
enum {
    R_ROOT = 1u << 0,
    R_ALIAS = 1u << 1,
    R_INDEX = 1u << 2,
    R_AUTOINDEX = 1u << 3,
    R_AUTOINDEX_FORMAT = 1u << 4,
    R_METHODS = 1u << 5,
    R_RETURN = 1u << 6,
    R_HEADERS = 1u << 7,
    R_EXPIRES = 1u << 8,
    R_ETAG = 1u << 9,
    R_PRECOMPRESSED = 1u << 10,
    R_ACCESS = 1u << 11,
    R_ERROR_PAGES = 1u << 12,
    R_TRY_FILES = 1u << 13,
    R_LINKS = 1u << 14,
    R_OFFLOAD = 1u << 15,
    R_SENDFILE_CHUNK = 1u << 16,
    R_HIDDEN = 1u << 17,
    R_STATUS_PAGE = 1u << 18,
    R_ACCESS_LOG = 1u << 19,
    R_HEALTH_CHECK = 1u << 20,
    R_LAST_MODIFIED = 1u << 21,
};

/* One access log of a place: a file ("-": stdout) that gets a line of a
 * format for each response whose status is at least min_status. */
typedef struct {
    char *path;
    char *format;     /* a log_formats name; NULL: the built-in "combined" */
    int min_status;   /* 0: every response */
    size_t fmt;       /* index into cfg.log_formats (cfg_validate) */
    size_t set;       /* [0] only: which of cfg.nalog_sets this list is (places inheriting it share it) */
    char *where;      /* "file:line" for messages */
} cfg_alog;

/* A log_formats entry, compiled by cfg_validate (log/format.h); entry 0
 * is always the built-in "combined". */
typedef struct {
    char *name;
    char *format;
    int escape;            /* enum lf_escape: cfg_escape_names */
    char *where;
    struct lf_format *fmt; /* compiled */
} cfg_log_format;

/* The log_formats "escape" values (log/format.h's lf_escape); NULL-terminated. */
extern const char *const cfg_escape_names[4];

#define CFG_EXPIRES_OFF INT64_MIN

/* The per-location rules. Strings and arrays are owned by the server or
 * location that sets them; inherited ones are shared pointers (see `set`). */
typedef struct {
    uint32_t set;           /* R_* bits this level sets itself */
    char *root;             /* document root; the request path is appended */
    char *alias;            /* location only: replaces the location's prefix */
    int dir;                /* index into cfg.dirs of root or alias; -1 none */
    char **index;
    size_t nindex;
    bool autoindex;
    bool autoindex_json;    /* autoindex format: JSON instead of HTML */
    unsigned methods;       /* M_* */
    int return_status;      /* 0: none */
    char *return_text;      /* 3xx: the Location URL; else the body; may hold $vars */
    cfg_header *headers;
    size_t nheaders;
    char *headers_where;    /* "file:line" of the add_header, for cfg_validate */
    int64_t expires;        /* seconds, or CFG_EXPIRES_OFF */
    bool etag;
    bool etag_content;      /* etag = "content": a hash of the bytes (http/etag), the same on every machine */
    uint8_t enc[CFG_MAX_ENCODINGS]; /* precompressed siblings to try, in order */
    size_t nenc;
    cfg_acl *acl;
    size_t nacl;
    cfg_error_page *error_pages;
    size_t nerror_pages;
    char **try_files;       /* paths with $uri; the last may be "=CODE" or a URI */
    size_t ntry_files;
    enum file_links links;
    bool offload_always;    /* send everything through the write queue */
    size_t sendfile_chunk;  /* bytes per sendfile call / queue task */
    bool hidden_allow;      /* hidden = "allow": dotfiles are served; default deny (404) */
    int status_page;        /* enum cfg_status_page */
    cfg_alog *alogs;        /* access logs; none: "off" */
    size_t nalogs;
    bool health_check;      /* answers 200 "ok", 503 while the server drains (-s drain) */
    bool last_modified;     /* "on" (default): Last-Modified, and date preconditions, from the mtime */
} cfg_rules;

typedef struct {
    loc_kind kind;
    char *pattern;   /* path or regex, without the modifier */
    void *re;        /* pcre2_code *, compiled by http_prepare for regexes */
    char *where;     /* "file:line" (":col" in YAML) for messages, or NULL */
    cfg_origin from;
    cfg_rules r;
} cfg_location;

typedef struct {
    char **names;            /* "example.org", "*.example.org"; empty: matches no Host */
    size_t nnames;
    size_t *listens;         /* indexes into cfg.listens; filled by cfg_validate */
    size_t nlistens;
    char **listen_refs;      /* as configured ("addr:port"); none: every listener */
    size_t nlisten_refs;
    /* Certificate chains and their private keys (absolute paths), paired
     * by position: tls_keys[i] is the key of tls_certs[i]. Several pairs
     * (an RSA and an ECDSA one) let OpenSSL pick per client. Set only on
     * servers a TLS listener reaches, and then always (cfg_validate). */
    char **tls_certs;
    size_t ntls_certs;
    char **tls_keys;
    size_t ntls_keys;
    cfg_rules r;
    cfg_location *locs;
    size_t nlocs;
    cidr *real_ip_from;      /* proxies trusted to name the client (http/realip.h); none: off */
    size_t nreal_ip_from;
    char *real_ip_header;    /* the header they name it in; NULL: X-Forwarded-For */
    char *where;             /* as in cfg_location */
    cfg_origin from;
} cfg_server;

/* Make r's access logs the one at path ("off": none), combined format. -1: no memory. */
int cfg_alog_set(cfg_rules *r, const char *path);

/* How the status page names a server: its first name, "" for none. */
static inline const char *cfg_server_label(const cfg_server *s)
{
    return s->nnames ? s->names[0] : "";
}

/* tls_protocols, as a bit set. Nothing older than TLS 1.2 is accepted. */
enum {
    CFG_TLS12 = 1u << 0,
    CFG_TLS13 = 1u << 1,
};

/* The TLS 1.2 cipher list when tls_ciphers is not set (OpenSSL syntax):
 * forward-secret AEAD suites only: Mozilla's "intermediate" profile
 * without its DHE suites. TLS 1.3 suites are OpenSSL's, all AEAD. */
#define CFG_TLS_CIPHERS_DEFAULT                                                                        \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"         \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* HTTP/2 defaults. 128 streams as nginx and the browsers expect;
 * a header list as large as an HTTP/1.1 head may be (max_header_size's
 * default); receive windows at the protocol's own 65,535 bytes: a static
 * server discards request bodies, so a larger window would only invite
 * bytes it throws away. */
#define CFG_H2_STREAMS_DEFAULT 128
#define CFG_H2_HEADER_LIST_DEFAULT 16384
#define CFG_H2_WINDOW_DEFAULT 65535
#define CFG_H2_CONN_WINDOW_DEFAULT 65535

/* The exit status for a configuration that cannot be used (sysexits'
 * EX_CONFIG): systemd's unit does not restart on it (RestartPreventExitStatus). */
#define EP_EXIT_CONFIG 78

/* One generation of settings. Built and validated completely before use,
 * then never modified: workers only read it. */
typedef struct cfg {
    int workers;             /* 0: one per core */
    char *user, *group;      /* workers' identity when started as root; NULL: default */
    int wq_threads;          /* write-queue threads per worker */
    int worker_connections;  /* connections per worker */
    int64_t header_timeout_ms;    /* deadline for a whole request head */
    int64_t keepalive_timeout_ms; /* idle time between requests */
    int64_t send_timeout_ms;      /* longest time without send progress */
    int64_t lingering_time_ms;    /* a closing connection drains the client's input this long */
    int64_t shutdown_timeout_ms;  /* after a reload: longest an old worker may finish its work */
    int64_t stop_timeout_ms;      /* graceful stop (QUIT): longest responses in flight may take */
    int64_t drain_delay_ms;       /* -s drain: health checks answer 503 this long before the graceful stop */
    size_t max_header_size;  /* request head bytes; more → 431 */
    size_t max_uri_len;      /* request-target bytes; more → 414 */
    int64_t max_body_size;   /* request body bytes; more → 413 */
    int keepalive_requests;  /* requests per connection before it is closed */
    size_t small_file_max;   /* files up to this size are read and sent with the head */
    int open_file_cache;     /* entries per worker; 0 = off */
    int64_t open_file_cache_valid_ms; /* unwatched entries trusted this long; 0: checked per hit */
    int64_t open_file_cache_inactive_ms; /* entries unused this long are closed; 0: never */
    size_t open_file_cache_memory;    /* small files' bodies kept, bytes per worker */
    char *mime_types;        /* file of "type ext..." lines; NULL: the built-in table */
    char *default_type;
    char *error_log;
    enum log_level log_level;
    cfg_log_format *log_formats; /* [0]: "combined"; then log_formats as written */
    size_t nlog_formats;
    size_t nalog_sets;           /* places with access logs of their own (cfg_alog.set) */
    char *pid_file;          /* NULL: none */
    /* TLS, one value for the generation: protocol version and cipher are
     * negotiated before SNI picks a server. A file may set them only
     * when some listener has tls (conf_apply). */
    unsigned tls_protocols;  /* CFG_TLS12 | CFG_TLS13 */
    char *tls_ciphers;       /* TLS 1.2 suites, OpenSSL syntax; NULL: CFG_TLS_CIPHERS_DEFAULT */
    char *tls_ciphers_where; /* "file:line" of tls_ciphers, for OpenSSL's verdict on it; NULL: none */
    bool tls_session_tickets; /* resumption by tickets (keys shared by the workers) */
    bool tls_ktls;           /* kernel TLS for sending files, when the kernel offers it */
    /* HTTP/2, one value for the generation (SETTINGS go out before a
     * request names a server). */
    uint32_t http2_max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS */
    uint32_t http2_max_header_list_size;   /* SETTINGS_MAX_HEADER_LIST_SIZE, bytes */
    uint32_t http2_initial_window_size;    /* SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window */
    uint32_t http2_connection_window_size; /* the connection's receive window */
    cfg_listen *listens;
    size_t nlistens;
    cfg_server *servers;
    size_t nservers;
    struct mime_table *mime; /* by http_prepare: from mime_types, else the built-in table */
    /* Set by http_prepare (http/prepare.c): frees what it compiled and
     * loaded, so that cfg_free needs nothing from http/. */
    void (*unprepare)(struct cfg *c);
    char **dirs;             /* distinct root and alias directories; filled by cfg_validate */
    size_t ndirs;
    char *source;            /* the file it was read from; NULL: command line */
} cfg;

/* Built-in defaults for server-level rules (what a location inherits when
 * neither it nor its server sets a rule). */
void cfg_rules_defaults(cfg_rules *r);

/* A model with every default filled in and one listener (0.0.0.0:8080) and
 * one server (root NULL). NULL when out of memory. */
cfg *cfg_new(void);
void cfg_free(cfg *c);
/* Frees every server (for a config file replacing the command line's). */
void cfg_free_servers(cfg *c);

/* String setters that copy; return -1 when out of memory. */
int cfg_set_str(char **field, const char *value);

/* Check the model as a whole, resolve listener references and default
 * servers, compile regexes and collect cfg.dirs; on error write one line into
 * err and return -1. */
int cfg_validate(cfg *c, char *err, size_t errlen);

/* True when two numeric addresses are the same address ("::1" and
 * "0:0::1" are; an IPv4 and an IPv6 address never are). */
bool cfg_same_addr(const char *a, const char *b);

/* Number of workers to start: workers, or the number of online cores. */
int cfg_worker_count(const cfg *c);

/* Descriptors one worker's connections may hold: a socket and a file
 * each, plus listeners, logs and the worker's own (the open-file cache
 * comes on top: the master warns when the limit lacks room for it, the
 * worker keeps its cache within what is left). */
static inline uint64_t cfg_conn_fds(const cfg *c)
{
    return (uint64_t)c->worker_connections * 2 + c->nlistens + c->nservers + 64;
}

#endif
