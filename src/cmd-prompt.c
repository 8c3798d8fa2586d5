#include <config.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cmd-slots.h"
#include "cmd-opts.h"
#include "cmd.h"
#include "config-file.h"
#include "events-acp.h"
#include "fallback.h"
#include "conversation.h"
#include "jget.h"
#include "js-json.h"
#include "node-bind.h"
#include "output.h"
#include "proc.h"
#include "queue-client.h"
#include "queue-proto.h"
#include "session-index.h"
#include "session-record.h"
#include "session-store.h"
#include "sha256.h"
#include "progress.h"
#include "xmalloc.h"

/*
 * prompt: find the session by walking up from cwd, print the banner, hand
 * the prompt to the session's queue owner (starting one if none runs) and
 * render the turn as the owner relays it. Ctrl-C cancels the turn through
 * the owner and exits 130 (a deliberate difference: the reference leaves
 * the turn running).
 */

#define PROMPT_CANCEL_WAIT	2.5

struct prompt_run {
	struct ev_loop		*loop;
	const struct invocation	*inv;
	struct output		*out;
	struct session_index_match rec;	/* the session: identity only */
	json_t			*blocks;
	char			*request_id;
	struct queue_client	*qc;
	struct queue_client	*probe;
	struct queue_client	*cancel;
	struct proc		*proc;
	ev_timer		 cancel_w;
	json_t			*result;
	struct acpx_error	*err;
	int			 accepted;
	int			 interrupted;
	int			 done;
	int			 malformed;	/* session/updates failing validation */
};

/* NO_SESSION with the reference's message (searched up to root). */
static struct acpx_error *
prompt_no_session(const struct invocation *inv, const char *root,
    const char *name)
{
	if (name != NULL)
		return (acpx_error_new(ACPX_CODE_NO_SESSION, NULL, "cli",
		    "\xe2\x9a\xa0 No acpx session found (searched up to "
		    "%s).\nCreate one: acpx %s sessions new --name %s",
		    root, inv->agent.name, name));
	return (acpx_error_new(ACPX_CODE_NO_SESSION, NULL, "cli",
	    "\xe2\x9a\xa0 No acpx session found (searched up to "
	    "%s).\nCreate one: acpx %s sessions new",
	    root, inv->agent.name));
}

/*
 * The session of a prompt/cancel/set: the nearest open record of the
 * agent and name from cwd up to the git root (cwd only outside a repo).
 * With err non-NULL, none is NO_SESSION with the reference's message.
 */
struct session_record *
cmd_prompt_find_session(const struct invocation *inv, struct acpx_error **err)
{
	struct session_record	*rec;
	char			*root, *name;

	root = session_store_git_root(inv->cwd);
	name = inv->session != NULL ? session_record_normalize_name(
	    inv->session) : NULL;
	rec = session_index_find_walk(inv->agent.command, inv->cwd, name,
	    root != NULL ? root : inv->cwd, NULL, NULL);
	if (rec == NULL && err != NULL)
		*err = prompt_no_session(inv, root != NULL ? root : inv->cwd,
		    name);
	free(root);
	free(name);
	return (rec);
}

/*
 * The same session for a prompt, identity only (the owner reads the
 * record; the client needs its id, cwd and name): nothing read in full
 * that the index still knows. 0, or -1 with *err.
 */
static int
prompt_find_match(const struct invocation *inv,
    struct session_index_match *m, struct acpx_error **err)
{
	char	*root, *name;
	int	 found;

	root = session_store_git_root(inv->cwd);
	name = inv->session != NULL ? session_record_normalize_name(
	    inv->session) : NULL;
	found = session_index_find_walk_match(inv->agent.command, inv->cwd,
	    name, root != NULL ? root : inv->cwd, NULL, NULL, m);
	if (!found)
		*err = prompt_no_session(inv, root != NULL ? root : inv->cwd,
		    name);
	free(root);
	free(name);
	return (found ? 0 : -1);
}

