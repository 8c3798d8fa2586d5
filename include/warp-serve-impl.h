/*
 * The proxy's internals (warp-serve.h), shared by warp-serve.c (client
 * connection, dispatch, lifecycle), warp-serve-up.c (harness processes),
 * warp-serve-session.c (sessions, map files, attach) and
 * warp-serve-turn.c (prompts, fallback, stall, replay). Nothing else
 * includes this.
 *
 * Ownership: the struct ws owns its harnesses (ups) and sessions; both
 * live until the proxy ends (a retired harness is closed, its struct
 * kept), so a pointer to either stays valid for the whole run. A
 * forwarded request's record (ws_fwd, ws_back) is freed by the callback
 * that completes it.
 */
#ifndef ACPX_WARP_SERVE_IMPL_H
#define ACPX_WARP_SERVE_IMPL_H

#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include "agent-launch.h"
#include "acpx-error.h"
#include "fallback.h"
#include "jsonrpc.h"
#include "warp.h"
#include "warp-serve.h"

struct proc;
struct child;
struct ws;
struct ws_up;
struct slots_wait;
struct slots_hold;
struct ws_sess;
struct ws_attach;
struct client_term;

#define WS_GRACE_MS		1000	/* stdin EOF to TERM, TERM to KILL */
#define WS_STALL_CANCEL_S	2.5	/* a stalled agent's answer to cancel */
#define WS_ERRLINE_MAX		8192	/* a harness stderr line passed at once */
#define WS_TURNS_KEPT		8	/* turn summaries kept per session */
#define WS_CONTEXT_MAX		(32 * 1024)	/* bytes of "the session so far" */

/* JSON-RPC error codes the proxy answers itself. */
#define WS_RPC_PARSE		-32700
#define WS_RPC_INVALID		-32600
#define WS_RPC_INTERNAL		-32603
#define WS_RPC_NOT_FOUND	-32002

/* A harness is ready (err NULL) or could not start (err borrowed). */
typedef void	(*ws_up_cb)(struct ws_up *, const struct acpx_error *err,
		    void *arg);

struct ws_waiter {
	ws_up_cb	 cb;
	void		*arg;
};

enum ws_up_state {
	WS_UP_STARTING = 0,	/* spawned, initialize sent */
	WS_UP_READY,		/* initialized */
	WS_UP_FAILED,		/* could not start; err says why */
	WS_UP_CLOSED		/* closing or gone */
};

/* One harness process. */
struct ws_up {
	struct ws		*ws;
	struct ws_up		*next;
	char			*agent;		/* the agent it runs */
	struct agent_launch	 launch;
	struct child		*child;
	struct slots_wait	*slot_wait;	/* for an agent slot, or NULL */
	struct slots_hold	*slot;		/* held until it exits, or NULL */
	struct jsonrpc		*rpc;
	json_t			*init_result;
	struct acpx_error	*err;		/* WS_UP_FAILED */
	enum ws_up_state	 state;
	int			 exited;
	int			 init_closed;	/* EOF before initialize answered */
	ev_timer		 exit_w;	/* then: wait for its exit */
	int			 authed;	/* authenticate replayed or sent */
	int			 endpoint_fallback; /* restarted with the
						   environment table */
	struct ws_waiter	*waiters;
	size_t			 nwaiters;
	json_t			*orphans;	/* updates for a session not bound yet */
	char			 errline[WS_ERRLINE_MAX];
	size_t			 errlen;
	struct client_term	*terms;		/* node mode: its terminals */
};

/* A prompt of the client in progress on a session. */
struct ws_turn {
	struct ws_sess		*sess;
	struct ws_up		*up;		/* where the prompt went, or NULL */
	json_t			*cid;		/* the client's request id */
	json_t			*params;	/* the client's session/prompt params */
	json_t			*goal;		/* the prompt's content blocks */
	json_t			*msgs;		/* the turn's messages (all hops) */
	struct fallback		*fb;		/* NULL: no fallback applies */
	struct fallback_hop	 hop;
	int			 cancelled;
	int			 stalled;
	int			 hopping;	/* the next agent is starting */
	int			 pending;	/* a callback will come for it */
	int			 done;		/* answered; freed by that callback */
	ev_timer		 stall_w;
};

