#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include <ev.h>
#include <jansson.h>

#include "jsonrpc.h"
#include "spawn.h"
#include "warp-endpoint.h"
#include "warp-serve-impl.h"

/*
 * The provider over ACP (warp-endpoint.h), as the client does it: after
 * initialize, setLlmEndpoints; a harness started without its key that
 * does not take it is started again, once, with the environment table.
 */
static void
ws_up_endpoint_restart(struct ws_up *up)
{
	up->endpoint_fallback = 1;
	jsonrpc_free(up->rpc);
	up->rpc = NULL;
	spawn_free(up->child);		/* SIGKILL, reaped: no callback */
	up->child = NULL;
	json_decref(up->init_result);
	up->init_result = NULL;
	warp_serve_up_spawn(up);
}

static void
ws_up_endpoint_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct ws_up	*up = arg;
	char		*notice;
	int		 restart;

	if (up->state != WS_UP_STARTING)
		return;
	if (st == JSONRPC_CLOSED) {
		warp_serve_up_start_closed(up);
		return;
	}
	restart = warp_endpoint_answer(up->launch.endpoint,
	    up->endpoint_fallback, st == JSONRPC_RESULT ? NULL : error,
	    up->launch.secrets, up->agent, &notice);
	if (notice != NULL)
		fprintf(stderr, "%s\n", notice);
	free(notice);
	if (restart)
		ws_up_endpoint_restart(up);
	else
		warp_serve_up_init_auth(up);
}

/* 1 when setLlmEndpoints (or a restart) is under way, 0: go on. */
int
warp_serve_endpoint_start(struct ws_up *up)
{
	json_t	*params;
	char	*notice;
	int	 restart;

	params = warp_endpoint_after_init(up->launch.endpoint,
	    up->endpoint_fallback, up->init_result, up->agent, &restart,
	    &notice);
	if (notice != NULL)
		fprintf(stderr, "%s\n", notice);
	free(notice);
	if (restart)
		ws_up_endpoint_restart(up);
	else if (params != NULL)
		jsonrpc_request(up->rpc, WARP_ENDPOINT_METHOD, params,
		    ws_up_endpoint_cb, up);
	return (restart || params != NULL);
}
