/*
 * Orphans. A process that starts agents or terminals (exec, the queue
 * owner, any command that spawns) becomes a child subreaper on its first
 * spawn, so descendants that detach (double fork, setsid) are re-parented
 * to it rather than to init; at exit it kills every child it adopted and
 * what those leave behind. Killing a terminal or an agent also signals its
 * whole descendant tree, found by parent links, not only its process
 * group. And the queue owner's keeper (`acpx __queue-keeper`): a tiny
 * subreaper parent of the owner that kills everything the owner leaves
 * when it dies by any means, SIGKILL included.
 */
#ifndef ACPX_REAPER_H
#define ACPX_REAPER_H

#include <sys/types.h>

/*
 * Become a child subreaper (Linux) and kill adopted children at exit.
 * Idempotent; a no-op where the platform has no subreapers.
 */
void	reaper_init(void);

/* A child this process forked itself: never killed as adopted. */
void	reaper_own(pid_t);

/* Forget a child once reaped (its pid may be reused). */
void	reaper_disown(pid_t);

/*
 * Is a process other than a zombie in group pgid? An init that does not
 * reap (pid 1 in many containers) leaves zombies in a group, and kill(2)
 * still finds them, so this reads /proc (1 when it cannot tell).
 */
int	reaper_group_live(pid_t pgid);

/*
 * Signal process group pgid (if > 0) and then every live descendant of
 * root (if > 0; not root itself) found in a snapshot taken before the
 * group signal, so descendants that left the group are reached even when
 * the group signal has just orphaned them. Returns kill(-pgid)'s result
 * (0 without a group), errno set from it.
 */
int	reaper_kill_tree(pid_t root, pid_t pgid, int sig);

/*
 * Kill every adopted child (SIGTERM, then SIGKILL after a second) and
 * whatever it leaves, reaping them; blocks up to a few seconds. For exit.
 */
void	reaper_kill_adopted(void);

/*
 * `acpx __queue-keeper`: start the queue owner as a child (stdin and the
 * startup stderr pass to it), wait for it, then kill and reap everything
 * it left and exit with its status. self is the running executable's path
 * (spawn_self_path()), taken over; NULL if it could not be found (an
 * error, reported).
 */
int	reaper_keeper_main(char *self);

/*
 * The same keeper for a process that keeps itself (`acpx warp serve`):
 * fork; the child (the worker) returns 0 and dies by SIGTERM if the
 * keeper dies first; the parent becomes the keeper (a subreaper holding
 * none of the stdio, forwarding SIGTERM, SIGINT and SIGHUP), and once the
 * worker is gone kills and reaps everything left and exits as the worker
 * did: it never returns. -1 (nothing forked) if fork failed. Call before
 * the event loop exists.
 */
int	reaper_keeper_fork(void);

#endif
