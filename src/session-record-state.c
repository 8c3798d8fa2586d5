#include <config.h>

#include <sys/types.h>

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
 * The optional parts of a record, normalised as the reference's parse.ts
 * does: token usage and cost, the acpx state (commands, session options,
 * models) and the event log.
 */

static const char *const usage_fields[] = {
	"input_tokens", "output_tokens", "cache_creation_input_tokens",
	"cache_read_input_tokens", "thought_tokens", "total_tokens"
};

/* parseTokenUsage: NULL (absent/null) → *out NULL; invalid → -1. */
int
session_record_parse_usage(const json_t *raw, json_t **out)
{
	const json_t	*v;
	size_t		 i;

	*out = NULL;
	if (raw == NULL || json_is_null(raw))
		return (0);
	if (!json_is_object(raw))
		return (-1);
	*out = json_object();
	for (i = 0; i < nitems(usage_fields); i++) {
		if ((v = json_object_get(raw, usage_fields[i])) == NULL)
			continue;
		if (!session_record_is_nonneg(v)) {
			json_decref(*out);
			*out = NULL;
			return (-1);
		}
		json_object_set(*out, usage_fields[i], (json_t *)v);
	}
	return (0);
}

int
session_record_parse_cost(const json_t *raw, json_t **out)
{
	const json_t	*amount, *currency;
	char		*cur;

	*out = NULL;
	if (raw == NULL || json_is_null(raw))
		return (0);
	if (!json_is_object(raw))
		return (-1);
	amount = json_object_get(raw, "amount");
	currency = json_object_get(raw, "currency");
	if (amount != NULL && !session_record_is_nonneg(amount))
		return (-1);
	if (currency != NULL && !json_is_string(currency))
		return (-1);
	*out = json_object();
	if (amount != NULL)
		json_object_set(*out, "amount", (json_t *)amount);
	if (currency != NULL &&
	    (cur = session_record_trim(json_string_value(currency))) != NULL) {
		json_object_set_new(*out, "currency", json_string(cur));
		free(cur);
	}
	if (json_object_size(*out) == 0) {
		json_decref(*out);
		*out = NULL;
	}
	return (0);
}

int
session_record_parse_request_usage(const json_t *raw, json_t **out)
{
	const char	*k;
	json_t		*v, *u;

	*out = NULL;
	if (raw == NULL || json_is_null(raw))
		return (0);
	if (!json_is_object(raw))
		return (-1);
	*out = json_object();
	json_object_foreach((json_t *)raw, k, v) {
		if (session_record_parse_usage(v, &u) == -1 || u == NULL) {
			json_decref(*out);
			*out = NULL;
			return (-1);
		}
		json_object_set_new(*out, k, u);
	}
	return (0);
}

/* ---------------------------------------------------------- acpx state */

/* Object of the string values of raw, or NULL (empty unless keep_empty). */
static json_t *
record_string_map(const json_t *raw, int keep_empty)
{
	const char	*k;
	json_t		*v, *out;

	if (!json_is_object(raw))
		return (NULL);
	out = json_object();
	json_object_foreach((json_t *)raw, k, v) {
		if (json_is_string(v))
			json_object_set(out, k, v);
	}
	if (json_object_size(out) == 0 && !keep_empty) {
		json_decref(out);
		return (NULL);
	}
	return (out);
}

int
session_record_string_array(const json_t *v)
{
	const json_t	*e;
	size_t		 i;

	if (!json_is_array(v))
		return (0);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return (0);
	}
	return (1);
}

static json_t *
record_parse_commands(const json_t *raw)
{
	const json_t	*e;
	json_t		*out, *cmd;
	char		*name, *desc;
	size_t		 i;

	if (!json_is_array(raw))
		return (NULL);
	out = json_array();
	json_array_foreach(raw, i, e) {
		if (json_is_string(e)) {
			if ((name = session_record_trim(json_string_value(e))) != NULL) {
				json_array_append_new(out,
				    json_pack("{s:s}", "name", name));
				free(name);
			}
			continue;
		}
		if (!json_is_object(e) || (name = session_record_trim(jget_str(e,
		    "name"))) == NULL)
			continue;
		cmd = json_pack("{s:s}", "name", name);
		free(name);
		if ((desc = session_record_trim(jget_str(e, "description"))) != NULL) {
			json_object_set_new(cmd, "description",
			    json_string(desc));
			free(desc);
		}
		if (json_is_boolean(json_object_get(e, "has_input")))
			json_object_set(cmd, "has_input",
			    json_object_get(e, "has_input"));
		json_array_append_new(out, cmd);
	}
	if (json_array_size(out) == 0) {
		json_decref(out);
		return (NULL);
	}
	return (out);
}

static json_t *
record_parse_session_options(const json_t *raw)
{
	json_t		*out, *m;
	const json_t	*sp;

	if (!json_is_object(raw))
		return (NULL);
	out = json_object();
	if (json_is_string(json_object_get(raw, "model")))
		json_object_set(out, "model", json_object_get(raw, "model"));
	if (session_record_string_array(json_object_get(raw, "allowed_tools")))
		json_object_set_new(out, "allowed_tools",
		    json_deep_copy(json_object_get(raw, "allowed_tools")));
	if (session_record_is_pos_int(json_object_get(raw, "max_turns")))
		json_object_set(out, "max_turns",
		    json_object_get(raw, "max_turns"));
	sp = json_object_get(raw, "system_prompt");
	if (json_is_string(sp) && json_string_length(sp) > 0)
		json_object_set(out, "system_prompt", (json_t *)sp);
	else if (json_is_object(sp) && jget_str(sp, "append") != NULL &&
	    *jget_str(sp, "append") != '\0')
		json_object_set_new(out, "system_prompt", json_pack("{s:s}",
		    "append", jget_str(sp, "append")));
	if ((m = record_string_map(json_object_get(raw, "env"), 0)) != NULL)
		json_object_set_new(out, "env", m);
	if (json_object_size(out) == 0) {
		json_decref(out);
		return (NULL);
	}
	return (out);
}

