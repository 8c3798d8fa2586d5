#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"
#include "jget.h"
#include "session-record-impl.h"

/*
 * What the agent tells a session record: its process starting and
 * exiting, the initialize result, and the models, modes and config options
 * of session/new, session/load and config updates.
 */

/* ---------------------------------------------------------- setters */

/* The agent was spawned. */
void
session_record_agent_started(struct session_record *r, pid_t pid,
    const char *now)
{
	r->pid = pid;
	session_record_set(&r->agent_started_at, now);
	session_record_set_json(&r->last_agent_exit_code, NULL);
	session_record_set_json(&r->last_agent_exit_signal, NULL);
	session_record_set(&r->last_agent_exit_at, NULL);
	session_record_set(&r->last_agent_disconnect_reason, NULL);
}

/* The agent is gone. */
void
session_record_agent_exited(struct session_record *r, int status,
    const char *reason, const char *now)
{
	char	sig[32];

	r->pid = 0;
	session_record_set_json(&r->last_agent_exit_code, json_null());
	session_record_set_json(&r->last_agent_exit_signal, json_null());
	if (status >= 0 && WIFEXITED(status))
		session_record_set_json(&r->last_agent_exit_code,
		    json_integer(WEXITSTATUS(status)));
	else if (status >= 0 && WIFSIGNALED(status)) {
		snprintf(sig, sizeof sig, "SIG%s",
		    sigabbrev_np(WTERMSIG(status)) != NULL ?
		    sigabbrev_np(WTERMSIG(status)) : "UNKNOWN");
		session_record_set_json(&r->last_agent_exit_signal, json_string(sig));
	}
	session_record_set(&r->last_agent_exit_at, now);
	if (reason != NULL)
		session_record_set(&r->last_agent_disconnect_reason, reason);
}

/* The acpx state object, created empty if absent. */
json_t *
session_record_acpx(struct session_record *r)
{
	if (r->acpx == NULL)
		r->acpx = json_object();
	return (r->acpx);
}

/* {value, name} strings, or NULL. */
static int
record_model_entry(const json_t *o, const char *idkey, json_t *ids,
    json_t *names)
{
	if (jget_str(o, idkey) == NULL || jget_str(o, "name") == NULL)
		return (0);
	json_array_append_new(ids, json_string(jget_str(o, idkey)));
	json_object_set_new(names, jget_str(o, idkey),
	    json_string(jget_str(o, "name")));
	return (1);
}

/*
 * modelStateFromConfigOptions: {"configId","current","ids","names"} of the
 * best model select option, or NULL. Caller owns.
 */
static json_t *
record_config_models(const json_t *opts)
{
	const json_t	*o, *e, *g;
	json_t		*best = NULL, *ids, *names;
	const char	*type, *cat, *id;
	size_t		 i, j, k;
	int		 prio, best_prio = -1, ok;

	json_array_foreach(opts, i, o) {
		type = jget_str(o, "type");
		cat = jget_str(o, "category");
		id = jget_str(o, "id");
		if (type == NULL || strcmp(type, "select") != 0 || id == NULL ||
		    jget_str(o, "currentValue") == NULL ||
		    !((cat != NULL && strcmp(cat, "model") == 0) ||
		    strcmp(id, "model") == 0) ||
		    !json_is_array(json_object_get(o, "options")))
			continue;
		ids = json_array();
		names = json_object();
		ok = 1;
		json_array_foreach(json_object_get(o, "options"), j, e) {
			if (!record_model_entry(e, "value", ids, names))
				ok = 0;
		}
		if (!ok) {
			json_array_clear(ids);
			json_object_clear(names);
			ok = 1;
			json_array_foreach(json_object_get(o, "options"), j, g) {
				if (jget_str(g, "group") == NULL ||
				    jget_str(g, "name") == NULL ||
				    !json_is_array(json_object_get(g, "options"))) {
					ok = 0;
					break;
				}
				json_array_foreach(json_object_get(g, "options"),
				    k, e) {
					if (!record_model_entry(e, "value", ids,
					    names))
						ok = 0;
				}
			}
		}
		prio = cat != NULL && strcmp(cat, "model") == 0 ?
		    (strcmp(id, "model") == 0 ? 2 : 1) : 0;
		if (!ok || prio <= best_prio) {
			json_decref(ids);
			json_decref(names);
			continue;
		}
		json_decref(best);
		best = json_pack("{s:s, s:s, s:o, s:o}", "configId", id,
		    "current", jget_str(o, "currentValue"), "ids", ids, "names",
		    names);
		best_prio = prio;
	}
	return (best);
}

/* modelStateFromLegacyResponse, or NULL. Caller owns. */
static json_t *
record_legacy_models(const json_t *result)
{
	const json_t	*models = json_object_get(result, "models"), *e;
	json_t		*ids, *names;
	size_t		 i;

	if (!json_is_object(models) || jget_str(models, "currentModelId") ==
	    NULL || !json_is_array(json_object_get(models, "availableModels")))
		return (NULL);
	ids = json_array();
	names = json_object();
	json_array_foreach(json_object_get(models, "availableModels"), i, e)
		(void)record_model_entry(e, "modelId", ids, names);
	return (json_pack("{s:s, s:o, s:o}", "current",
	    jget_str(models, "currentModelId"), "ids", ids, "names", names));
}

