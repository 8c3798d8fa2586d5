/*
 * Internals shared by the two halves of the queue owner: queue-owner.c
 * (process lifecycle, lease, socket, peers, the FIFO, TTL, shutdown) and
 * queue-owner-turn.c (running one prompt turn or one idle control against
 * the shared agent connection), with queue-owner-warp.c (warp agents: the
 * serving agent's environment, fallback hops, the stall rule). Not for
 * other modules.
 */
#ifndef ACPX_QUEUE_OWNER_IMPL_H
#define ACPX_QUEUE_OWNER_IMPL_H

#include <sys/queue.h>
#include <sys/stat.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "agent-launch.h"
#include "buf.h"
#include "config-file.h"
#include "fallback.h"
#include "queue-proto.h"

struct acp_client;
struct journal;
struct queue_lease;
struct session_connect;
struct session_lock;
struct session_lock_wait;
struct session_record;

/* The startup payload (spec acpx-runtime.md §7.2), validated. */
struct queue_owner_opts {
	char			*session_id;
	enum acpx_perm_mode	 perm_mode;
	json_t			*mcp_servers;		/* array, never NULL */
	char			*mcp_config_path;
	char			*mcp_config_fingerprint;
	json_t			*auth;			/* string values only, or NULL */
	int			 nonint;		/* -1 absent */
	int			 auth_policy;		/* -1 absent */
	int			 fs;			/* -1 absent */
	int			 terminal;		/* -1 absent */
	int			 verbose;
	long long		 ttl_ms;		/* normalised; 0 = never */
	int			 max_depth;
	int			 prompt_retries;	/* -1 absent */
	json_t			*session_options;	/* lenient-normalised, or NULL */
};

struct queue_owner_peer;	/* queue-owner-peer.c */

/* A queued prompt. */
struct queue_owner_task {
	struct queue_request	*req;
	struct queue_owner_peer	*peer;		/* NULL once detached */
	int			 cancel;	/* cancel requested before the prompt ran */
	TAILQ_ENTRY(queue_owner_task)	 entry;
};

/* A set_mode / set_model / set_config_option waiting or running. */
struct queue_owner_control {
	struct queue_request	*req;
	struct queue_owner_peer	*peer;		/* NULL once detached */
	TAILQ_ENTRY(queue_owner_control) entry;
};

TAILQ_HEAD(queue_owner_peers, queue_owner_peer);
TAILQ_HEAD(queue_owner_tasks, queue_owner_task);
TAILQ_HEAD(queue_owner_controls, queue_owner_control);

enum owner_turn_state {
	TURN_IDLE = 0,
	TURN_LOCK,		/* waiting for the session turn lock */
	TURN_CONNECT,		/* connect/load/resume/new */
	TURN_MODEL,		/* applying --model */
	TURN_PROMPT,		/* session/prompt in flight */
	TURN_CONTROL,		/* an idle control */
	TURN_CLOSING		/* the agent is being closed after the turn */
};

struct queue_owner {
	struct ev_loop		*loop;
	struct queue_owner_opts	 opts;
	/* What the acp_client reads (pointing into the fields below). */
	struct acp_client_opts	 copts;
	char			*cwd;		/* the session's */
	char			*agent_command;	/* the record's */
	char			**agent_argv;	/* the record's argv (what non-warp sessions spawn) */
	json_t			*turn_so;	/* the turn's session options (copts.session) */
	struct queue_lease	*lease;
	long long		 gen;
	char			*socket_path;

	int			 listen_fd;
	ev_io			 listen_w;
	ev_timer		 heartbeat_w;
	ev_timer		 ttl_w;
	ev_timer		 grace_w;	/* cancel grace at shutdown */
	struct proc		*proc;		/* loop and signals */
	ev_idle			 kick_w;	/* run the next job / reap peers */

	struct queue_owner_peers	 peers;
	struct queue_owner_tasks	 pending;
	int			 npending;
	struct queue_owner_controls	 controls;

	/* The shared agent connection and the job on it. */
	struct acp_client	*client;
	struct queue_owner_task	*active;	/* running prompt */
	struct queue_owner_control	*control;	/* running idle control */
	struct queue_owner_control	*closing;	/* close_session waiting to answer */
	enum owner_turn_state	 state;
	struct session_lock_wait *lock_wait;
	struct session_lock	*lock;
	struct session_connect	*connect;
	struct session_record	*rec;
	struct journal		*journal;	/* kept across turns while ours */
	struct stat		 journal_st;	/* the active segment after our turn */
	int			 journal_failed;
	json_t			*connect_buf;	/* connect-phase messages [[dir,msg]] */
	int			 connect_phase;
	json_t			*blocks;	/* the turn's prompt */
	struct acpx_error	*turn_err;
	json_t			*turn_result;	/* prompt response */
	int			 resumed;
	char			*load_error;
	ev_timer		 turn_timeout_w;
	ev_timer		 late_w;	/* answered: late updates */
	ev_tstamp		 late_start;
	int			 late;		/* the prompt is answered */
	ev_timer		 checkpoint_w;	/* debounced record save */
	json_t			*chunk_params;	/* text chunks not applied yet */
	struct buf		 chunk;		/* their text */
	int			 dirty;
	int			 first_wait;	/* TTL: the first wait is >= 1 s */
	long long		 depth_written;	/* queueDepth in the lease */

