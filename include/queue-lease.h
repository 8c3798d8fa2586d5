/*
 * Queue owner leases and socket paths (spec acpx-runtime.md §1, §4.3,
 * §7.11): the lease file ~/.acpx/queues/<K>.lock (K = sha256hex(record
 * id)[0:24]) that names the one owner of a session, its mutation guard
 * <K>.lock.guard, heartbeats, the random generation echoed on IPC, the
 * socket /tmp/acpx-<sha256hex($HOME)[0:10]>/<K>.sock and its private
 * directory, and the verified signalling and cleanup steps of stale-owner
 * recovery. Formats are the reference's, so reference and native owners
 * and clients share one HOME. Local file I/O only; lease mutations wait
 * for the guard (held by others only for one small file write) for at most
 * 2 s, the one bounded wait here.
 */
#ifndef ACPX_QUEUE_LEASE_H
#define ACPX_QUEUE_LEASE_H

#include <sys/types.h>

#include <jansson.h>

#define QUEUE_LEASE_HEARTBEAT_MS	5000
#define QUEUE_LEASE_STALE_MS		15000

/* ---------------------------------------------------------------- paths */

/* sha256hex(record_id)[0:24]. Caller owns. */
char		*queue_lease_key(const char *record_id);
/* ~/.acpx/queues/<K>.lock. Caller owns. */
char		*queue_lease_path(const char *record_id);
/* /tmp/acpx-<sha256hex($HOME)[0:10]> (literal /tmp). Caller owns. */
char		*queue_lease_socket_dir(void);
/* <socket dir>/<K>.sock. Caller owns. */
char		*queue_lease_socket_path(const char *record_id);

/*
 * Check the socket directory: a real directory owned by us with no group
 * or world access. create: mkdir it 0700 when missing. -1 with *cause if
 * it is not private (never chmod'ed into shape: someone else made it).
 */
int		 queue_lease_socket_dir_check(int create, char **cause);

/* ---------------------------------------------------------------- reading */

/* A lease as read from disk (validated as the reference validates it). */
struct queue_lease_info {
	pid_t		 pid;
	char		*session_id;
	char		*socket_path;
	char		*heartbeat_at;
	long long	 generation;
	long long	 queue_depth;
	json_t		*identity;	/* processIdentity or NULL */
	int		 retirement;	/* a "retirement" key exists (any value) */
	int		 shared_runtime;
	int		 persists_control;
	char		*mcp_config_path;
	char		*mcp_config_fingerprint;
	json_t		*raw;		/* the whole object */
};

/*
 * The lease of record_id, or NULL if absent, unreadable, invalid or for
 * another session. Caller owns.
 */
struct queue_lease_info *queue_lease_read(const char *record_id);
void		 queue_lease_info_free(struct queue_lease_info *);

/* Same pid, session and generation. */
int		 queue_lease_same(const struct queue_lease_info *,
		    const struct queue_lease_info *);

/* Heartbeat older than 15 s or unparsable. */
int		 queue_lease_stale(const struct queue_lease_info *);

/* Usable: no retirement key, pid alive (or us), heartbeat fresh. */
int		 queue_lease_usable(const struct queue_lease_info *);

/* Milliseconds since the epoch of an ISO time, or -1. */
long long	 queue_lease_parse_iso(const char *);

/* ---------------------------------------------------------------- owner side */

struct queue_lease;

/*
 * Take the lease for record_id as the reference's tryAcquireQueueOwnerLease
 * does (guarded, staged, hard-linked). Returns the lease; NULL with *cause
 * NULL when another owner holds it (an abandoned unparsable reservation
 * older than 15 s, or a lease whose owner is confirmed gone, is cleared
 * first); NULL with *cause on an I/O error. mcp_* may be NULL.
 */
struct queue_lease *queue_lease_acquire(const char *record_id,
		    const char *mcp_path, const char *mcp_fingerprint,
		    char **cause);

/* Refresh heartbeatAt and queueDepth (if the lease is still ours). -1 with *cause. */
int		 queue_lease_refresh(struct queue_lease *, long long depth,
		    char **cause);

/* Remove socket and lease if still ours, then free. NULL is fine. */
void		 queue_lease_release(struct queue_lease *);

long long	 queue_lease_generation(const struct queue_lease *);
const char	*queue_lease_socket(const struct queue_lease *);

/* ---------------------------------------------------------------- recovery */

enum queue_lease_signal {
	QUEUE_LEASE_SIGNALLED = 0,	/* the signal was sent */
	QUEUE_LEASE_OWNER_GONE,		/* confirmed gone: nothing to signal */
	QUEUE_LEASE_UNVERIFIED,		/* identity unknown: never signal */
	QUEUE_LEASE_RELEASED,		/* the lease changed: not ours to touch */
	QUEUE_LEASE_FRESH,		/* require_stale and the heartbeat is fresh */
	QUEUE_LEASE_ERROR		/* guard timeout, retirement key ... (*cause) */
};

/*
 * One verified signal step of retirement: inside the guard, re-read the
 * lease (must still be expected), refuse SIGTERM to a fresh heartbeat when
 * require_stale, check the owner's birth identity and kill(pid, sig) only
 * when it matches.
 */
enum queue_lease_signal queue_lease_signal_owner(
		    const struct queue_lease_info *expected, int sig,
		    int require_stale, char **cause);

/* Is the expected owner confirmed gone (ESRCH or another birth)? */
int		 queue_lease_owner_gone(const struct queue_lease_info *);

/*
 * The owner is gone: inside the guard, if the lease is still expected,
 * unlink its socket then the lease. -1 with *cause.
 */
int		 queue_lease_cleanup(const struct queue_lease_info *expected,
		    char **cause);

#endif
