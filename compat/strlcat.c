/* strlcat for libcs that lack it (glibc < 2.38). */
#include <config.h>
#include <string.h>

#include "compat.h"

size_t
strlcat(char *dst, const char *src, size_t dsize)
{
	size_t	dlen = strnlen(dst, dsize);

	if (dlen == dsize)
		return (dsize + strlen(src));
	return (dlen + strlcpy(dst + dlen, src, dsize - dlen));
}
