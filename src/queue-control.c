#include <config.h>

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "cmdline.h"
#include "jget.h"
#include "js.h"
#include "model.h"
#include "queue-control.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * One session control on a live connection, then its effect on the record
 * (the reference's owned-controls.ts, config-options.ts and
 * mode-preference.ts).
 */

struct queue_control {
	struct acp_client	*client;
	struct session_record	*rec;
	enum queue_control_kind	 kind;
	char			*key;
	char			*value;
	char			*model_config;	/* model selector config id, or NULL */
	queue_control_cb	 cb;
	void			*arg;
};

/* `set thought_level` on the legacy Zed codex adapter means reasoning_effort. */
const char *
queue_control_config_id(const char *agent_command, const char *key)
{
	regex_t	re;
	int	legacy;

	if (strcmp(key, "thought_level") != 0)
		return (key);
	if (regcomp(&re, "@zed-industries/codex-acp([^A-Za-z0-9_]|$)",
	    REG_EXTENDED|REG_NOSUB) != 0)
		return (key);
	legacy = regexec(&re, agent_command, 0, NULL, 0) == 0;
	regfree(&re);
	return (legacy ? "reasoning_effort" : key);
}

/*
 * advertisedModelState(record.acpx): the model select option of the saved
 * config options, else (unless config options are authoritative) the
 * legacy available_models. 0 with *ms, -1 if none.
 */
int
queue_control_models(struct session_record *rec, struct model_state *ms)
{
	json_t		*acpx = rec->acpx, *fake, *list, *e;
	const json_t	*opts, *avail;
	const char	*control;
	size_t		 i;
	int		 rc;

	memset(ms, 0, sizeof *ms);
	if (acpx == NULL)
		return (-1);
	opts = json_object_get(acpx, "config_options");
	if (json_is_array(opts)) {
		fake = json_pack("{s:O}", "configOptions", opts);
		rc = model_state_parse(fake, ms);
		json_decref(fake);
		if (rc == 0 && ms->config_id != NULL)
			return (0);
		model_state_clear(ms);
		memset(ms, 0, sizeof *ms);
	}
	control = jget_str(acpx, "model_control");
	if (control != NULL && strcmp(control, "config_option") == 0)
		return (-1);
	avail = json_object_get(acpx, "available_models");
	if (!json_is_array(avail))
		return (-1);
	list = json_array();
	for (i = 0; i < json_array_size(avail); i++) {
		e = json_array_get(avail, i);
		if (json_is_string(e))
			json_array_append_new(list, json_pack("{s:O, s:O}",
			    "modelId", e, "name", e));
	}
	fake = json_pack("{s:{s:s, s:o}}", "models", "currentModelId",
	    jget_str(acpx, "current_model_id") != NULL ?
	    jget_str(acpx, "current_model_id") : "", "availableModels", list);
	rc = model_state_parse(fake, ms);
	json_decref(fake);
	if (rc == 0) {
		free(ms->config_id);
		ms->config_id = NULL;
	}
	return (rc);
}

/* desired_config_options reconciled with a control response's currentValues. */
static void
control_reconcile(json_t *acpx, const json_t *response)
{
	json_t		*desired, *next;
	const json_t	*opts, *o;
	const char	*id, *cur;
	size_t		 i;

	desired = json_object_get(acpx, "desired_config_options");
	opts = json_object_get(response, "configOptions");
	if (!json_is_object(desired) || !json_is_array(opts))
		return;
	next = json_object();
	json_array_foreach(opts, i, o) {
		id = jget_str(o, "id");
		cur = jget_str(o, "currentValue");
		if (id != NULL && cur != NULL &&
		    json_object_get(desired, id) != NULL)
			json_object_set_new(next, id, json_string(cur));
	}
	if (json_object_size(next) > 0)
		json_object_set_new(acpx, "desired_config_options", next);
	else {
		json_decref(next);
		json_object_del(acpx, "desired_config_options");
	}
}

/* applyAcceptedConfigOptions: config options + model state, then reconcile. */
static void
control_accept_options(struct session_record *rec, const json_t *response)
{
	json_t	*opts;

	if (!json_is_object(response) ||
	    !json_is_array(json_object_get(response, "configOptions")))
		return;
	opts = json_pack("{s:O}", "configOptions",
	    json_object_get(response, "configOptions"));
	session_record_apply_session_result(rec, opts);
	json_decref(opts);
	control_reconcile(session_record_acpx(rec), response);
}