	/* Warp agents (queue-owner-warp.c). */
	struct config		*warp_config;	/* full config, once needed */
	char			*warp_serving;	/* the warp agent the client runs */
	struct agent_launch	 warp_launch;	/* its launch: harness, environment */
	struct agent_launch	 warp_old_launch; /* the launch before the last swap */
	struct fallback		*fb;		/* the turn's fallback, or NULL */
	struct fallback_hop	 warp_hop;	/* the hop under way */
	ev_timer		 warp_stall_w;	/* warp.stallSeconds */
	int			 warp_stalled;
	int			 warp_cancelled;
	int			 warp_retiring;	/* retired agents still closing */

	int			 flags;
#define OWNER_CLOSING	0x1	/* shutdown requested */
#define OWNER_DONE	0x2	/* everything closed: leave the loop */
#define OWNER_CLIENT_CLOSING 0x4
};

/* queue-owner.c */
void		 queue_owner_kick(struct queue_owner *);
void		 queue_owner_heartbeat(struct queue_owner *);
void		 queue_owner_depth_changed(struct queue_owner *);
void		 queue_owner_shutdown(struct queue_owner *, const char *why);
void		 queue_owner_log(struct queue_owner *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* queue-owner-peer.c */
void		 queue_owner_peer_accept(struct queue_owner *);
void		 queue_owner_peer_send(struct queue_owner_peer *, const json_t *);
void		 queue_owner_peer_end(struct queue_owner_peer *);
void		 queue_owner_peer_reject(struct queue_owner_peer *,
		    const char *rid, const char *detail, int retryable,
		    const char *message);
void		 queue_owner_peer_reap(struct queue_owner *);
void		 queue_owner_peer_shutdown(struct queue_owner *);
int		 queue_owner_peer_any(struct queue_owner *);

/* queue-owner-agent.c */
struct acp_client *queue_owner_agent_client(struct queue_owner *);
void		 queue_owner_agent_checkpoint_cb(struct ev_loop *, ev_timer *,
		    int);
void		 queue_owner_agent_chunk_flush(struct queue_owner *);
void		 queue_owner_agent_connect_log(const char *, void *);
int		 queue_owner_agent_journal(struct queue_owner *, char **cause);
void		 queue_owner_agent_journal_keep(struct queue_owner *);
void		 queue_owner_agent_lifecycle(struct queue_owner *,
		    struct session_record *);
void		 queue_owner_agent_close(struct queue_owner *);
void		 queue_owner_agent_kill(struct queue_owner *);

/* queue-owner-turn.c */
void		 queue_owner_turn_start(struct queue_owner *,
		    struct queue_owner_task *);
int		 queue_owner_turn_cancel(struct queue_owner *);
void		 queue_owner_turn_prompt_cb(struct acp_client *, const json_t *,
		    struct acpx_error *, void *);
void		 queue_owner_turn_fail(struct queue_owner *, struct acpx_error *);
void		 queue_owner_turn_cancelled(struct queue_owner *);
void		 queue_owner_turn_free(struct queue_owner_task *);
struct acpx_error *queue_owner_turn_error_copy(const struct acpx_error *);

/* queue-owner-control.c */
void		 queue_owner_control_start(struct queue_owner *,
		    struct queue_owner_control *);
void		 queue_owner_control_close_session(struct queue_owner *);
void		 queue_owner_control_free(struct queue_owner_control *);

/* queue-owner-warp.c */
int		 queue_owner_warp_prepare(struct queue_owner *, struct acpx_error **);
int		 queue_owner_warp_turn_begin(struct queue_owner *, struct acpx_error **);
void		 queue_owner_warp_tap(struct queue_owner *, const json_t *, int outbound);
void		 queue_owner_warp_prompt_sent(struct queue_owner *);
int		 queue_owner_warp_prompt_end(struct queue_owner *, const json_t *result,
		    const struct acpx_error *, struct acpx_error **);
void		 queue_owner_warp_turn_end(struct queue_owner *);
void		 queue_owner_warp_cancel(struct queue_owner *);
void		 queue_owner_warp_free(struct queue_owner *);

#endif
