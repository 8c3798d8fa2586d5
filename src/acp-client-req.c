#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acp-client-impl.h"
#include "acpx-error.h"
#include "acpx.h"
#include "agent-compat.h"
#include "auth-env.h"
#include "cmdline.h"
#include "client-fs.h"
#include "client-term.h"
#include "jget.h"
#include "js.h"
#include "jsonrpc.h"
#include "events-acp.h"
#include "permission.h"
#include "spawn.h"
#include "secrets.h"
#include "progress.h"
#include "xmalloc.h"

/*
 * The agent's requests to the client: session/request_permission (the
 * permission policy, the TTY question, Codex's preferred options), fs
 * reads and writes, terminals, Devin's diagnostics; anything else is
 * "Method not found". fs and terminal denials count as permission
 * decisions for the exit code.
 */

/* Ask on the TTY (stdin) whether to allow; blocking read of one line. */
static int
acp_tty_ask(const char *prompt)
{
	char	buf[64];
	size_t	n = 0;
	ssize_t	r;
	char	ch;

	/*
	 * XXX: a blocking read of the user's answer. The turn cannot make
	 * progress until the user answers, and only exec on a TTY asks.
	 */
	progress_clear();
	fflush(stdout);
	fputs(prompt, stderr);
	fflush(stderr);
	while ((r = read(STDIN_FILENO, &ch, 1)) == 1 && ch != '\n') {
		if (n < sizeof buf - 1)
			buf[n++] = ch;
	}
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return (strcasecmp(buf, "y") == 0 || strcasecmp(buf, "yes") == 0);
}

static int
acp_is_codex(struct acp_client *c)
{
	const char	*name = jget_str(json_object_get(c->init_result,
	    "agentInfo"), "name");

	return (name != NULL && strcmp(name, "@agentclientprotocol/codex-acp") == 0);
}

static void
acp_handle_permission(struct acp_client *c, const json_t *id,
    const json_t *params)
{
	struct perm_decision	 d;
	json_t			*resp, *codex = NULL, *meta, *acpx;
	const json_t		*req = params;
	char			*now;
	const char		*cls, *notice = NULL;
	int			 allow = 0, can_prompt;

	if (c->flags & ACP_CANCELLING) {
		/* A request that arrives after session/cancel is cancelled. */
		resp = json_pack("{s:{s:s}}", "outcome", "outcome", "cancelled");
		c->stats.requested++;
		c->stats.cancelled++;
		jsonrpc_reply(c->rpc, id, resp);
		return;
	}
	if (acp_is_codex(c) && (codex = permission_codex_prefer(params)) != NULL)
		req = codex;
	now = js_iso_now();
	can_prompt = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	permission_decide(req, c->opts->perm_mode, c->opts->nonint,
	    c->opts->permission_policy, can_prompt, now, &d);
	free(now);
	if (d.action == PERM_ASK)
		allow = acp_tty_ask(d.prompt);
	resp = permission_response(&d, allow);
	if (acp_is_codex(c) &&
	    (notice = permission_codex_notice(params, resp)) != NULL) {
		if ((meta = json_object_get(resp, "_meta")) == NULL) {
			meta = json_object();
			json_object_set_new(resp, "_meta", meta);
		}
		if ((acpx = json_object_get(meta, "acpx")) == NULL) {
			acpx = json_object();
			json_object_set_new(meta, "acpx", acpx);
		}
		json_object_set_new(acpx, "permissionNotice", json_string(notice));
	}
	c->stats.requested++;
	if (d.action == PERM_UNAVAILABLE) {
		c->stats.cancelled++;
		c->stats.prompt_unavailable = 1;
	} else {
		cls = permission_classify(params, resp);
		if (strcmp(cls, "approved") == 0)
			c->stats.approved++;
		else if (strcmp(cls, "denied") == 0)
			c->stats.denied++;
		else
			c->stats.cancelled++;
	}
	events_acp_permission(params, d.action == PERM_UNAVAILABLE ? "cancelled" :
	    permission_classify(params, resp), d.action, c->opts->perm_mode,
	    c->opts->permission_policy != NULL);
	permission_decision_clear(&d);
	json_decref(codex);
	jsonrpc_reply(c->rpc, id, resp);
}

