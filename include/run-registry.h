/*
 * The registration of a live acpx process that runs an agent (a queue
 * owner, an exec, a warp serve) for `acpx ps`: ~/.acpx/run/<pid>.json,
 * {pid, proc, identity (its birth identity, session-lock.h), startedAt,
 * session, name, agent, cwd, agentPid, warpAgent, state, lastEvent,
 * lastEventAt}. Written atomically (fsutil, not fsynced: it dies with the
 * process; staged in <pid>.json.tmp beside it) at run_registry_register(),
 * again when an event changes what it says (run_registry_note(), called
 * by events_emit()): at once, or with a loop attached (run_registry_loop())
 * from a timer 100 ms after the change and at most every 100 ms, so a
 * burst of events (a short turn) is one write, never on the path of the
 * work that emitted them; ps may be that late. Removed at
 * run_registry_unregister() or at exit. A file whose pid is dead or
 * belongs to another birth is stale: run_registry_scan() skips and
 * removes it (and a dead process's leftover <pid>.json.tmp).
 *
 * The states: "starting" (the agent is being spawned and initialized),
 * "idle", "running" (a turn is on); a queue owner's waiting prompts are
 * its lease's queueDepth (queue-lease.h), read by ps.
 *
 * Ownership: process-wide state, one thread; the strings are copied.
 * run_registry_scan() returns an array the caller json_decref()s.
 */
#ifndef ACPX_RUN_REGISTRY_H
#define ACPX_RUN_REGISTRY_H

#include <jansson.h>

/* $HOME/.acpx/run. Caller owns. */
char		*run_registry_dir(void);

/*
 * Register this process as proc ("owner", "exec", "warp-serve") with its
 * session, name, agent and cwd (any may be NULL); events_register() is
 * the call sites' way in. Removed again at exit. A failure to write is
 * silent: ps just does not see us.
 */
void		 run_registry_register(const char *proc, const char *session,
		    const char *name, const char *agent, const char *cwd);

/*
 * The next run_registry_register() is not written at once but like a
 * change, from the timer of a loop attached (an exec: one that ends within
 * 100 ms never writes, nor removes, the file).
 */
void		 run_registry_lazy(void);

/*
 * Write changes from a timer on loop (NULL detaches it, before the loop
 * goes away; a change not yet written waits for the next attach or event,
 * or goes with the registration at exit).
 */
struct ev_loop;
void		 run_registry_loop(struct ev_loop *loop);

/* Remove our registration now (also done at exit). */
void		 run_registry_unregister(void);

/* An event of ours (the whole line, borrowed): keep what ps shows. */
void		 run_registry_note(const char *event, const json_t *line);

/* A stale registration (borrowed), just removed. */
typedef void	(*run_registry_stale_cb)(const json_t *reg);

/*
 * The live registrations: an array of their objects (verified: pid alive
 * with the recorded birth identity). Stale files are removed, and stale
 * (may be NULL) is told of each one this call removed. Caller owns.
 */
json_t		*run_registry_scan(run_registry_stale_cb stale);

#endif
