#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session-path.h"
#include "xmalloc.h"

/*
 * Where a session's files are: names only, no I/O (the store reads and
 * writes them, session-store.c).
 */

/* $HOME/.acpx/sessions. */
char *
session_path_dir(void)
{
	const char	*home = getenv("HOME");
	char		*dir;

	if (home == NULL || *home == '\0')
		home = "/";
	xasprintf(&dir, "%s%s.acpx/sessions", home,
	    home[strlen(home) - 1] == '/' ? "" : "/");
	return (dir);
}

/* JavaScript encodeURIComponent(s). */
char *
session_path_encode(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			*out, *o;

	out = o = xmalloc(strlen(s) * 3 + 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.!~*'()", *p) != NULL)
			*o++ = *p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return (out);
}

/* <sessions dir>/<E(record_id)><suffix>. */
char *
session_path(const char *record_id, const char *suffix)
{
	char	*dir = session_path_dir(), *e = session_path_encode(record_id);
	char	*path;

	xasprintf(&path, "%s/%s%s", dir, e, suffix);
	free(dir);
	free(e);
	return (path);
}

/* Journal segment path: 0 = active. */
char *
session_path_segment(const char *record_id, int n)
{
	char	 suffix[64];

	if (n == 0)
		return (session_path(record_id, ".stream.ndjson"));
	snprintf(suffix, sizeof suffix, ".stream.%d.ndjson", n);
	return (session_path(record_id, suffix));
}