/* sessionOptions from the global flags ({} when none). Caller owns. */
static json_t *
prompt_session_options(const struct invocation *inv)
{
	json_t	*so = json_object();

	if (inv->model != NULL)
		json_object_set_new(so, "model", json_string(inv->model));
	if (inv->allowed_tools != NULL)
		json_object_set(so, "allowedTools", inv->allowed_tools);
	if (inv->max_turns > 0)
		json_object_set_new(so, "maxTurns", json_integer(inv->max_turns));
	if (inv->system_prompt != NULL)
		json_object_set_new(so, "systemPrompt",
		    json_string(inv->system_prompt));
	else if (inv->append_system_prompt != NULL)
		json_object_set_new(so, "systemPrompt", json_pack("{s:s}",
		    "append", inv->append_system_prompt));
	return (so);
}

/* sha256hex of the parsed mcpServers, when --mcp-config was used. Caller owns. */
static char *
prompt_mcp_fingerprint(const struct invocation *inv)
{
	char	*s, hex[65];

	if (inv->config == NULL || inv->config->mcp_path == NULL)
		return (NULL);
	s = js_json_dumps(inv->mcp_servers, 0);
	sha256_hex(s, strlen(s), hex);
	free(s);
	return (xstrdup(hex));
}

/* The owner startup payload (queueOwnerRuntimeOptionsFromSend). Caller owns. */
static json_t *
prompt_payload(const struct invocation *inv, const char *record_id)
{
	static const char	*perm[] = { "approve-reads", "approve-all",
	    "deny-all" };
	json_t			*p;
	char			*fp;

	p = json_pack("{s:s, s:O}", "sessionId", record_id, "mcpServers",
	    inv->mcp_servers);
	if (inv->config != NULL && inv->config->mcp_path != NULL) {
		json_object_set_new(p, "mcpConfigPath",
		    json_string(inv->config->mcp_path));
		fp = prompt_mcp_fingerprint(inv);
		json_object_set_new(p, "mcpConfigFingerprint", json_string(fp));
		free(fp);
	}
	json_object_set_new(p, "permissionMode", json_string(perm[inv->perm_mode]));
	json_object_set_new(p, "nonInteractivePermissions", json_string(
	    inv->nonint == ACPX_NONINT_FAIL ? "fail" : "deny"));
	if (inv->config != NULL && inv->config->auth != NULL)
		json_object_set(p, "authCredentials", inv->config->auth);
	json_object_set_new(p, "authPolicy", json_string(
	    inv->auth_policy == ACPX_AUTH_FAIL ? "fail" : "skip"));
	if (inv->no_fs)
		json_object_set_new(p, "fs", json_false());
	if (inv->no_terminal)
		json_object_set_new(p, "terminal", json_false());
	json_object_set_new(p, "suppressSdkConsoleErrors", json_boolean(
	    inv->json_strict || inv->format == ACPX_FORMAT_QUIET));
	json_object_set_new(p, "verbose", json_boolean(inv->verbose));
	json_object_set_new(p, "ttlMs", json_integer(inv->ttl_ms));
	json_object_set_new(p, "maxQueueDepth", json_integer(
	    inv->queue_max_depth > 0 ? inv->queue_max_depth : 16));
	if (inv->prompt_retries > 0)
		json_object_set_new(p, "promptRetries",
		    json_integer(inv->prompt_retries));
	json_object_set_new(p, "sessionOptions", prompt_session_options(inv));
	return (p);
}

