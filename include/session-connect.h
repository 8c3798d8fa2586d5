/*
 * Connect an ACP client to a session record (spec acpx-runtime.md §5.1
 * step 2, §6): reuse a client that already has the record's session
 * loaded; otherwise start the agent in the record's cwd, then
 * session/resume if the agent advertises it, else session/load (replayed
 * session/update notifications suppressed from the tap: not rendered, not
 * journaled, not applied), else session/new — with the reference's
 * fallbacks to session/new (resource-not-found, -32601/-32602, -32603 on a
 * session without agent messages) unless same-session-only, and the replay
 * of the saved mode, model and config options. Also creating a session for
 * `sessions new|ensure` (session/new, or resume/load of --resume-session).
 * Asynchronous on the client's loop; the record is updated in place.
 */
#ifndef ACPX_SESSION_CONNECT_H
#define ACPX_SESSION_CONNECT_H

#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "session-record.h"

struct session_connect;

struct session_connect_opts {
	int		 same_session_only;	/* resumePolicy same-session-only
						   (also implied by imported_from) */
	int		 replacing_mode;	/* a set-mode follows: skip mode replay */
	const char	*replacing_config;	/* a set <key> follows: skip that key
						   (and model replay if it is the model) */
	int		 verbose;		/* "[acpx] ..." lines through log */
	/* Verbose and warning lines ("[acpx] " is added by the caller). */
	void		(*log)(const char *line, void *arg);
};

struct session_connect_result {
	int		 reused;	/* the client already had the session */
	int		 resumed;	/* resume/load succeeded (or reused) */
	int		 fresh;		/* a new ACP session was created */
	int		 loaded;	/* by session/load (not resume) */
	char		*load_error;	/* why load/resume failed before the
					   fallback to session/new, or NULL */
	long long	 failed_request_id; /* JSON-RPC id of that failed
					   load/resume request (to drop it from
					   rendered output), or -1 */
	long long	 failed_resume_id; /* JSON-RPC id of a failed
					   session/resume that session/load of
					   the same id followed (dropped from
					   rendered output too), or -1 */
};

/*
 * Done: err NULL on success (record updated: acp_session_id,
 * agent_session_id, closed=false, lifecycle, protocol/capabilities,
 * config/model state) or the failure (borrowed; the record is restored to
 * its ids and acpx state before the call). result borrowed.
 */
typedef void	(*session_connect_cb)(struct session_connect *,
		    const struct session_connect_result *,
		    struct acpx_error *err, void *arg);

/*
 * Connect client (created by the caller, not yet started or already
 * running) to rec (borrowed; must outlive the connect). The client is
 * pointed at rec->cwd before it starts. Returns the handle, which frees
 * itself after cb; cb never runs before this returns.
 */
struct session_connect *session_connect(struct acp_client *client,
		    struct session_record *rec,
		    const struct session_connect_opts *opts,
		    session_connect_cb cb, void *arg);

/*
 * Create the ACP session of a new record (`sessions new|ensure`): start
 * the client, then session/new, or with resume_id session/resume (if
 * advertised) else session/load of it, else the reference's error. On
 * success the result holds the session id to use as record id
 * (acp_client_session_id()); init and session results are available
 * through acp_client_init_result() and the cb's result (borrowed).
 */
typedef void	(*session_create_cb)(struct acp_client *, const json_t *result,
		    struct acpx_error *err, void *arg);
void		 session_connect_create(struct acp_client *client,
		    const char *resume_id, session_create_cb cb, void *arg);

/*
 * Abandon a connect in progress: cb does not run and the client's pending
 * step (if any) completes without calling back. The client stays usable.
 */
void		 session_connect_cancel(struct session_connect *);

/*
 * Would a failed session/load or resume (ACP error object, borrowed, or
 * NULL for a transport failure with message text) fall back to
 * session/new for this record (§6 step 3)?
 */
int		 session_connect_should_fallback(const json_t *acp_error,
		    const char *message, const struct session_record *rec);

#endif
