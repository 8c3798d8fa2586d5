/*
 * The client side of the queue (spec acpx-runtime.md §7.1, §7.8, §7.11):
 * find a session's owner from its lease (recovering a stale or dead one
 * after checking its process identity, replacing a hung one as the
 * reference does), start one when there is none without racing another
 * client (a start lock, connect again, then spawn `acpx __queue-owner`
 * detached with the startup payload on stdin), send one request and read
 * the owner's replies, and probe an owner's health for `status`. All on
 * the event loop: connect retries, start polling and retirement waits are
 * timers.
 */
#ifndef ACPX_QUEUE_CLIENT_H
#define ACPX_QUEUE_CLIENT_H

#include <sys/types.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "queue-proto.h"

struct queue_client;

enum queue_client_end {
	QUEUE_CLIENT_DONE = 0,		/* final message delivered (or accepted, --no-wait) */
	QUEUE_CLIENT_NO_OWNER,		/* controls: no owner runs; use the direct path */
	QUEUE_CLIENT_FAILED		/* err says why */
};

struct queue_client_cbs {
	/* The owner acknowledged the request. */
	void	(*accepted)(struct queue_client *, void *arg);
	/*
	 * Every later message except errors: event, prompt_started,
	 * permission_escalation, result, *_result (borrowed).
	 */
	void	(*message)(struct queue_client *, const struct queue_msg *,
		    void *arg);
	/*
	 * Once, at the end. err (borrowed) is set for FAILED; an owner
	 * "error" reply arrives as FAILED with owner_error set (borrowed).
	 */
	void	(*done)(struct queue_client *, enum queue_client_end,
		    struct acpx_error *err, const struct queue_msg *owner_error,
		    void *arg);
};

struct queue_client_opts {
	const char	*record_id;
	json_t		*payload;	/* owner startup payload: start one if none
					   runs (prompt); NULL: never start */
	const char	*mcp_path;	/* must match the owner's lease */
	const char	*mcp_fingerprint;
	int		 any_owner;	/* controls: skip the usability check */
};

/*
 * Send req (stolen; its ownerGeneration is filled in) to the session's
 * owner. The callbacks never run before this returns. Free with
 * queue_client_free() once done ran (never from inside a callback).
 */
struct queue_client *queue_client_send(struct ev_loop *,
		    const struct queue_client_opts *, struct queue_request *req,
		    const struct queue_client_cbs *, void *arg);
void		 queue_client_free(struct queue_client *);

/* The owner's pid (0 until one was chosen). */
pid_t		 queue_client_owner_pid(const struct queue_client *);

/* Health of a session's owner (spec §7.11 probeQueueOwnerHealth). */
struct queue_health {
	int		has_lease;
	int		healthy;	/* the socket answered */
	pid_t		pid;		/* when has_lease */
	long long	queue_depth;
};

typedef void	(*queue_probe_cb)(const struct queue_health *,
		    struct acpx_error *err, void *arg);

/*
 * Probe on the loop: lease, usable (else recovery), two connect attempts,
 * lease unchanged. cb never runs before this returns; free with
 * queue_client_free() after it ran.
 */
struct queue_client *queue_client_probe(struct ev_loop *, const char *record_id,
		    queue_probe_cb, void *arg);

#endif