/* promptToDisplayText. Caller owns. */
static char *
prompt_display_text(const json_t *blocks)
{
	const json_t	*b, *r;
	const char	*type, *s;
	char		*out = xstrdup(""), *tmp, *part;
	size_t		 i, n;

	json_array_foreach(blocks, i, b) {
		type = jget_str(b, "type");
		part = NULL;
		if (type == NULL)
			continue;
		if (strcmp(type, "text") == 0 && (s = jget_str(b, "text")) != NULL)
			part = xstrdup(s);
		else if (strcmp(type, "resource_link") == 0)
			part = xstrdup(jget_str(b, "title") != NULL ?
			    jget_str(b, "title") : jget_str(b, "name") != NULL ?
			    jget_str(b, "name") : jget_str(b, "uri") != NULL ?
			    jget_str(b, "uri") : "");
		else if (strcmp(type, "resource") == 0) {
			r = json_object_get(b, "resource");
			s = jget_str(r, "text") != NULL ? jget_str(r, "text") :
			    jget_str(r, "uri");
			part = xstrdup(s != NULL ? s : "");
		} else if (strcmp(type, "image") == 0 ||
		    strcmp(type, "audio") == 0)
			xasprintf(&part, "[%s] %s", type, jget_str(b, "mimeType") !=
			    NULL ? jget_str(b, "mimeType") : "");
		if (part == NULL || strspn(part, " \t\r\n") == strlen(part)) {
			free(part);
			continue;
		}
		xasprintf(&tmp, "%s%s%s", out, *out != '\0' ? "\n\n" : "", part);
		free(out);
		free(part);
		out = tmp;
	}
	/* .trim() */
	n = strlen(out);
	while (n > 0 && strchr(" \t\r\n", out[n - 1]) != NULL)
		out[--n] = '\0';
	s = out + strspn(out, " \t\r\n");
	tmp = xstrdup(s);
	free(out);
	return (tmp);
}

/* The submit_prompt request. Caller owns. */
static struct queue_request *
prompt_request(struct prompt_run *r)
{
	const struct invocation	*inv = r->inv;
	struct queue_request	*req;

	req = xcalloc(1, sizeof *req);
	req->type = QUEUE_REQ_SUBMIT;
	req->request_id = xstrdup(r->request_id);
	req->message = prompt_display_text(r->blocks);
	req->prompt = json_incref(r->blocks);
	req->perm_mode = inv->perm_mode;
	req->nonint = inv->nonint;
	if (inv->permission_policy != NULL)
		req->permission_policy = json_incref(inv->permission_policy);
	req->timeout_ms = inv->timeout_ms > 0 ? inv->timeout_ms : 0;
	req->suppress_sdk_errors = inv->json_strict ||
	    inv->format == ACPX_FORMAT_QUIET;
	req->prompt_retries = inv->prompt_retries > 0 ? inv->prompt_retries : 0;
	req->wait = !inv->no_wait;
	req->no_fallback = inv->no_fallback;
	if (inv->force_fail != NULL)
		req->force_fail = xstrdup(inv->force_fail);
	req->session_options = prompt_session_options(inv);
	req->no_record = 1;	/* only permissionStats and loadError are read */
	/* Quiet prints only the answer's text: one event may carry many chunks. */
	req->merge_chunks = inv->format == ACPX_FORMAT_QUIET;
	return (req);
}

/* ---------------------------------------------------------------- callbacks */

static void
prompt_accepted_cb(struct queue_client *qc, void *arg)
{
	struct prompt_run	*r = arg;

	r->accepted = 1;
}

static void
prompt_message_cb(struct queue_client *qc, const struct queue_msg *m,
    void *arg)
{
	struct prompt_run	*r = arg;
	const char		*method, *bad;

	switch (m->type) {
	case QUEUE_MSG_EVENT:
		if (r->inv->verbose && (bad = events_acp_malformed(m->message)) !=
		    NULL && r->malformed++ == 0)
			output_notice(r->out, "ignoring a malformed session/update "
			    "(%s); any further ones are only counted", bad);
		method = jget_str(m->message, "method");
		if (method != NULL && strcmp(method, "_acpx/fallback") == 0) {
			/*
			 * A warp fallback hop in the owner: quiet keeps only
			 * the final answer; the failed agent's turn ends here.
			 */
			if (output_format(r->out) == ACPX_FORMAT_QUIET)
				output_turn_discard(r->out);
			output_turn_end(r->out);
			output_fallback(r->out, m->message);
			progress_show(r->loop, "starting the next agent");
			break;
		}
		output_acp_message_dir(r->out, m->message, m->direction == 1 ?
		    OUTPUT_DIR_OUTBOUND : m->direction == 0 ? OUTPUT_DIR_INBOUND :
		    OUTPUT_DIR_UNKNOWN);
		break;
	case QUEUE_MSG_RESULT:
		json_decref(r->result);
		/* Read only: referenced (it outlives the message), not copied. */
		r->result = json_incref((json_t *)m->result);
		break;
	default:
		break;
	}
}

