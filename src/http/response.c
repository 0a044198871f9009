/* http/response.c: response heads written with memcpy and a hand-rolled integer formatter. */
#include "http/response.h"

#include <stdio.h>
#include <string.h>

#include "util/time.h"

struct status_text {
    int code;
    const char *reason;
    const char *body;
};

#define ERR_BODY(code, text)                                                                 \
    "<html>\r\n<head><title>" #code " " text "</title></head>\r\n<body>\r\n<center><h1>" #code \
    " " text "</h1></center>\r\n<hr><center>ephttpd</center>\r\n</body>\r\n</html>\r\n"

static const struct status_text statuses[] = {
    { 100, "Continue", NULL },
    { 200, "OK", NULL },
    { 201, "Created", NULL },
    { 202, "Accepted", NULL },
    { 203, "Non-Authoritative Information", NULL },
    { 204, "No Content", NULL },
    { 205, "Reset Content", NULL },
    { 206, "Partial Content", NULL },
    { 300, "Multiple Choices", ERR_BODY(300, "Multiple Choices") },
    { 301, "Moved Permanently", ERR_BODY(301, "Moved Permanently") },
    { 302, "Found", ERR_BODY(302, "Found") },
    { 303, "See Other", ERR_BODY(303, "See Other") },
    { 304, "Not Modified", NULL },
    { 307, "Temporary Redirect", ERR_BODY(307, "Temporary Redirect") },
    { 308, "Permanent Redirect", ERR_BODY(308, "Permanent Redirect") },
    { 400, "Bad Request", ERR_BODY(400, "Bad Request") },
    { 401, "Unauthorized", ERR_BODY(401, "Unauthorized") },
    { 402, "Payment Required", ERR_BODY(402, "Payment Required") },
    { 403, "Forbidden", ERR_BODY(403, "Forbidden") },
    { 404, "Not Found", ERR_BODY(404, "Not Found") },
    { 405, "Method Not Allowed", ERR_BODY(405, "Method Not Allowed") },
    { 406, "Not Acceptable", ERR_BODY(406, "Not Acceptable") },
    { 407, "Proxy Authentication Required", ERR_BODY(407, "Proxy Authentication Required") },
    { 408, "Request Timeout", ERR_BODY(408, "Request Timeout") },
    { 409, "Conflict", ERR_BODY(409, "Conflict") },
    { 410, "Gone", ERR_BODY(410, "Gone") },
    { 411, "Length Required", ERR_BODY(411, "Length Required") },
    { 412, "Precondition Failed", ERR_BODY(412, "Precondition Failed") },
    { 413, "Content Too Large", ERR_BODY(413, "Content Too Large") },
    { 414, "URI Too Long", ERR_BODY(414, "URI Too Long") },
    { 415, "Unsupported Media Type", ERR_BODY(415, "Unsupported Media Type") },
    { 416, "Range Not Satisfiable", ERR_BODY(416, "Range Not Satisfiable") },
    { 417, "Expectation Failed", ERR_BODY(417, "Expectation Failed") },
    { 418, "I'm a teapot", ERR_BODY(418, "I'm a teapot") },
    { 421, "Misdirected Request", ERR_BODY(421, "Misdirected Request") },
    { 422, "Unprocessable Content", ERR_BODY(422, "Unprocessable Content") },
    { 423, "Locked", ERR_BODY(423, "Locked") },
    { 424, "Failed Dependency", ERR_BODY(424, "Failed Dependency") },
    { 425, "Too Early", ERR_BODY(425, "Too Early") },
    { 426, "Upgrade Required", ERR_BODY(426, "Upgrade Required") },
    { 428, "Precondition Required", ERR_BODY(428, "Precondition Required") },
    { 429, "Too Many Requests", ERR_BODY(429, "Too Many Requests") },
    { 431, "Request Header Fields Too Large", ERR_BODY(431, "Request Header Fields Too Large") },
    { 451, "Unavailable For Legal Reasons", ERR_BODY(451, "Unavailable For Legal Reasons") },
    { 500, "Internal Server Error", ERR_BODY(500, "Internal Server Error") },
    { 501, "Not Implemented", ERR_BODY(501, "Not Implemented") },
    { 502, "Bad Gateway", ERR_BODY(502, "Bad Gateway") },
    { 503, "Service Unavailable", ERR_BODY(503, "Service Unavailable") },
    { 504, "Gateway Timeout", ERR_BODY(504, "Gateway Timeout") },
    { 505, "HTTP Version Not Supported", ERR_BODY(505, "HTTP Version Not Supported") },
    { 506, "Variant Also Negotiates", ERR_BODY(506, "Variant Also Negotiates") },
    { 507, "Insufficient Storage", ERR_BODY(507, "Insufficient Storage") },
    { 508, "Loop Detected", ERR_BODY(508, "Loop Detected") },
    { 510, "Not Extended", ERR_BODY(510, "Not Extended") },
    { 511, "Network Authentication Required", ERR_BODY(511, "Network Authentication Required") },
};

