/* http/mime.h: file extension to Content-Type. */
#ifndef EP_HTTP_MIME_H
#define EP_HTTP_MIME_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_DEFAULT "application/octet-stream"

/* Content-Type for a path, by the extension after its last '.' in the last
 * segment, compared case-insensitively. Unknown or no extension:
 * MIME_DEFAULT. The returned string is static. */
const char *mime_type(const char *path, size_t len);

/* Row i of the built-in table (extension in lower case, type), or false past
 * the end: lets tests and tools compare it with a mime.types file. */
bool mime_builtin(size_t i, const char **ext, const char **type);

/* A table loaded from a mime.types file; immutable once loaded, so any
 * number of threads may look things up in it. */
typedef struct mime_table mime_table;

#define MIME_LINE_MAX 4096 /* longest line mime_load accepts, without its newline */

/* Load a file in the format of Debian's /etc/mime.types: lines of
 * "type/subtype ext1 ext2 ...", separated by spaces or tabs; '#' starts a
 * comment (at the start of a line or of a word); blank lines and a CR before
 * the newline are ignored; a type without extensions is allowed. The type
 * must be token "/" token (RFC 9110 tchars, no parameters) and is kept as
 * written. Extensions compare case-insensitively (ASCII); when one appears
 * more than once, the last occurrence in the file wins.
 *
 * Returns the table, or NULL with one line in err (NUL-terminated, cut to
 * errlen; err may be NULL when errlen is 0):
 *   FILE:LINE: bad media type "x"
 *   FILE:LINE: line longer than 4096 bytes
 *   FILE:LINE: NUL byte in line
 *   FILE: <strerror(errno)>            (open or read failure, or no memory)
 * Not thread-safe (strerror); meant for configuration time. */
mime_table *mime_load(const char *path, char *err, size_t errlen);

/* The built-in table as a mime_table (what mime_lookup(NULL, ...) finds,
 * with the tables' hashed lookup); NULL when out of memory. */
mime_table *mime_builtin_table(void);

/* Free a table from mime_load or mime_builtin_table; NULL is fine. */
void mime_free(mime_table *t);

/* Content-Type for path (len bytes) by its extension, found exactly as
 * mime_type() finds it (last '.' in the last segment, leading dots of a
 * hidden name do not count), looked up in t, or in the built-in table when t
 * is NULL. No extension or an unknown one: deflt. With a table, extensions
 * of any length can match (the built-in table stops at 16 bytes). A hash probe with a table, a
 * binary search without; no allocation, no locking. */
const char *mime_lookup(const mime_table *t, const char *path, size_t len, const char *deflt);

/* Length of the longest type mime_lookup can return from t (the built-in
 * table when NULL), its deflt aside: for sizing buffers once per table. */
size_t mime_type_max(const mime_table *t);

#endif
