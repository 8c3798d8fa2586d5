#include <config.h>

#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "acp-update.h"

/*
 * session/update kinds of the ACP schema (the reference's SDK, schema
 * version 1) that acpx acts on. Kinds of the unstable schema
 * (plan_update, notice, compaction_*, subagent_update, ...) are OTHER:
 * every consumer passes them through as it does any unknown kind.
 */
static const struct {
	const char		*name;
	enum acp_update_kind	 kind;
} acp_update_table[] = {
	{ "user_message_chunk",		ACP_UPDATE_USER_MESSAGE_CHUNK },
	{ "agent_message_chunk",	ACP_UPDATE_AGENT_MESSAGE_CHUNK },
	{ "agent_thought_chunk",	ACP_UPDATE_AGENT_THOUGHT_CHUNK },
	{ "tool_call",			ACP_UPDATE_TOOL_CALL },
	{ "tool_call_update",		ACP_UPDATE_TOOL_CALL_UPDATE },
	{ "plan",			ACP_UPDATE_PLAN },
	{ "available_commands_update",	ACP_UPDATE_AVAILABLE_COMMANDS },
	{ "current_mode_update",	ACP_UPDATE_CURRENT_MODE },
	{ "config_option_update",	ACP_UPDATE_CONFIG_OPTION },
	{ "session_info_update",	ACP_UPDATE_SESSION_INFO },
	{ "usage_update",		ACP_UPDATE_USAGE },
	{ "quota_update",		ACP_UPDATE_QUOTA },
};

/* The kind of a "sessionUpdate" string. */
enum acp_update_kind
acp_update_kind_of(const char *name)
{
	size_t	i;

	if (name == NULL)
		return (ACP_UPDATE_NONE);
	for (i = 0; i < nitems(acp_update_table); i++) {
		if (strcmp(name, acp_update_table[i].name) == 0)
			return (acp_update_table[i].kind);
	}
	return (ACP_UPDATE_OTHER);
}

/* The wire name of a kind, or NULL. */
const char *
acp_update_kind_name(enum acp_update_kind kind)
{
	size_t	i;

	for (i = 0; i < nitems(acp_update_table); i++) {
		if (acp_update_table[i].kind == kind)
			return (acp_update_table[i].name);
	}
	return (NULL);
}

/* One of the three *_message_chunk / *_thought_chunk kinds. */
int
acp_update_is_chunk(enum acp_update_kind kind)
{
	return (kind == ACP_UPDATE_USER_MESSAGE_CHUNK ||
	    kind == ACP_UPDATE_AGENT_MESSAGE_CHUNK ||
	    kind == ACP_UPDATE_AGENT_THOUGHT_CHUNK);
}

/* tool_call or tool_call_update. */
int
acp_update_is_tool(enum acp_update_kind kind)
{
	return (kind == ACP_UPDATE_TOOL_CALL ||
	    kind == ACP_UPDATE_TOOL_CALL_UPDATE);
}

/* A chunk's text: content {"type":"text","text":<string>}. */
static void
acp_update_chunk_text(struct acp_update *ev)
{
	const json_t	*type, *text;

	type = json_object_get(ev->content, "type");
	if (!json_is_string(type) ||
	    strcmp(json_string_value(type), "text") != 0)
		return;
	text = json_object_get(ev->content, "text");
	if (!json_is_string(text))
		return;
	ev->text = json_string_value(text);
	ev->text_len = json_string_length(text);
}

/* Type one update object. */
enum acp_update_kind
acp_update_parse(const json_t *u, struct acp_update *ev)
{
	const json_t	*meta;

	memset(ev, 0, sizeof *ev);
	if (!json_is_object(u))
		return (ACP_UPDATE_NONE);
	ev->update = u;
	ev->name = json_string_value(json_object_get(u, "sessionUpdate"));
	ev->kind = acp_update_kind_of(ev->name);
	switch (ev->kind) {
	case ACP_UPDATE_USER_MESSAGE_CHUNK:
	case ACP_UPDATE_AGENT_MESSAGE_CHUNK:
	case ACP_UPDATE_AGENT_THOUGHT_CHUNK:
		ev->content = json_object_get(u, "content");
		acp_update_chunk_text(ev);
		break;
	case ACP_UPDATE_TOOL_CALL:
	case ACP_UPDATE_TOOL_CALL_UPDATE:
		ev->tool_call_id = json_object_get(u, "toolCallId");
		ev->title = json_object_get(u, "title");
		ev->status = json_object_get(u, "status");
		ev->tool_kind = json_object_get(u, "kind");
		ev->locations = json_object_get(u, "locations");
		ev->raw_input = json_object_get(u, "rawInput");
		ev->raw_output = json_object_get(u, "rawOutput");
		ev->content = json_object_get(u, "content");
		break;
	case ACP_UPDATE_PLAN:
		ev->entries = json_object_get(u, "entries");
		break;
	case ACP_UPDATE_AVAILABLE_COMMANDS:
		ev->commands = json_object_get(u, "availableCommands");
		break;
	case ACP_UPDATE_CURRENT_MODE:
		ev->mode_id = json_object_get(u, "currentModeId");
		break;
	case ACP_UPDATE_CONFIG_OPTION:
		ev->config_options = json_object_get(u, "configOptions");
		break;
	case ACP_UPDATE_SESSION_INFO:
		ev->title = json_object_get(u, "title");
		ev->updated_at = json_string_value(json_object_get(u,
		    "updatedAt"));
		break;
	case ACP_UPDATE_USAGE:
		meta = json_object_get(json_object_get(u, "_meta"), "usage");
		ev->usage_meta = json_is_object(meta) ? meta : NULL;
		ev->cost = json_object_get(u, "cost");
		break;
	case ACP_UPDATE_NONE:
	case ACP_UPDATE_OTHER:
	case ACP_UPDATE_QUOTA:	/* read by warp-quota.c from ev->update */
		break;
	}
	return (ev->kind);
}

/* Type the "update" of a session/update notification's params. */
enum acp_update_kind
acp_update_parse_params(const json_t *params, struct acp_update *ev)
{
	return (acp_update_parse(json_object_get(params, "update"), ev));
}

/* The reference client's checks on chunks and plans. */
int
acp_update_well_formed(const struct acp_update *ev)
{
	const json_t	*type, *e;
	size_t		 i;

	if (ev->kind == ACP_UPDATE_NONE)
		return (0);
	if (acp_update_is_chunk(ev->kind)) {
		if (!json_is_object(ev->content))
			return (0);
		type = json_object_get(ev->content, "type");
		if (!json_is_string(type))
			return (0);
		return (strcmp(json_string_value(type), "text") != 0 ||
		    ev->text != NULL);
	}
	if (ev->kind == ACP_UPDATE_PLAN) {
		if (!json_is_array(ev->entries))
			return (0);
		json_array_foreach(ev->entries, i, e) {
			if (!json_is_object(e) ||
			    !json_is_string(json_object_get(e, "status")) ||
			    !json_is_string(json_object_get(e, "content")))
				return (0);
		}
	}
	return (1);
}