static const struct status_text *find_status(int code)
{
    for (size_t i = 0; i < EP_ARRAY_LEN(statuses); i++)
        if (statuses[i].code == code)
            return &statuses[i];
    return NULL;
}

const char *resp_reason(int status)
{
    const struct status_text *s = find_status(status);
    return s ? s->reason : "Unknown";
}

/* A status of its own (a "return" or "=CODE" the table does not name) gets
 * its class's page, whose title carries no number that could contradict
 * the status line. */
#define CLASS_BODY(text)                                                                           \
    "<html>\r\n<head><title>" text "</title></head>\r\n<body>\r\n<center><h1>" text                 \
    "</h1></center>\r\n<hr><center>ephttpd</center>\r\n</body>\r\n</html>\r\n"

const char *resp_error_body(int status, size_t *len)
{
    static const char *const classes[] = { CLASS_BODY("Redirection"), CLASS_BODY("Client Error"),
                                           CLASS_BODY("Server Error") };
    const struct status_text *s = find_status(status);
    const char *body = s && s->body ? s->body
                       : status >= 300 && status < 600 ? classes[status / 100 - 3]
                                                       : find_status(500)->body;
    *len = strlen(body);
    return body;
}

const char *resp_allow(unsigned methods, char *buf, size_t len)
{
    if (methods & M_GET)
        methods |= M_HEAD;
    buf[0] = '\0';
    for (size_t i = 0; i < CFG_NMETHODS; i++)
        if (methods & (1u << i))
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", cfg_method_names[i]);
    return buf;
}

/* Appends with bounds checks folded into one flag, so the writer stays
 * linear. One writer serves both forms of a head: HTTP/1.1 text, and
 * HTTP/2 fields (nv set), whose names and values it writes into the same
 * buffer and points the entries at. */
typedef struct {
    char *p, *end;
    bool overflow;
    resp_nv *nv;       /* NULL: HTTP/1.1 text */
    size_t nnv, nvcap;
} wbuf;

static void put(wbuf *w, const char *s, size_t n)
{
    if (n == 0)
        return;
    if ((size_t)(w->end - w->p) < n) {
        w->overflow = true;
        return;
    }
    memcpy(w->p, s, n);
    w->p += n;
}

/* HTTP/2: the next entry, or NULL (and overflow) when they are all taken. */
static resp_nv *nv_next(wbuf *w)
{
    if (w->nnv == w->nvcap) {
        w->overflow = true;
        return NULL;
    }
    return &w->nv[w->nnv++];
}

/* Start a field: "\r\nName: " in text; in HTTP/2 the name in lower case
 * (RFC 9113 8.2.1) and an entry whose value starts here. */
static void field(wbuf *w, const char *name, size_t len)
{
    if (!w->nv) {
        put(w, "\r\n", 2);
        put(w, name, len);
        put(w, ": ", 2);
        return;
    }
    if ((size_t)(w->end - w->p) < len) {
        w->overflow = true;
        return;
    }
    resp_nv *e = nv_next(w);
    if (!e)
        return;
    e->name = w->p;
    e->nlen = len;
    for (size_t i = 0; i < len; i++)
        w->p[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    w->p += len;
    e->value = w->p;
}

/* The field's value ends here (HTTP/2: its entry gets the length). */
static void field_end(wbuf *w)
{
    if (w->nv && w->nnv && !w->overflow)
        w->nv[w->nnv - 1].vlen = (size_t)(w->p - w->nv[w->nnv - 1].value);
}

/* A field whose name is a literal: HTTP/2's entry points at its lower-case
 * spelling, given beside it, instead of a copy made letter by letter. */
static void field_lit(wbuf *w, const char *name, const char *lname, size_t len)
{
    if (!w->nv) {
        field(w, name, len);
        return;
    }
    resp_nv *e = nv_next(w);
    if (e)
        *e = (resp_nv){ .name = lname, .nlen = len, .value = w->p };
}

#define FIELD(w, name, lname) field_lit((w), (name), (lname), sizeof(name) - 1)

#define PUT_LIT(w, s) put((w), (s), sizeof(s) - 1)

static void put_str(wbuf *w, const char *s) { put(w, s, strlen(s)); }

static void put_u64(wbuf *w, uint64_t v, int base)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[24];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = digits[v % (unsigned)base];
        v /= (unsigned)base;
    } while (v);
    put(w, tmp + i, sizeof tmp - (size_t)i);
}