static void
prompt_done_cb(struct queue_client *qc, enum queue_client_end how,
    struct acpx_error *err, const struct queue_msg *owner_error, void *arg)
{
	struct prompt_run	*r = arg;

	if (r->interrupted)
		return;		/* the interrupt path ends the run */
	r->done = 1;
	if (how != QUEUE_CLIENT_FAILED) {
		/* As the reference: once the submission settled. */
		if (r->inv->verbose)
			output_notice(r->out, "queued prompt on active owner pid "
			    "%ld for session %s", (long)queue_client_owner_pid(qc),
			    r->rec.record_id);
		return;
	}
	r->err = acpx_error_new(err->code, err->detail_code, err->origin, "%s",
	    err->message);
	r->err->retryable = err->retryable;
	if (err->acp != NULL)
		r->err->acp = json_deep_copy(err->acp);
	acpx_error_set_session(r->err, r->rec.record_id);
	if (owner_error != NULL) {
		/*
		 * In the stream: text/json skip what the agent's own error
		 * response already showed; quiet always reports it.
		 */
		if (owner_error->already_emitted != 1 ||
		    output_format(r->out) == ACPX_FORMAT_QUIET)
			output_turn_error(r->out, r->err);
		r->err->flags |= ACPX_ERROR_EMITTED;
	}
}

static void
prompt_cancel_done_cb(struct queue_client *qc, enum queue_client_end how,
    struct acpx_error *err, const struct queue_msg *owner_error, void *arg)
{
	struct prompt_run	*r = arg;

	r->done = 1;
}

static void
prompt_cancel_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct prompt_run	*r = w->data;

	r->done = 1;
}

/* Ctrl-C: cancel our turn through the owner, then leave with 130. */
static void
prompt_signal_cb(struct ev_loop *loop, int signo, void *arg)
{
	struct prompt_run		*r = arg;
	struct queue_client_opts	 opts;
	struct queue_client_cbs		 cbs;
	struct queue_request		*req;

	if (r->interrupted) {
		r->done = 1;
		return;
	}
	r->interrupted = 1;
	if (r->qc == NULL || !r->accepted) {
		r->done = 1;
		return;
	}
	memset(&opts, 0, sizeof opts);
	opts.record_id = r->rec.record_id;
	opts.any_owner = 1;
	memset(&cbs, 0, sizeof cbs);
	cbs.done = prompt_cancel_done_cb;
	req = xcalloc(1, sizeof *req);
	req->type = QUEUE_REQ_CANCEL;
	req->request_id = conversation_uuid();
	req->target = xstrdup(r->request_id);
	r->cancel = queue_client_send(loop, &opts, req, &cbs, r);
	ev_timer_init(&r->cancel_w, prompt_cancel_wait_cb, PROMPT_CANCEL_WAIT,
	    0.);
	r->cancel_w.data = r;
	ev_timer_start(loop, &r->cancel_w);
}

