/* config/front.h: the libconfig and YAML front-ends and the include-expanding loader, all producing config/node.h trees. */
#ifndef EP_CONFIG_FRONT_H
#define EP_CONFIG_FRONT_H

#include <stddef.h>

#include "config/node.h"

/* Ownership, for both parse functions:
 * - the returned tree belongs to the caller, who frees it with node_free,
 *   or hands it over by setting d->root (node_doc_free then frees it);
 * - every node's file points at a name interned in d (node_intern_file),
 *   so d must outlive the tree; d->root itself is neither read nor changed;
 * - on failure nothing is left for the caller to free (names the parse
 *   interned stay in d until node_doc_free, which is harmless).
 *
 * Parse text (len bytes, need not be NUL-terminated) as libconfig / YAML.
 * file names the source in node positions and errors. Returns the root
 * NODE_GROUP (line 1, col 0), or NULL with ONE line in err:
 * "FILE:LINE: message" (libconfig) or "FILE:LINE:COL: message" (YAML).
 * Never crashes on any input; nesting deeper than FRONT_MAX_DEPTH is an error.
 *
 * libconfig: group -> NODE_GROUP, array and list -> NODE_LIST, int/int64 ->
 * SC_INT (the literal as written: 0x10, 5000000000L), float -> SC_FLOAT (shortest text that reads back exactly),
 * bool -> SC_BOOL ("true"/"false"), string -> SC_STRING; col is always 0.
 * Its own `@include "x"` works, relative to the directory of file; nodes
 * from x carry x's path; a file that @includes itself (directly or not), or
 * one that cannot be read, is an error naming it at its @include line. A
 * NUL byte in text is an error, and so is a string with \x00 (libconfig
 * would drop it).
 *
 * YAML: mapping -> NODE_GROUP (keys must be scalars), sequence -> NODE_LIST,
 * plain scalar -> SC_PLAIN (or SC_STRING when tagged !!str), quoted, literal
 * and folded scalars -> SC_STRING. The top level must be a mapping; an empty
 * stream or document gives an empty group; a second document is an error.
 * An alias is a deep copy of its anchored node (the copy's top node takes
 * the alias's position and name); at most FRONT_MAX_NODES nodes in all.
 * A merge key (a plain "<<" key) is an error that says so.
 * A scalar or key containing a NUL character is an error.
 *
 * A named node's position is its key's (so errors point at the setting
 * name in both syntaxes); a list element's is its own. */
#define FRONT_MAX_DEPTH 64
#define FRONT_MAX_NODES 100000

cfg_node *front_libconfig_parse(node_doc *d, const char *text, size_t len, const char *file,
                                char *err, size_t errlen);
cfg_node *front_yaml_parse(node_doc *d, const char *text, size_t len, const char *file,
                           char *err, size_t errlen);

/* Read path, choose the front-end by its ending (.yaml/.yml -> YAML,
 * anything else -> libconfig), expand `include` settings, and set d->root
 * (any previous d->root is freed first). 0, or -1 with one line in err and
 * d->root left NULL.
 *
 * In any group, a child named `include` whose value is a string (or a list
 * of strings) is replaced, at its place, by the children of the root groups
 * of the files it names, in order. Each string is a glob(3) pattern relative
 * to the directory of the file holding the include node; matches are sorted.
 * A pattern with glob characters may match nothing; a literal path must
 * exist. Includes nest at most CONF_MAX_INCLUDE_DEPTH deep, a file that
 * includes itself (directly or not) is an error, and at most
 * CONF_MAX_INCLUDE_FILES files are read in all. */
#define CONF_MAX_INCLUDE_DEPTH 16
#define CONF_MAX_INCLUDE_FILES 1024

int conf_load_file(node_doc *d, const char *path, char *err, size_t errlen);

#endif