/* fs and terminal denials count as permission decisions (exit code 5). */
static void
acp_count_perm(struct acp_client *c, enum client_fs_perm perm)
{
	if (perm == CLIENT_FS_PERM_NONE)
		return;
	c->stats.requested++;
	if (perm == CLIENT_FS_PERM_DENIED)
		c->stats.denied++;
	else {
		c->stats.cancelled++;
		c->stats.prompt_unavailable = 1;
	}
}

/* fs write prompt: header and details first, as the reference prints them. */
static int
acp_fs_ask(const char *header, const char *details, const char *question)
{
	progress_clear();
	if (header != NULL)
		fprintf(stderr, "\n%s\n", header);
	if (details != NULL && strspn(details, " \t\r\n") != strlen(details))
		fprintf(stderr, "%s\n", details);
	return (acp_tty_ask(question));
}

/* Permission settings for fs and terminal requests. */
static void
acp_perm_opts(struct acp_client *c, struct client_fs_opts *o)
{
	memset(o, 0, sizeof *o);
	o->cwd = ACP_CWD(c);
	o->mode = c->opts->perm_mode;
	o->nonint = c->opts->nonint;
	o->can_prompt = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	o->ask = acp_fs_ask;
}

/*
 * Answer an agent request with a result or a JSON-RPC error object (both
 * stolen), now or later (terminals); dropped if the connection is gone.
 */
static void
acp_term_reply_cb(void *arg, const json_t *id, json_t *result, json_t *error)
{
	struct acp_client	*c = arg;

	if (c->rpc == NULL || (c->flags & ACP_DISCONNECTED)) {
		json_decref(result);
		json_decref(error);
		return;
	}
	if (result != NULL)
		jsonrpc_reply(c->rpc, id, result);
	else {
		jsonrpc_reply_error(c->rpc, id,
		    (int)json_integer_value(json_object_get(error, "code")),
		    json_string_value(json_object_get(error, "message")),
		    json_incref(json_object_get(error, "data")));
		json_decref(error);
	}
}

static void
acp_handle_fs(struct acp_client *c, const json_t *id, const char *method,
    const json_t *params)
{
	struct client_fs_opts	 o;
	enum client_fs_perm	 perm;
	json_t			*res, *error;

	acp_perm_opts(c, &o);
	if (strcmp(method, "fs/read_text_file") == 0)
		res = client_fs_read(&o, params, &error, &perm);
	else
		res = client_fs_write(&o, params, &error, &perm);
	acp_count_perm(c, perm);
	acp_term_reply_cb(c, id, res, error);
}

static void
acp_handle_term(struct acp_client *c, const json_t *id, const char *method,
    const json_t *params)
{
	struct client_fs_opts	 o;
	enum client_fs_perm	 perm;

	acp_perm_opts(c, &o);
	if (c->terms == NULL)
		c->terms = client_term_create(c->loop, ACP_CWD(c),
		    acp_term_reply_cb, c);
	client_term_request(c->terms, method, id, params, &o, &perm);
	acp_count_perm(c, perm);
}

static void
acp_reply_not_found(struct acp_client *c, const json_t *id, const char *method)
{
	char	*msg;

	xasprintf(&msg, "\"Method not found\": %s", method);
	jsonrpc_reply_error(c->rpc, id, -32601, msg,
	    json_pack("{s:s}", "method", method));
	free(msg);
}

void
acp_client_req_cb(struct jsonrpc *rpc, const json_t *id, const char *method,
    const json_t *params, void *arg)
{
	struct acp_client	*c = arg;

	if (c->step == STEP_PROMPT)
		c->side_effects = 1;
	if (strcmp(method, "session/request_permission") == 0)
		acp_handle_permission(c, id, params);
	else if (!c->opts->no_fs && (strcmp(method, "fs/read_text_file") == 0 ||
	    strcmp(method, "fs/write_text_file") == 0))
		acp_handle_fs(c, id, method, params);
	else if (!c->opts->no_terminal && client_term_handles(method))
		acp_handle_term(c, id, method, params);
	else if (strcmp(method, "_cognition.ai/request_diagnostics") == 0 &&
	    agent_compat_is_devin_acp(c->opts->argv))
		jsonrpc_reply(c->rpc, id, json_object());	/* as the reference */
	else
		acp_reply_not_found(c, id, method);
}