/* Banner status known: print it and submit. */
static void
prompt_submit(struct prompt_run *r)
{
	struct queue_client_opts	 opts;
	struct queue_client_cbs		 cbs;
	json_t				*payload;
	char				*fp;

	payload = prompt_payload(r->inv, r->rec.record_id);
	fp = prompt_mcp_fingerprint(r->inv);
	memset(&opts, 0, sizeof opts);
	opts.record_id = r->rec.record_id;
	opts.payload = payload;
	opts.mcp_path = r->inv->config != NULL ? r->inv->config->mcp_path : NULL;
	opts.mcp_fingerprint = fp;
	memset(&cbs, 0, sizeof cbs);
	cbs.accepted = prompt_accepted_cb;
	cbs.message = prompt_message_cb;
	cbs.done = prompt_done_cb;
	r->qc = queue_client_send(r->loop, &opts, prompt_request(r), &cbs, r);
	json_decref(payload);
	free(fp);
}

/* "./sub/dir" of path.relative(session cwd, cwd), or NULL if the same. */
static char *
prompt_routed_from(const char *session_cwd, const char *cwd)
{
	size_t	n = strlen(session_cwd);
	char	*s;

	if (strcmp(session_cwd, cwd) == 0)
		return (NULL);
	if (strcmp(session_cwd, "/") == 0)
		n = 0;
	if (strncmp(cwd, session_cwd, n) == 0 && cwd[n] == '/') {
		xasprintf(&s, "./%s", cwd + n + 1);
		return (s);
	}
	return (xstrdup(cwd));
}

static void
prompt_probe_cb(const struct queue_health *h, struct acpx_error *err,
    void *arg)
{
	struct prompt_run	*r = arg;
	const char		*status;
	char			*routed;

	status = h->healthy ? "connected" : h->has_lease ? "needs reconnect" :
	    "starting";
	routed = prompt_routed_from(r->rec.cwd, r->inv->cwd);
	if (routed != NULL)
		output_notice(r->out, "session %s (%s) \xc2\xb7 %s (routed from "
		    "%s) \xc2\xb7 agent %s", r->rec.name != NULL ? r->rec.name :
		    "cwd", r->rec.record_id, r->rec.cwd, routed, status);
	else
		output_notice(r->out, "session %s (%s) \xc2\xb7 %s \xc2\xb7 "
		    "agent %s", r->rec.name != NULL ? r->rec.name : "cwd",
		    r->rec.record_id, r->rec.cwd, status);
	free(routed);
	prompt_submit(r);
}

/* ---------------------------------------------------------------- result */

/* Exit status and closing output of a finished run. */
static int
prompt_finish(struct prompt_run *r)
{
	const json_t		*st;
	struct acpx_error	*e;
	json_t			*q;
	int			 rc = ACPX_EXIT_SUCCESS;

	if (r->interrupted)
		return (ACPX_EXIT_INTERRUPTED);
	if (r->err != NULL) {
		output_turn_end(r->out);
		output_error(r->out, r->err);
		return (acpx_error_exit(r->err));
	}
	if (r->inv->no_wait) {
		if (output_format(r->out) == ACPX_FORMAT_JSON) {
			q = json_pack("{s:s, s:s, s:s}", "action", "prompt_queued",
			    "acpxRecordId", r->rec.record_id, "requestId",
			    r->request_id);
			output_result_json(r->out, q);
			json_decref(q);
		} else if (output_format(r->out) == ACPX_FORMAT_TEXT)
			output_result_text(r->out, "[queued] %s", r->request_id);
		return (ACPX_EXIT_SUCCESS);
	}
	output_turn_end(r->out);
	st = json_object_get(r->result, "permissionStats");
	if (json_integer_value(json_object_get(st, "requested")) > 0 &&
	    json_integer_value(json_object_get(st, "approved")) == 0 &&
	    json_integer_value(json_object_get(st, "denied")) +
	    json_integer_value(json_object_get(st, "cancelled")) > 0) {
		rc = ACPX_EXIT_PERMISSION_DENIED;
		if (output_format(r->out) == ACPX_FORMAT_QUIET) {
			e = acpx_error_new(ACPX_CODE_PERMISSION_DENIED, NULL,
			    "runtime", "Permission request denied or cancelled");
			output_error(r->out, e);
			acpx_error_free(e);
		}
	}
	if (r->inv->verbose && jget_str(r->result, "loadError") != NULL)
		output_notice(r->out, "session reconnect failed, started fresh "
		    "session: %s", jget_str(r->result, "loadError"));
	return (rc);
}

