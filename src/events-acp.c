#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acp-update.h"
#include "acpx-error.h"
#include "events-acp.h"
#include "events.h"
#include "jget.h"
#include "permission.h"

/*
 * What the ACP client reports to the event log (events-acp.h). Only
 * identifiers, numbers, kinds and titles: never argv beyond its program
 * name, never prompt text or tool input.
 */

/* A path's last component. */
static const char *
events_acp_base(const char *p)
{
	const char	*s = strrchr(p, '/');

	return (s != NULL ? s + 1 : p);
}

/* The package a launcher runs (npx pkg, node script, uvx tool), else argv[0]. */
static const char *
events_acp_harness(char *const *argv)
{
	static const char *const launchers[] = { "npx", "node", "bunx", "bun",
	    "uvx", "pnpm", "pnpx", "yarn", "deno", "python3", "python", NULL };
	const char	*a0 = events_acp_base(argv[0]);
	size_t		 i;

	for (i = 0; launchers[i] != NULL; i++) {
		if (strcmp(a0, launchers[i]) == 0)
			break;
	}
	if (launchers[i] == NULL)
		return (a0);
	for (i = 1; argv[i] != NULL; i++) {
		if (argv[i][0] != '-' && strcmp(argv[i], "dlx") != 0 &&
		    strcmp(argv[i], "exec") != 0 && strcmp(argv[i], "run") != 0)
			return (events_acp_base(argv[i]));
	}
	return (a0);
}

void
events_acp_spawned(char *const *argv, pid_t pid)
{
	if (argv == NULL || argv[0] == NULL)
		return;
	events_emit("agent.spawned", json_pack("{s:s, s:s, s:I}", "argv0",
	    events_acp_base(argv[0]), "harness", events_acp_harness(argv),
	    "agentPid", (json_int_t)pid));
}

void
events_acp_initialized(int64_t t0_ms, const json_t *init)
{
	json_t	*f = json_pack("{s:I}", "ms", (json_int_t)(events_now_ms() -
		    t0_ms));
	const json_t *v = json_object_get(init, "protocolVersion");
	const char *name = jget_str(json_object_get(init, "agentInfo"), "name");

	if (json_is_integer(v))
		json_object_set(f, "protocolVersion", (json_t *)v);
	if (name != NULL)
		json_object_set_new(f, "agentInfo", json_string(name));
	events_emit("agent.initialized", f);
}

void
events_acp_session(const char *method, const char *sid)
{
	const char	*ev = strcmp(method, "session/load") == 0 ?
			    "session.loaded" : strcmp(method, "session/resume") == 0 ?
			    "session.resumed" : "session.created";

	events_emit(ev, json_pack("{s:s*}", "acpSessionId", sid));
}

/* The numeric members of a usage object (token counts), or NULL. */
static json_t *
events_acp_usage(const json_t *u)
{
	json_t		*out;
	const char	*k;
	json_t		*v;

	if (!json_is_object(u))
		return (NULL);
	out = json_object();
	json_object_foreach((json_t *)u, k, v) {
		if (json_is_number(v))
			json_object_set(out, k, v);
	}
	if (json_object_size(out) == 0) {
		json_decref(out);
		return (NULL);
	}
	return (out);
}

void
events_acp_turn_ended(const json_t *result, const struct acpx_error *err,
    int64_t t0_ms, int invalid)
{
	json_t		*f = json_pack("{s:I}", "ms", (json_int_t)(events_now_ms() -
			    t0_ms)), *u;
	const char	*sr = jget_str(result, "stopReason");

	if (sr != NULL)
		json_object_set_new(f, "stopReason", json_string(sr));
	if (err != NULL) {
		json_object_set_new(f, "error", json_string(err->detail_code !=
		    NULL ? err->detail_code : acpx_error_code_name(err->code)));
	}
	if ((u = events_acp_usage(json_object_get(result, "usage"))) != NULL ||
	    (u = events_acp_usage(json_object_get(json_object_get(result,
	    "_meta"), "usage"))) != NULL)
		json_object_set_new(f, "tokens", u);
	if (invalid > 0)
		json_object_set_new(f, "invalidUpdates", json_integer(invalid));
	events_emit("turn.ended", f);
}

