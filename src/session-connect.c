#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "jget.h"
#include "js-json.h"
#include "js.h"
#include "model.h"
#include "proc.h"
#include "session-connect.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * connectAndLoadSession (runtime/engine/reconnect.ts) as a state machine
 * on the client's loop: start → resume | load (+ replay drain) | new →
 * fallback → preference replay (mode, model, config options).
 */

#define CONNECT_DRAIN_IDLE	0.080
#define CONNECT_DRAIN_POLL	0.020
#define CONNECT_DRAIN_LIMIT	5.0

enum connect_phase {
	PHASE_START = 0,
	PHASE_ATTACH,		/* session/resume or session/load */
	PHASE_DRAIN,
	PHASE_NEW,
	PHASE_MODE,
	PHASE_MODEL,
	PHASE_CONFIG,
	PHASE_DONE
};

struct session_connect {
	struct ev_loop			*loop;
	struct acp_client		*client;
	struct session_record		*rec;
	struct session_connect_opts	 opts;
	char				*replacing_config;
	session_connect_cb		 cb;
	void				*arg;

	enum connect_phase		 phase;
	int				 same_session_only;
	int				 loading;	/* attach is session/load */
	struct acpx_error		*resume_err;	/* a failed resume that
							   session/load follows */
	struct session_connect_result	 result;

	/* What to restore if the replay fails. */
	char				*orig_acp_session_id;
	char				*orig_agent_session_id;
	json_t				*orig_acpx;

	/* The preferences to replay. */
	char				*desired_mode;
	char				*desired_model;
	json_t				*desired_config;	/* {id: value} */
	size_t				 next_config;
	char				*new_session_id;
	char				*replay_what;	/* for the error message */

	ev_timer			 timer;		/* drain poll, deferred done */
	double				 drain_start;
};

static void	connect_step_cb(struct acp_client *, const json_t *,
		    struct acpx_error *, void *);
static void	connect_replay_next(struct session_connect *);

