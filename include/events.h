/*
 * The event log ~/.acpx/events.ndjson: one JSON object per lifecycle
 * event (a session created, an agent spawned, a turn ended, a permission
 * decided, an owner stopped ...) of every acpx process of this user, for
 * `acpx events` (cmd-events.c) and the last-event column of `acpx ps`.
 *
 * A line is {"ts", "event", "pid", "proc", then the process context
 * (session, name, agent, cwd) and the event's own fields}. It is appended
 * with one write(2) of the whole line on an O_APPEND descriptor (kept
 * open from one event to the next while the path still names its file),
 * so lines of concurrent processes never interleave: a blocking local write, the
 * labelled exception to "nothing blocks the event loop" (no fsync). When
 * the file would grow past ACPX_EVENT_LOG_MAX_BYTES (default 8 MiB) it is
 * first renamed to events.ndjson.1 (replacing the previous one); after a
 * last line cut short (a crash, a full disk) the next one starts on a new
 * line, in the same write, so only the cut one is lost. Logging
 * never fails its caller: a full disk or a read-only directory loses the
 * event and the next one tries again.
 *
 * Secrets never enter it: the emitters pass identifiers, numbers, kinds
 * and titles, and every string value is scrubbed of the values registered
 * with events_redact() (the agent's credentials) before the write.
 *
 * Ownership: the context strings are copied; events_emit() takes the
 * fields object over (NULL is fine). Process-wide state, one thread.
 */
#ifndef ACPX_EVENTS_H
#define ACPX_EVENTS_H

#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#define EVENTS_MAX_BYTES_DEFAULT	(8LL * 1024 * 1024)
#define EVENTS_MAX_BYTES_MIN		1024LL

/* $HOME/.acpx/events.ndjson (and its rotated .1). Caller owns. */
char		*events_path(void);
char		*events_path_rotated(void);

/* The rotation size: ACPX_EVENT_LOG_MAX_BYTES if valid, else the default. */
long long	 events_max_bytes(void);

/*
 * Who this process is, added to every later event: proc "owner", "exec",
 * "warp-serve" ...; session (the acpx record id, or NULL), name, agent,
 * cwd. NULL leaves a field as it was.
 */
void		 events_context(const char *proc, const char *session,
		    const char *name, const char *agent, const char *cwd);

/*
 * events_context(), and register this process for `acpx ps`
 * (run_registry_register()): an owner, exec or warp serve at its start.
 */
void		 events_register(const char *proc, const char *session,
		    const char *name, const char *agent, const char *cwd);

/* Values never written (NULL-terminated, copied; NULL clears). */
void		 events_redact(char *const *values);

/*
 * Append one event: the context, then fields (taken over; NULL for none).
 * Also the last event of this process's registration (run-registry.h).
 */
void		 events_emit(const char *event, json_t *fields);

/*
 * Batch the lines of each iteration of loop into one write(2), made by a
 * prepare watcher before the loop waits (so a line is in the file before
 * the process sleeps, in order); NULL flushes and stops batching. Exit
 * flushes too; a crash loses at most the current iteration's lines.
 */
void		 events_batch_loop(struct ev_loop *loop);

/* An ISO time of ms since the epoch and the clock now, as the lines carry. */
int64_t		 events_now_ms(void);

#endif
