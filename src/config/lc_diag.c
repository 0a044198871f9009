/* config/lc_diag.c: re-reads libconfig text with its grammar: what is wrong in refused text, and the integers and open comments libconfig reads silently wrong. */
#include "config/lc_diag.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

#include "util/grow.h"

/* ---- tokens, as libconfig 1.5's scanner cuts them ------------------------ */

typedef enum {
    K_EOF,
    K_NAME,  /* [A-Za-z*][-A-Za-z0-9_*]* */
    K_VALUE, /* number or boolean */
    K_STR,   /* a quoted string */
    K_OPEN,  /* an unterminated string: runs to the end of the text */
    K_WORD,  /* anything else up to a delimiter: unquoted text */
    K_PUNCT, /* one of = : ; , { } [ ] ( ) */
} kind;

typedef struct {
    kind k;
    char c;          /* K_PUNCT: the character */
    const char *p;   /* the token's text */
    size_t len;
    int line, end;   /* where it starts and ends (strings may span lines) */
} token;

typedef struct {
    const char *text; /* the start, for what begins a line */
    const char *s;
    int line;
    token t, prev;        /* the current token and the one before */
    int runon_line;       /* first string that spans lines: its start, or 0 */
    int runon_end;
    int open_comment;     /* a block comment never closed: its line, or 0 */
    lc_scan_result *scan; /* lc_scan: where @include lines go */
    size_t capincs;
    bool oom;
    bool failed;
    int at;               /* the line to report */
    char *msg;
    size_t msglen;
} lexer;

static bool is_delim(const char *s)
{
    return !*s || isspace((unsigned char)*s) || strchr("=:;,{}[]()\"#", *s) ||
           (s[0] == '/' && (s[1] == '/' || s[1] == '*'));
}

/* Notes the file an @include line names, for lc_scan. */
static void note_include(lexer *x)
{
    const char *p = x->s + 8, *q;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '"' || !(q = strpbrk(p + 1, "\"\n")) || *q != '"')
        return; /* not an @include libconfig would take: it said nothing */
    lc_scan_result *r = x->scan;
    if (ep_grow((void **)&r->incs, &x->capincs, r->nincs, 1, sizeof *r->incs) < 0) {
        x->oom = true;
        return;
    }
    r->incs[r->nincs++] = (lc_int){ p + 1, (size_t)(q - p - 1), x->line };
}

/* libconfig takes @include only first on its line (after blanks). */
static bool at_line_start(const lexer *x)
{
    const char *p = x->s;
    while (p > x->text && (p[-1] == ' ' || p[-1] == '\t'))
        p--;
    return p == x->text || p[-1] == '\n';
}

/* Whitespace and the three comment forms; an unclosed block comment ends
 * the text, as it does for libconfig (which says nothing of it: noted). */
static void skip_blank(lexer *x)
{
    for (;;) {
        while (isspace((unsigned char)*x->s))
            x->line += *x->s++ == '\n';
        if (*x->s == '#' || (x->s[0] == '/' && x->s[1] == '/')) {
            while (*x->s && *x->s != '\n')
                x->s++;
        } else if (x->s[0] == '/' && x->s[1] == '*') {
            const char *e = strstr(x->s + 2, "*/");
            if (!e && !x->open_comment)
                x->open_comment = x->line;
            const char *stop = e ? e + 2 : x->s + strlen(x->s);
            for (; x->s < stop; x->s++)
                x->line += *x->s == '\n';
        } else if (strncmp(x->s, "@include", 8) == 0) {
            if (x->scan && at_line_start(x))
                note_include(x);
            while (*x->s && *x->s != '\n')
                x->s++; /* libconfig reads the file it names: not ours to check */
        } else {
            return;
        }
    }
}

static bool all_match(const char *p, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, p[i]))
            return false;
    return n > 0;
}

