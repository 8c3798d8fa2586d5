#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acpx.h"
#include "cli-validate.h"
#include "xmalloc.h"

/*
 * sessions prune --before <date>: valid when JavaScript's new Date(value)
 * would be, that is the ECMAScript date-time string format or one of the
 * legacy forms V8 also reads.
 */

/* All characters of [s, e) are digits and there are n of them. */
static int
cli_digits(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

/* The ECMAScript date-time string format (YYYY[-MM[-DD]][THH:mm[:ss[.sss]][Z|±HH:mm]]). */
static int
cli_iso_date(const char *s)
{
	size_t	n = strlen(s);
	int	mo = 1, d = 1, h, mi, sec = 0;

	if ((s[0] == '+' || s[0] == '-') && n >= 7 && cli_digits(s + 1, 6)) {
		s += 7;
	} else if (n >= 4 && cli_digits(s, 4))
		s += 4;
	else
		return (0);
	if (*s == '-') {
		if (!cli_digits(s + 1, 2))
			return (0);
		mo = atoi(s + 1);
		s += 3;
		if (*s == '-') {
			if (!cli_digits(s + 1, 2))
				return (0);
			d = atoi(s + 1);
			s += 3;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return (0);
	if (*s == '\0')
		return (1);
	if (*s != 'T' && *s != 't')
		return (0);
	s++;
	if (!cli_digits(s, 2) || s[2] != ':' || !cli_digits(s + 3, 2))
		return (0);
	h = atoi(s);
	mi = atoi(s + 3);
	s += 5;
	if (*s == ':') {
		if (!cli_digits(s + 1, 2))
			return (0);
		sec = atoi(s + 1);
		s += 3;
		if (*s == '.') {
			s++;
			if (!isdigit((unsigned char)*s))
				return (0);
			while (isdigit((unsigned char)*s))
				s++;
		}
	}
	if (h > 24 || mi > 59 || sec > 59 || (h == 24 && (mi != 0 || sec != 0)))
		return (0);
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		if (!cli_digits(s + 1, 2) || s[3] != ':' ||
		    !cli_digits(s + 4, 2))
			return (0);
		s += 6;
	}
	return (*s == '\0');
}

/* new Date(value) is valid: ISO forms, or a few of V8's legacy forms. */
int
cli_validate_before(const char *v, const json_t *prev, json_t **out, char **msg)
{
	static const char *const formats[] = { "%Y/%m/%d", "%Y/%m/%d %H:%M",
	    "%Y/%m/%d %H:%M:%S", "%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%b %d %Y",
	    "%b %d, %Y", "%d %b %Y", "%B %d %Y", "%B %d, %Y", "%d %B %Y",
	    "%a %b %d %Y", "%a %b %d %Y %H:%M:%S", "%Y-%m-%d %H:%M",
	    "%Y-%m-%d %H:%M:%S" };
	struct tm	 tm;
	const char	*end;
	size_t		 i;

	if (cli_iso_date(v))
		goto ok;
	for (i = 0; i < nitems(formats); i++) {
		memset(&tm, 0, sizeof tm);
		if ((end = strptime(v, formats[i], &tm)) != NULL) {
			while (*end == ' ')
				end++;
			if (*end == '\0' || strcmp(end, "Z") == 0 ||
			    strcmp(end, "GMT") == 0 || strcmp(end, "UTC") == 0)
				goto ok;
		}
	}
	*msg = xstrdup("--before must be a valid date (e.g. 2026-01-01 or "
	    "2026-01-01T00:00:00Z)");
	return (-1);
ok:
	*out = json_string(v);
	return (0);
}
