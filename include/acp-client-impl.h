/*
 * The ACP client's internals, shared by its three files: acp-client.c
 * (the connection, the session and prompt steps, close), acp-client-start.c
 * (spawn, the wire callbacks, initialize and authenticate) and
 * acp-client-req.c (answers to the agent's requests: permissions, fs,
 * terminals). Nothing outside them includes this.
 */
#ifndef ACPX_ACP_CLIENT_IMPL_H
#define ACPX_ACP_CLIENT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "jsonrpc.h"

#define ACP_DEFAULT_MAX_MESSAGE	(64ULL * 1024 * 1024)
#define ACP_EXIT_WAIT_MS	250	/* wait for exit status after stdout EOF */

/* The session directory: acp_client_set_cwd()'s, else the options'. */
#define ACP_CWD(c)	((c)->cwd != NULL ? (c)->cwd : (c)->opts->cwd)

enum acp_step {
	STEP_NONE = 0,
	STEP_START,
	STEP_REQUEST,		/* session/new, set_config_option, ... */
	STEP_PROMPT,
	STEP_CLOSE
};

struct acp_client {
	struct ev_loop		*loop;
	const struct acp_client_opts *opts;
	struct acp_client_events ev;
	void			*ev_arg;

	struct child		*child;
	struct jsonrpc		*rpc;
	struct client_term	*terms;		/* the agent's terminals */
	json_t			*init_result;
	char			*session_id;
	struct acp_perm_stats	 stats;

	/* The step in progress and whom to tell. */
	enum acp_step		 step;
	acp_done_cb		 step_cb;
	void			*step_arg;
	long long		 step_id;	/* request id of the step */
	json_t			*prompt_blocks;	/* for retries */
	json_t			*prompt_meta;	/* its _meta, or NULL */
	int			 prompt_attempt;
	int			 side_effects;	/* updates/client ops during a prompt */
	ev_timer		 retry_w;

	/* Claude's adapter: session/new must answer within this (timed_out once it did not). */
	ev_timer		 create_w;
	int			 create_timed_out;

	/* Startup failure: wait briefly for the exit status after EOF. */
	ev_timer		 exit_wait_w;
	/* Closing, the agent exited: wait briefly for the rest of its output. */
	ev_timer		 close_drain_w;
	struct acpx_error	*pending_err;

	int			 flags;
#define ACP_INITIALIZED		0x1
#define ACP_DISCONNECTED	0x2
#define ACP_CLOSING		0x4
#define ACP_EXITED		0x8
#define ACP_CANCELLING		0x10	/* session/cancel sent for this turn */
	int			 exit_status;
	size_t			 max_message;	/* ACPX_MAX_ACP_MESSAGE_BYTES */
	char			*cwd;		/* acp_client_set_cwd(), or NULL */
	int			 suppress_updates;
	double			 last_update;	/* ev_now() of the last session/update */
	char			*load_id;	/* session/load|resume in flight */
	char			*auth_method;	/* the method we authenticate with */
	const char		*auth_source;	/* "env" or "config" */
	const char		*load_method;	/* session/load or session/resume */
	int64_t			 ev_t0;		/* events: start of the step (ms) */
	int			 invalid_updates; /* malformed session/update seen */
	int			 endpoint_fallback; /* restarted with the
						   environment table */
};

/* acp-client.c */
void		 acp_client_log(struct acp_client *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 acp_client_diag(struct acp_client *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 acp_client_step_begin(struct acp_client *, enum acp_step,
		    acp_done_cb, void *arg);
void		 acp_client_step_done(struct acp_client *, const json_t *result,
		    struct acpx_error *err);
struct acpx_error *acp_client_too_large_error(struct acp_client *);
struct acpx_error *acp_client_request_error(struct acp_client *,
		    enum jsonrpc_status, const json_t *error);
void		 acp_client_close_exited(struct acp_client *);

/* acp-client-start.c: the exit-status wait after a startup EOF. */
void		 acp_client_start_exit_wait_cb(struct ev_loop *, ev_timer *,
		    int revents);
/* acp-client-start.c: a close during start, reported with its exit. */
void		 acp_client_start_closed(struct acp_client *);
/* acp-client-start.c: spawn and send initialize; authenticate after it. */
void		 acp_client_spawn_init(struct acp_client *);
void		 acp_client_init_auth(struct acp_client *);

/*
 * acp-client-endpoint.c: after initialize, setLlmEndpoints for a warp
 * agent that advertises it (warp-endpoint.h). 1 when a step is under way
 * (it goes on with acp_client_init_auth() or a restart), 0: nothing to do.
 */
int		 acp_client_endpoint_start(struct acp_client *);

/* acp-client-req.c: the agent's requests (jsonrpc request callback). */
void		 acp_client_req_cb(struct jsonrpc *, const json_t *id,
		    const char *method, const json_t *params, void *arg);

#endif
