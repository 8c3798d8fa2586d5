#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acp-client-impl.h"
#include "jsonrpc.h"
#include "spawn.h"
#include "warp-endpoint.h"

/*
 * The start step's provider hand-over (warp-endpoint.h): after initialize,
 * a warp agent that lists a protocol we can serve in
 * agentCapabilities.llmEndpoints gets setLlmEndpoints before anything
 * else. One started without its key (it took the endpoint before) that
 * now does not advertise it or rejects the call is started again, once,
 * with the environment table, after a one-line notice; one that has the
 * environment table anyway just goes on (with the notice if it
 * rejected). The outcome is remembered for the next start.
 */

/* Start the agent again with the environment table. */
static void
acp_client_endpoint_restart(struct acp_client *c)
{
	c->endpoint_fallback = 1;
	jsonrpc_free(c->rpc);
	c->rpc = NULL;
	spawn_free(c->child);		/* SIGKILL, reaped: no callback */
	c->child = NULL;
	c->flags &= ~(ACP_EXITED | ACP_DISCONNECTED);
	json_decref(c->init_result);
	c->init_result = NULL;
	acp_client_spawn_init(c);
}

static void
acp_client_endpoint_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct acp_client	*c = arg;
	char			*notice;
	int			 restart;

	if (c->flags & ACP_CLOSING)
		return;
	if (st == JSONRPC_CLOSED) {
		/* As a close during initialize. */
		acp_client_start_closed(c);
		return;
	}
	restart = warp_endpoint_answer(c->opts->endpoint, c->endpoint_fallback,
	    st == JSONRPC_RESULT ? NULL : error, c->opts->redact,
	    c->opts->command, &notice);
	if (notice != NULL)
		acp_client_diag(c, "%s", notice);
	else
		acp_client_log(c, "provider endpoint given over ACP (%s)",
		    WARP_ENDPOINT_METHOD);
	free(notice);
	if (restart)
		acp_client_endpoint_restart(c);
	else
		acp_client_init_auth(c);
}

int
acp_client_endpoint_start(struct acp_client *c)
{
	json_t	*params;
	char	*notice;
	int	 restart;

	params = warp_endpoint_after_init(c->opts->endpoint,
	    c->endpoint_fallback, c->init_result, c->opts->command, &restart,
	    &notice);
	if (notice != NULL)
		acp_client_diag(c, "%s", notice);
	free(notice);
	if (restart)
		acp_client_endpoint_restart(c);
	else if (params != NULL)
		c->step_id = jsonrpc_request(c->rpc, WARP_ENDPOINT_METHOD,
		    params, acp_client_endpoint_cb, c);
	return (restart || params != NULL);
}