static void
connect_log(struct session_connect *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
connect_log(struct session_connect *sc, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	if (!sc->opts.verbose || sc->opts.log == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	sc->opts.log(line, sc->arg);
	free(line);
}

static void
connect_free(struct session_connect *sc)
{
	ev_timer_stop(sc->loop, &sc->timer);
	acp_client_suppress_updates(sc->client, 0);
	free(sc->replacing_config);
	free(sc->result.load_error);
	acpx_error_free(sc->resume_err);
	free(sc->orig_acp_session_id);
	free(sc->orig_agent_session_id);
	json_decref(sc->orig_acpx);
	free(sc->desired_mode);
	free(sc->desired_model);
	json_decref(sc->desired_config);
	free(sc->new_session_id);
	free(sc->replay_what);
	free(sc);
}

/* Finish: restore on failure, tell the caller, free. */
static void
connect_done(struct session_connect *sc, struct acpx_error *err)
{
	sc->phase = PHASE_DONE;
	ev_timer_stop(sc->loop, &sc->timer);
	acp_client_suppress_updates(sc->client, 0);
	if (err != NULL) {
		session_record_set(&sc->rec->acp_session_id,
		    sc->orig_acp_session_id);
		session_record_set(&sc->rec->agent_session_id,
		    sc->orig_agent_session_id);
		json_decref(sc->rec->acpx);
		sc->rec->acpx = json_deep_copy(sc->orig_acpx);
	}
	if (sc->cb != NULL)
		sc->cb(sc, &sc->result, err, sc->arg);
	acpx_error_free(err);
	connect_free(sc);
}

/* A copy of err (the step's callback frees its own). */
static struct acpx_error *
connect_copy_error(const struct acpx_error *err)
{
	struct acpx_error	*e;

	e = acpx_error_new(err->code, err->detail_code, err->origin, "%s",
	    err->message);
	e->flags = err->flags;
	e->retryable = err->retryable;
	if (err->acp != NULL)
		e->acp = json_incref(err->acp);
	return (e);
}

/* Would a failed load/resume fall back to session/new (§6 step 3)? */
int
session_connect_should_fallback(const json_t *acp_error, const char *message,
    const struct session_record *rec)
{
	json_int_t	 code = 0;
	const json_t	*data, *m;
	const char	*details;
	char		*text = NULL;
	int		 has_code, agent = 0, rc;
	size_t		 i;

	has_code = json_is_integer(json_object_get(acp_error, "code"));
	if (has_code)
		code = json_integer_value(json_object_get(acp_error, "code"));
	data = json_object_get(acp_error, "data");
	if (data != NULL)
		text = js_json_dumps(data, 0);
	rc = acpx_error_is_not_found(has_code ? (int)code : 0, message) ||
	    (jget_str(acp_error, "message") != NULL &&
	    acpx_error_is_not_found(0, jget_str(acp_error, "message"))) ||
	    (text != NULL && acpx_error_is_not_found(0, text));
	free(text);
	if (rc || (has_code && (code == -32601 || code == -32602)))
		return (1);
	json_array_foreach(rec->messages, i, m) {
		if (json_object_get(m, "Agent") != NULL)
			agent = 1;
	}
	if (agent)
		return (0);
	details = jget_str(data, "details");
	return ((has_code && code == -32603) || (details != NULL &&
	    strstr(details, "query closed before response received") != NULL));
}

/* The SESSION_RESUME_REQUIRED error. */
static struct acpx_error *
connect_resume_required(struct session_connect *sc, const char *reason)
{
	struct acpx_error	*e;

	e = acpx_error_new(ACPX_CODE_RUNTIME, "SESSION_RESUME_REQUIRED",
	    "runtime", "Persistent ACP session %s could not be resumed: %s",
	    sc->rec->acp_session_id, reason);
	e->retryable = 1;
	return (e);
}

static void
connect_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session_connect	*sc = w->data;
	double			 now = ev_now(loop), idle_since;

	if (sc->phase == PHASE_DONE) {
		/* The reuse fast path: done on the next loop turn. */
		ev_timer_stop(loop, w);
		sc->result.reused = sc->result.resumed = 1;
		if (sc->cb != NULL)
			sc->cb(sc, &sc->result, NULL, sc->arg);
		connect_free(sc);
		return;
	}
	idle_since = acp_client_last_update(sc->client);
	if (idle_since < sc->drain_start)
		idle_since = sc->drain_start;
	if (now - idle_since >= CONNECT_DRAIN_IDLE) {
		ev_timer_stop(loop, w);
		acp_client_suppress_updates(sc->client, 0);
		connect_replay_next(sc);
		return;
	}
	if (now - sc->drain_start > CONNECT_DRAIN_LIMIT) {
		ev_timer_stop(loop, w);
		connect_done(sc, acpx_error_new(ACPX_CODE_RUNTIME, NULL,
		    "runtime", "Timed out waiting for session replay drain "
		    "after 5000ms"));
	}
}

/* The session is established (resumed, loaded or new): record it. */
static void
connect_established(struct session_connect *sc, const json_t *result,
    const char *session_id)
{
	struct session_record	*r = sc->rec;
	const json_t		*opts;

	free(sc->new_session_id);
	sc->new_session_id = xstrdup(session_id);
	session_record_apply_session_result(r, result);
	/* A fresh session that omits configOptions drops the stale ones. */
	opts = json_object_get(result, "configOptions");
	if (sc->result.fresh && !json_is_array(opts) && r->acpx != NULL)
		json_object_del(r->acpx, "config_options");
}

/* Start the preference replay (mode, model, config options). */
static void
connect_replay_next(struct session_connect *sc)
{
	struct model_state	 ms;
	const char		*key, *value;
	char			*err, *warning, *id;
	int			 have;
	void			*iter;
	size_t			 i;

	sc->phase = sc->phase < PHASE_MODE ? PHASE_MODE : sc->phase;
	if (sc->phase == PHASE_MODE) {
		sc->phase = PHASE_MODEL;
		if (sc->result.fresh && sc->desired_mode != NULL &&
		    !sc->opts.replacing_mode) {
			free(sc->replay_what);
			xasprintf(&sc->replay_what, "mode %s", sc->desired_mode);
			sc->phase = PHASE_MODE;
			acp_client_set_mode(sc->client, sc->desired_mode,
			    connect_step_cb, sc);
			sc->phase = PHASE_MODEL;
			return;
		}
	}
	if (sc->phase == PHASE_MODEL) {
		sc->phase = PHASE_CONFIG;
		if (sc->desired_model != NULL && (sc->replacing_config == NULL ||
		    strcmp(sc->replacing_config, "model") != 0)) {
			json_t *fake = json_pack("{s:O?}", "configOptions",
			    json_object_get(sc->rec->acpx, "config_options"));

			have = model_state_parse(fake, &ms) == 0;
			json_decref(fake);
			if (!have) {
				/* Legacy models remembered in the acpx state. */
				memset(&ms, 0, sizeof ms);
				json_array_foreach(json_object_get(sc->rec->acpx,
				    "available_models"), i, fake) {
					ms.available = xreallocarray(ms.available,
					    ms.navailable + 1, sizeof *ms.available);
					ms.available[ms.navailable++] =
					    xstrdup(json_string_value(fake));
				}
				have = ms.navailable > 0;
				if (have && jget_str(sc->rec->acpx,
				    "current_model_id") != NULL)
					ms.current = xstrdup(jget_str(sc->rec->acpx,
					    "current_model_id"));
			}
			if (have || sc->result.fresh) {
				err = model_check(sc->desired_model, have ? &ms :
				    NULL, model_agent_kind(
				    sc->rec->agent_argv), "replay", &warning);
				if (warning != NULL) {
					if (sc->opts.log != NULL)
						sc->opts.log(warning, sc->arg);
					free(warning);
				}
				if (err != NULL) {
					struct acpx_error *e;

					e = acpx_error_new(ACPX_CODE_RUNTIME,
					    "SESSION_MODEL_REPLAY_FAILED", "runtime",
					    "Failed to replay saved session model %s "
					    "on ACP session %s: %s", sc->desired_model,
					    sc->new_session_id, err);
					e->retryable = 1;
					free(err);
					model_state_clear(&ms);
					connect_done(sc, e);
					return;
				}
				if (have) {
					free(sc->replay_what);
					xasprintf(&sc->replay_what, "model %s",
					    sc->desired_model);
					sc->phase = PHASE_MODEL;
					id = model_resolve(sc->desired_model,
					    &ms, model_agent_kind(
					    sc->rec->agent_argv));
					if (ms.config_id != NULL)
						acp_client_set_config_option(
						    sc->client, ms.config_id, id,
						    connect_step_cb, sc);
					else
						acp_client_set_model(sc->client,
						    id, connect_step_cb, sc);
					free(id);
					model_state_clear(&ms);
					sc->phase = PHASE_CONFIG;
					return;
				}
			}
			model_state_clear(&ms);
		}
	}
	/* PHASE_CONFIG: the next saved option. */
	i = 0;
	iter = json_object_iter(sc->desired_config);
	while (iter != NULL) {
		key = json_object_iter_key(iter);
		value = json_string_value(json_object_iter_value(iter));
		iter = json_object_iter_next(sc->desired_config, iter);
		if (i++ < sc->next_config)
			continue;
		sc->next_config++;
		if (value == NULL || (sc->replacing_config != NULL &&
		    strcmp(key, sc->replacing_config) == 0))
			continue;
		free(sc->replay_what);
		xasprintf(&sc->replay_what, "config option %s", key);
		acp_client_set_config_option(sc->client, key, value,
		    connect_step_cb, sc);
		return;
	}
	session_record_set(&sc->rec->acp_session_id, sc->new_session_id);
	connect_done(sc, NULL);
}

/* Create a fresh session (no resume possible, or the fallback). */
static void
connect_new(struct session_connect *sc)
{
	sc->phase = PHASE_NEW;
	sc->result.fresh = 1;
	sc->result.resumed = 0;
	acp_client_session_new(sc->client, connect_step_cb, sc);
}

/* The replay request failed: the reference's *_REPLAY_FAILED error. */
static void
connect_replay_failed(struct session_connect *sc, struct acpx_error *err)
{
	struct acpx_error	*e;
	const char		*detail = "SESSION_CONFIG_OPTION_REPLAY_FAILED";
	const char		*fresh = "";

	if (strncmp(sc->replay_what, "mode ", 5) == 0) {
		detail = "SESSION_MODE_REPLAY_FAILED";
		fresh = "fresh ";
	} else if (strncmp(sc->replay_what, "model ", 6) == 0)
		detail = "SESSION_MODEL_REPLAY_FAILED";
	e = acpx_error_new(ACPX_CODE_RUNTIME, detail, "runtime",
	    "Failed to replay saved session %s on %sACP session %s: %s",
	    sc->replay_what, fresh, sc->new_session_id, err->message);
	e->retryable = 1;
	connect_log(sc, "%s", e->message);
	connect_done(sc, e);
}

/*
 * Beyond the reference: session/resume of the saved id failed with an
 * answer from the agent; if the agent can load sessions, try session/load of
 * the same id before giving up on it (some agents look resume up under
 * another key than load). The output is the reference's otherwise: a load
 * that works is an ordinary reconnect, one that fails leaves the resume's
 * error to decide. 1 if session/load was sent.
 */
static int
connect_try_load(struct session_connect *sc, const struct acpx_error *err)
{
	if (sc->loading || sc->resume_err != NULL || err->acp == NULL ||
	    !json_is_true(json_object_get(acp_client_agent_caps(sc->client),
	    "loadSession")))
		return (0);
	sc->resume_err = connect_copy_error(err);
	sc->result.failed_resume_id = acp_client_last_request_id(sc->client);
	connect_log(sc, "session/resume failed, trying session/load: %s",
	    err->message);
	sc->loading = 1;
	acp_client_suppress_updates(sc->client, 1);
	acp_client_session_load(sc->client, sc->rec->acp_session_id,
	    connect_step_cb, sc);
	return (1);
}

static void
connect_step_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct session_connect	*sc = arg;
	const json_t		*caps, *scaps, *opts;
	const char		*sid;
	json_t			*acpx;

	switch (sc->phase) {
	case PHASE_START:
		if (err != NULL) {
			connect_done(sc, connect_copy_error(err));
			return;
		}
		{
			char *now = js_iso_now();

			session_record_agent_started(sc->rec, acp_client_pid(c),
			    now);
			free(now);
		}
		sc->rec->closed = 0;
		session_record_set(&sc->rec->closed_at, NULL);
		caps = acp_client_agent_caps(c);
		scaps = json_object_get(caps, "sessionCapabilities");
		if (json_object_get(scaps, "resume") != NULL &&
		    !json_is_false(json_object_get(scaps, "resume")) &&
		    !json_is_null(json_object_get(scaps, "resume"))) {
			sc->phase = PHASE_ATTACH;
			acp_client_session_resume(c, sc->rec->acp_session_id,
			    connect_step_cb, sc);
		} else if (json_is_true(json_object_get(caps, "loadSession"))) {
			sc->phase = PHASE_ATTACH;
			sc->loading = 1;
			acp_client_suppress_updates(c, 1);
			acp_client_session_load(c, sc->rec->acp_session_id,
			    connect_step_cb, sc);
		} else if (sc->same_session_only)
			connect_done(sc, connect_resume_required(sc, "agent does "
			    "not support session/resume or session/load"));
		else
			connect_new(sc);
		return;
	case PHASE_ATTACH:
		if (err != NULL) {
			acp_client_suppress_updates(c, 0);
			if (connect_try_load(sc, err))
				return;
			/* Decide as the reference would, on the resume's error. */
			if (sc->resume_err != NULL)
				err = sc->resume_err;
			if (sc->same_session_only) {
				connect_done(sc, connect_resume_required(sc,
				    err->message));
				return;
			}
			if (!session_connect_should_fallback(err->acp,
			    err->message, sc->rec)) {
				connect_done(sc, connect_copy_error(err));
				return;
			}
			free(sc->result.load_error);
			sc->result.load_error = xstrdup(err->message);
			sc->result.failed_request_id =
			    acp_client_last_request_id(c);
			connect_log(sc, "session reconnect failed, started fresh "
			    "session: %s", err->message);
			connect_new(sc);
			return;
		}
		sc->result.resumed = 1;
		sc->result.loaded = sc->loading;
		connect_established(sc, result, sc->rec->acp_session_id);
		if (sc->loading) {
			sc->phase = PHASE_DRAIN;
			sc->drain_start = ev_now(sc->loop);
			ev_timer_set(&sc->timer, CONNECT_DRAIN_POLL,
			    CONNECT_DRAIN_POLL);
			ev_timer_start(sc->loop, &sc->timer);
			return;
		}
		connect_replay_next(sc);
		return;
	case PHASE_NEW:
		if (err != NULL) {
			connect_done(sc, connect_copy_error(err));
			return;
		}
		sid = jget_str(result, "sessionId");
		connect_established(sc, result, sid != NULL ? sid :
		    acp_client_session_id(c));
		connect_replay_next(sc);
		return;
	case PHASE_MODE:
	case PHASE_MODEL:
	case PHASE_CONFIG:
		if (err != NULL) {
			connect_replay_failed(sc, err);
			return;
		}
		acpx = session_record_acpx(sc->rec);
		if (strncmp(sc->replay_what, "mode ", 5) == 0)
			connect_log(sc, "replayed desired mode %s on fresh ACP "
			    "session %s (previous %s)", sc->desired_mode,
			    sc->new_session_id, sc->orig_acp_session_id);
		else if (strncmp(sc->replay_what, "model ", 6) == 0) {
			json_object_set_new(acpx, "current_model_id",
			    json_string(sc->desired_model));
			connect_log(sc, "replayed desired model %s on ACP session "
			    "%s (previous %s)", sc->desired_model,
			    sc->new_session_id, sc->orig_acp_session_id);
		} else
			connect_log(sc, "replayed desired %s on ACP session %s "
			    "(previous %s)", sc->replay_what,
			    sc->new_session_id, sc->orig_acp_session_id);
		opts = json_object_get(result, "configOptions");
		if (json_is_array(opts)) {
			json_t *fake = json_pack("{s:O}", "configOptions", opts);

			session_record_apply_session_result(sc->rec, fake);
			json_decref(fake);
		}
		connect_replay_next(sc);
		return;
	case PHASE_DRAIN:
	case PHASE_DONE:
		return;
	}
}

