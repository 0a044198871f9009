/* tests/unit/test_conf_front.c: libconfig and YAML front-ends give the same tree; errors, aliases, includes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/front.h"

/* ---- helpers ------------------------------------------------------------- */

/* A temp dir per test; its name has glob characters on purpose, so the
 * loader must escape the including file's directory before globbing. */
static char tmpdir[256];

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/conf[front]*.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown_dir(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmpdir/rel, in a static buffer (one at a time). */
static const char *P(const char *rel)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    return path;
}

static void put(const char *rel, const char *text)
{
    const char *path = P(rel);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    /* mkdir -p for the directories below tmpdir. */
    for (char *s = dir + strlen(tmpdir) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(dir, 0755);
        *s = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Appends a compact rendering of n to out: name@line, kinds and texts.
 * loose: numbers, booleans and plain scalars all print as '=' so that the
 * two syntaxes compare equal; quoted strings stay '"'. */
static void render(const cfg_node *n, bool loose, char *out, size_t cap)
{
    size_t len = strlen(out);
    if (n->name)
        len += (size_t)snprintf(out + len, cap - len, "%s", n->name);
    len += (size_t)snprintf(out + len, cap - len, "@%d", n->line);
    if (n->kind == NODE_SCALAR) {
        char k = n->sc == SC_STRING ? '"' : loose ? '=' : "P\"IFB"[n->sc];
        snprintf(out + len, cap - len, "%c%s", k, n->text);
        return;
    }
    snprintf(out + len, cap - len, "%c", n->kind == NODE_GROUP ? '{' : '[');
    for (size_t i = 0; i < n->nkids; i++) {
        if (i)
            strncat(out, ",", cap - strlen(out) - 1);
        render(n->kids[i], loose, out, cap);
    }
    strncat(out, n->kind == NODE_GROUP ? "}" : "]", cap - strlen(out) - 1);
}

static const char *R(const cfg_node *n, bool loose)
{
    static char out[4096];
    out[0] = '\0';
    render(n, loose, out, sizeof out);
    return out;
}

static cfg_node *lc(node_doc *d, const char *text, char *err)
{
    return front_libconfig_parse(d, text, strlen(text), "t.conf", err, 256);
}

static cfg_node *ym(node_doc *d, const char *text, char *err)
{
    return front_yaml_parse(d, text, strlen(text), "t.yaml", err, 256);
}

/* Parse must fail with exactly want. */
static void lc_fails(const char *text, const char *want)
{
    node_doc d;
    char err[256];
    node_doc_init(&d);
    assert_null(lc(&d, text, err));
    assert_string_equal(err, want);
    node_doc_free(&d);
}

static void ym_fails(const char *text, const char *want)
{
    node_doc d;
    char err[256];
    node_doc_init(&d);
    assert_null(ym(&d, text, err));
    assert_string_equal(err, want);
    node_doc_free(&d);
}

/* ---- same tree from both syntaxes ---------------------------------------- */

static const char lc_text[] =
    "# ephttpd\n"
    "workers = 4;\n"
    "listen = [ \"0.0.0.0:80\",\n"
    "           \"[::]:80\" ];\n"
    "server = {\n"
    "  name = \"example.org\";\n"
    "  root = \"/srv/www\";\n"
    "  gzip = true;\n"
    "  ratio = 0.5;\n"
    "  location = (\n"
    "    { path = \"/a\"; autoindex = false; },\n"
    "    { path = \"/b\";\n"
    "      limits = [ 1, 2 ]; }\n"
    "  );\n"
    "};\n";

static const char ym_text[] =
    "# ephttpd\n"
    "workers: 4\n"
    "listen: [ \"0.0.0.0:80\",\n"
    "          '[::]:80' ]\n"
    "server:\n"
    "  name: \"example.org\"\n"
    "  root: \"/srv/www\"\n"
    "  gzip: true\n"
    "  ratio: 0.5\n"
    "  location:\n"
    "    - { path: \"/a\", autoindex: false }\n"
    "    - path: \"/b\"\n"
    "      limits: [ 1, 2 ]\n";

static const char same_tree[] =
    "@1{workers@2=4,listen@3[@3\"0.0.0.0:80,@4\"[::]:80],"
    "server@5{name@6\"example.org,root@7\"/srv/www,gzip@8=true,ratio@9=0.5,"
    "location@10[@11{path@11\"/a,autoindex@11=false},"
    "@12{path@12\"/b,limits@13[@13=1,@13=2]}]}}";

static void test_same_tree(void **state)
{
    (void)state;
    node_doc d;
    char err[256];
    node_doc_init(&d);

    cfg_node *a = lc(&d, lc_text, err);
    assert_non_null(a);
    cfg_node *b = ym(&d, ym_text, err);
    assert_non_null(b);
    assert_string_equal(R(a, true), same_tree);
    assert_string_equal(R(b, true), same_tree);

    /* The types each syntax gives. */
    const cfg_node *srv = node_get(a, "server");
    assert_int_equal(node_get(a, "workers")->sc, SC_INT);
    assert_int_equal(node_get(srv, "gzip")->sc, SC_BOOL);
    assert_int_equal(node_get(srv, "ratio")->sc, SC_FLOAT);
    assert_int_equal(node_get(srv, "name")->col, 0);
    assert_string_equal(node_get(srv, "name")->file, "t.conf");
    srv = node_get(b, "server");
    assert_int_equal(node_get(b, "workers")->sc, SC_PLAIN);
    assert_int_equal(node_get(srv, "gzip")->sc, SC_PLAIN);
    assert_int_equal(node_get(srv, "name")->col, 3);
    assert_string_equal(node_get(srv, "name")->file, "t.yaml");
    assert_int_equal(b->line, 1);
    node_free(a);
    node_free(b);
    node_doc_free(&d);
}

static void test_lc_scalars(void **state)
{
    (void)state;
    node_doc d;
    char err[256];
    node_doc_init(&d);
    cfg_node *t = lc(&d, "a = 0x10; b = 5000000000L; c = 0.1; d = 1e300; e = -2.5e-3;\n"
                         "f = \"x\" \"y\"; g = \"\"; h = [];\n", err);
    assert_non_null(t);
    assert_string_equal(R(t, false), "@1{a@1I0x10,b@1I5000000000L,c@1F0.1,d@1F1e+300,"
                                     "e@1F-0.0025,f@2\"xy,g@2\",h@2[]}");
    node_free(t);
    node_doc_free(&d);
}

/* libconfig 1.5 reads an integer without L through atoi and one with L
 * through atoll: 4294967297 would be 1, 99999999999999999999L the largest
 * int64. The front-end gives the literal as written (hex and L included),
 * for the directives to read exactly and to quote in their messages. */
static void test_lc_integers(void **state)
{
    (void)state;
    node_doc d;
    char err[256];
    node_doc_init(&d);
    cfg_node *t = lc(&d, "a = 4294967297; b = -4294967295; c = 2147483648; d = 0xFFFFFFFF;\n"
                         "e = 0x100000001; f = 9223372036854775807; g = -9223372036854775808;\n"
                         "h = 99999999999999999999; i = 99999999999999999999L; j = -9223372036854775809L;\n"
                         "k = 0x1FFFFFFFFFFFFFFFFL; l = 0x8000000000000000L; m = +7; n = 5LL;\n"
                         "o = [ 4294967297, 1 ]; p = ( 4294967298, { q = 4294967299; } );\n", err);
    assert_non_null(t);
    assert_string_equal(R(t, false), "@1{a@1I4294967297,b@1I-4294967295,c@1I2147483648,d@1I0xFFFFFFFF,"
                                     "e@2I0x100000001,f@2I9223372036854775807,g@2I-9223372036854775808,"
                                     "h@3I99999999999999999999,i@3I99999999999999999999L,"
                                     "j@3I-9223372036854775809L,"
                                     "k@4I0x1FFFFFFFFFFFFFFFFL,l@4I0x8000000000000000L,m@4I+7,n@4I5LL,"
                                     "o@5[@5I4294967297,@5I1],p@5[@5I4294967298,@5{q@5I4294967299}]}");
    node_free(t);
    /* A literal longer than any buffer; and libconfig's scanner cutting a
     * number from a name with no delimiter between ("a = 1b = 2" is two
     * settings to it). */
    t = lc(&d, "a = 000000000000000000000000000000000000000000000000000000000000000000000000000005;\n"
               "b = 000000000000000000000000000000000000000000000000000000000000099999999999999999999L;\n"
               "c = 000000sk = 0x1g = 5LLL = 1e5x = 7;\n", err);
    assert_non_null(t);
    assert_string_equal(R(t, false), "@1{a@1I00000000000000000000000000000000000000000000000000000000000000"
                                     "0000000000000005,b@2I000000000000000000000000000000000000000000000000"
                                     "000000000000099999999999999999999L,c@3I000000,sk@3I0x1,g@3I5LL,"
                                     "L@3F1e+05,x@3I7}");
    node_free(t);
    node_doc_free(&d);
}

/* libconfig ignores everything after a block comment that is never closed
 * and says nothing: refused, at the line the comment opens. */
static void test_lc_open_comment(void **state)
{
    (void)state;
    lc_fails("a = 1;\n/* the rest\nb = 2;\n",
             "t.conf:2: the '/*' comment opened on this line is never closed, so the rest of the "
             "file would be ignored; expected '*/'");
    lc_fails("/*", "t.conf:1: the '/*' comment opened on this line is never closed, so the rest of "
             "the file would be ignored; expected '*/'");
    /* Where the comment leaves a bracket open, the comment is the cause. */
    lc_fails("s = {\n  a = 1; /* note\n  b = 2;\n};\n",
             "t.conf:2: the '/*' comment opened on this line is never closed, so the rest of the "
             "file would be ignored; expected '*/'");
    /* A '/' '*' that opens nothing: in a string, after '#' or '//', closed. */
    node_doc d;
    char err[256];
    node_doc_init(&d);
    cfg_node *t = lc(&d, "a = \"/*\"; # /*\nb = 2; // /*\n/* x */ c = 3; /* y\n */\n", err);
    assert_non_null(t);
    assert_string_equal(R(t, false), "@1{a@1\"/*,b@2I2,c@3I3}");
    node_free(t);
    node_doc_free(&d);
}

static void test_ym_scalars(void **state)
{
    (void)state;
    node_doc d;
    char err[256];
    node_doc_init(&d);
    cfg_node *t = ym(&d, "a: plain\nb: 'single'\nc: |\n  lit\nd: >\n  fold\n"
                         "e: !!str 12\nf:\ng: ! 7\n\"\": 1\n", err);
    assert_non_null(t);
    assert_string_equal(R(t, false), "@1{a@1Pplain,b@2\"single,c@3\"lit\n,d@5\"fold\n,"
                                     "e@7\"12,f@8P,g@9\"7,@10P1}");
    node_free(t);
    node_doc_free(&d);
}

/* ---- errors --------------------------------------------------------------- */

static void test_lc_errors(void **state)
{
    (void)state;
    lc_fails("a = 1;\nb = ;\n", "t.conf:2: \"b\" has no value (found ';'); expected a value after '='");
    lc_fails("a = 1;\na = 2;\n", "t.conf:2: duplicate setting name");
    lc_fails("a = {\n", "t.conf:1: the '{' opened on this line is never closed; expected '}'");
    /* The NUL would otherwise end the text unseen. */
    node_doc d;
    char err[256];
    node_doc_init(&d);
    assert_null(front_libconfig_parse(&d, "a = 1;\nb\0 = 2;\n", 15, "t.conf", err, sizeof err));
    assert_string_equal(err, "t.conf:2: contains a NUL byte");
    /* len is honoured: the text need not be NUL-terminated. */
    cfg_node *t = front_libconfig_parse(&d, "a = 1;b = 2;", 6, "t.conf", err, sizeof err);
    assert_non_null(t);
    assert_string_equal(R(t, false), "@1{a@1I1}");
    node_free(t);
    /* A tiny err buffer gets a truncated message, not an overrun. */
    assert_null(front_libconfig_parse(&d, "=", 1, "t.conf", err, 5));
    assert_string_equal(err, "t.co");
    node_doc_free(&d);
}

/* libconfig drops the NUL that \x00 means ("/tmp/www\x00/etc" would read
 * "/tmp/www/etc"): refused at the line of the escape, naming the setting,
 * as YAML's "\0" is. Other \xNN escapes are kept, as YAML keeps its. */
static void test_lc_nul_escape(void **state)
{
    (void)state;
    lc_fails("a = 1;\nroot = \"/tmp/www\\x00/etc\";\n", "t.conf:2: \"root\": a NUL character (\\x00) in a string");
    lc_fails("h = { X-A = \"a\\x00b\"; };\n", "t.conf:1: \"X-A\": a NUL character (\\x00) in a string");
    /* In a list (named by it), in the second of two adjacent strings, on
     * the second line of a string that spans lines. */
    lc_fails("i = [ \"a\",\n \"b\\x00\" ];\n", "t.conf:2: \"i\": a NUL character (\\x00) in a string");
    lc_fails("s = \"a\" \"b\";\nt = \"c\"\n \"d\\x00\";\n", "t.conf:3: \"t\": a NUL character (\\x00) in a string");
    lc_fails("u = \"one\ntwo\\X00\\x00\";\n", "t.conf:2: \"u\": a NUL character (\\x00) in a string");
    /* In a file of libconfig's own @include: checked there too (below). */
    /* Not a NUL: an escaped backslash before "x00", \x01, "\x0" + "0". */
    node_doc d;
    char err[256];
    node_doc_init(&d);
    cfg_node *t = lc(&d, "a = \"\\\\x00\"; b = \"\\x01\"; c = \"\\x0\" \"0\"; d = \"\\x41\";\n", err);
    if (!t)
        fail_msg("%s", err);
    assert_string_equal(node_get(t, "a")->text, "\\x00");
    assert_string_equal(node_get(t, "b")->text, "\x01");
    assert_string_equal(node_get(t, "c")->text, "\\x00");
    assert_string_equal(node_get(t, "d")->text, "A");
    node_free(t);
    node_doc_free(&d);
}

/* The common mistakes: libconfig 1.5 says "syntax error" at the line it
 * had reached; the message says what is wrong and points where it is. */
static void test_lc_syntax_mistakes(void **state)
{
    (void)state;
    /* libconfig takes ';' as optional: its absence is no error at all. */
    node_doc d;
    char err[256];
    node_doc_init(&d);
    cfg_node *t = lc(&d, "a = 1\nb = \"x\"\nc = [ 1 ]\n", err);
    assert_non_null(t);
    node_free(t);
    node_doc_free(&d);
    /* A missing ',' between list elements: libconfig stops on the next line. */
    lc_fails("l = ( { a = 1; }\n      { b = 2; } );\n",
             "t.conf:1: missing ',' after this element of \"l\"? (then '{' on line 2); expected ',' or ')'");
    lc_fails("a = [ 1\n  2 ];\n",
             "t.conf:1: missing ',' after this element of \"a\"? (then 2 on line 2); expected ',' or ']'");
    /* A missing '='. */
    lc_fails("a = 1;\nroot \"/srv\";\n",
             "t.conf:2: \"root\": missing '='? (found \"/srv\"); expected root = value;");
    /* An unclosed brace: libconfig says the end of the file. */
    lc_fails("servers = ( {\n  root = \"/srv\";\n);\nworkers = 2;\n",
             "t.conf:1: the '{' opened on this line is still open at ')' on line 3; expected '}'");
    lc_fails("a = {\n  b = 1;\n\nc = 2;\n",
             "t.conf:1: the '{' opened on this line is never closed; expected '}'");
    lc_fails("s = ( {\n  locations = ( { match = \"/\"; }\n} );\n",
             "t.conf:2: the '(' of \"locations\" opened on this line is still open at '}' on line 3; "
             "expected ')'");
    /* An unclosed quote: the string runs on to the next '"' or the end. */
    lc_fails("a = \"abc;\nb = 2;\n", "t.conf:1: the string opened on this line is never closed; expected '\"'");
    lc_fails("a = \"abc;\nb = 2;\nc = \"d\";\n",
             "t.conf:1: the string opened on this line runs on to line 3 (missing '\"'?); "
             "expected '\"' before the end of the line");
    /* YAML in a .conf: "name: value" is libconfig too, but bare words and
     * nested blocks are not. */
    lc_fails("workers: 2\nuser: www-data\n",
             "t.conf:2: \"user\": www-data is not quoted (YAML? this file is read as libconfig); "
             "expected \"www-data\", a number, true/false, [ ], ( ) or { }");
    lc_fails("listen:\n  - port: 80\n",
             "t.conf:1: \"listen\": no value after ':' (YAML? this file is read as libconfig); "
             "expected listen = value;");
    /* A trailing comma. */
    lc_fails("index = [\n  \"a\",\n  \"b\",\n];\n",
             "t.conf:3: \"index\": trailing ',' before ']' (libconfig allows none); "
             "expected another element after ','");
    lc_fails("l = ( 1, 2, );\n",
             "t.conf:1: \"l\": trailing ',' before ')' (libconfig allows none); "
             "expected another element after ','");
    /* Others: an unquoted path, a stray '}', a doubled ';', a group in [ ]. */
    lc_fails("root = /var/www;\n",
             "t.conf:1: \"root\": /var/www is not quoted; expected \"/var/www\", a number, true/false, "
             "[ ], ( ) or { }");
    lc_fails("a = 1;\n}\n", "t.conf:2: '}' closes nothing (no bracket is open); expected a setting, name = value;");
    lc_fails("a = 1;;\n", "t.conf:1: a stray ';'; expected a setting name");
    lc_fails("a = [ { b = 1; } ];\n", "t.conf:1: \"a\": an array [ ] holds only strings, numbers or "
             "booleans; expected ( ) around a list of groups or lists");
    /* Where the two readers part ways ("1-2" is two numbers to libconfig),
     * no guess: libconfig's line, worded as such. */
    lc_fails("a = 1-2;\n", "t.conf:1: syntax error on this line or shortly before it");
}

static void test_ym_errors(void **state)
{
    (void)state;
    ym_fails("a: 1\nb: [1, 2\nc: 3\n",
             "t.yaml:3:2: did not find expected ',' or ']' (while parsing a flow sequence)");
    ym_fails("a: 1\n b: 2\n", "t.yaml:2:3: mapping values are not allowed in this context");
    /* Tab indentation. */
    ym_fails("server:\n\tname: x\n",
             "t.yaml:2:1: found character that cannot start any token "
             "(while scanning for the next token)");
    /* Keys that are collections. */
    ym_fails("a: 1\n? [x, y]\n: 2\n", "t.yaml:2:3: a mapping key must be a scalar, not a sequence");
    ym_fails("{ {x: 1}: 2 }\n", "t.yaml:1:3: a mapping key must be a scalar, not a mapping");
    /* Only one document, and it is a mapping. */
    ym_fails("a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one YAML document");
    ym_fails("- a\n- b\n", "t.yaml:1:1: the top level must be a mapping, not a sequence");
    ym_fails("just text\n", "t.yaml:1:1: the top level must be a mapping, not a scalar");
    /* NULs: raw (libyaml refuses), and escaped inside a string. */
    node_doc d;
    char err[256];
    node_doc_init(&d);
    assert_null(front_yaml_parse(&d, "a: 1\nb: \0\n", 10, "t.yaml", err, sizeof err));
    assert_string_equal(err, "t.yaml:2:4: control characters are not allowed (#0)");
    node_doc_free(&d);
    ym_fails("a: \"x\\0y\"\n", "t.yaml:1:4: a NUL character in a scalar");
    ym_fails("a: *nope\n", "t.yaml:1:4: unknown anchor *nope");
    ym_fails("a: &x [1, *x]\n", "t.yaml:1:11: alias *x is inside the node it names");
}

static void test_ym_empty(void **state)
{
    (void)state;
    static const char *const empties[] = { "", "# only a comment\n", "---\n", "---\n...\n" };
    node_doc d;
    char err[256];
    node_doc_init(&d);
    for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
        cfg_node *t = ym(&d, empties[i], err);
        assert_non_null(t);
        assert_int_equal(t->kind, NODE_GROUP);
        assert_int_equal(t->nkids, 0);
        node_free(t);
    }
    node_doc_free(&d);
}

static void test_ym_alias(void **state)
{
    (void)state;
    node_doc d;
    char err[256];
    node_doc_init(&d);
    cfg_node *t = ym(&d, "base: &b { x: 1, y: [2, &v 3] }\n"
                         "server:\n"
                         "  inherit: *b\n"
                         "  v: *v\n"
                         "  *v : key\n",
                     err);
    assert_non_null(t);
    /* The copy's top node sits where the alias is; its insides keep theirs. */
    assert_string_equal(R(t, false), "@1{base@1{x@1P1,y@1[@1P2,@1P3]},"
                                     "server@2{inherit@3{x@1P1,y@1[@1P2,@1P3]},v@4P3,3@5Pkey}}");
    assert_int_equal(node_get(node_get(t, "server"), "inherit")->col, 3);
    node_free(t);
    /* A merge key is refused as one, not as an unknown setting "<<"; a
     * quoted "<<" is just a name. */
    assert_null(ym(&d, "b: &b { x: 1 }\ns:\n  y: 2\n  <<: *b\n", err));
    assert_string_equal(err, "t.yaml:4:3: YAML merge keys (<<) are not supported; repeat the settings, "
                             "or alias a whole group (add_header: *common)");
    assert_null(ym(&d, "s: { <<: [ *b ] }\n", err));
    assert_string_equal(err, "t.yaml:1:6: YAML merge keys (<<) are not supported; repeat the settings, "
                             "or alias a whole group (add_header: *common)");
    t = ym(&d, "s: { \"<<\": 1 }\n", err);
    assert_non_null(t);
    assert_string_equal(R(t, false), "@1{s@1{<<@1P1}}");
    node_free(t);
    node_doc_free(&d);
}

static void test_ym_alias_bomb(void **state)
{
    (void)state;
    /* Ten to the eighth nodes if expanded: the budget must stop it. */
    char text[2048] = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i <= 8; i++) {
        char line[128];
        snprintf(line, sizeof line, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                 "*a%d, *a%d]\n", i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                 i - 1, i - 1);
        strcat(text, line);
    }
    node_doc d;
    char err[256];
    node_doc_init(&d);
    assert_null(ym(&d, text, err));
    assert_non_null(strstr(err, "more than 100000 nodes"));
    assert_memory_equal(err, "t.yaml:5:", 9); /* a4 is the first to cross it */
    node_doc_free(&d);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    char y[400] = "a: ", l[400] = "a = ";
    for (int i = 0; i < 70; i++) {
        strcat(y, "[");
        strcat(l, "(");
    }
    for (int i = 0; i < 70; i++) {
        strcat(y, "]");
        strcat(l, ")");
    }
    strcat(l, ";");
    node_doc d;
    char err[256];
    node_doc_init(&d);
    assert_null(ym(&d, y, err));
    assert_string_equal(err, "t.yaml:1:67: nesting deeper than 64 levels");
    assert_null(lc(&d, l, err));
    assert_string_equal(err, "t.conf:1: nesting deeper than 64 levels");
    node_doc_free(&d);
}