/* prompt: submit to the session's owner and stream the turn. */
int
cmd_prompt_run(const struct invocation *inv, struct output *out)
{
	struct prompt_run	 r;
	struct acpx_error	*err = NULL;
	int			 rc;

	memset(&r, 0, sizeof r);
	r.inv = inv;
	r.out = out;
	/* (A node-bound agent's node checks its --force-fail: node-bind.h.) */
	if ((r.blocks = cmd_opts_prompt(inv, &err)) == NULL ||
	    (inv->force_fail != NULL && (inv->agent_override ||
	    !node_bind_bound_name(inv->config, inv->agent.name)) &&
	    fallback_force_check(inv->config,
	    inv->agent_override ? NULL : inv->agent.name, inv->force_fail,
	    &err) == -1) ||
	    prompt_find_match(inv, &r.rec, &err) == -1 ||
	    cmd_slots_prompt_check(inv, r.rec.record_id, out, &err) == -1) {
		json_decref(r.blocks);
		session_index_match_free(&r.rec);
		return (output_fail(out, err));
	}
	r.request_id = conversation_uuid();
	r.proc = proc_start(0);
	r.loop = proc_loop(r.proc);
	proc_set_signals(r.proc, prompt_signal_cb, &r);
	output_attach_loop(out, r.loop);
	if (inv->format == ACPX_FORMAT_QUIET || (inv->json_strict &&
	    inv->format == ACPX_FORMAT_JSON))
		prompt_submit(&r);
	else
		r.probe = queue_client_probe(r.loop, r.rec.record_id,
		    prompt_probe_cb, &r);
	while (!r.done)
		ev_run(r.loop, EVRUN_ONCE);
	output_attach_loop(out, NULL);

	rc = prompt_finish(&r);
	proc_clear_signals(r.proc);
	ev_timer_stop(r.loop, &r.cancel_w);
	queue_client_free(r.qc);
	queue_client_free(r.probe);
	queue_client_free(r.cancel);
	acpx_error_free(r.err);
	json_decref(r.result);
	json_decref(r.blocks);
	session_index_match_free(&r.rec);
	free(r.request_id);
	proc_free(r.proc);
	return (rc);
}

/* ------------------------------------------------------- the command row */

/* The implicit and explicit prompt: -f, --no-wait, -s and the words. */
int
cmd_prompt_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	inv->verb = "prompt";
	inv->file = cli_prepare_dup(cli_prepare_cli_own(leaf, "file"));
	inv->no_wait = json_is_false(cli_prepare_cli_own(leaf, "wait"));
	inv->force_fail = cli_prepare_dup(cli_prepare_own(leaf, "forceFail"));
	inv->session = cli_prepare_session(leaf, "session");
	cli_prepare_words(inv, cli_prepare_arg(leaf,
	    cli_prepare_nargs(leaf) - 1));
	if (cli_prepare_globals(run, leaf, inv) == -1 ||
	    cli_prepare_perm_mode(run) == -1 ||
	    cli_prepare_policy(run, inv) == -1 ||
	    cli_prepare_agent(run, leaf, inv) == -1)
		return (-1);
	return (0);
}

const struct cmd_entry cmd_prompt_entry = {
	.name = "prompt",
	.desc = "Prompt using %s by default",
	.agent_desc = "Prompt using persistent session",
	.opts = cmd_opt_prompt,
	.args = cmd_opt_prompt_arg,
	.nargs = 1,
	.flags = CMD_ACTION | CMD_DEFAULT_DESC | CMD_AGENT,
	.prepare = cmd_prompt_prepare,
	.run = cmd_prompt_run
};