/* Connect client to rec. */
struct session_connect *
session_connect(struct acp_client *client, struct session_record *rec,
    const struct session_connect_opts *opts, session_connect_cb cb, void *arg)
{
	struct session_connect	*sc;
	const json_t		*acpx = rec->acpx, *so;
	char			*mode, *model;

	sc = xcalloc(1, sizeof *sc);
	sc->loop = proc_default_loop();
	sc->client = client;
	sc->rec = rec;
	if (opts != NULL)
		sc->opts = *opts;
	if (sc->opts.replacing_config != NULL)
		sc->replacing_config = xstrdup(sc->opts.replacing_config);
	sc->cb = cb;
	sc->arg = arg;
	sc->result.failed_request_id = -1;
	sc->result.failed_resume_id = -1;
	sc->same_session_only = sc->opts.same_session_only ||
	    rec->imported_from != NULL;
	sc->orig_acp_session_id = xstrdup(rec->acp_session_id);
	if (rec->agent_session_id != NULL)
		sc->orig_agent_session_id = xstrdup(rec->agent_session_id);
	sc->orig_acpx = json_deep_copy(rec->acpx);
	if ((mode = session_record_trim(jget_str(acpx, "desired_mode_id"))) !=
	    NULL)
		sc->desired_mode = mode;
	so = json_object_get(acpx, "session_options");
	if ((model = session_record_trim(jget_str(so, "model"))) != NULL)
		sc->desired_model = model;
	sc->desired_config = json_object();
	if (json_is_object(json_object_get(acpx, "desired_config_options")))
		json_object_update(sc->desired_config,
		    json_object_get(acpx, "desired_config_options"));
	ev_init(&sc->timer, connect_timer_cb);
	sc->timer.data = sc;

	if (acp_client_running(client) && acp_client_session_id(client) !=
	    NULL && strcmp(acp_client_session_id(client),
	    rec->acp_session_id) == 0) {
		/* Warm reuse: no wire traffic; report on the next loop turn. */
		sc->phase = PHASE_DONE;
		ev_timer_set(&sc->timer, 0., 0.);
		ev_timer_start(sc->loop, &sc->timer);
		return (sc);
	}
	if (rec->pid > 0 && sc->opts.verbose)
		connect_log(sc, "saved session pid %ld is dead; respawning agent "
		    "and attempting session reconnect", (long)rec->pid);
	sc->phase = PHASE_START;
	acp_client_set_cwd(client, rec->cwd);
	if (acp_client_running(client)) {
		connect_step_cb(client, acp_client_init_result(client), NULL, sc);
		return (sc);
	}
	acp_client_start(client, connect_step_cb, sc);
	return (sc);
}