/* applyAdvertisedModelState. */
static void
record_advertise(json_t *acpx, const json_t *models)
{
	json_object_set(acpx, "current_model_id", json_object_get(models,
	    "current"));
	json_object_set_new(acpx, "available_models",
	    json_deep_copy(json_object_get(models, "ids")));
	json_object_set_new(acpx, "available_model_names",
	    json_deep_copy(json_object_get(models, "names")));
	json_object_set_new(acpx, "model_control", json_string(
	    json_object_get(models, "configId") != NULL ? "config_option" :
	    "legacy_set_model"));
}

static void
record_clear_models(json_t *acpx)
{
	json_object_del(acpx, "current_model_id");
	json_object_del(acpx, "available_models");
	json_object_del(acpx, "available_model_names");
	json_object_del(acpx, "model_control");
}

/*
 * cloneSessionAcpxState's key order (its keys exist even when undefined,
 * so later assignments keep these positions); reset_on_next_ensure and
 * unknown keys are not cloned, except the Warp routing state, which is
 * ours and not the agent's to reset (and the execution node the session
 * lives on, node-bind.h): an agent that answers with
 * configOptions (opencode does, on session/new, load and resume) must not
 * make a session forget the agent that serves it. Returns a new object.
 */
static json_t *
record_acpx_clone(const json_t *acpx, int *had_names)
{
	static const char *const order[] = { "current_mode_id",
	    "desired_mode_id", "desired_config_options", "current_model_id",
	    "available_models", "available_model_names", "model_control",
	    "available_commands", "config_options", "session_options",
	    "serving_agent", "routing_history", "node", "node_agent" };
	json_t	*c = json_object();
	size_t	 i;

	*had_names = json_object_get(acpx, "available_model_names") != NULL;
	for (i = 0; i < nitems(order); i++) {
		if (json_object_get(acpx, order[i]) != NULL)
			json_object_set_new(c, order[i],
			    json_deep_copy(json_object_get(acpx, order[i])));
	}
	return (c);
}

/* Lay out acpx in the clone order (positions of undefined keys kept). */
static json_t *
record_acpx_layout(const json_t *acpx, int had_names)
{
	static const char *const order[] = { "current_mode_id",
	    "desired_mode_id", "desired_config_options", "current_model_id",
	    "available_models", "available_model_names", "model_control",
	    "available_commands", "config_options", "session_options" };
	json_t		*c = json_object(), *v;
	const char	*k;
	size_t		 i;

	for (i = 0; i < nitems(order); i++) {
		if (!had_names && strcmp(order[i], "available_model_names") == 0)
			continue;
		if ((v = json_object_get(acpx, order[i])) != NULL)
			json_object_set(c, order[i], v);
	}
	json_object_foreach((json_t *)acpx, k, v) {
		if (json_object_get(c, k) == NULL)
			json_object_set(c, k, v);
	}
	return (c);
}

/*
 * applyConfigOptionsModelState on acpx (in place): config_options and the
 * model state they advertise, keeping legacy set_model control.
 */
static void
record_apply_config_state(json_t *acpx, const json_t *opts)
{
	json_t		*prev, *models;
	const char	*mc = jget_str(acpx, "model_control");
	int		 legacy;

	prev = record_config_models(json_object_get(acpx, "config_options"));
	legacy = (mc != NULL && strcmp(mc, "legacy_set_model") == 0) ||
	    (mc == NULL && prev == NULL &&
	    json_is_array(json_object_get(acpx, "available_models")));
	json_decref(prev);
	json_object_set_new(acpx, "config_options", json_deep_copy(opts));
	if ((models = record_config_models(opts)) != NULL) {
		record_advertise(acpx, models);
		json_decref(models);
	} else if (legacy)
		json_object_set_new(acpx, "model_control",
		    json_string("legacy_set_model"));
	else
		record_clear_models(acpx);
}

/* config_option_update: the options and their model state, no re-layout. */
void
session_record_apply_config_update(struct session_record *r,
    const json_t *opts)
{
	if (json_is_array(opts))
		record_apply_config_state(session_record_acpx(r), opts);
}

/* Record what an ACP session response told us. */
void
session_record_apply_session_result(struct session_record *r,
    const json_t *result)
{
	const json_t	*meta, *opts;
	char		*asid = NULL;
	json_t		*acpx, *clone, *models;
	int		 had_names;

	meta = json_object_get(result, "_meta");
	if (json_is_object(meta)) {
		asid = session_record_trim(jget_str(meta, "agentSessionId"));
		if (asid == NULL)
			asid = session_record_trim(jget_str(meta, "sessionId"));
	}
	if (asid != NULL) {
		free(r->agent_session_id);
		r->agent_session_id = asid;
	}
	acpx = session_record_acpx(r);
	opts = json_object_get(result, "configOptions");
	if (json_is_array(opts)) {
		/* applyConfigOptionsToState works on a clone. */
		clone = record_acpx_clone(acpx, &had_names);
		record_apply_config_state(clone, opts);
		json_decref(r->acpx);
		r->acpx = record_acpx_layout(clone, had_names);
		json_decref(clone);
		acpx = r->acpx;
	}
	/* syncAdvertisedModelState with the session's models. */
	if ((models = record_config_models(opts)) == NULL)
		models = record_legacy_models(result);
	if (models != NULL) {
		record_advertise(acpx, models);
		json_decref(models);
	}
}

/* Record initialize's protocolVersion and agentCapabilities. */
void
session_record_apply_init(struct session_record *r, const json_t *init)
{
	const json_t	*v;

	if (json_is_number(v = json_object_get(init, "protocolVersion")))
		session_record_set_json(&r->protocol_version, json_incref((json_t *)v));
	if (json_is_object(v = json_object_get(init, "agentCapabilities")))
		session_record_set_json(&r->agent_capabilities, json_deep_copy(v));
}