/* applyModelSelection. */
static void
control_apply_model(struct queue_control *qc, const json_t *response)
{
	json_t			*acpx, *so, *desired;
	struct model_state	 ms;
	const char		*current = qc->value;
	int			 have;

	control_accept_options(qc->rec, response);
	acpx = session_record_acpx(qc->rec);
	so = json_object_get(acpx, "session_options");
	if (!json_is_object(so)) {
		so = json_object();
		json_object_set_new(acpx, "session_options", so);
	}
	json_object_set_new(so, "model", json_string(qc->value));
	have = response != NULL && json_is_array(json_object_get(response,
	    "configOptions")) && model_state_parse(response, &ms) == 0;
	if (have && ms.current != NULL)
		current = ms.current;
	json_object_set_new(acpx, "current_model_id", json_string(current));
	if (have)
		model_state_clear(&ms);
	desired = json_object_get(acpx, "desired_config_options");
	if (qc->model_config != NULL && json_is_object(desired)) {
		json_object_del(desired, qc->model_config);
		if (json_object_size(desired) == 0)
			json_object_del(acpx, "desired_config_options");
	}
}

/*
 * A failed control as the reference reports it (caller owns): a "not
 * supported" ACP rejection rewrapped as "Agent rejected <method> ...";
 * else, for a model, "Failed <method> for model "<id>": <ACP summary>";
 * else the agent's own reason (data.details, else its message), where the
 * reference prints the bare ACP message ("Internal error"): a deliberate
 * difference (docs/compatibility.md). Either way the error is the CLI's
 * (origin cli), not the ACP stream's.
 */
static struct acpx_error *
control_wrap_error(const char *method, const char *context,
    const char *model, struct acpx_error *err)
{
	struct acpx_error	*w;
	const json_t		*acp = err->acp, *data;
	const char		*details = NULL, *msg;
	json_int_t		 code;
	char			*summary, *lower, *p;
	int			 wrap = 0;

	if (acp != NULL) {
		code = json_integer_value(json_object_get(acp, "code"));
		msg = jget_str(acp, "message");
		data = json_object_get(acp, "data");
		details = jget_str(data, "details");
		if (code == -32601 || code == -32602)
			wrap = 1;
		else if (code == -32603 && details != NULL) {
			lower = xstrdup(details);
			for (p = lower; *p != '\0'; p++)
				*p = (char)tolower((unsigned char)*p);
			wrap = strstr(lower, "invalid params") != NULL;
			free(lower);
		}
	}
	if (!wrap) {
		if (acp != NULL && details != NULL && !js_blank(details)) {
			p = js_trim_dup(details);
			xasprintf(&summary, "%s (ACP %lld, adapter reported "
			    "\"%s\")", p, (long long)code, msg != NULL ? msg : "");
			free(p);
		} else if (acp != NULL)
			xasprintf(&summary, "%s (ACP %lld)", msg != NULL ? msg :
			    "", (long long)code);
		else
			summary = xstrdup(err->message);
		if (model != NULL)
			w = acpx_error_new(err->code, err->detail_code, "cli",
			    "Failed %s for model \"%s\": %s", method, model,
			    summary);
		else	/* the agent's own reason: a deliberate difference */
			w = acpx_error_new(err->code, err->detail_code,
			    acp != NULL ? "cli" : err->origin, "%s",
			    err->message);
		free(summary);
		w->retryable = err->retryable;
		w->flags = err->flags;
		if (err->acp != NULL)
			w->acp = json_deep_copy(err->acp);
		return (w);
	}
	if (details != NULL && !js_blank(details)) {
		p = js_trim_dup(details);
		xasprintf(&summary, "%s (ACP %lld, adapter reported \"%s\")", p,
		    (long long)code, msg != NULL ? msg : "");
		free(p);
	} else
		xasprintf(&summary, "%s (ACP %lld)", msg != NULL ? msg : "",
		    (long long)code);
	w = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "Agent rejected %s %s: "
	    "%s. The adapter may not implement %s, or the requested value is not "
	    "supported.", method, context, summary, method);
	w->acp = json_deep_copy(acp);
	free(summary);
	return (w);
}

static void
control_free(struct queue_control *qc)
{
	free(qc->key);
	free(qc->value);
	free(qc->model_config);
	free(qc);
}