/* What a path keeps as it is in a Location (RFC 3986 pchar and '/'):
 * unreserved, sub-delims, ':' and '@'. Everything else is percent-encoded,
 * '%' and the backslash included, so the path reads back as the same bytes. */
static bool path_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("-._~!$&'()*+,;=:@/", ch));
}

/* A decoded path, percent-encoded. A '/' right after the leading one is
 * encoded too: "//host" would be a network-path reference, a redirect to
 * another host (a normalised path never has it; this holds whatever comes). */
static void put_path(wbuf *w, const char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* bytes that need no escape, written in one put */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (path_char(ch) && !(i == 1 && ch == '/' && p[0] == '/')) {
            run++;
            continue;
        }
        put(w, p + i - run, run);
        run = 0;
        char esc[3] = { '%', hex[ch >> 4], hex[ch & 15] };
        put(w, esc, 3);
    }
    put(w, p + n - run, run);
}

bool resp_header_applies(const cfg_header *h, int status)
{
    switch (status) {
    case 200: case 201: case 204: case 206:
    case 301: case 302: case 303: case 304: case 307: case 308:
        return true;
    default:
        return h->always;
    }
}

size_t resp_extra_size(const cfg_header *h, size_t n)
{
    size_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += strlen(h[i].name) + strlen(h[i].value) + 4; /* "\r\n" name ": " value */
    return sum;
}

size_t resp_head_max(size_t ctype_max, size_t location_max, size_t extra)
{
    return RESP_HEAD_FIXED + ctype_max + location_max + extra;
}

/* Last-Modified, and the ETag that goes with it. */
static void put_validators(wbuf *w, const resp_fields *f)
{
    if (f->last_modified < 0)
        return;
    if (!f->no_last_modified) {
        char buf[TIME_HTTP_LEN + 1];
        const char *lm = buf;
        if (f->dates)
            lm = time_http_date_memo(f->dates, f->last_modified);
        else
            time_http_date(f->last_modified, buf);
        FIELD(w, "Last-Modified", "last-modified");
        put(w, lm, TIME_HTTP_LEN);
        field_end(w);
    }
    if (f->etag_size >= 0 && f->etag_text) {
        FIELD(w, "ETag", "etag");
        put(w, f->etag_text, strlen(f->etag_text));
        field_end(w);
    } else if (f->etag_size >= 0) {
        /* nginx's format: hex mtime, '-', hex size. */
        FIELD(w, "ETag", "etag");
        PUT_LIT(w, "\"");
        put_u64(w, (uint64_t)f->last_modified, 16);
        PUT_LIT(w, "-");
        put_u64(w, (uint64_t)f->etag_size, 16);
        PUT_LIT(w, "\"");
        field_end(w);
    }
}

static void put_location(wbuf *w, const resp_fields *f)
{
    if (!f->location.p) /* an empty one is written: a "return" whose URL expanded to nothing */
        return;
    FIELD(w, "Location", "location");
    if (f->location_encode)
        put_path(w, f->location.p, f->location.len);
    else
        put(w, f->location.p, f->location.len);
    put(w, f->location_suffix.p, f->location_suffix.len);
    if (f->location_query.len) {
        PUT_LIT(w, "?");
        put(w, f->location_query.p, f->location_query.len);
    }
    field_end(w);
}

static void put_field_str(wbuf *w, const char *name, size_t nlen, const char *value)
{
    field(w, name, nlen);
    put_str(w, value);
    field_end(w);
}

