/*
 * The ACP client's lifecycle events (events.h), one call per site in
 * acp-client*.c: the agent spawned and initialized, sessions created,
 * loaded or resumed, turns started and ended, permissions asked and
 * decided, malformed session/update notifications, the agent's exit.
 * Arguments are borrowed; nothing is kept.
 */
#ifndef ACPX_EVENTS_ACP_H
#define ACPX_EVENTS_ACP_H

#include <sys/types.h>

#include <stdint.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"

/* agent.spawned: argv[0]'s base name, the harness, the agent's pid. */
void	 events_acp_spawned(char *const *argv, pid_t pid);
/* agent.initialized: ms since t0_ms, the protocol version. */
void	 events_acp_initialized(int64_t t0_ms, const json_t *init_result);
/* session.created | session.loaded | session.resumed (method's). */
void	 events_acp_session(const char *method, const char *acp_session_id);
/* turn.ended: stop reason or error, ms since t0_ms, usage, invalid updates. */
void	 events_acp_turn_ended(const json_t *result,
	    const struct acpx_error *err, int64_t t0_ms, int invalid);
/*
 * permission.asked then permission.granted|denied|cancelled: the tool's
 * kind and title, the answer's class ("approved" ...) and which rule
 * decided (action: enum perm_action; mode; whether a policy object is set).
 */
void	 events_acp_permission(const json_t *params, const char *cls,
	    int action, enum acpx_perm_mode mode, int has_policy);
/*
 * A session/update that fails validation (params borrowed): counted in
 * *count; the first one of a client is logged as update.invalid. NULL if
 * it is well formed, else its "sessionUpdate" (borrowed, "?" if none).
 */
const char *events_acp_update_check(const json_t *params, int *count);
/*
 * The "sessionUpdate" of msg (borrowed; "?" if none) when it is a
 * session/update notification that fails validation, else NULL. Nothing
 * is logged (for a client that sees the owner's messages).
 */
const char *events_acp_malformed(const json_t *msg);
/* agent.exited: code or signal from a wait status. */
void	 events_acp_exited(int status);

#endif