static void
control_done_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct queue_control	*qc = arg;
	struct acpx_error	*w = NULL;
	const char		*method;
	char			*context;
	json_t			*acpx, *desired;

	if (err != NULL) {
		switch (qc->kind) {
		case QUEUE_CONTROL_MODE:
			method = "session/set_mode";
			xasprintf(&context, "for mode \"%s\"", qc->value);
			break;
		case QUEUE_CONTROL_MODEL:
			method = qc->model_config != NULL ?
			    "session/set_config_option" : "session/set_model";
			xasprintf(&context, "for model \"%s\"", qc->value);
			break;
		default:
			method = "session/set_config_option";
			xasprintf(&context, "for \"%s\"=\"%s\"", qc->key,
			    qc->value);
			break;
		}
		w = control_wrap_error(method, context, qc->kind ==
		    QUEUE_CONTROL_MODEL ? qc->value : NULL, err);
		free(context);
		qc->cb(NULL, w, qc->arg);
		acpx_error_free(w);
		control_free(qc);
		return;
	}
	switch (qc->kind) {
	case QUEUE_CONTROL_MODE:
		json_object_set_new(session_record_acpx(qc->rec),
		    "desired_mode_id", json_string(qc->value));
		break;
	case QUEUE_CONTROL_MODEL:
		control_apply_model(qc, qc->model_config != NULL ? result : NULL);
		break;
	case QUEUE_CONTROL_CONFIG:
		if (qc->model_config != NULL &&
		    strcmp(qc->key, qc->model_config) == 0) {
			control_apply_model(qc, result);
			break;
		}
		acpx = session_record_acpx(qc->rec);
		desired = json_object_get(acpx, "desired_config_options");
		if (!json_is_object(desired)) {
			desired = json_object();
			json_object_set_new(acpx, "desired_config_options",
			    desired);
		}
		json_object_set_new(desired, qc->key, json_string(qc->value));
		control_accept_options(qc->rec, result);
		break;
	}
	qc->cb(result, NULL, qc->arg);
	control_free(qc);
}

/* Run one control on client and record it in rec on success. */
void
queue_control_run(struct acp_client *c, struct session_record *rec,
    enum queue_control_kind kind, const char *key, const char *value,
    queue_control_cb cb, void *arg)
{
	struct queue_control	*qc;
	struct model_state	 ms;
	struct acpx_error	*err;
	char			*msg, *warning = NULL, **argv = NULL, *cause = NULL;
	char			*id;
	int			 have, agent;

	qc = xcalloc(1, sizeof *qc);
	qc->client = c;
	qc->rec = rec;
	qc->kind = kind;
	qc->key = key != NULL ? xstrdup(key) : NULL;
	qc->value = xstrdup(value);
	qc->cb = cb;
	qc->arg = arg;
	have = queue_control_models(rec, &ms) == 0;
	if (have && ms.config_id != NULL)
		qc->model_config = xstrdup(ms.config_id);
	if (rec->agent_argv != NULL)
		argv = cmdline_copy(rec->agent_argv);
	else if (cmdline_split(rec->agent_command, &argv, &cause) == -1)
		argv = NULL;
	free(cause);
	agent = model_agent_kind(argv);
	cmdline_free(argv);

	switch (kind) {
	case QUEUE_CONTROL_MODE:
		acp_client_set_mode(c, value, control_done_cb, qc);
		break;
	case QUEUE_CONTROL_MODEL:
		if (!have) {
			err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL,
			    "Cannot set model \"%s\": the ACP session did not "
			    "advertise a model config option or legacy "
			    "session/set_model support.", value);
			goto fail;
		}
		msg = model_check(value, &ms, agent, "apply", &warning);
		free(warning);
		if (msg != NULL) {
			err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL, "%s",
			    msg);
			free(msg);
			goto fail;
		}
		id = model_resolve(value, &ms, agent);
		if (ms.config_id != NULL)
			acp_client_set_config_option(c, ms.config_id, id,
			    control_done_cb, qc);
		else
			acp_client_set_model(c, id, control_done_cb, qc);
		free(id);
		break;
	case QUEUE_CONTROL_CONFIG:
		/* The model's own option takes Cursor's aliases too. */
		id = have && ms.config_id != NULL &&
		    strcmp(ms.config_id, key) == 0 ? model_resolve(value, &ms,
		    agent) : xstrdup(value);
		acp_client_set_config_option(c, key, id, control_done_cb, qc);
		free(id);
		break;
	}
	if (have)
		model_state_clear(&ms);
	return;
fail:
	if (have)
		model_state_clear(&ms);
	cb(NULL, err, arg);
	acpx_error_free(err);
	control_free(qc);
}