/* A number (decimal, hex, float, with an optional L) or true/false. */
static bool is_value(const char *p, size_t n)
{
    if ((n == 4 && strncasecmp(p, "true", 4) == 0) || (n == 5 && strncasecmp(p, "false", 5) == 0))
        return true;
    size_t i = (*p == '-' || *p == '+') ? 1 : 0;
    if (i >= n || !(isdigit((unsigned char)p[i]) || p[i] == '.'))
        return false; /* "e5" is a name */
    while (n > i && p[n - 1] == 'L')
        n--;
    if (n - i > 2 && p[i] == '0' && (p[i + 1] == 'x' || p[i + 1] == 'X'))
        return all_match(p + i + 2, n - i - 2, "0123456789abcdefABCDEF");
    bool digit = false;
    for (size_t j = i; j < n; j++) {
        if (isdigit((unsigned char)p[j]))
            digit = true;
        else if (!strchr(".eE+-", p[j]))
            return false;
    }
    return digit;
}

/* The length of an exponent ([eE][-+]?[0-9]+) at s, or 0. */
static size_t exponent(const char *s)
{
    size_t k = 1;
    if (*s != 'e' && *s != 'E')
        return 0;
    if (s[k] == '+' || s[k] == '-')
        k++;
    if (!isdigit((unsigned char)s[k]))
        return 0;
    while (isdigit((unsigned char)s[k]))
        k++;
    return k;
}

/* The longest prefix of s that libconfig 1.5's scanner takes as a number:
 * [-+]?[0-9]+(L|LL)?, 0[Xx][0-9A-Fa-f]+(L|LL)?, or a float. Its scanner
 * (flex) cuts "000000sk" into 000000 and sk, with no delimiter between,
 * and its grammar needs no ';' between settings: "a = 1b = 2;" is two of
 * them. 0 when s starts no number. */
static size_t number_prefix(const char *s)
{
    size_t best = 0, n;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) {
        for (n = 3; isxdigit((unsigned char)s[n]);)
            n++;
        best = n + (s[n] == 'L') + (s[n] == 'L' && s[n + 1] == 'L');
    }
    size_t i = (s[0] == '-' || s[0] == '+'), d = i;
    while (isdigit((unsigned char)s[d]))
        d++;
    if (d > i) {
        n = d + (s[d] == 'L') + (s[d] == 'L' && s[d + 1] == 'L');
        best = n > best ? n : best;
    }
    n = 0;
    if (s[d] == '.') {
        size_t g = d + 1;
        while (isdigit((unsigned char)s[g]))
            g++;
        n = g + exponent(s + g);
    } else if (d > i && exponent(s + d)) {
        n = d + exponent(s + d);
    }
    return n > best ? n : best;
}

static void string_token(lexer *x, token *t)
{
    const char *p = x->s + 1;
    int line = x->line;
    while (*p && *p != '"') {
        if (*p == '\\' && p[1])
            p++;
        line += *p++ == '\n';
    }
    t->k = *p ? K_STR : K_OPEN;
    x->s = *p ? p + 1 : p;
    t->len = (size_t)(x->s - t->p);
    t->end = x->line = line;
    if (t->end > t->line && !x->runon_line) {
        x->runon_line = t->line;
        x->runon_end = t->end;
    }
}

