/* config/model.h: the settings model: plain structs filled by the CLI or a config file. */
#ifndef EP_CONFIG_MODEL_H
#define EP_CONFIG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/file.h"
#include "log/log.h"

typedef struct {
    char *addr;   /* numeric IPv4 or IPv6 address, "0.0.0.0" or "::" for all */
    uint16_t port;
    int backlog;
} cfg_listen;

typedef struct {
    char *root;             /* document root directory */
    char **index;           /* index file names, tried in order */
    size_t nindex;
    char *access_log;       /* path, "-" (stdout) or "off" */
    enum file_links links;  /* symlink policy */
} cfg_server;

/* One generation of settings. Built and validated completely before use,
 * then never modified: workers only read it. */
typedef struct {
    int workers;             /* 0: one per core */
    int wq_threads;          /* write-queue threads per worker */
    int worker_connections;  /* connections per worker */
    int64_t header_timeout_ms;    /* deadline for a whole request head */
    int64_t keepalive_timeout_ms; /* idle time between requests */
    int64_t send_timeout_ms;      /* longest time without send progress */
    size_t max_header_size;  /* request head bytes; more → 431 */
    size_t max_uri_len;      /* request-target bytes; more → 414 */
    int64_t max_body_size;   /* request body bytes; more → 413 */
    int keepalive_requests;  /* requests per connection before it is closed */
    size_t small_file_max;   /* files up to this size are read and sent with the head */
    bool offload_always;     /* every lookup, read and send goes to the write queue, even when
                              * the page cache says it would not block (for filesystems whose
                              * cache probes cannot be trusted, and for testing the queue) */
    char *error_log;
    enum log_level log_level;
    char *pid_file;          /* NULL: none */
    cfg_listen *listens;
    size_t nlistens;
    cfg_server *servers;
    size_t nservers;
} cfg;

/* A model with every default filled in and one listener (0.0.0.0:8080) and
 * one server (root NULL). NULL when out of memory. */
cfg *cfg_new(void);
void cfg_free(cfg *c);

/* String setters that copy; return -1 when out of memory. */
int cfg_set_str(char **field, const char *value);

/* Check the model as a whole; on error write one line into err and return -1. */
int cfg_validate(const cfg *c, char *err, size_t errlen);

/* Number of workers to start: workers, or the number of online cores. */
int cfg_worker_count(const cfg *c);

#endif
