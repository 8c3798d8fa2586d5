/*
 * The event loop of each process kind (a command run, an exec turn, the
 * queue owner), in the manner of tmux's proc.c: one place that creates
 * the loop, delivers SIGINT, SIGTERM and SIGHUP to the kind's handler,
 * frees objects that must outlive the callback that retired them, and
 * tears it all down.
 *
 *	p = proc_start(0);
 *	proc_set_signals(p, my_signal_cb, me);
 *	while (!me->done)
 *		ev_run(proc_loop(p), EVRUN_ONCE);
 *	proc_free(p);
 *
 * Ownership: proc_start() returns a struct proc the caller frees with
 * proc_free(); the loop belongs to it (the default loop is only destroyed
 * with PROC_DESTROY_LOOP). Deferred objects belong to the proc until their
 * free function has run.
 */
#ifndef ACPX_PROC_H
#define ACPX_PROC_H

#include <sys/types.h>

#include <ev.h>

struct proc;

/* Flags for proc_start(). */
#define PROC_DESTROY_LOOP	0x1	/* proc_free() destroys the loop */
#define PROC_OWN_LOOP		0x2	/* a loop of its own, not the default
					   (no child watchers; destroyed) */

/* SIGINT, SIGTERM or SIGHUP arrived. */
typedef void	(*proc_signal_cb)(struct ev_loop *, int signo, void *arg);

/* The default loop (child watchers need it), as every process uses it. */
struct ev_loop	*proc_default_loop(void);

/* Start a process kind's loop. */
struct proc	*proc_start(int flags);

/* The loop. */
struct ev_loop	*proc_loop(const struct proc *);

/* Deliver SIGINT, SIGTERM and SIGHUP to cb (replacing any earlier cb). */
void		 proc_set_signals(struct proc *, proc_signal_cb cb, void *arg);

/* Stop catching them (the handler may call this). */
void		 proc_clear_signals(struct proc *);

/*
 * Run fn(arg) from the loop once the current callback has returned (before
 * the loop next waits), or in proc_free() if the loop never turns again.
 */
void		 proc_defer(struct proc *, void (*fn)(void *), void *arg);

/* Clear the signals, run what is deferred, destroy the loop if owned. */
void		 proc_free(struct proc *);

/*
 * getpid(), asked of the kernel once per process: a fork()ed child asks
 * again (a pthread_atfork() handler forgets the value). For the checks
 * "is this still the process that did X" made on every event.
 */
pid_t		 proc_pid(void);

#endif