/* A client session. */
struct ws_sess {
	struct ws		*ws;
	struct ws_sess		*next;
	char			*id;		/* the client's session id */
	char			*agent;		/* the id the session began on */
	char			*serving;	/* the agent now serving it */
	char			*up_sid;	/* upstream session id, or NULL */
	struct ws_up		*up;		/* NULL: detached */
	char			*cwd;
	json_t			*mcp;		/* mcpServers, array */
	json_t			*history;	/* routing events */
	char			*mode;		/* last session/set_mode */
	char			*model;		/* last session/set_model */
	json_t			*config;	/* configId -> value chosen */
	json_t			*options;	/* configOptions now (or NULL) */
	json_t			*turns;		/* summaries of finished turns */
	char			*context;	/* to put before the next prompt */
	struct ws_turn		*turn;
	int			 attaching;
	struct ws_attach	*waiters;	/* for the attach under way */
	int			 suppress;	/* drop replayed updates (resume) */
	struct warp_route_stamp	 stamp;		/* the state file found the
						   serving agent's quota fine */
};

struct ws {
	const struct warp_serve_opts *opts;
	struct proc		*proc;
	struct ev_loop		*loop;
	struct jsonrpc		*client;
	json_t			*init_params;	/* the client's initialize */
	char			*auth_method;	/* what the client authenticated with */
	json_t			*cids;		/* client ids in flight */
	struct ws_up		*ups;
	struct ws_up		*primary;	/* where new sessions go */
	struct ws_sess		*sessions;
	char			*home;
	char			*name;		/* the normalised agent name */
	int			 initialized;
	int			 closing;
	int			 done;
	int			 status;
};

/* A client request forwarded to a harness. */
struct ws_fwd {
	struct ws		*ws;
	struct ws_sess		*sess;		/* or NULL */
	json_t			*cid;
	char			*method;
	json_t			*params;	/* as the client sent them */
};

