/*
 * Internals of the queue owner (queue-owner.h), for its own files only
 * (the jobs' part is queue-owner-job-impl.h):
 *
 *	queue-owner.c		the owner: one process, its loop and signals
 *				(proc.h), payload, lease and heartbeat, the
 *				socket, the idle TTL, what runs next, shutdown
 *	queue-owner-peer.c	peers: one per client connection, the request
 *				handler table, replies
 *	queue-owner-job.c	jobs: their kinds and states, the queues
 *	queue-owner-turn.c	the steps of a prompt job
 *	queue-owner-control.c	the steps of a control job; close_session
 *	queue-owner-agent.c	the shared agent connection, the journal
 *				writer and what every ACP message does
 *	queue-owner-warp.c	Warp agents, plugged into a job as hooks
 *	queue-owner-failure.c	first failures and reconnects, in the record
 *	queue-owner-slot.c	the agent slot under the host-wide cap
 *
 * Ownership: the owner holds its peers, its queued jobs and the running
 * one. A job is freed by queue_owner_job_free() once answered (its finish
 * step) or dropped from a queue; a peer by queue_owner_peer_reap() once
 * closed. A job points at its peer and the peer at its job until either
 * side lets go (queue_owner_peer_end, a disconnect).
 */
#ifndef ACPX_QUEUE_OWNER_IMPL_H
#define ACPX_QUEUE_OWNER_IMPL_H

#include <sys/queue.h>
#include <sys/stat.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "buf.h"
#include "queue-owner-job-impl.h"
#include "queue-proto.h"

struct agent_launch;
struct journal;
struct proc;
struct queue_lease;
struct queue_owner_peer;	/* queue-owner-peer.c */
struct queue_owner_warp;	/* queue-owner-warp.c */
struct queue_owner_slot;	/* queue-owner-slot.c */
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

TAILQ_HEAD(queue_owner_peers, queue_owner_peer);

struct queue_owner {
	struct ev_loop		*loop;
	struct proc		*proc;		/* loop and signals */
	struct queue_owner_opts	 opts;
	struct queue_lease	*lease;
	long long		 gen;
	char			*socket_path;
	int			 listen_fd;
	ev_io			 listen_w;
	ev_timer		 heartbeat_w;
	ev_timer		 ttl_w;
	ev_timer		 grace_w;	/* cancel grace at shutdown */
	ev_idle			 kick_w;	/* run the next job / reap peers */
	int			 first_wait;	/* TTL: the first wait is >= 1 s */
	long long		 depth_written;	/* queueDepth in the lease */

	struct queue_owner_peers peers;
	struct queue_owner_jobs	 pending;	/* prompts, FIFO */
	int			 npending;
	struct queue_owner_jobs	 controls;
	struct queue_owner_job	*job;		/* the running one */
	struct queue_owner_job	*closing;	/* close_session, to answer */

	/* The shared agent connection (queue-owner-agent.c). */
	struct acp_client	*client;
	struct queue_owner_peer	*paused_by;	/* its output is too far
						   behind: client not read */
	struct acp_client_opts	 copts;		/* pointing into the below */
	char			*cwd;		/* the session's */
	char			*agent_command;	/* the record's */
	char			**agent_argv;	/* what non-warp sessions spawn */
	json_t			*turn_so;	/* copts.session's options */
	struct journal		*journal;	/* kept across turns while ours */
	struct stat		 journal_st;	/* its segment after our turn */
	int			 journal_failed;
	ev_prepare		 journal_w;	/* writes its appends, once a loop */
	int			 chunk_kind;	/* the running job's held chunks */
	const json_t		*chunk_sid;	/* (job->chunk_params): their kind
						   and sessionId (borrowed) */
	int			 retiring;	/* replaced agents still closing */

	const struct queue_owner_hooks *hooks;	/* the launch resolver's */
	struct queue_owner_warp	*warp;		/* its state, or NULL */
	struct queue_owner_slot	*slot;		/* host-wide cap, or NULL */

	int			 flags;
#define OWNER_CLOSING	0x1	/* shutdown requested */
#define OWNER_DONE	0x2	/* everything closed: leave the loop */
#define OWNER_CLIENT_CLOSING 0x4 /* the agent is being closed */
};

/* queue-owner.c */
void		 queue_owner_kick(struct queue_owner *);
int		 queue_owner_idle(struct queue_owner *);
void		 queue_owner_depth_changed(struct queue_owner *);
void		 queue_owner_shutdown(struct queue_owner *, const char *why);
void		 queue_owner_log(struct queue_owner *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* queue-owner-peer.c */
void		 queue_owner_peer_accept(struct queue_owner *);
void		 queue_owner_peer_send(struct queue_owner_peer *, const json_t *);
/* An event of an ACP message given as js_json_dumps(message, 0) text. */
void		 queue_owner_peer_send_event(struct queue_owner_peer *,
		    const char *rid, int outbound, const char *text, size_t len);
/* A plain inbound text chunk (msg borrowed), merged with the next ones. */
void		 queue_owner_peer_merge_chunk(struct queue_owner_peer *,
		    const char *rid, const json_t *msg, const json_t *sid,
		    const char *text, size_t len);
void		 queue_owner_peer_end(struct queue_owner_peer *);
void		 queue_owner_peer_reject(struct queue_owner_peer *,
		    const char *rid, const char *detail, int retryable,
		    const char *message);
void		 queue_owner_peer_reap(struct queue_owner *);
void		 queue_owner_peer_shutdown(struct queue_owner *);
int		 queue_owner_peer_any(struct queue_owner *);

/* queue-owner-failure.c: first failures and reconnects, into the job's record */
struct session_connect_result;
void		 queue_owner_failure_tap(struct queue_owner *,
		    struct queue_owner_job *, const json_t *msg, int outbound);
void		 queue_owner_failure_turn_begin(struct queue_owner *,
		    struct queue_owner_job *);
void		 queue_owner_failure_turn_end(struct queue_owner *,
		    struct queue_owner_job *);
void		 queue_owner_failure_reconnect(struct queue_owner *,
		    struct queue_owner_job *,
		    const struct session_connect_result *);

/* queue-owner-slot.c */
int		 queue_owner_slot_gate(struct queue_owner *,
		    struct queue_owner_job *);
void		 queue_owner_slot_idle(struct queue_owner *);
int		 queue_owner_slot_abandon(struct queue_owner *);
void		 queue_owner_slot_free(struct queue_owner *);

/* queue-owner-agent.c */
struct acp_client *queue_owner_agent_client(struct queue_owner *);
void		 queue_owner_agent_set_launch(struct queue_owner *,
		    const struct agent_launch *);
void		 queue_owner_agent_retire(struct queue_owner *);
void		 queue_owner_agent_checkpoint_cb(struct ev_loop *, ev_timer *,
		    int);
void		 queue_owner_agent_chunk_flush(struct queue_owner *);
void		 queue_owner_agent_connect_log(const char *, void *);
int		 queue_owner_agent_journal(struct queue_owner *,
		    struct session_record *, char **cause);
void		 queue_owner_agent_journal_keep(struct queue_owner *);
/* journal_w's callback: the iteration's appends in one write. */
void		 queue_owner_agent_journal_flush_cb(struct ev_loop *,
		    ev_prepare *, int);
void		 queue_owner_agent_lifecycle(struct queue_owner *,
		    struct session_record *);
void		 queue_owner_agent_close(struct queue_owner *);
void		 queue_owner_agent_kill(struct queue_owner *);

#endif
