/*
 * libFuzzer harness: what an agent sends during a turn, as the fallback
 * sees it. The bytes are NDJSON lines (agent messages, untrusted): every
 * line that parses joins the turn's messages; the last error / result of
 * them is the turn's end. Runs the provider-failure classifier
 * (warp-classify.h) over them, the raw bytes as stderr, with and without
 * config patterns, and builds the continuation summary (summary.h).
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "summary.h"
#include "warp-classify.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static json_t	*fz_patterns;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	xmalloc_init();
	fz_patterns = json_pack("[s, {s:s, s:s}, {s:s}]", "out of juice",
	    "pattern", "slow down", "reason", "rate-limited", "pattern", "x");
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct warp_turn_end	 te;
	struct warp_verdict	 v;
	json_t			*msgs, *goal = NULL, *m, *cont;
	const json_t		*error = NULL, *result = NULL;
	const char		*p = (const char *)data, *end = p + size, *nl;
	char			*text, *sum;

	msgs = json_array();
	while (p < end) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		m = json_loadb(p, nl - p, JSON_DECODE_ANY, NULL);
		if (json_is_array(m) && goal == NULL)
			goal = json_incref(m);
		else if (json_is_object(m)) {
			json_array_append(msgs, m);
			if (json_object_get(m, "error") != NULL)
				error = json_object_get(m, "error");
			if (json_is_object(json_object_get(m, "result")))
				result = json_object_get(m, "result");
		}
		json_decref(m);
		p = nl + 1;
	}
	if (goal == NULL)
		goal = json_pack("[{s:s, s:s}]", "type", "text", "text", "fuzz");
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&te, 0, sizeof te);
	te.error = error;
	te.result = result;
	te.messages = msgs;
	te.stderr_text = text;
	memset(&v, 0, sizeof v);
	if (warp_classify(&te, &v) != 0 && v.reason == NULL)
		abort();
	sum = summary_build(goal, msgs, v.signal);
	if (sum == NULL)
		abort();
	cont = summary_continuation(sum, goal);
	json_decref(cont);
	free(sum);
	warp_verdict_clear(&v);

	te.patterns = fz_patterns;
	memset(&v, 0, sizeof v);
	(void)warp_classify(&te, &v);
	warp_verdict_clear(&v);
	(void)warp_classify_text(text, fz_patterns);

	free(text);
	json_decref(goal);
	json_decref(msgs);
	return (0);
}
