/*
 * conversation: the messages mapping, checked against a record the
 * reference wrote for the same turn (tests/mock-agent/scenarios/
 * sessions-conversation.json, prompt "hello there"), plus trimming in
 * UTF-16 units, limits and the history previews.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conversation.h"
#include "jget.h"
#include "js-json.h"
#include "session-record.h"
#include "xmalloc.h"
#include "tap.h"

/*
 * What acpx 0.19.1 saved (user ids replaced by U1, U2; the 8000-char
 * text by LONGTEXT).
 */
static const char expected[] =
	"{\"messages\":[{\"User\":{\"id\":\"U1\",\"content\":[{\"Text"
	"\":\"hello there\"}]}},{\"Agent\":{\"content\":[{\"Thinking"
	"\":{\"text\":\"Let me think. More.\",\"signature\":null}},{"
	"\"ToolUse\":{\"id\":\"call-1\",\"name\":\"Read README.md\","
	"\"raw_input\":\"{\\\"path\\\":\\\"README.md\\\"}\",\"input\""
	":{\"path\":\"README.md\"},\"is_input_complete\":true,\"thoug"
	"ht_signature\":null}},{\"ToolUse\":{\"id\":\"call-2\",\"name"
	"\":\"execute\",\"raw_input\":\"ls -la\",\"input\":\"ls -la\""
	",\"is_input_complete\":true,\"thought_signature\":null}},{\""
	"ToolUse\":{\"id\":\"call-3\",\"name\":\"tool_call\",\"raw_in"
	"put\":\"{}\",\"input\":{},\"is_input_complete\":false,\"thou"
	"ght_signature\":null}},{\"Text\":\"Final answer.\"}],\"tool_"
	"results\":{\"call-1\":{\"tool_use_id\":\"call-1\",\"tool_nam"
	"e\":\"Read README.md\",\"is_error\":false,\"content\":{\"Tex"
	"t\":\"{\\\"content\\\":\\\"line one\\\"}\"},\"output\":{\"co"
	"ntent\":\"line one\"}},\"call-2\":{\"tool_use_id\":\"call-2"
	"\",\"tool_name\":\"execute\",\"is_error\":true,\"content\":{"
	"\"Text\":\"boom\"},\"output\":\"boom\"},\"call-3\":{\"tool_u"
	"se_id\":\"call-3\",\"tool_name\":\"tool_call\",\"is_error\":"
	"false,\"content\":{\"Text\":\"\"}}}}},{\"User\":{\"id\":\"U2"
	"\",\"content\":[{\"Mention\":{\"uri\":\"file:///a\",\"conten"
	"t\":\"a\"}}]}},{\"Agent\":{\"content\":[{\"Text\":\"LONGTEXT"
	"\"}],\"tool_results\":{}}}],\"title\":\"My title\",\"cumulat"
	"ive_token_usage\":{\"input_tokens\":10,\"output_tokens\":2,"
	"\"total_tokens\":12},\"cumulative_cost\":{\"amount\":0.5,\"c"
	"urrency\":\"USD\"},\"request_token_usage\":{\"U2\":{\"input_"
	"tokens\":3,\"cache_creation_input_tokens\":4},\"U1\":{\"inpu"
	"t_tokens\":10,\"output_tokens\":2,\"total_tokens\":12}},\"ac"
	"px\":{\"current_mode_id\":\"plan\",\"available_commands\":[{"
	"\"name\":\"web\",\"description\":\"Search\",\"has_input\":tr"
	"ue},{\"name\":\"plain\",\"has_input\":false}]}}";

#define NOW	"2026-01-01T00:00:00.000Z"

/* Replace every occurrence of from in *s by to. */
static void
replace(char **s, const char *from, const char *to)
{
	char	*p, *out;

	while ((p = strstr(*s, from)) != NULL) {
		xasprintf(&out, "%.*s%s%s", (int)(p - *s), *s, to,
		    p + strlen(from));
		free(*s);
		*s = out;
	}
}

static struct session_record *
new_record(void)
{
	return (session_record_create("s", "cmd", NULL, "/w", NULL, NOW));
}

/* Feed one step of the scenario as the agent sends it. */
static void
feed(struct session_record *r, const json_t *step)
{
	json_t		*u = NULL;
	const json_t	*v;

	if ((v = json_object_get(step, "thought")) != NULL)
		u = json_pack("{s:s, s:{s:s, s:O}}", "sessionUpdate",
		    "agent_thought_chunk", "content", "type", "text", "text", v);
	else if ((v = json_object_get(step, "chunk")) != NULL)
		u = json_pack("{s:s, s:{s:s, s:O}}", "sessionUpdate",
		    "agent_message_chunk", "content", "type", "text", "text", v);
	else if ((v = json_object_get(step, "update")) != NULL)
		u = json_incref((json_t *)v);
	if (u != NULL) {
		json_t *params = json_pack("{s:s, s:o}", "sessionId", "s",
		    "update", u);

		ASSERT_INT_EQ(conversation_apply_update(r, params, NOW), 1);
		json_decref(params);
	}
}

