/*
 * Replacements for functions some libcs lack; configure decides which are
 * built from compat/.
 */
#ifndef ACPX_COMPAT_H
#define ACPX_COMPAT_H

#include <stddef.h>

#ifndef HAVE_STRLCPY
size_t	strlcpy(char *, const char *, size_t);
#endif
#ifndef HAVE_STRLCAT
size_t	strlcat(char *, const char *, size_t);
#endif

#endif
