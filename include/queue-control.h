/*
 * Session controls (spec acpx-runtime.md §6.2, acpx-cli.md §3.4-3.5):
 * session/set_mode, `set <key> <value>` (session/set_config_option) and
 * `set model` (through the model config option, else legacy
 * session/set_model) sent on a connected acp_client, the reference's
 * rewrapping of "not supported" ACP errors, and what an accepted control
 * records in the session record (desired mode, desired config options,
 * model selection). Used by the queue owner and by the direct path of
 * cmd-control.c alike.
 */
#ifndef ACPX_QUEUE_CONTROL_H
#define ACPX_QUEUE_CONTROL_H

#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "session-record.h"

enum queue_control_kind {
	QUEUE_CONTROL_MODE = 0,		/* value = mode id */
	QUEUE_CONTROL_MODEL,		/* value = model id */
	QUEUE_CONTROL_CONFIG		/* key = config id, value */
};

/*
 * Done: response is the agent's result (set_config_option: {configOptions};
 * set_mode/set_model: {} or NULL) or err (borrowed). The record was already
 * updated on success.
 */
typedef void	(*queue_control_cb)(const json_t *response,
		    struct acpx_error *err, void *arg);

/*
 * Run one control on client (connected to rec's session) and record it in
 * rec on success. Model checks happen before anything is sent ("Cannot set
 * model ..."); -32601/-32602 (or -32603 "invalid params") rejections are
 * rewrapped as "Agent rejected <method> ...". cb may run before this
 * returns when a check fails.
 */
void		 queue_control_run(struct acp_client *, struct session_record *rec,
		    enum queue_control_kind, const char *key, const char *value,
		    queue_control_cb, void *arg);

struct model_state;

/*
 * The models the record's session advertises (advertisedModelState): the
 * model select config option, else the legacy available_models. 0 with
 * *ms (model_state_clear() it), -1 if none.
 */
int		 queue_control_models(struct session_record *,
		    struct model_state *);

/* `set thought_level` on the legacy Zed codex adapter means reasoning_effort. */
const char	*queue_control_config_id(const char *agent_command,
		    const char *key);

#endif
