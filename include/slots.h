/*
 * The host-wide cap on running agents (config maxConcurrentAgents and
 * agents.<id>.maxConcurrent, both from the global config): agent slots
 * held by the processes that run agents (queue owners, exec), and one
 * host-wide FIFO of the processes waiting for one.
 *
 * Design. Under ~/.acpx/slots/ one lock file per slot: host.<k> for
 * k < maxConcurrentAgents, agent.<id>.<k> for k < the agent's
 * maxConcurrent. A slot is held by flock(LOCK_EX) on an open descriptor
 * (O_CLOEXEC: the agent does not inherit it) in the process that runs the
 * agent; the kernel drops the lock when that process dies, by any signal
 * including SIGKILL, so no dead holder ever keeps a slot. The holder
 * writes into its slot file who it is ({pid, kind, session, agent, idle,
 * since}: informative only, the lock is the truth) so that a waiter can
 * find an idle owner to stop. Waiters take a ticket: a file
 * queue/<ns since the epoch>.<pid>, locked by flock before it is renamed
 * into the queue (so a ticket in the queue is always locked while its
 * waiter lives; an unlocked one is a dead waiter's and is removed by
 * whoever finds it). Tickets are served in name order (arrival order):
 * only the first live ticket may take a slot, which it tries with
 * LOCK_NB on every slot file, polled with an ev_timer with backoff (never
 * a blocking flock). When the first waiter finds no slot free, it asks
 * the least recently used idle queue owner holding one (its slot file
 * says idle, its lock is held, /proc says it is a queue owner) to stop
 * its agent, with SIGUSR1; that owner keeps its session and reloads it on
 * its next prompt.
 *
 * Ownership: a struct slots_hold belongs to the caller until
 * slots_hold_release(); a struct slots_wait until its callback ran or
 * slots_wait_cancel(). Strings in struct slots_caps are owned by it
 * (slots_caps_clear()).
 */
#ifndef ACPX_SLOTS_H
#define ACPX_SLOTS_H

#include <ev.h>

struct config;
struct slots_hold;
struct slots_wait;

struct slots_caps {
	int	 host;		/* maxConcurrentAgents; 0: no cap */
	int	 agent;		/* agents.<id>.maxConcurrent; 0: no cap */
	char	*agent_id;	/* the id of the agent cap, or NULL */
};

/*
 * The caps for an agent, by its command (identity string; NULL: only the
 * host cap), from the global config. 1 if any cap applies, else 0.
 */
int		 slots_caps(const struct config *, const char *agent_command,
		    struct slots_caps *);
void		 slots_caps_clear(struct slots_caps *);

/*
 * How many host slots (or, when only the agent is capped, that agent's
 * slots) are held now, of how many; *waiting: tickets in the queue.
 */
void		 slots_busy(const struct slots_caps *, int *busy, int *cap,
		    int *waiting);

/*
 * Would a slot be free now for a new agent with no one waiting before
 * it? 1 yes, 0 no (an estimate: nothing is taken).
 */
int		 slots_free_now(const struct slots_caps *);

/*
 * Is the slot of this session held by a live queue owner (its agent
 * warm)? 1 yes.
 */
int		 slots_session_holds(const char *session_id);

/*
 * Does an ancestor of this process hold a slot (an acpx that runs us as
 * its agent, such as warp serve under exec or a queue owner)? 1 yes: the
 * agents we start run in its slot.
 */
int		 slots_ancestor_holds(void);

typedef void	(*slots_ready_cb)(struct slots_hold *, void *arg);

/*
 * Wait in the FIFO for the slots caps asks for, as kind ("owner" or
 * "exec") for session (may be NULL): cb runs from the loop once they are
 * held (never before this returns). NULL with *cause if the slot
 * directory cannot be used.
 */
struct slots_wait *slots_wait(struct ev_loop *, const struct slots_caps *,
		    const char *kind, const char *session, slots_ready_cb cb,
		    void *arg, char **cause);
void		 slots_wait_cancel(struct slots_wait *);

/*
 * Say in the slot file whether the holder's agent is idle (evictable:
 * idle owners only) since now. A small in-place write on the locked
 * file (not an atomic rename: the lock is on the file).
 */
void		 slots_hold_set_idle(struct slots_hold *, int idle);

/* Release and free. */
void		 slots_hold_release(struct slots_hold *);

#endif