int
main(int argc, char **argv)
{
	struct session_record		*r;
	struct conversation_entry	*e;
	json_t				*sc, *steps, *got, *blocks, *res;
	json_error_t			 jerr;
	const json_t			*step, *m;
	const char			*uid;
	char				*path, *text, *id1 = NULL, *long_text;
	const char			*srcdir = getenv("TESTS_SRCDIR");
	size_t				 i, n;

	xmalloc_init();
	xasprintf(&path, "%s/mock-agent/scenarios/sessions-conversation.json",
	    srcdir != NULL ? srcdir : "../../tests");
	sc = json_load_file(path, 0, &jerr);
	free(path);

	TEST_START("a turn maps to the reference's conversation");
	ASSERT_PTR_NOT_NULL(sc);
	r = new_record();
	blocks = json_pack("[{s:s, s:s}]", "type", "text", "text",
	    "hello there");
	uid = conversation_add_prompt(r, blocks, NOW);
	id1 = uid != NULL ? xstrdup(uid) : NULL;
	json_decref(blocks);
	steps = json_array_get(json_object_get(sc, "turns"), 0);
	json_array_foreach(steps, i, step) {
		if ((res = json_object_get(step, "result")) != NULL)
			conversation_apply_prompt_usage(r, res, id1, NOW);
		else
			feed(r, step);
	}
	/* What the next reader of the file sees (the reference re-reads it). */
	{
		json_t			*disk = session_record_to_disk(r);
		struct session_record	*back = session_record_parse(disk, NULL);

		json_decref(disk);
		ASSERT_PTR_NOT_NULL(back);
		if (back != NULL) {
			json_decref(r->acpx);
			r->acpx = json_incref(back->acpx);
			session_record_free(back);
		}
	}
	got = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "messages",
	    r->messages, "title", r->title, "cumulative_token_usage",
	    r->cumulative_token_usage, "cumulative_cost", r->cumulative_cost,
	    "request_token_usage", r->request_token_usage, "acpx", r->acpx);
	text = js_json_dumps(got, 0);
	json_decref(got);
	long_text = xstrdup(jget_str(json_array_get(json_object_get(
	    json_object_get(json_array_get(r->messages, 3), "Agent"),
	    "content"), 0), "Text"));
	ASSERT_INT_EQ(strlen(long_text), 8000);
	ASSERT_TRUE(strcmp(long_text + 7997, "...") == 0);
	ASSERT_TRUE(strncmp(long_text, "B text[audio] audio/wavxxx", 26) == 0);
	replace(&text, long_text, "LONGTEXT");
	free(long_text);
	if (id1 != NULL)
		replace(&text, id1, "U1");
	m = json_array_get(r->messages, 2);
	if ((uid = jget_str(json_object_get(m, "User"), "id")) != NULL) {
		char *u2 = xstrdup(uid);

		replace(&text, u2, "U2");
		free(u2);
	}
	ASSERT_STR_EQ(text, expected);
	free(text);
	TEST_DONE();

	TEST_START("history previews");
	e = conversation_entries(r, &n);
	ASSERT_INT_EQ(n, 4);
	if (n == 4) {
		ASSERT_STR_EQ(e[0].role, "user");
		ASSERT_STR_EQ(e[1].text, "Let me think. More. [tool:Read README.md] "
		    "[tool:execute] [tool:tool_call] Final answer.");
		ASSERT_STR_EQ(e[2].text, "a");
	}
	conversation_entries_free(e, n);
	session_record_free(r);
	TEST_DONE();

	TEST_START("trimming counts UTF-16 units and keeps 200 messages");
	r = new_record();
	for (i = 0; i < 205; i++) {
		blocks = json_pack("[{s:s, s:s}]", "type", "text", "text", "p");
		(void)conversation_add_prompt(r, blocks, NOW);
		json_decref(blocks);
	}
	ASSERT_INT_EQ(json_array_size(r->messages), 200);
	{
		/* 4000 astral chars = 8000 UTF-16 units: fits exactly. */
		char	*big = xmalloc(4 * 4001 + 1);
		json_t	*u;

		for (i = 0; i < 4001; i++)
			memcpy(big + i * 4, "\xf0\x9f\x98\x80", 4);
		big[4 * 4000] = '\0';
		u = json_pack("{s:s, s:{s:s, s:s}}", "sessionUpdate",
		    "agent_message_chunk", "content", "type", "text", "text",
		    big);
		ASSERT_INT_EQ(conversation_apply_update(r, u, NOW), 1);
		json_decref(u);
		m = json_array_get(r->messages, 199);
		ASSERT_INT_EQ(strlen(jget_str(json_array_get(json_object_get(
		    json_object_get(m, "Agent"), "content"), 0), "Text")),
		    16000);
		u = json_pack("{s:s, s:{s:s, s:s}}", "sessionUpdate",
		    "agent_message_chunk", "content", "type", "text", "text",
		    "y");
		ASSERT_INT_EQ(conversation_apply_update(r, u, NOW), 1);
		json_decref(u);
		m = json_array_get(r->messages, 199);
		text = (char *)jget_str(json_array_get(json_object_get(
		    json_object_get(m, "Agent"), "content"), 0), "Text");
		/* 7997 units = 3998 emoji + 1 unit (half an emoji dropped). */
		ASSERT_INT_EQ(strlen(text), 3998 * 4 + 3);
		free(big);
	}
	session_record_free(r);
	TEST_DONE();

	TEST_START("a record not known to be trimmed is trimmed whole");
	{
		char	*big = xmalloc(9001);
		json_t	*u;
		size_t	 k;

		memset(big, 'a', 9000);
		big[9000] = '\0';
		/* As parsed from a file nobody trimmed: trimmed is 0. */
		r = new_record();
		ASSERT_INT_EQ(r->trimmed, 0);
		json_array_append_new(r->messages, json_pack(
		    "{s:{s:s, s:[{s:s}]}}", "User", "id", "old", "content",
		    "Text", big));
		blocks = json_pack("[{s:s, s:s}]", "type", "text", "text", "p");
		(void)conversation_add_prompt(r, blocks, NOW);
		json_decref(blocks);
		ASSERT_INT_EQ(r->trimmed, 1);
		m = json_array_get(r->messages, 0);
		ASSERT_INT_EQ(strlen(jget_str(json_array_get(json_object_get(
		    json_object_get(m, "User"), "content"), 0), "Text")),
		    CONVERSATION_MAX_TEXT);
		/*
		 * Once trimmed, a prompt or an update measures the last
		 * message only (the conversation module is the only writer
		 * of messages): an older one is taken at the record's word.
		 */
		json_array_insert_new(r->messages, 0, json_pack(
		    "{s:{s:s, s:[{s:s}]}}", "User", "id", "older", "content",
		    "Text", big));
		u = json_pack("{s:s, s:{s:s, s:s}}", "sessionUpdate",
		    "agent_message_chunk", "content", "type", "text", "text",
		    big);
		ASSERT_INT_EQ(conversation_apply_update(r, u, NOW), 1);
		json_decref(u);
		k = json_array_size(r->messages);
		ASSERT_INT_EQ(k, 4);
		m = json_array_get(r->messages, 0);
		ASSERT_INT_EQ(strlen(jget_str(json_array_get(json_object_get(
		    json_object_get(m, "User"), "content"), 0), "Text")), 9000);
		m = json_array_get(r->messages, k - 1);
		ASSERT_INT_EQ(strlen(jget_str(json_array_get(json_object_get(
		    json_object_get(m, "Agent"), "content"), 0), "Text")),
		    CONVERSATION_MAX_TEXT);
		/* A whole trim measures them all again. */
		conversation_trim(r);
		m = json_array_get(r->messages, 0);
		ASSERT_INT_EQ(strlen(jget_str(json_array_get(json_object_get(
		    json_object_get(m, "User"), "content"), 0), "Text")),
		    CONVERSATION_MAX_TEXT);
		session_record_free(r);
		free(big);
	}
	TEST_DONE();

	TEST_START("updates that do not map change nothing");
	r = new_record();
	got = json_pack("{s:s}", "sessionUpdate", "plan");
	ASSERT_INT_EQ(conversation_apply_update(r, got, NOW), 1);
	ASSERT_INT_EQ(json_array_size(r->messages), 0);
	json_decref(got);
	got = json_pack("{s:i}", "x", 1);
	ASSERT_INT_EQ(conversation_apply_update(r, got, NOW), 0);
	json_decref(got);
	session_record_free(r);
	TEST_DONE();

	TEST_START("an unknown kind only touches the record; no kind is none");
	r = new_record();
	got = json_pack("{s:s, s:{s:s, s:s}}", "sessionUpdate", "made_up",
	    "content", "type", "text", "text", "x");
	ASSERT_INT_EQ(conversation_apply_update(r, got,
	    "2026-02-02T00:00:00.000Z"), 1);
	ASSERT_INT_EQ(json_array_size(r->messages), 0);
	ASSERT_STR_EQ(r->updated_at, "2026-02-02T00:00:00.000Z");
	json_decref(got);
	got = json_pack("{s:{s:i, s:{s:s, s:s}}}", "update", "sessionUpdate", 5,
	    "content", "type", "text", "text", "x");
	ASSERT_INT_EQ(conversation_apply_update(r, got,
	    "2026-03-03T00:00:00.000Z"), 0);
	ASSERT_INT_EQ(json_array_size(r->messages), 0);
	ASSERT_STR_EQ(r->updated_at, "2026-02-02T00:00:00.000Z");
	json_decref(got);
	/* A session_info_update's own updatedAt wins over the clock. */
	got = json_pack("{s:{s:s, s:s, s:s}}", "update", "sessionUpdate",
	    "session_info_update", "title", "T", "updatedAt",
	    "2025-05-05T00:00:00.000Z");
	ASSERT_INT_EQ(conversation_apply_update(r, got,
	    "2026-04-04T00:00:00.000Z"), 1);
	ASSERT_STR_EQ(r->updated_at, "2025-05-05T00:00:00.000Z");
	ASSERT_STR_EQ(json_string_value(r->title), "T");
	json_decref(got);
	session_record_free(r);
	TEST_DONE();

	free(id1);
	json_decref(sc);
	return (tap_end());
}
