/*
 * The one table of ACP session/update kinds: an update object's
 * "sessionUpdate" string is mapped here, and only here, to an enum plus
 * the members its consumers read (the renderers, the conversation
 * record, compare, the Warp classifier, the fallback summary and the
 * queue owner's chunk batching). A new kind is one enum value and one
 * table row in acp-update.c.
 *
 * Every pointer in struct acp_update is borrowed from the update object
 * passed to acp_update_parse() and lives as long as it does; NULL means
 * the member is absent (a JSON null is a json_null() value, not NULL).
 * Nothing is allocated, so there is nothing to free.
 */
#ifndef ACPX_ACP_UPDATE_H
#define ACPX_ACP_UPDATE_H

#include <stddef.h>

#include <jansson.h>

enum acp_update_kind {
	ACP_UPDATE_NONE = 0,		/* no "sessionUpdate" string */
	ACP_UPDATE_OTHER,		/* a kind not in the table */
	ACP_UPDATE_USER_MESSAGE_CHUNK,
	ACP_UPDATE_AGENT_MESSAGE_CHUNK,
	ACP_UPDATE_AGENT_THOUGHT_CHUNK,
	ACP_UPDATE_TOOL_CALL,
	ACP_UPDATE_TOOL_CALL_UPDATE,
	ACP_UPDATE_PLAN,
	ACP_UPDATE_AVAILABLE_COMMANDS,
	ACP_UPDATE_CURRENT_MODE,
	ACP_UPDATE_CONFIG_OPTION,
	ACP_UPDATE_SESSION_INFO,
	ACP_UPDATE_USAGE,
	ACP_UPDATE_QUOTA		/* quota_update (unstable: quotas and limits) */
};

/* One session/update, typed. Which members are set depends on kind. */
struct acp_update {
	enum acp_update_kind	 kind;
	const char		*name;	/* "sessionUpdate" as sent; NULL for NONE */
	const json_t		*update;	/* the update object itself */

	/*
	 * *_CHUNK: "content", and its text when content is an object whose
	 * "type" is "text" and whose "text" is a string (else text is NULL).
	 * TOOL_CALL*: "content" (an array of tool call content).
	 */
	const json_t		*content;
	const char		*text;
	size_t			 text_len;

	/* TOOL_CALL, TOOL_CALL_UPDATE; title also for SESSION_INFO. */
	const json_t		*tool_call_id;	/* "toolCallId" */
	const json_t		*title;		/* "title" */
	const json_t		*status;	/* "status" */
	const json_t		*tool_kind;	/* "kind" */
	const json_t		*locations;	/* "locations" */
	const json_t		*raw_input;	/* "rawInput" */
	const json_t		*raw_output;	/* "rawOutput" */

	const json_t		*entries;	/* PLAN: "entries" */
	const json_t		*commands;	/* AVAILABLE_COMMANDS */
	const json_t		*mode_id;	/* CURRENT_MODE: "currentModeId" */
	const json_t		*config_options; /* CONFIG_OPTION */
	const char		*updated_at;	/* SESSION_INFO: a string */

	/* USAGE: "_meta"."usage" when an object, and "cost". */
	const json_t		*usage_meta;
	const json_t		*cost;
};

/*
 * Type one update object (borrowed; NULL or a non-object gives NONE).
 * Fills *ev and returns its kind.
 */
enum acp_update_kind	 acp_update_parse(const json_t *update,
			    struct acp_update *ev);

/* The same for a session/update notification's params ("update"). */
enum acp_update_kind	 acp_update_parse_params(const json_t *params,
			    struct acp_update *ev);

/* The kind of a "sessionUpdate" string (NULL gives NONE). */
enum acp_update_kind	 acp_update_kind_of(const char *name);

/* The wire name of a kind; NULL for NONE and OTHER. Static storage. */
const char		*acp_update_kind_name(enum acp_update_kind);

/* agent_message_chunk, agent_thought_chunk or user_message_chunk. */
int			 acp_update_is_chunk(enum acp_update_kind);

/* tool_call or tool_call_update. */
int			 acp_update_is_tool(enum acp_update_kind);

/*
 * The shape the reference's client checks before rendering an update: a
 * chunk's content is an object with a string "type" (and a string "text"
 * when the type is "text"); a plan's entries are objects with string
 * "status" and "content". Other known and unknown kinds pass; NONE fails.
 */
int			 acp_update_well_formed(const struct acp_update *);

#endif