/* Abandon a connect in progress: its pending client step completes silently. */
void
session_connect_cancel(struct session_connect *sc)
{
	if (sc == NULL)
		return;
	acp_client_abandon(sc->client, sc);
	connect_free(sc);
}

/* ---------------------------------------------------------- creation */

struct connect_create {
	char			*resume_id;
	session_create_cb	 cb;
	void			*arg;
	int			 started;
};

static void
connect_create_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct connect_create	*cc = arg;
	struct acpx_error	*e;
	const json_t		*caps, *scaps;
	const char		*agent_command;

	if (!cc->started && err == NULL) {
		cc->started = 1;
		if (cc->resume_id == NULL) {
			acp_client_session_new(c, connect_create_cb, cc);
			return;
		}
		caps = acp_client_agent_caps(c);
		scaps = json_object_get(caps, "sessionCapabilities");
		if (json_object_get(scaps, "resume") != NULL &&
		    !json_is_false(json_object_get(scaps, "resume")) &&
		    !json_is_null(json_object_get(scaps, "resume")))
			acp_client_session_resume(c, cc->resume_id,
			    connect_create_cb, cc);
		else if (json_is_true(json_object_get(caps, "loadSession")))
			acp_client_session_load(c, cc->resume_id,
			    connect_create_cb, cc);
		else {
			agent_command = acp_client_opts(c)->command;
			e = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
			    "Agent command \"%s\" does not support session/resume "
			    "or session/load; cannot resume session %s",
			    agent_command, cc->resume_id);
			cc->cb(c, NULL, e, cc->arg);
			acpx_error_free(e);
			free(cc->resume_id);
			free(cc);
		}
		return;
	}
	if (err != NULL && cc->started && cc->resume_id != NULL) {
		e = acpx_error_new(err->code, NULL, "cli",
		    "Failed to resume ACP session %s: %s", cc->resume_id,
		    err->message);
		if (err->acp != NULL)
			e->acp = json_incref(err->acp);
		cc->cb(c, NULL, e, cc->arg);
		acpx_error_free(e);
	} else
		cc->cb(c, result, err, cc->arg);
	free(cc->resume_id);
	free(cc);
}

/* Create the ACP session of a new record. */
void
session_connect_create(struct acp_client *client, const char *resume_id,
    session_create_cb cb, void *arg)
{
	struct connect_create	*cc;

	cc = xcalloc(1, sizeof *cc);
	cc->resume_id = resume_id != NULL ? xstrdup(resume_id) : NULL;
	cc->cb = cb;
	cc->arg = arg;
	acp_client_start(client, connect_create_cb, cc);
}
