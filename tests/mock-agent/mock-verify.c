#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mock-verify.h"

/*
 * What the agent must have received, declared in the scenario (as curl's
 * tests/data files declare the protocol in <verify><protocol>) and checked
 * against a record file after the run:
 *
 *	"verify": {
 *	  "process": 2,
 *	  "methods": ["initialize", "session/load", "session/prompt"],
 *	  "received": [
 *	    {"method": "session/load", "params": {"sessionId": "s1"},
 *	     "match": "subset", "name": "..."},
 *	    {"method": "session/new", "params": {...}, "count": 1}
 *	  ]
 *	}
 *
 * "process" N (from 1) looks only at what the Nth agent process that
 * shared the record received (a process ends with a "_mock" eof, signal or
 * stdout_closed line); without it, the whole record. "methods": the
 * methods of the requests and notifications received, exactly and in
 * order. Each "received" entry: without "count", the first message with
 * that method must have those params; with "count" N, exactly N messages
 * of that method have them. Params match exactly (the compact JSON text,
 * so key order counts) unless "match" is "subset" (each key given is
 * there with an equal value, recursively; arrays and other values equal).
 * Strings may use {{cwd}}, the checker's working directory.
 *
 * One line per expectation on stdout, "ok NAME" or "not ok NAME" followed
 * by "# " lines saying what was received; the exit status is 0 when every
 * expectation holds, 1 when one does not, 2 when the scenario or the
 * record cannot be read.
 */

static char *
verify_dump(const json_t *v)
{
	if (v == NULL)
		return (strdup("(absent)"));
	return (json_dumps(v, JSON_COMPACT|JSON_ENCODE_ANY));
}

/* A copy of v with {{cwd}} replaced in every string. */
static json_t *
verify_expand(const json_t *v, const char *cwd)
{
	json_t		*o, *e;
	const char	*k, *s, *p;
	char		*out;
	size_t		 i, n, len;

	if (json_is_object(v)) {
		o = json_object();
		json_object_foreach((json_t *)v, k, e)
			json_object_set_new(o, k, verify_expand(e, cwd));
		return (o);
	}
	if (json_is_array(v)) {
		o = json_array();
		json_array_foreach(v, i, e)
			json_array_append_new(o, verify_expand(e, cwd));
		return (o);
	}
	if (!json_is_string(v) || strstr(json_string_value(v), "{{cwd}}") == NULL)
		return (json_deep_copy(v));
	s = json_string_value(v);
	for (n = 0, p = s; (p = strstr(p, "{{cwd}}")) != NULL; p += 7)
		n++;
	len = strlen(s) + n * strlen(cwd) + 1;
	if ((out = malloc(len)) == NULL)
		abort();
	*out = '\0';
	while ((p = strstr(s, "{{cwd}}")) != NULL) {
		strncat(out, s, (size_t)(p - s));
		strcat(out, cwd);
		s = p + 7;
	}
	strcat(out, s);
	o = json_string(out);
	free(out);
	return (o);
}

static int
verify_equal_text(const json_t *a, const json_t *b)
{
	char	*x = verify_dump(a), *y = verify_dump(b);
	int	 same = strcmp(x, y) == 0;

	free(x);
	free(y);
	return (same);
}

/* want is a subset of got: objects by key (recursively), the rest equal. */
static int
verify_subset(const json_t *want, const json_t *got)
{
	const char	*k;
	json_t		*e;

	if (!json_is_object(want))
		return (json_equal((json_t *)want, (json_t *)got));
	if (!json_is_object(got))
		return (0);
	json_object_foreach((json_t *)want, k, e) {
		if (!verify_subset(e, json_object_get(got, k)))
			return (0);
	}
	return (1);
}

/* The messages of process n (0: all) that carry a method, in order. */
static json_t *
verify_messages(const char *record, long long n)
{
	FILE		*f;
	json_t		*all, *v;
	json_error_t	 jerr;
	char		*line = NULL;
	size_t		 size = 0;
	long long	 proc = 1;

	if ((f = fopen(record, "r")) == NULL) {
		perror(record);
		return (NULL);
	}
	all = json_array();
	while (getline(&line, &size, f) != -1) {
		if ((v = json_loads(line, JSON_DECODE_ANY, &jerr)) == NULL)
			continue;
		if (json_is_string(json_object_get(v, "_mock"))) {
			if (strcmp(json_string_value(json_object_get(v, "_mock")),
			    "invalid_json") != 0)
				proc++;
		} else if ((n == 0 || proc == n) &&
		    json_is_string(json_object_get(v, "method")))
			json_array_append(all, v);
		json_decref(v);
	}
	free(line);
	fclose(f);
	return (all);
}