/* ---- includes ------------------------------------------------------------- */

/* conf_load_file must succeed; returns the rendering of d->root. */
static const char *load_ok(node_doc *d, const char *rel)
{
    char err[512];
    int rc = conf_load_file(d, P(rel), err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    return R(d->root, false);
}

/* conf_load_file must fail; err without the tmpdir prefix. */
static const char *load_err(const char *rel)
{
    static char err[512];
    node_doc d;
    node_doc_init(&d);
    assert_int_equal(conf_load_file(&d, P(rel), err, sizeof err), -1);
    assert_null(d.root);
    node_doc_free(&d);
    size_t n = strlen(tmpdir);
    return strncmp(err, tmpdir, n) == 0 && err[n] == '/' ? err + n + 1 : err;
}

static void test_include_glob(void **state)
{
    (void)state;
    put("main.conf", "a = 1;\ninclude = \"conf.d/*.conf\";\nz = 2;\n");
    put("conf.d/20-b.conf", "b = 2;\n");
    put("conf.d/10-a.conf", "\nc = \"three\";\n");
    put("conf.d/skip.txt", "nope = 1;\n");
    node_doc d;
    node_doc_init(&d);
    assert_string_equal(load_ok(&d, "main.conf"), "@1{a@1I1,c@2\"three,b@1I2,z@3I2}");
    char want[512];
    snprintf(want, sizeof want, "%s/conf.d/10-a.conf", tmpdir);
    assert_string_equal(d.root->kids[1]->file, want);
    /* Loading again replaces the root. */
    load_ok(&d, "conf.d/20-b.conf");
    assert_int_equal(d.root->nkids, 1);
    node_doc_free(&d);
}

static void test_include_yaml_libconfig(void **state)
{
    (void)state;
    put("main.yaml", "x: 1\nserver:\n  include: [ lc.conf, \"empty.d/*.conf\" ]\n  y: 2\n");
    put("lc.conf", "name = \"s\";\nport = 80;\n");
    node_doc d;
    node_doc_init(&d);
    assert_string_equal(load_ok(&d, "main.yaml"),
                        "@1{x@1P1,server@2{name@1\"s,port@2I80,y@4P2}}");
    node_doc_free(&d);
    /* An empty glob on its own: nothing, fine. */
    put("e.yml", "include: nothing-*.yaml\n");
    node_doc_init(&d);
    assert_string_equal(load_ok(&d, "e.yml"), "@1{}");
    node_doc_free(&d);
}

static void test_include_errors(void **state)
{
    (void)state;
    put("m.conf", "a = 1;\n\ninclude = \"conf.d/x.conf\";\n");
    assert_string_equal(load_err("m.conf"),
                        "m.conf:3: include \"conf.d/x.conf\": No such file or directory");
    put("m.yaml", "a: 1\ninclude:\n  - ok.conf\n  - gone.yaml\n");
    put("ok.conf", "b = 1;\n");
    assert_string_equal(load_err("m.yaml"),
                        "m.yaml:4:5: include \"gone.yaml\": No such file or directory");
    put("n.conf", "include = 5;\n");
    assert_string_equal(load_err("n.conf"),
                        "n.conf:1: include takes a string or a list of strings (got integer)");
    put("empty.conf", "\ninclude = \"\";\n");
    assert_string_equal(load_err("empty.conf"), "empty.conf:2: include: empty file name");
    put("nl.yaml", "include: \"no\\nsuch\"\n");
    assert_string_equal(load_err("nl.yaml"),
                        "nl.yaml:1:1: include \"no?such\": No such file or directory");
    put("l.yaml", "include: [a, [b]]\n");
    assert_string_equal(load_err("l.yaml"),
                        "l.yaml:1:1: include takes a string or a list of strings (got list)");
    /* Errors inside an included file name that file. */
    put("p.conf", "include = \"bad.yaml\";\n");
    put("bad.yaml", "a: [\n");
    assert_memory_equal(load_err("p.conf"), "bad.yaml:2:1: ", 14);
    /* The top file itself. */
    assert_string_equal(load_err("none.conf"), "none.conf: No such file or directory");
    /* A directory matched by a glob. */
    put("dirs/sub/x.conf", "");
    put("g.conf", "include = \"dirs/*\";\n");
    char *e = strstr(load_err("g.conf"), "Is a directory");
    assert_non_null(e);
}

static void test_include_nested(void **state)
{
    (void)state;
    /* Each include resolves against the directory of the file it is in. */
    put("top.conf", "include = \"sub/mid.yaml\";\nt = 0;\n");
    put("sub/mid.yaml", "m: 1\ninclude: leaf.conf\n");
    put("sub/leaf.conf", "\n\nleaf = true;\n");
    node_doc d;
    node_doc_init(&d);
    assert_string_equal(load_ok(&d, "top.conf"), "@1{m@1P1,leaf@3Btrue,t@2I0}");
    char want[512];
    snprintf(want, sizeof want, "%s/sub/leaf.conf", tmpdir);
    assert_string_equal(d.root->kids[1]->file, want);
    node_doc_free(&d);
    /* Groups inside lists expand too, each in its own place. */
    put("list.yaml", "loc:\n  - path: /a\n    include: sub/leaf.conf\n  - { include: [] }\n");
    node_doc_init(&d);
    assert_string_equal(load_ok(&d, "list.yaml"), "@1{loc@1[@2{path@2P/a,leaf@3Btrue},@4{}]}");
    node_doc_free(&d);
}

static void test_include_cycle(void **state)
{
    (void)state;
    put("a.conf", "x = 1;\ninclude = \"a.conf\";\n");
    assert_string_equal(load_err("a.conf"),
                        "a.conf:2: include \"a.conf\": includes itself (an include cycle)");
    /* Through a glob, and two files deep. */
    put("c1.conf", "include = \"c*.conf\";\n");
    put("c2.conf", "include = \"c1.conf\";\n");
    char *e = strstr(load_err("c1.conf"), "an include cycle");
    assert_non_null(e);
    /* A chain of 18 distinct files: deeper than 16. */
    for (int i = 0; i < 18; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "d%02d.conf", i);
        snprintf(text, sizeof text, "include = \"d%02d.conf\";\n", i + 1);
        put(name, text);
    }
    put("d18.conf", "end = 1;\n");
    assert_string_equal(load_err("d00.conf"),
                        "d16.conf:1: include \"d17.conf\": includes nested deeper than 16 levels");
    node_doc d;
    node_doc_init(&d);
    assert_string_equal(load_ok(&d, "d02.conf"), "@1{end@1I1}");
    node_doc_free(&d);
}

