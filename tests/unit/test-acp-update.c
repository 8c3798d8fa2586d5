/*
 * Unit tests for the session/update table: every kind of the ACP schema
 * acpx acts on maps to its enum and back; absent, non-string and unknown
 * kinds are told apart (NONE vs OTHER); each kind's members are borrowed
 * from the update with "absent" distinct from JSON null; the reference
 * client's shape checks on chunks and plans.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "acp-update.h"
#include "tap.h"

static const struct {
	const char		*name;
	enum acp_update_kind	 kind;
} kinds[] = {
	{ "user_message_chunk", ACP_UPDATE_USER_MESSAGE_CHUNK },
	{ "agent_message_chunk", ACP_UPDATE_AGENT_MESSAGE_CHUNK },
	{ "agent_thought_chunk", ACP_UPDATE_AGENT_THOUGHT_CHUNK },
	{ "tool_call", ACP_UPDATE_TOOL_CALL },
	{ "tool_call_update", ACP_UPDATE_TOOL_CALL_UPDATE },
	{ "plan", ACP_UPDATE_PLAN },
	{ "available_commands_update", ACP_UPDATE_AVAILABLE_COMMANDS },
	{ "current_mode_update", ACP_UPDATE_CURRENT_MODE },
	{ "config_option_update", ACP_UPDATE_CONFIG_OPTION },
	{ "session_info_update", ACP_UPDATE_SESSION_INFO },
	{ "usage_update", ACP_UPDATE_USAGE },
};

/* Parse a JSON text; the test owns the result. */
static json_t *
J(const char *text)
{
	json_t	*v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

	if (v == NULL)
		abort();
	return (v);
}

/* Kind and well-formedness of one update given as JSON text. */
static void
check_shape(const char *text, enum acp_update_kind want, int well_formed)
{
	struct acp_update	 ev;
	json_t			*u = J(text);

	ASSERT_INT_EQ(acp_update_parse(u, &ev), want);
	ASSERT_INT_EQ(ev.kind, want);
	ASSERT_INT_EQ(acp_update_well_formed(&ev), well_formed);
	json_decref(u);
}