/* Which rule answered: the TTY, --non-interactive-permissions, the policy, the mode. */
static const char *
events_acp_rule(int action, enum acpx_perm_mode mode, int has_policy)
{
	if (action == PERM_ASK)
		return ("tty");
	if (action == PERM_UNAVAILABLE)
		return ("non-interactive-permissions");
	if (has_policy)
		return ("permission-policy");
	switch (mode) {
	case ACPX_PERM_APPROVE_ALL:
		return ("approve-all");
	case ACPX_PERM_DENY_ALL:
		return ("deny-all");
	default:
		return ("approve-reads");
	}
}

void
events_acp_permission(const json_t *params, const char *cls, int action,
    enum acpx_perm_mode mode, int has_policy)
{
	const char	*kind = permission_infer_kind(params);
	const char	*title = jget_str(json_object_get(params, "toolCall"),
			    "title");
	const char	*ev;

	events_emit("permission.asked", json_pack("{s:s*, s:s*}", "toolKind",
	    kind, "title", title));
	ev = strcmp(cls, "approved") == 0 ? "permission.granted" :
	    strcmp(cls, "denied") == 0 ? "permission.denied" :
	    "permission.cancelled";
	events_emit(ev, json_pack("{s:s*, s:s*, s:s}", "toolKind", kind,
	    "title", title, "policy", events_acp_rule(action, mode,
	    has_policy)));
}

/* usage_update as the schema has it: used, size, cost, _meta; numbers. */
static int
events_acp_usage_ok(const json_t *u)
{
	const char	*k;
	json_t		*v;

	json_object_foreach((json_t *)u, k, v) {
		if (strcmp(k, "sessionUpdate") == 0 || strcmp(k, "_meta") == 0 ||
		    strcmp(k, "cost") == 0)
			continue;
		if ((strcmp(k, "used") == 0 || strcmp(k, "size") == 0) &&
		    json_is_number(v))
			continue;
		return (0);
	}
	return (1);
}

/* The params of a session/update that fails validation: its kind, else NULL. */
static const char *
events_acp_bad(const json_t *params)
{
	struct acp_update	 ev;
	enum acp_update_kind	 kind = acp_update_parse_params(params, &ev);

	if (acp_update_well_formed(&ev) && (kind != ACP_UPDATE_USAGE ||
	    events_acp_usage_ok(ev.update)))
		return (NULL);
	return (ev.name != NULL ? ev.name : "?");
}

const char *
events_acp_update_check(const json_t *params, int *count)
{
	const char	*bad = events_acp_bad(params);

	if (bad != NULL && (*count)++ == 0)
		events_emit("update.invalid", json_pack("{s:s}",
		    "sessionUpdate", bad));
	return (bad);
}

const char *
events_acp_malformed(const json_t *msg)
{
	const char	*m = jget_str(msg, "method");

	if (m == NULL || strcmp(m, "session/update") != 0 ||
	    json_object_get(msg, "id") != NULL)
		return (NULL);
	return (events_acp_bad(json_object_get(msg, "params")));
}

void
events_acp_exited(int status)
{
	char	sig[32];

	if (WIFSIGNALED(status)) {
		snprintf(sig, sizeof sig, "SIG%s", sigabbrev_np(WTERMSIG(status))
		    != NULL ? sigabbrev_np(WTERMSIG(status)) : "UNKNOWN");
		events_emit("agent.exited", json_pack("{s:n, s:s}", "code",
		    "signal", sig));
	} else
		events_emit("agent.exited", json_pack("{s:i, s:n}", "code",
		    WEXITSTATUS(status), "signal"));
}