/* warp-serve.c */
void		 warp_serve_log(struct ws *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 warp_serve_reply(struct ws *, const json_t *cid, json_t *result);
void		 warp_serve_reply_error(struct ws *, const json_t *cid, int code,
		    const char *message, json_t *data);
void		 warp_serve_reply_rpc_error(struct ws *, const json_t *cid,
		    enum jsonrpc_status, const json_t *error);
void		 warp_serve_reply_acpx_error(struct ws *, const json_t *cid,
		    const struct acpx_error *, json_t *extra);
void		 warp_serve_notify_client(struct ws *, const char *method, json_t *params);
void		 warp_serve_forward(struct ws *, struct ws_sess *, struct ws_up *,
		    const json_t *cid, const char *method, const json_t *params);
void		 warp_serve_maybe_done(struct ws *);

size_t		 warp_serve_max_message(void);

/* warp-serve-up.c */
struct ws_up	*warp_serve_up_start(struct ws *, const char *agent, int pick,
		    struct agent_launch *launch);
void		 warp_serve_up_when_ready(struct ws_up *, ws_up_cb, void *arg);
long long	 warp_serve_up_request(struct ws_up *, const char *method, json_t *params,
		    jsonrpc_done_cb, void *arg);
void		 warp_serve_up_notify(struct ws_up *, const char *method, json_t *params);
void		 warp_serve_up_close(struct ws_up *);
void		 warp_serve_up_kill(struct ws_up *);
int		 warp_serve_up_usable(const struct ws_up *);
int		 warp_serve_up_can(const struct ws_up *, const char *cap);
char		*warp_serve_up_stderr(const struct ws_up *);
struct ws_up	*warp_serve_up_running(struct ws *, const char *agent);
void		 warp_serve_up_retire_unused(struct ws *);
void		 warp_serve_up_bound(struct ws_up *, struct ws_sess *);
void		 warp_serve_up_free_all(struct ws *);

/* warp-serve-session.c */
struct ws_sess	*warp_serve_sess_find(struct ws *, const char *id);
struct ws_sess	*warp_serve_sess_lookup(struct ws *, const char *id);
struct ws_sess	*warp_serve_sess_by_up(struct ws *, const struct ws_up *,
		    const char *up_sid);
void		 warp_serve_sess_save(struct ws_sess *);
void		 warp_serve_sess_history(struct ws_sess *, json_t *event);
void		 warp_serve_session_new(struct ws *, const json_t *cid, const json_t *params);
void		 warp_serve_session_load(struct ws *, const json_t *cid, const char *method,
		    const json_t *params);
void		 warp_serve_sess_bind(struct ws_sess *, struct ws_up *, const char *up_sid,
		    const json_t *result);
void		 warp_serve_sess_turn_done(struct ws_sess *, const json_t *goal,
		    const json_t *msgs);
/* The summary of the session so far (its finished turns), or NULL. Caller owns. */
char		*warp_serve_sess_context(const struct ws_sess *);
void		 warp_serve_sess_free_all(struct ws *);
json_t		*warp_serve_sess_rewrite(const json_t *params, const char *from,
		    const char *to);
void		 warp_serve_sess_remember(struct ws_sess *, const char *method,
		    const json_t *params, const json_t *result);
typedef void	(*ws_attach_cb)(struct ws_sess *, const json_t *result,
		    const struct acpx_error *err, void *arg);
void		 warp_serve_sess_open_new(struct ws_sess *, struct ws_up *,
		    ws_attach_cb, void *arg);
void		 warp_serve_sess_ensure(struct ws_sess *, ws_attach_cb, void *arg);

/* warp-serve-node.c: node mode (opts->on_node). */
int		 warp_serve_node_request(struct ws_up *, struct ws_sess *,
		    const json_t *id, const char *method, const json_t *params);
json_t		*warp_serve_node_params(struct ws *, const char *method,
		    const json_t *params);
void		 warp_serve_node_free(struct ws_up *);

/* warp-serve-turn.c */
void		 warp_serve_turn_prompt(struct ws *, struct ws_sess *, const json_t *cid,
		    const json_t *params);
void		 warp_serve_turn_cancel(struct ws_sess *);
void		 warp_serve_turn_tap(struct ws_sess *, const json_t *msg, int inbound);
/*
 * The provider tap of up's harness ended the turn (warp-tap.h; arg is
 * the struct ws_up): each turn on up is cancelled as a stall is.
 */
void		 warp_serve_turn_tap_failed(void *arg);
/* A notification of up's harness outside any turn of its session (sid,
   or none yet): its quota signals are recorded for up's agent. */
void		 warp_serve_turn_idle_tap(struct ws_up *, const char *sid,
		    const char *method, const json_t *params);
void		 warp_serve_turn_abort_all(struct ws *);
void		 warp_serve_replay_choices(struct ws_sess *, const json_t *result,
		    void (*done)(struct ws_sess *, void *), void *arg);

/*
 * warp-serve-up.c: spawn the prepared harness and send initialize (again
 * after a refused endpoint); authenticate after initialize; the harness
 * closed its output while starting.
 */
void		 warp_serve_up_spawn(struct ws_up *);
void		 warp_serve_up_init_auth(struct ws_up *);
void		 warp_serve_up_start_closed(struct ws_up *);

/*
 * warp-serve-endpoint.c: after initialize, a warp harness's provider over
 * ACP (warp-endpoint.h): 1 when setLlmEndpoints or a restart with the
 * environment table is under way, 0: go on.
 */
int		 warp_serve_endpoint_start(struct ws_up *);

#endif
