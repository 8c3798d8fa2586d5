#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client-fs.h"
#include "client-term.h"
#include "jget.h"
#include "jsonrpc.h"
#include "warp-serve-impl.h"
#include "xmalloc.h"

/*
 * The proxy's node mode (`warp serve --on-node`, started over ssh for a
 * node-bound agent, node-bind.h): the client is on another machine, so
 * its paths mean nothing here. Sessions run in the proxy's directory (the
 * node user's home, or --cwd), whatever cwd the client sends, and the
 * harness's fs/read_text_file, fs/write_text_file and terminal requests
 * are answered here by the client engine's own code (client-fs.h,
 * client-term.h) inside that directory, under the permission mode and
 * non-interactive policy the client passed on our command line; there is
 * no terminal to ask on, so a write or command that would be asked about
 * follows --non-interactive-permissions. session/request_permission still
 * goes to the client. A method the client did not advertise in its
 * clientCapabilities is answered "Method not found", as it would answer.
 */

/* Did the client advertise this capability (fs.<name>, or terminal)? */
static int
ws_node_capable(struct ws *ws, const char *method)
{
	const json_t	*caps;

	caps = json_object_get(ws->init_params, "clientCapabilities");
	if (strcmp(method, "fs/read_text_file") == 0)
		return (json_is_true(json_object_get(json_object_get(caps, "fs"),
		    "readTextFile")));
	if (strcmp(method, "fs/write_text_file") == 0)
		return (json_is_true(json_object_get(json_object_get(caps, "fs"),
		    "writeTextFile")));
	return (json_is_true(json_object_get(caps, "terminal")));
}

static void
ws_node_perm(struct ws *ws, const char *cwd, struct client_fs_opts *o)
{
	memset(o, 0, sizeof *o);
	o->cwd = cwd;
	o->mode = ws->opts->perm_mode;
	o->nonint = ws->opts->nonint;
	o->can_prompt = 0;
	o->ask = NULL;
}

/* A result or a JSON-RPC error object (both stolen) to the harness. */
static void
ws_node_reply_cb(void *arg, const json_t *id, json_t *result, json_t *error)
{
	struct ws_up	*up = arg;

	if (up->rpc == NULL || jsonrpc_closed(up->rpc, NULL)) {
		json_decref(result);
		json_decref(error);
		return;
	}
	if (result != NULL)
		jsonrpc_reply(up->rpc, id, result);
	else {
		jsonrpc_reply_error(up->rpc, id,
		    (int)json_integer_value(json_object_get(error, "code")),
		    json_string_value(json_object_get(error, "message")),
		    json_incref(json_object_get(error, "data")));
		json_decref(error);
	}
}

/* Serve a harness request here when it is ours: 1 answered, 0 forward. */
int
warp_serve_node_request(struct ws_up *up, struct ws_sess *s,
    const json_t *id, const char *method, const json_t *params)
{
	struct ws		*ws = up->ws;
	struct client_fs_opts	 o;
	enum client_fs_perm	 perm;
	json_t			*res, *error = NULL;
	const char		*cwd;
	char			*msg;

	if (!ws->opts->on_node)
		return (0);
	if (strcmp(method, "fs/read_text_file") != 0 &&
	    strcmp(method, "fs/write_text_file") != 0 &&
	    !client_term_handles(method))
		return (0);
	if (!ws_node_capable(ws, method)) {
		xasprintf(&msg, "\"Method not found\": %s", method);
		jsonrpc_reply_error(up->rpc, id, -32601, msg,
		    json_pack("{s:s}", "method", method));
		free(msg);
		return (1);
	}
	cwd = s != NULL && s->cwd != NULL ? s->cwd : ws->opts->cwd;
	ws_node_perm(ws, cwd, &o);
	warp_serve_log(ws, "%s: %s served on the node", up->agent, method);
	if (client_term_handles(method)) {
		if (up->terms == NULL)
			up->terms = client_term_create(ws->loop, ws->opts->cwd,
			    ws_node_reply_cb, up);
		client_term_request(up->terms, method, id, params, &o, &perm);
		return (1);
	}
	if (strcmp(method, "fs/read_text_file") == 0)
		res = client_fs_read(&o, params, &error, &perm);
	else
		res = client_fs_write(&o, params, &error, &perm);
	ws_node_reply_cb(up, id, res, error);
	return (1);
}

/*
 * The client's params with cwd replaced by ours (session/new, /load,
 * /resume); NULL when nothing changes. Caller owns.
 */
json_t *
warp_serve_node_params(struct ws *ws, const char *method,
    const json_t *params)
{
	json_t	*p;

	if (!ws->opts->on_node || !json_is_object(params) ||
	    (strcmp(method, "session/new") != 0 &&
	    strcmp(method, "session/load") != 0 &&
	    strcmp(method, "session/resume") != 0))
		return (NULL);
	if (jget_str(params, "cwd") != NULL && ws->opts->cwd != NULL &&
	    strcmp(jget_str(params, "cwd"), ws->opts->cwd) == 0)
		return (NULL);
	p = json_deep_copy(params);
	json_object_set_new(p, "cwd", json_string(ws->opts->cwd));
	return (p);
}

/* Kill and free a harness's terminals. */
void
warp_serve_node_free(struct ws_up *up)
{
	if (up->terms != NULL)
		client_term_free(up->terms);
	up->terms = NULL;
}
