/*
 * Internals of the queue owner, its jobs (see queue-owner-impl.h): a
 * prompt or a control request that runs on the shared agent, one at a
 * time, as one state machine (the transitions are in queue-owner-job.c);
 * the steps of each kind are queue-owner-turn.c and queue-owner-control.c,
 * and a launch resolver (Warp agents) is plugged in through struct
 * queue_owner_hooks.
 *
 * Ownership: queue_owner_job_new() takes the request; the job belongs to
 * its queue, then to the owner while it runs, and is freed by
 * queue_owner_job_free() after its answer (or when dropped unanswered).
 */
#ifndef ACPX_QUEUE_OWNER_JOB_IMPL_H
#define ACPX_QUEUE_OWNER_JOB_IMPL_H

#include <sys/queue.h>

#include <ev.h>
#include <jansson.h>

#include "buf.h"

struct acp_client;
struct acpx_error;
struct queue_owner;
struct queue_owner_peer;
struct queue_request;
struct session_connect;
struct session_lock;
struct session_lock_wait;
struct session_record;

enum queue_owner_job_kind {
	QUEUE_OWNER_JOB_PROMPT,		/* submit_prompt */
	QUEUE_OWNER_JOB_CONTROL,	/* set_mode, set_model, set_config_option */
	QUEUE_OWNER_JOB_CLOSE		/* close_session */
};

/* The states of a job (queue-owner-job.c shows the transitions). */
enum queue_owner_job_state {
	JOB_QUEUED = 0,		/* accepted, waiting for its turn */
	JOB_LOCK,		/* waiting for the session's turn lock */
	JOB_CONNECT,		/* connect/load/resume/new, or a hop's start */
	JOB_MODEL,		/* applying the prompt's --model */
	JOB_PROMPT,		/* session/prompt in flight */
	JOB_LATE,		/* answered; the agent's late updates relayed */
	JOB_CONTROL		/* the control or session/close in flight */
};

/* One request that runs on the agent: a prompt or a control. */
struct queue_owner_job {
	enum queue_owner_job_kind	 kind;
	enum queue_owner_job_state	 state;
	struct queue_request		*req;
	struct queue_owner_peer		*peer;	/* NULL once detached */
	int				 cancel; /* asked before the prompt ran */
	TAILQ_ENTRY(queue_owner_job)	 entry;

	/* Once it runs. */
	struct session_lock_wait	*lock_wait;
	struct session_lock		*lock;
	struct session_connect		*connect;
	struct session_record		*rec;	/* loaded under the lock */
	ev_timer			 timeout_w;
	ev_timer			 checkpoint_w;	/* debounced record save */
	int				 dirty;
	int				 saved;	/* the turn's prompt is on disk */
	ev_prepare			 save_w; /* the save after session/prompt */
	json_t				*chunk_params;	/* text chunks held back */
	struct buf			 chunk;		/* their text */

	/* A prompt's. */
	struct acpx_error		*err;
	json_t				*result;	/* the prompt's answer */
	int				 resumed;
	char				*load_error;
	json_t				*connect_buf;	/* [[outbound, msg]] */
	int				 connect_phase;
	ev_timer			 late_w;
	ev_tstamp			 late_start;
	json_t				*perm_req; /* the agent's last request
						   that needs permission */
	int				 perm_denied; /* denials before it */
};

TAILQ_HEAD(queue_owner_jobs, queue_owner_job);

/* queue-owner-job.c */
struct queue_owner_job *queue_owner_job_new(enum queue_owner_job_kind,
		    struct queue_request *, struct queue_owner_peer *);
void		 queue_owner_job_free(struct queue_owner *,
		    struct queue_owner_job *);
struct queue_owner_job *queue_owner_job_find(struct queue_owner *,
		    const char *rid);
void		 queue_owner_job_start(struct queue_owner *,
		    struct queue_owner_job *);
int		 queue_owner_job_cancel(struct queue_owner *, const char *rid);
void		 queue_owner_job_drop(struct queue_owner *,
		    struct queue_owner_job *, const char *detail,
		    int retryable, const char *message);
int		 queue_owner_job_release(struct queue_owner *,
		    struct queue_owner_job *);
void		 queue_owner_job_keep(struct queue_owner_job *);
void		 queue_owner_job_send(struct queue_owner *,
		    struct queue_owner_job *, json_t *msg);
struct acpx_error *queue_owner_job_error_copy(const struct acpx_error *);
/* A finished prompt's result object (caller owns); NULL: no record. */
json_t		*queue_owner_job_result(struct queue_owner *,
		    struct queue_owner_job *);
/* After the answer: the fsyncs it did not wait for. -1: the journal's failed. */
#define QUEUE_OWNER_SYNC_JOURNAL	0x1
#define QUEUE_OWNER_SYNC_RECORD		0x2
int		 queue_owner_job_sync(struct queue_owner *, int what);
/* Keep in j->rec a close that happened on disk during the turn. */
void		 queue_owner_job_preserve_close(struct queue_owner *,
		    struct queue_owner_job *);

/* queue-owner-turn.c */
void		 queue_owner_turn_start(struct queue_owner *,
		    struct queue_owner_job *);
int		 queue_owner_turn_cancel(struct queue_owner *,
		    struct queue_owner_job *);
void		 queue_owner_turn_prompt_cb(struct acp_client *, const json_t *,
		    struct acpx_error *, void *);
void		 queue_owner_turn_fail(struct queue_owner *, struct acpx_error *);
void		 queue_owner_turn_cancelled(struct queue_owner *);
/* The prompt of the turn is on its way: prompt_started when asked for. */
void		 queue_owner_turn_started(struct queue_owner *);

/* queue-owner-control.c */
void		 queue_owner_control_start(struct queue_owner *,
		    struct queue_owner_job *);
int		 queue_owner_control_cancel(struct queue_owner *,
		    struct queue_owner_job *);
void		 queue_owner_control_close_session(struct queue_owner *);

/*
 * What a prompt or control job lets a launch resolver do around it (Warp
 * agents: queue-owner-warp.c). Every hook does nothing for a session that
 * is not the resolver's. tap also sees what the agent sends outside a
 * prompt (no job, a control, the record not loaded yet). prepare (before a job connects) and turn_begin
 * (before a prompt job connects): 0, or -1 with *err (caller owns): the
 * agent must not start; turn_begin 1: the resolver moved the session to
 * another agent and starts it itself (its prompt is sent from there). tap: every ACP message of a prompt. prompt_end:
 * 0 the turn ends as it is, 1 a fallback hop is under way (the prompt
 * callback runs again), -1 with *err a provider failure with no hop
 * left.
 */
struct queue_owner_hooks {
	int	 (*prepare)(struct queue_owner *, struct acpx_error **);
	int	 (*turn_begin)(struct queue_owner *, struct acpx_error **);
	void	 (*tap)(struct queue_owner *, const json_t *, int outbound);
	void	 (*prompt_sent)(struct queue_owner *);
	int	 (*prompt_end)(struct queue_owner *, const json_t *result,
		    const struct acpx_error *, struct acpx_error **);
	void	 (*turn_end)(struct queue_owner *);
	void	 (*cancel)(struct queue_owner *);
	void	 (*free)(struct queue_owner *);	/* at exit */
};
extern const struct queue_owner_hooks queue_owner_warp_hooks;

#endif
