#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "events-read.h"
#include "events.h"
#include "isotime.h"
#include "jget.h"
#include "js.h"
#include "xmalloc.h"

/*
 * The event log read back (events-read.h): --since, the filter, the text
 * form of one event.
 */

int64_t
events_read_since(const char *text)
{
	char		*end;
	long long	 n;
	int64_t		 unit;

	if (text == NULL || *text == '\0')
		return (-1);
	if (isdigit((unsigned char)text[0]) && strlen(text) >= 2 &&
	    strchr("smhd", text[strlen(text) - 1]) != NULL &&
	    strspn(text, "0123456789") == strlen(text) - 1) {
		n = strtoll(text, &end, 10);
		switch (*end) {
		case 's':
			unit = 1000;
			break;
		case 'm':
			unit = 60 * 1000;
			break;
		case 'h':
			unit = 3600 * 1000;
			break;
		default:
			unit = 86400 * 1000;
			break;
		}
		if (n < 0 || n > 100LL * 365 * 86400)
			return (-1);
		return (js_now_ms() - (int64_t)n * unit);
	}
	return (isotime_parse_ms(text, ISOTIME_LOCAL | ISOTIME_SHORT));
}

int
events_read_match(const json_t *e, int64_t since_ms, const char *session)
{
	const char	*ts = jget_str(e, "ts"), *name, *sid;
	int64_t		 t;

	if (since_ms >= 0 && (ts == NULL || (t = isotime_parse_ms(ts,
	    ISOTIME_LOCAL | ISOTIME_SHORT)) < 0 ||
	    t < since_ms))
		return (0);
	if (session != NULL) {
		name = jget_str(e, "name");
		sid = jget_str(e, "session");
		if ((name == NULL || strcmp(name, session) != 0) &&
		    (sid == NULL || strcmp(sid, session) != 0))
			return (0);
	}
	return (1);
}

/* The fields every line has, shown in the columns. */
static int
events_read_column(const char *k)
{
	static const char *const cols[] = { "ts", "event", "pid", "proc",
	    "session", "name", "agent", "cwd", NULL };
	size_t	i;

	for (i = 0; cols[i] != NULL; i++) {
		if (strcmp(k, cols[i]) == 0)
			return (1);
	}
	return (0);
}

/* A value as k=v text: plain strings bare unless they hold a space. */
static char *
events_read_value(const json_t *v)
{
	const char	*s;

	if (json_is_string(v)) {
		s = json_string_value(v);
		if (*s != '\0' && strpbrk(s, " \t\"=") == NULL)
			return (xstrdup(s));
	}
	return (json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
}

char *
events_read_text(const json_t *e)
{
	const char	*k, *name = jget_str(e, "name"), *sid = jget_str(e,
			    "session");
	json_t		*v;
	char		*line, *tmp, *val, who[16];

	if (name == NULL && sid != NULL) {
		snprintf(who, sizeof who, "%.8s", sid);
		name = who;
	}
	xasprintf(&line, "%s %-19s %s:%lld %s",
	    jget_str(e, "ts") != NULL ? jget_str(e, "ts") : "-",
	    jget_str(e, "event") != NULL ? jget_str(e, "event") : "-",
	    jget_str(e, "proc") != NULL ? jget_str(e, "proc") : "acpx",
	    (long long)json_integer_value(json_object_get(e, "pid")),
	    name != NULL ? name : "-");
	if ((v = json_object_get(e, "agent")) != NULL) {
		val = events_read_value(v);
		xasprintf(&tmp, "%s agent=%s", line, val != NULL ? val : "?");
		free(val);
		free(line);
		line = tmp;
	}
	json_object_foreach((json_t *)e, k, v) {
		if (events_read_column(k))
			continue;
		val = events_read_value(v);
		xasprintf(&tmp, "%s %s=%s", line, k, val != NULL ? val : "?");
		free(val);
		free(line);
		line = tmp;
	}
	return (line);
}