/* A literal name and a value that outlives the response (a literal, the
 * generation's configuration): HTTP/2's entry points at both, no copies. */
static void put_field_const(wbuf *w, const char *name, const char *lname, size_t nlen, const char *value)
{
    if (!w->nv) {
        put_field_str(w, name, nlen, value);
        return;
    }
    resp_nv *e = nv_next(w);
    if (e)
        *e = (resp_nv){ .name = lname, .nlen = nlen, .value = value, .vlen = strlen(value) };
}

#define FIELD_STR(w, name, lname, value) put_field_const((w), (name), (lname), sizeof(name) - 1, (value))

/* Every field after Server and Date, in one order for both forms. */
static void put_fields(wbuf *w, int status, const resp_fields *f)
{
    if (f->content_type)
        FIELD_STR(w, "Content-Type", "content-type", f->content_type);
    /* A 1xx or 204 has no body and must not say it has one (RFC 9110 8.6). */
    if (f->content_length >= 0 && status >= 200 && status != 204) {
        FIELD(w, "Content-Length", "content-length");
        put_u64(w, (uint64_t)f->content_length, 10);
        field_end(w);
    }
    put_validators(w, f);
    put_location(w, f);
    if (f->content_range.len) {
        FIELD(w, "Content-Range", "content-range");
        put(w, f->content_range.p, f->content_range.len);
        field_end(w);
    }
    if (f->accept_ranges)
        FIELD_STR(w, "Accept-Ranges", "accept-ranges", "bytes");
    if (f->allow)
        FIELD_STR(w, "Allow", "allow", f->allow);
    if (f->content_encoding)
        FIELD_STR(w, "Content-Encoding", "content-encoding", f->content_encoding);
    if (f->vary_encoding)
        FIELD_STR(w, "Vary", "vary", "Accept-Encoding");
    if (f->max_age >= 0) {
        char exp[TIME_HTTP_LEN + 1];
        time_http_date(f->now + (time_t)f->max_age, exp);
        FIELD(w, "Expires", "expires");
        put(w, exp, TIME_HTTP_LEN);
        field_end(w);
        FIELD(w, "Cache-Control", "cache-control");
        PUT_LIT(w, "max-age=");
        put_u64(w, (uint64_t)f->max_age, 10);
        field_end(w);
    } else if (f->no_store) {
        FIELD_STR(w, "Cache-Control", "cache-control", "no-store");
    }
    for (size_t i = 0; i < f->nextra; i++)
        if (resp_header_applies(&f->extra[i], status))
            put_field_str(w, f->extra[i].name, strlen(f->extra[i].name), f->extra[i].value);
}

size_t resp_head(char *buf, size_t cap, int status, const resp_fields *f)
{
    wbuf w = { buf, buf + cap, false, NULL, 0, 0 };
    char code[4] = { (char)('0' + status / 100), (char)('0' + status / 10 % 10),
                     (char)('0' + status % 10), ' ' };
    PUT_LIT(&w, "HTTP/1.1 ");
    put(&w, code, 4);
    put_str(&w, resp_reason(status));
    PUT_LIT(&w, "\r\nServer: ephttpd\r\nDate: ");
    put(&w, f->date, TIME_HTTP_LEN);
    put_fields(&w, status, f);
    if (f->keep_alive)
        PUT_LIT(&w, "\r\nConnection: keep-alive\r\n\r\n");
    else
        PUT_LIT(&w, "\r\nConnection: close\r\n\r\n");
    return w.overflow ? 0 : (size_t)(w.p - buf);
}

size_t resp_fields_h2(char *buf, size_t cap, int status, const resp_fields *f, resp_nv *nv, size_t nvcap)
{
    wbuf w = { buf, buf + cap, false, nv, 0, nvcap };
    char code[3] = { (char)('0' + status / 100), (char)('0' + status / 10 % 10), (char)('0' + status % 10) };
    FIELD(&w, ":status", ":status");
    put(&w, code, 3);
    field_end(&w);
    FIELD_STR(&w, "Server", "server", "ephttpd");
    FIELD(&w, "Date", "date");
    put(&w, f->date, TIME_HTTP_LEN);
    field_end(&w);
    put_fields(&w, status, f);
    return w.overflow ? 0 : w.nnv;
}
