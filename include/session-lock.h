/*
 * Cross-process locks and process identity (spec acpx-runtime.md §4.1,
 * §4.2, §4.4): the sidecar guard file (O_EXCL, pid + processIdentity
 * payload + random token line; reclaimed only when its holder is confirmed
 * gone), the session turn lock <E>.stream.lock published by hard link
 * while the guard is held, and the linux-proc "birth identity" read from
 * /proc, byte-identical to the reference's. Only a `gone` incarnation ever
 * authorises deleting someone else's lock; a live holder is never robbed.
 * Waiting happens on the event loop (ev_timer retries), never by sleeping.
 */
#ifndef ACPX_SESSION_LOCK_H
#define ACPX_SESSION_LOCK_H

#include <sys/types.h>

#include <ev.h>
#include <jansson.h>

/* ---------------------------------------------------------- identity */

/*
 * The birth identity of pid: {"kind":"linux-proc","bootId","pidNamespace",
 * "timeNamespace","startTicks"} on Linux, NULL if it cannot be read (no
 * such process, a zombie, not Linux). Caller owns.
 */
json_t		*session_lock_identity(pid_t pid);

enum session_lock_incarnation {
	SESSION_LOCK_GONE = 0,		/* confirmed dead or a different birth */
	SESSION_LOCK_MATCHING,		/* the same process is alive */
	SESSION_LOCK_UNKNOWN		/* cannot tell: never act on it */
};

/*
 * Is pid (with the identity it had when witnessed, borrowed, may be NULL)
 * still that process? ESRCH → gone; different boot or start ticks → gone;
 * no identity or another namespace → unknown (alive or not).
 */
enum session_lock_incarnation session_lock_incarnation(pid_t pid,
		    const json_t *expected);

/* kill(pid, 0) succeeds and pid is not us (a zombie counts as alive). */
int		 session_lock_pid_alive(pid_t pid);

/* ---------------------------------------------------------- guard files */

struct session_lock_guard;

/*
 * Try to create the guard file at path (O_CREAT|O_EXCL, 0600) with our
 * payload. If it exists and its holder is confirmed gone, reclaim it
 * (<path>.reclaim mutex dir, re-check, unlink if unchanged) and retry once.
 * Returns 0 with *guard, 1 if held by someone else (or unknown), -1 with
 * *cause on an I/O error.
 */
int		 session_lock_guard_try(const char *path,
		    struct session_lock_guard **guard, char **cause);

/* Unlink the guard if it is still ours (same inode and bytes); free. */
void		 session_lock_guard_release(struct session_lock_guard *);

/* ---------------------------------------------------------- turn lock */

struct session_lock;

/*
 * One attempt at the turn lock of lock_id (a record id, or the ensure
 * pseudo-id "ensure:<sha256>"): guard <E>.stream.lock.guard, then publish
 * the <E>.stream.lock marker by hard link; a marker of a holder confirmed
 * gone (twice) or a pid-less one older than 15 s is removed. Returns 0
 * with *lock, 1 if busy, -1 with *cause.
 */
int		 session_lock_try(const char *lock_id, struct session_lock **lock,
		    char **cause);

/* Remove the marker (if unchanged), release the guard, free. NULL is fine. */
void		 session_lock_release(struct session_lock *);

/* Called once with the lock (0) or an error (-1, cause borrowed). */
typedef void	(*session_lock_cb)(struct session_lock *lock, int rc,
		    const char *cause, void *arg);

struct session_lock_wait;

/*
 * Acquire on the loop: try on its next iteration, then every 15 ms until
 * acquired or session_lock_wait_cancel(). cb never runs before this
 * returns (the caller stores the wait first; cb may free the caller's
 * object). The wait object frees itself after cb.
 */
struct session_lock_wait *session_lock_acquire(struct ev_loop *,
		    const char *lock_id, session_lock_cb, void *arg);

/* Stop waiting; cb does not run. */
void		 session_lock_wait_cancel(struct session_lock_wait *);

/* The pseudo lock id of `sessions ensure` for a scope. Caller owns. */
char		*session_lock_ensure_id(const char *agent_command, const char *cwd,
		    const char *name);

/* Lowercase hex SHA-256 of a string. Caller owns. */
char		*session_lock_sha256_hex(const char *s);

#endif