static void
verify_show(const json_t *msgs, const char *method)
{
	json_t	*m;
	size_t	 i;
	char	*s;
	int	 any = 0;

	json_array_foreach(msgs, i, m) {
		if (method != NULL && strcmp(json_string_value(
		    json_object_get(m, "method")), method) != 0)
			continue;
		s = verify_dump(json_object_get(m, "params"));
		printf("# got %s: %s\n", json_string_value(json_object_get(m,
		    "method")), s);
		free(s);
		any = 1;
	}
	if (!any)
		printf("# got no %s\n", method != NULL ? method : "message");
}

static int
verify_methods(const json_t *want, const json_t *msgs)
{
	json_t	*got = json_array(), *m;
	char	*w, *g;
	size_t	 i;
	int	 ok;

	json_array_foreach(msgs, i, m)
		json_array_append(got, json_object_get(m, "method"));
	ok = verify_equal_text(want, got);
	w = verify_dump(want);
	g = verify_dump(got);
	printf("%s methods received in order: %s\n", ok ? "ok" : "not ok", w);
	if (!ok)
		printf("# got %s\n", g);
	free(w);
	free(g);
	json_decref(got);
	return (ok);
}

static int
verify_received(const json_t *e, const json_t *msgs, const char *cwd)
{
	const char	*method = json_string_value(json_object_get(e, "method"));
	const char	*match = json_string_value(json_object_get(e, "match"));
	const char	*name = json_string_value(json_object_get(e, "name"));
	json_t		*params, *m, *count = json_object_get(e, "count");
	long long	 hits = 0, seen = 0;
	size_t		 i;
	int		 subset = match != NULL && strcmp(match, "subset") == 0;
	int		 ok;
	char		*p;

	if (method == NULL) {
		printf("not ok verify entry without a method\n");
		return (0);
	}
	params = verify_expand(json_object_get(e, "params"), cwd);
	json_array_foreach(msgs, i, m) {
		if (strcmp(json_string_value(json_object_get(m, "method")),
		    method) != 0)
			continue;
		seen++;
		if (json_object_get(e, "params") == NULL ||
		    (subset ? verify_subset(params, json_object_get(m, "params")) :
		    verify_equal_text(params, json_object_get(m, "params"))))
			hits++;
		if (count == NULL)
			break;
	}
	ok = count == NULL ? hits == 1 : hits == json_integer_value(count);
	p = verify_dump(params);
	if (name != NULL)
		printf("%s %s\n", ok ? "ok" : "not ok", name);
	else if (count == NULL)
		printf("%s the first %s has params %s%s\n", ok ? "ok" : "not ok",
		    method, subset ? "including " : "", p);
	else
		printf("%s %lld %s with params %s%s\n", ok ? "ok" : "not ok",
		    json_integer_value(count), method, subset ? "including " : "",
		    p);
	if (!ok) {
		printf("# want%s: %s\n", subset ? " (subset)" : "", p);
		if (count != NULL)
			printf("# matched %lld of %lld\n", hits, seen);
		verify_show(msgs, method);
	}
	free(p);
	json_decref(params);
	return (ok);
}

int
mock_verify(const json_t *scenario, const char *record)
{
	json_t		*v = json_object_get(scenario, "verify"), *msgs, *e;
	char		 cwd[4096];
	size_t		 i;
	int		 failed = 0;

	if (!json_is_object(v)) {
		fprintf(stderr, "mock-agent: --verify: no \"verify\" object in "
		    "the scenario\n");
		return (2);
	}
	if (record == NULL || *record == '\0') {
		fprintf(stderr, "mock-agent: --verify needs --record FILE\n");
		return (2);
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		strcpy(cwd, ".");
	msgs = verify_messages(record,
	    json_integer_value(json_object_get(v, "process")));
	if (msgs == NULL)
		return (2);
	if ((e = json_object_get(v, "methods")) != NULL)
		failed |= !verify_methods(e, msgs);
	json_array_foreach(json_object_get(v, "received"), i, e)
		failed |= !verify_received(e, msgs, cwd);
	json_decref(msgs);
	return (failed ? 1 : 0);
}