static void test_libconfig_native_include(void **state)
{
    (void)state;
    put("native.conf", "a = 1;\n@include \"inc/one.conf\"\nb = 2;\n");
    put("inc/one.conf", "\none = \"1\";\ninclude = \"two.conf\";\n");
    put("inc/two.conf", "two = 2;\n");
    node_doc d;
    node_doc_init(&d);
    assert_string_equal(load_ok(&d, "native.conf"), "@1{a@1I1,one@2\"1,two@1I2,b@3I2}");
    char want[512];
    snprintf(want, sizeof want, "%s/inc/one.conf", tmpdir);
    assert_string_equal(d.root->kids[1]->file, want);
    snprintf(want, sizeof want, "%s/native.conf", tmpdir);
    assert_string_equal(d.root->kids[3]->file, want);
    node_doc_free(&d);
    /* libconfig's own errors in an included file name that file. */
    put("native2.conf", "a = 1;\n@include \"inc/bad.conf\"\n");
    put("inc/bad.conf", "x = 1;\ny = ;\nz = 3;\n");
    assert_string_equal(load_err("native2.conf"), "inc/bad.conf:2: syntax error on this line or shortly before it");
    /* Its integers are read as written too, and a comment it leaves open
     * (which would swallow the rest of the including file) is refused. */
    put("native3.conf", "a = 1;\n@include \"inc/big.conf\"\nb = 2;\n");
    put("inc/big.conf", "x = 1;\ny = 4294967297;\n");
    node_doc_init(&d);
    assert_string_equal(load_ok(&d, "native3.conf"), "@1{a@1I1,x@1I1,y@2I4294967297,b@3I2}");
    node_doc_free(&d);
    put("native4.conf", "a = 1;\n@include \"inc/open.conf\"\nb = 2;\n");
    put("inc/open.conf", "x = 1;\n\n/* never closed\n");
    assert_string_equal(load_err("native4.conf"), "inc/open.conf:3: the '/*' comment opened on this line "
                        "is never closed, so the rest of the file would be ignored; expected '*/'");
    /* Also when the included file holds no setting at all. */
    put("native5.conf", "@include \"inc/only.conf\"\nb = 2;\n");
    put("inc/only.conf", "/* all of it\n");
    assert_string_equal(load_err("native5.conf"), "inc/only.conf:1: the '/*' comment opened on this line "
                        "is never closed, so the rest of the file would be ignored; expected '*/'");
    /* A \x00 in an included file is refused there. */
    put("native6.conf", "a = 1;\n@include \"inc/nul.conf\"\n");
    put("inc/nul.conf", "\nx = \"a\\x00\";\n");
    assert_string_equal(load_err("native6.conf"), "inc/nul.conf:2: \"x\": a NUL character (\\x00) in a string");
}

