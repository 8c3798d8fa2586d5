/*
 * UTF-8 helpers shared by every module that turns peer bytes into strings
 * (agent lines, terminal output). Pure.
 */
#ifndef ACPX_UTF8_H
#define ACPX_UTF8_H

#include <stddef.h>

/*
 * Copy of in[0..len) with invalid UTF-8 replaced by U+FFFD as Node's
 * decoder replaces it; NUL-terminated, length in *outlen. Caller frees.
 */
char	*utf8_fix(const char *in, size_t len, size_t *outlen);

#endif