static int
record_has_model_option(const json_t *options)
{
	const json_t	*o;
	const char	*s;
	size_t		 i;

	json_array_foreach(options, i, o) {
		if (((s = jget_str(o, "category")) != NULL &&
		    strcmp(s, "model") == 0) ||
		    ((s = jget_str(o, "id")) != NULL && strcmp(s, "model") == 0))
			return (1);
	}
	return (0);
}

/* parseAcpxState: the reference's normalised acpx object, or NULL. */
json_t *
session_record_parse_acpx(const json_t *raw)
{
	json_t		*st, *m;
	const json_t	*v, *e;
	const char	*mc;
	size_t		 i;
	int		 objs;

	if (!json_is_object(raw))
		return (NULL);
	st = json_object();
	if (json_is_true(json_object_get(raw, "reset_on_next_ensure")))
		json_object_set_new(st, "reset_on_next_ensure", json_true());
	if (json_is_string(v = json_object_get(raw, "current_mode_id")))
		json_object_set(st, "current_mode_id", (json_t *)v);
	if (json_is_string(v = json_object_get(raw, "desired_mode_id")))
		json_object_set(st, "desired_mode_id", (json_t *)v);
	if ((m = record_string_map(json_object_get(raw,
	    "desired_config_options"), 0)) != NULL)
		json_object_set_new(st, "desired_config_options", m);
	if ((m = record_string_map(json_object_get(raw,
	    "available_model_names"), 1)) != NULL)
		json_object_set_new(st, "available_model_names", m);
	if (json_is_string(v = json_object_get(raw, "current_model_id")))
		json_object_set(st, "current_model_id", (json_t *)v);
	if (session_record_string_array(v = json_object_get(raw, "available_models")))
		json_object_set_new(st, "available_models", json_deep_copy(v));
	mc = jget_str(raw, "model_control");
	if (mc != NULL && (strcmp(mc, "config_option") == 0 ||
	    strcmp(mc, "legacy_set_model") == 0))
		json_object_set_new(st, "model_control", json_string(mc));
	v = json_object_get(raw, "config_options");
	if (json_is_array(v)) {
		objs = 1;
		json_array_foreach(v, i, e) {
			if (!json_is_object(e))
				objs = 0;
		}
		if (objs)
			json_object_set_new(st, "config_options",
			    json_deep_copy(v));
	}
	if (json_object_get(st, "model_control") == NULL &&
	    json_object_get(st, "available_models") != NULL)
		json_object_set_new(st, "model_control", json_string(
		    record_has_model_option(json_object_get(st,
		    "config_options")) ? "config_option" : "legacy_set_model"));
	if ((m = record_parse_commands(json_object_get(raw,
	    "available_commands"))) != NULL)
		json_object_set_new(st, "available_commands", m);
	if ((m = record_parse_session_options(json_object_get(raw,
	    "session_options"))) != NULL)
		json_object_set_new(st, "session_options", m);
	/* Warp routing (ours): the serving agent and its history. */
	if (json_is_string(v = json_object_get(raw, "serving_agent")))
		json_object_set(st, "serving_agent", (json_t *)v);
	if (json_is_array(v = json_object_get(raw, "routing_history")))
		json_object_set_new(st, "routing_history", json_deep_copy(v));
	/* The execution node the session lives on (node-bind.h). */
	if (json_is_string(v = json_object_get(raw, "node")) &&
	    json_is_string(json_object_get(raw, "node_agent"))) {
		json_object_set(st, "node", (json_t *)v);
		json_object_set(st, "node_agent", json_object_get(raw,
		    "node_agent"));
	}
	return (st);
}

/* ---------------------------------------------------------- event log */

json_t *
session_record_parse_event_log(const json_t *raw, const char *record_id)
{
	json_t		*el;
	const json_t	*v;

	if (!json_is_object(raw) || !json_is_string(json_object_get(raw,
	    "active_path")) ||
	    !session_record_is_pos_int(json_object_get(raw, "segment_count")) ||
	    !session_record_is_pos_int(json_object_get(raw, "max_segment_bytes")) ||
	    !session_record_is_pos_int(json_object_get(raw, "max_segments")))
		return (session_record_default_event_log(record_id));
	el = json_object();
	json_object_set(el, "active_path", json_object_get(raw, "active_path"));
	json_object_set(el, "segment_count",
	    json_object_get(raw, "segment_count"));
	json_object_set(el, "max_segment_bytes",
	    json_object_get(raw, "max_segment_bytes"));
	json_object_set(el, "max_segments", json_object_get(raw, "max_segments"));
	if (json_is_string(v = json_object_get(raw, "last_write_at")))
		json_object_set(el, "last_write_at", (json_t *)v);
	v = json_object_get(raw, "last_write_error");
	if (v != NULL)
		json_object_set_new(el, "last_write_error", json_is_string(v) ?
		    json_incref((json_t *)v) : json_null());
	return (el);
}
