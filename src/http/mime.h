/* http/mime.h: file extension to Content-Type. */
#ifndef EP_HTTP_MIME_H
#define EP_HTTP_MIME_H

#include <stddef.h>

#define MIME_DEFAULT "application/octet-stream"

/* Content-Type for a path, by the extension after its last '.' in the last
 * segment, compared case-insensitively. Unknown or no extension:
 * MIME_DEFAULT. The returned string is static. */
const char *mime_type(const char *path, size_t len);

#endif
