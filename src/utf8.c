#include <config.h>

#include <stddef.h>
#include <string.h>

#include "utf8.h"
#include "xmalloc.h"

/*
 * UTF-8 repair as Node decodes bytes (WHATWG TextDecoder): each maximal
 * invalid prefix becomes one U+FFFD. Pure.
 */

/* Fix invalid UTF-8 the way a WHATWG TextDecoder does. Caller frees. */
char *
utf8_fix(const char *in, size_t len, size_t *outlen)
{
	const unsigned char	*s = (const unsigned char *)in;
	char			*out;
	size_t			 i = 0, o = 0, k, need;
	unsigned char		 c, lo, hi;

	out = xmalloc(len * 3 + 1);
	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			need = 0;
		for (k = 1; need != 0 && k <= need && i + k < len; k++) {
			if (s[i + k] < lo || s[i + k] > hi)
				break;
			lo = 0x80;
			hi = 0xbf;
		}
		if (need != 0 && k == need + 1) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		/* One U+FFFD per maximal bad prefix; reread the next byte. */
		memcpy(out + o, "\xef\xbf\xbd", 3);
		o += 3;
		i += need == 0 ? 1 : k;
	}
	out[o] = '\0';
	*outlen = o;
	return (out);
}