/* libconfig's own @include of a file that includes itself read it again
 * until the names clashed ("duplicate setting name"), and of a missing
 * file said "cannot open include file" without the name: both now name
 * the file, at the @include line, in the words of `include`. */
static void test_libconfig_native_include_errors(void **state)
{
    (void)state;
    put("c7.conf", "servers = ( { root = \"/\"; } );\n@include \"c7.conf\"\n");
    assert_string_equal(load_err("c7.conf"), "c7.conf:2: @include \"c7.conf\": includes itself (an include cycle)");
    /* Two files deep: the second names the first (relative to the top
     * file's folder, as libconfig resolves every @include). */
    put("c8.conf", "a = 1;\n@include \"inc/c9.conf\"\n");
    put("inc/c9.conf", "b = 2;\n\n@include \"c8.conf\"\n");
    assert_string_equal(load_err("c8.conf"), "inc/c9.conf:3: @include \"c8.conf\": includes itself (an include cycle)");
    put("m.conf", "a = 1;\n\n@include \"inc/none.conf\"\n");
    assert_string_equal(load_err("m.conf"), "m.conf:3: @include \"inc/none.conf\": No such file or directory");
    /* libconfig takes @include only first on a line: elsewhere it is a
     * syntax error, not a file to look for. */
    put("m1.conf", "a = 1; @include \"inc/none.conf\"\n");
    assert_string_equal(load_err("m1.conf"), "m1.conf:1: syntax error on this line or shortly before it");
    /* Missing below the top: named in the file that includes it. */
    put("m2.conf", "@include \"inc/m3.conf\"\n");
    put("inc/m3.conf", "x = 1;\n@include \"inc/gone.conf\"\n");
    assert_string_equal(load_err("m2.conf"), "inc/m3.conf:2: @include \"inc/gone.conf\": No such file or directory");
    /* The same file twice, not in a cycle, is no error (libconfig then
     * refuses its repeated names, as it would anyway). */
    put("twice.conf", "@include \"inc/one.conf\"\nlist = ( {\n@include \"inc/one.conf\"\n} );\n");
    put("inc/one.conf", "one = 1;\n@include \"inc/deep.conf\"\n");
    put("inc/deep.conf", "deep = 0x2;\n");
    node_doc d;
    node_doc_init(&d);
    assert_string_equal(load_ok(&d, "twice.conf"),
                        "@1{one@1I1,deep@1I0x2,list@2[@2{one@1I1,deep@1I0x2}]}");
    node_doc_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_tree),
        cmocka_unit_test(test_lc_scalars),
        cmocka_unit_test(test_lc_integers),
        cmocka_unit_test(test_lc_open_comment),
        cmocka_unit_test(test_ym_scalars),
        cmocka_unit_test(test_lc_errors),
        cmocka_unit_test(test_lc_nul_escape),
        cmocka_unit_test(test_lc_syntax_mistakes),
        cmocka_unit_test(test_ym_errors),
        cmocka_unit_test(test_ym_empty),
        cmocka_unit_test(test_ym_alias),
        cmocka_unit_test(test_ym_alias_bomb),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test_setup_teardown(test_include_glob, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_include_yaml_libconfig, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_include_errors, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_include_nested, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_include_cycle, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_libconfig_native_include, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_libconfig_native_include_errors, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