int
main(void)
{
	struct acp_update	 ev;
	json_t			*u, *p;
	size_t			 i;
	int			 chunks = 0, tools = 0;

	TEST_START("every schema kind maps to its enum and back");
	for (i = 0; i < nitems(kinds); i++) {
		ASSERT_INT_EQ(acp_update_kind_of(kinds[i].name), kinds[i].kind);
		ASSERT_STR_EQ(acp_update_kind_name(kinds[i].kind),
		    kinds[i].name);
		chunks += acp_update_is_chunk(kinds[i].kind);
		tools += acp_update_is_tool(kinds[i].kind);
	}
	ASSERT_INT_EQ(chunks, 3);
	ASSERT_INT_EQ(tools, 2);
	TEST_DONE();

	TEST_START("absent and unknown kinds are NONE and OTHER");
	ASSERT_INT_EQ(acp_update_kind_of(NULL), ACP_UPDATE_NONE);
	ASSERT_INT_EQ(acp_update_kind_of("plan_update"), ACP_UPDATE_OTHER);
	ASSERT_INT_EQ(acp_update_kind_of(""), ACP_UPDATE_OTHER);
	ASSERT_INT_EQ(acp_update_kind_of("Plan"), ACP_UPDATE_OTHER);
	ASSERT_INT_EQ(acp_update_kind_of("tool_call_"), ACP_UPDATE_OTHER);
	ASSERT_TRUE(acp_update_kind_name(ACP_UPDATE_NONE) == NULL);
	ASSERT_TRUE(acp_update_kind_name(ACP_UPDATE_OTHER) == NULL);
	ASSERT_TRUE(!acp_update_is_chunk(ACP_UPDATE_OTHER));
	ASSERT_TRUE(!acp_update_is_tool(ACP_UPDATE_OTHER));
	TEST_DONE();

	TEST_START("no update object, or no string kind, is NONE");
	ASSERT_INT_EQ(acp_update_parse(NULL, &ev), ACP_UPDATE_NONE);
	ASSERT_TRUE(ev.update == NULL && ev.name == NULL);
	check_shape("[1]", ACP_UPDATE_NONE, 0);
	check_shape("\"plan\"", ACP_UPDATE_NONE, 0);
	check_shape("{}", ACP_UPDATE_NONE, 0);
	check_shape("{\"sessionUpdate\": 5}", ACP_UPDATE_NONE, 0);
	check_shape("{\"sessionUpdate\": null}", ACP_UPDATE_NONE, 0);
	/* Unknown kinds pass the shape checks: each consumer ignores them. */
	check_shape("{\"sessionUpdate\": \"notice\"}", ACP_UPDATE_OTHER, 1);
	u = J("{\"sessionUpdate\": \"made_up\", \"content\": "
	    "{\"type\": \"text\", \"text\": \"x\"}}");
	ASSERT_INT_EQ(acp_update_parse(u, &ev), ACP_UPDATE_OTHER);
	ASSERT_STR_EQ(ev.name, "made_up");
	ASSERT_TRUE(ev.update == u);
	ASSERT_TRUE(ev.content == NULL && ev.text == NULL);
	json_decref(u);
	TEST_DONE();

	TEST_START("a chunk's text only from a text content block");
	u = J("{\"sessionUpdate\": \"agent_message_chunk\", \"content\": "
	    "{\"type\": \"text\", \"text\": \"a\\u0000b\"}}");
	ASSERT_INT_EQ(acp_update_parse(u, &ev),
	    ACP_UPDATE_AGENT_MESSAGE_CHUNK);
	ASSERT_TRUE(ev.text != NULL && ev.text_len == 3 &&
	    memcmp(ev.text, "a\0b", 3) == 0);
	ASSERT_TRUE(ev.content == json_object_get(u, "content"));
	json_decref(u);
	u = J("{\"sessionUpdate\": \"agent_thought_chunk\", \"content\": "
	    "{\"type\": \"image\", \"text\": \"not text\"}}");
	ASSERT_INT_EQ(acp_update_parse(u, &ev),
	    ACP_UPDATE_AGENT_THOUGHT_CHUNK);
	ASSERT_TRUE(ev.text == NULL && ev.content != NULL);
	ASSERT_INT_EQ(acp_update_well_formed(&ev), 1);
	json_decref(u);
	u = J("{\"sessionUpdate\": \"user_message_chunk\", \"content\": "
	    "{\"type\": \"text\", \"text\": 7}}");
	ASSERT_INT_EQ(acp_update_parse(u, &ev),
	    ACP_UPDATE_USER_MESSAGE_CHUNK);
	ASSERT_TRUE(ev.text == NULL);
	ASSERT_INT_EQ(acp_update_well_formed(&ev), 0);
	json_decref(u);
	TEST_DONE();

	TEST_START("chunk shape: content object, string type, text if text");
	check_shape("{\"sessionUpdate\": \"agent_message_chunk\"}",
	    ACP_UPDATE_AGENT_MESSAGE_CHUNK, 0);
	check_shape("{\"sessionUpdate\": \"agent_message_chunk\", "
	    "\"content\": \"hi\"}", ACP_UPDATE_AGENT_MESSAGE_CHUNK, 0);
	check_shape("{\"sessionUpdate\": \"agent_message_chunk\", "
	    "\"content\": {\"text\": \"hi\"}}",
	    ACP_UPDATE_AGENT_MESSAGE_CHUNK, 0);
	check_shape("{\"sessionUpdate\": \"agent_message_chunk\", "
	    "\"content\": {\"type\": \"text\"}}",
	    ACP_UPDATE_AGENT_MESSAGE_CHUNK, 0);
	check_shape("{\"sessionUpdate\": \"agent_message_chunk\", "
	    "\"content\": {\"type\": \"text\", \"text\": \"\"}}",
	    ACP_UPDATE_AGENT_MESSAGE_CHUNK, 1);
	check_shape("{\"sessionUpdate\": \"user_message_chunk\", "
	    "\"content\": {\"type\": \"audio\"}}",
	    ACP_UPDATE_USER_MESSAGE_CHUNK, 1);
	TEST_DONE();

	TEST_START("plan shape: entries of objects with string status/content");
	check_shape("{\"sessionUpdate\": \"plan\"}", ACP_UPDATE_PLAN, 0);
	check_shape("{\"sessionUpdate\": \"plan\", \"entries\": {}}",
	    ACP_UPDATE_PLAN, 0);
	check_shape("{\"sessionUpdate\": \"plan\", \"entries\": []}",
	    ACP_UPDATE_PLAN, 1);
	check_shape("{\"sessionUpdate\": \"plan\", \"entries\": [{\"status\":"
	    " \"pending\", \"content\": \"a\"}, 3]}", ACP_UPDATE_PLAN, 0);
	check_shape("{\"sessionUpdate\": \"plan\", \"entries\": [{\"status\":"
	    " \"pending\", \"content\": 1}]}", ACP_UPDATE_PLAN, 0);
	check_shape("{\"sessionUpdate\": \"plan\", \"entries\": [{\"status\":"
	    " \"pending\", \"content\": \"a\"}]}", ACP_UPDATE_PLAN, 1);
	/* Other known kinds have no shape check here. */
	check_shape("{\"sessionUpdate\": \"tool_call\"}", ACP_UPDATE_TOOL_CALL,
	    1);
	check_shape("{\"sessionUpdate\": \"usage_update\"}", ACP_UPDATE_USAGE,
	    1);
	TEST_DONE();

	TEST_START("tool call members: absent is NULL, null is JSON null");
	u = J("{\"sessionUpdate\": \"tool_call_update\", \"toolCallId\": "
	    "\"c1\", \"title\": null, \"status\": \"completed\", \"kind\": "
	    "\"read\", \"locations\": [], \"rawOutput\": null, "
	    "\"content\": []}");
	ASSERT_INT_EQ(acp_update_parse(u, &ev), ACP_UPDATE_TOOL_CALL_UPDATE);
	ASSERT_STR_EQ(json_string_value(ev.tool_call_id), "c1");
	ASSERT_TRUE(json_is_null(ev.title));
	ASSERT_STR_EQ(json_string_value(ev.status), "completed");
	ASSERT_STR_EQ(json_string_value(ev.tool_kind), "read");
	ASSERT_TRUE(json_is_array(ev.locations) && json_is_array(ev.content));
	ASSERT_TRUE(ev.raw_input == NULL);
	ASSERT_TRUE(json_is_null(ev.raw_output));
	ASSERT_TRUE(ev.text == NULL && ev.entries == NULL);
	json_decref(u);
	TEST_DONE();

	TEST_START("state kinds: commands, mode, config, session info");
	u = J("{\"sessionUpdate\": \"available_commands_update\", "
	    "\"availableCommands\": [{\"name\": \"web\"}]}");
	acp_update_parse(u, &ev);
	ASSERT_INT_EQ(json_array_size(ev.commands), 1);
	json_decref(u);
	u = J("{\"sessionUpdate\": \"current_mode_update\", "
	    "\"currentModeId\": \"ask\"}");
	acp_update_parse(u, &ev);
	ASSERT_STR_EQ(json_string_value(ev.mode_id), "ask");
	json_decref(u);
	u = J("{\"sessionUpdate\": \"config_option_update\", "
	    "\"configOptions\": [{}]}");
	acp_update_parse(u, &ev);
	ASSERT_INT_EQ(json_array_size(ev.config_options), 1);
	json_decref(u);
	u = J("{\"sessionUpdate\": \"session_info_update\", \"title\": \"T\", "
	    "\"updatedAt\": \"2026-01-01T00:00:00.000Z\"}");
	acp_update_parse(u, &ev);
	ASSERT_STR_EQ(json_string_value(ev.title), "T");
	ASSERT_STR_EQ(ev.updated_at, "2026-01-01T00:00:00.000Z");
	json_decref(u);
	u = J("{\"sessionUpdate\": \"session_info_update\", \"updatedAt\": 5}");
	acp_update_parse(u, &ev);
	ASSERT_TRUE(ev.title == NULL && ev.updated_at == NULL);
	json_decref(u);
	TEST_DONE();

	TEST_START("usage: _meta.usage only when an object, and the cost");
	u = J("{\"sessionUpdate\": \"usage_update\", \"_meta\": {\"usage\": "
	    "{\"inputTokens\": 1}}, \"cost\": {\"amount\": 2}}");
	acp_update_parse(u, &ev);
	ASSERT_TRUE(json_is_object(ev.usage_meta));
	ASSERT_TRUE(json_is_object(ev.cost));
	json_decref(u);
	u = J("{\"sessionUpdate\": \"usage_update\", \"_meta\": {\"usage\": "
	    "[1]}, \"inputTokens\": 3}");
	acp_update_parse(u, &ev);
	ASSERT_TRUE(ev.usage_meta == NULL && ev.cost == NULL);
	json_decref(u);
	u = J("{\"sessionUpdate\": \"usage_update\", \"_meta\": 4}");
	acp_update_parse(u, &ev);
	ASSERT_TRUE(ev.usage_meta == NULL);
	json_decref(u);
	TEST_DONE();

	TEST_START("a notification's params: the \"update\" member is typed");
	p = J("{\"sessionId\": \"s\", \"update\": {\"sessionUpdate\": "
	    "\"plan\", \"entries\": []}}");
	ASSERT_INT_EQ(acp_update_parse_params(p, &ev), ACP_UPDATE_PLAN);
	ASSERT_TRUE(ev.update == json_object_get(p, "update"));
	ASSERT_TRUE(json_is_array(ev.entries));
	json_decref(p);
	p = J("{\"sessionUpdate\": \"plan\", \"entries\": []}");
	ASSERT_INT_EQ(acp_update_parse_params(p, &ev), ACP_UPDATE_NONE);
	json_decref(p);
	ASSERT_INT_EQ(acp_update_parse_params(NULL, &ev), ACP_UPDATE_NONE);
	TEST_DONE();

	return (tap_end());
}