/* Moves to the next token; true, so that callers can return it. */
static bool next(lexer *x)
{
    x->prev = x->t;
    skip_blank(x);
    token *t = &x->t;
    memset(t, 0, sizeof *t);
    t->p = x->s;
    t->line = t->end = x->line;
    if (!*x->s) {
        t->k = K_EOF;
    } else if (*x->s == '"') {
        string_token(x, t);
    } else if (strchr("=:;,{}[]()", *x->s)) {
        t->k = K_PUNCT;
        t->c = *x->s++;
        t->len = 1;
    } else {
        while (!is_delim(x->s))
            x->s++;
        t->len = (size_t)(x->s - t->p);
        /* lc_scan must cut numbers as libconfig does; lc_diagnose keeps
         * the whole word, to quote it ("12abc is not quoted"). */
        size_t num = x->scan && !isalpha((unsigned char)*t->p) ? number_prefix(t->p) : 0;
        if (num > 0 && num < t->len) {
            t->len = num;
            x->s = t->p + num;
        }
        if (is_value(t->p, t->len))
            t->k = K_VALUE;
        else if ((isalpha((unsigned char)*t->p) || *t->p == '*') &&
                 all_match(t->p, t->len, "-_*abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
            t->k = K_NAME;
        else
            t->k = K_WORD;
    }
    return true;
}

static bool is(const lexer *x, char c)
{
    return x->t.k == K_PUNCT && x->t.c == c;
}

/* ---- the report ---------------------------------------------------------- */

/* How a token reads in a message: its text (shortened), or what it is. */
static const char *shown(const token *t, char *buf, size_t size)
{
    if (t->k == K_EOF)
        return "the end of the file";
    if (t->k == K_OPEN)
        return "an unterminated string";
    size_t n = t->len < 40 ? t->len : 40;
    size_t i = 0;
    bool quote = t->k == K_PUNCT;
    if (quote)
        buf[i++] = '\'';
    for (size_t j = 0; j < n && i + 5 < size; j++)
        buf[i++] = (unsigned char)t->p[j] < 0x20 ? ' ' : t->p[j];
    if (n < t->len)
        i += (size_t)snprintf(buf + i, size - i, "...");
    if (quote)
        buf[i++] = '\'';
    buf[i] = '\0';
    return buf;
}

static bool fail(lexer *x, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the first error only; false, so that callers can return it. */
static bool fail(lexer *x, int line, const char *fmt, ...)
{
    if (x->failed)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->msg, x->msglen, fmt, ap);
    va_end(ap);
    x->failed = true;
    x->at = line;
    return false;
}

static char closer_of(char open)
{
    return open == '{' ? '}' : open == '[' ? ']' : ')';
}

/* What stops a bracket opened at line `open_line`: EOF, or a closer of
 * another kind. The missing closer belongs after the last thing inside, so
 * the opening line says which bracket it is. */
static bool unclosed(lexer *x, char open, int open_line, const char *name)
{
    char buf[64];
    const char *of = name ? " of \"" : "", *nm = name ? name : "", *q = name ? "\"" : "";
    if (x->t.k == K_EOF)
        return fail(x, open_line, "the '%c'%s%s%s opened on this line is never closed; expected '%c'",
             open, of, nm, q, closer_of(open));
    return fail(x, open_line, "the '%c'%s%s%s opened on this line is still open at %s on line %d; "
             "expected '%c'", open, of, nm, q, shown(&x->t, buf, sizeof buf), x->t.line, closer_of(open));
}

static bool is_closer(const lexer *x)
{
    return x->t.k == K_PUNCT && strchr("}])", x->t.c);
}

/* ---- the grammar --------------------------------------------------------- */

static bool value(lexer *x, const char *name, int depth);

static bool settings(lexer *x, char open, int open_line, int depth);

/* "[ scalar, ... ]" or "( value, ... )", after its opening bracket. */
static bool elements(lexer *x, char open, int open_line, const char *name, int depth)
{
    char close = closer_of(open), buf[64];
    next(x);
    if (is(x, close))
        return next(x);
    for (;;) {
        if (open == '[' && x->t.k == K_PUNCT && strchr("{([", x->t.c))
            return fail(x, x->t.line, "\"%s\": an array [ ] holds only strings, numbers or booleans; "
                        "expected ( ) around a list of groups or lists", name);
        if (!value(x, name, depth + 1))
            return false;
        if (is(x, close))
            return next(x);
        if (is_closer(x) || x->t.k == K_EOF)
            return unclosed(x, open, open_line, name);
        if (!is(x, ','))
            return fail(x, x->prev.end, "missing ',' after this element of \"%s\"? (then %s on line %d); "
                        "expected ',' or '%c'", name, shown(&x->t, buf, sizeof buf), x->t.line, close);
        next(x);
        if (is(x, close))
            return fail(x, x->prev.line, "\"%s\": trailing ',' before '%c' (libconfig allows none); "
                        "expected another element after ','", name, close);
    }
}

/* A YAML file read as libconfig: "name:" and then a list item or a key. */
static bool looks_yaml(const lexer *x, bool colon)
{
    return colon && x->t.line > x->prev.line &&
           ((x->t.k == K_WORD && x->t.p[0] == '-') || x->t.k == K_NAME);
}

static bool no_value(lexer *x, const char *name, bool colon)
{
    char buf[64];
    const char *yaml = colon ? " (YAML? this file is read as libconfig)" : "";
    if (looks_yaml(x, colon))
        return fail(x, x->prev.line, "\"%s\": no value after ':'%s; expected %s = value;", name, yaml, name);
    if (x->t.k == K_NAME || x->t.k == K_WORD)
        return fail(x, x->t.line, "\"%s\": %s is not quoted%s; expected \"%.*s\", a number, "
                    "true/false, [ ], ( ) or { }", name, shown(&x->t, buf, sizeof buf), yaml,
                    (int)(x->t.len < 40 ? x->t.len : 40), x->t.p);
    return fail(x, x->prev.line, "\"%s\" has no value (found %s); expected a value after '%c'", name,
         shown(&x->t, buf, sizeof buf), colon ? ':' : '=');
}

static bool value(lexer *x, const char *name, int depth)
{
    if (depth > 200)
        return fail(x, x->t.line, "nesting too deep");
    bool colon = x->prev.k == K_PUNCT && x->prev.c == ':';
    if (x->t.k == K_VALUE)
        return next(x);
    if (x->t.k == K_STR) {
        while (x->t.k == K_STR)
            next(x); /* adjacent strings are one */
        return true;
    }
    if (x->t.k == K_OPEN)
        return fail(x, x->t.line, "the string opened on this line is never closed; expected '\"'");
    if (is(x, '{') || is(x, '[') || is(x, '(')) {
        char open = x->t.c;
        int line = x->t.line;
        if (open != '{')
            return elements(x, open, line, name, depth);
        next(x);
        return settings(x, '{', line, depth + 1);
    }
    return no_value(x, name, colon);
}

/* One setting, from its name to its optional ';' or ','. */
static bool setting(lexer *x, int depth)
{
    char name[64], buf[64];
    snprintf(name, sizeof name, "%.*s", (int)x->t.len, x->t.p);
    next(x);
    if (!is(x, '=') && !is(x, ':'))
        return fail(x, x->prev.line, "\"%s\": missing '='? (found %s); expected %s = value;", name,
                    shown(&x->t, buf, sizeof buf), name);
    next(x);
    if (!value(x, name, depth))
        return false;
    if (is(x, ';') || is(x, ','))
        next(x);
    return true;
}

/* Settings up to the closing '}' (or the end of the text at the top). */
static bool settings(lexer *x, char open, int open_line, int depth)
{
    char buf[64];
    while (!x->failed) {
        if (x->t.k == K_NAME) {
            setting(x, depth);
        } else if (open && is(x, '}')) {
            return next(x);
        } else if (!open && x->t.k == K_EOF) {
            return true;
        } else if (open && (is_closer(x) || x->t.k == K_EOF)) {
            return unclosed(x, open, open_line, NULL);
        } else if (!open && is_closer(x)) {
            return fail(x, x->t.line, "%s closes nothing (no bracket is open); expected a setting, "
                        "name = value;", shown(&x->t, buf, sizeof buf));
        } else if (x->t.k == K_OPEN) {
            return fail(x, x->t.line, "the string opened on this line is never closed; expected '\"'");
        } else if (is(x, ';') || is(x, ',')) {
            return fail(x, x->t.line, "a stray %s; expected a setting name", shown(&x->t, buf, sizeof buf));
        } else {
            return fail(x, x->t.line, "found %s where a setting belongs; expected name = value;",
                        shown(&x->t, buf, sizeof buf));
        }
    }
    return false;
}

int lc_diagnose(const char *text, int lc_line, char *msg, size_t msglen)
{
    lexer x = { .text = text, .s = text, .line = 1, .msg = msg, .msglen = msglen };
    next(&x);
    settings(&x, 0, 0, 0);
    /* Both readers must have stopped at the same token, or this one read
     * the text differently and its account could mislead. */
    if (!x.failed || x.t.end != lc_line)
        return 0;
    /* Stopped at the end of the text with a comment still open: the
     * comment swallowed what would have closed things. */
    if (x.t.k == K_EOF && x.open_comment) {
        snprintf(msg, msglen, LC_OPEN_COMMENT);
        return x.open_comment;
    }
    /* A string that runs on over lines is legal but rare; when it comes
     * before the error, its missing '"' is the likeliest cause. */
    if (x.runon_line && x.runon_line < x.at) {
        snprintf(msg, msglen, "the string opened on this line runs on to line %d (missing '\"'?); "
                 "expected '\"' before the end of the line", x.runon_end);
        return x.runon_line;
    }
    return x.at;
}

/* ---- integer literals ---------------------------------------------------- */

/* libconfig's integers: [-+]?[0-9]+ or 0[Xx][0-9A-Fa-f]+, then L or LL. */
static bool is_int_literal(const char *p, size_t n)
{
    while (n > 0 && p[n - 1] == 'L')
        n--;
    if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return all_match(p + 2, n - 2, "0123456789abcdefABCDEF");
    if (n > 0 && (*p == '-' || *p == '+'))
        p++, n--;
    return all_match(p, n, "0123456789");
}

/* ---- strings ------------------------------------------------------------ */

/* The line of the first \x00 in a string token, or 0. libconfig 1.5's
 * escapes: \\ \" \f \n \r \t and \x with exactly two hex digits; a
 * backslash before anything else is itself. Other control bytes written
 * as \xNN are kept, as YAML keeps its escapes: the settings judge them
 * (add_header refuses them); only NUL cannot be kept in a C string. */
static int nul_escape(const token *t)
{
    int line = t->line;
    for (size_t i = 1; i + 1 < t->len; i++) {
        const char *p = t->p + i;
        line += *p == '\n';
        if (*p != '\\')
            continue;
        if (p[1] == 'x' && i + 4 < t->len && isxdigit((unsigned char)p[2]) && isxdigit((unsigned char)p[3])) {
            if (p[2] == '0' && p[3] == '0')
                return line;
            i += 3;
        } else if (strchr("\\\"fnrt", p[1])) {
            i++;
        }
    }
    return 0;
}

int lc_scan(const char *text, lc_scan_result *r)
{
    lexer x = { .text = text, .s = text, .line = 1, .scan = r };
    size_t cap = 0, capnuls = 0, nstrs = 0;
    bool marked = false; /* the current string value has its \x00 noted */

    memset(r, 0, sizeof *r);
    for (next(&x); x.t.k != K_EOF && !x.oom; next(&x)) {
        if (x.t.k == K_STR) {
            if (x.prev.k != K_STR)
                nstrs++, marked = false; /* "a" "b" is one value */
            int line = marked ? 0 : nul_escape(&x.t);
            if (!line)
                continue;
            if (ep_grow((void **)&r->nuls, &capnuls, r->nnuls, 1, sizeof *r->nuls) < 0) {
                x.oom = true;
                break;
            }
            r->nuls[r->nnuls++] = (lc_nul){ nstrs - 1, line };
            marked = true;
            continue;
        }
        if (x.t.k != K_VALUE || !is_int_literal(x.t.p, x.t.len))
            continue;
        if (ep_grow((void **)&r->ints, &cap, r->n, 1, sizeof *r->ints) < 0) {
            x.oom = true;
            break;
        }
        r->ints[r->n++] = (lc_int){ x.t.p, x.t.len, x.t.line };
    }
    if (x.oom) {
        lc_scan_free(r);
        return -1;
    }
    r->open_comment = x.open_comment;
    return 0;
}

void lc_scan_free(lc_scan_result *r)
{
    free(r->ints);
    free(r->incs);
    free(r->nuls);
    memset(r, 0, sizeof *r);
}
