#include <config.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <ev.h>

#include "acpx.h"
#include "proc.h"
#include "xmalloc.h"

/*
 * One struct proc per process kind's run: the loop, the three signal
 * watchers that turn SIGINT/SIGTERM/SIGHUP into a call of the kind's
 * handler, and a queue of deferred frees drained by a prepare watcher.
 */

static const int proc_sigs[] = { SIGINT, SIGTERM, SIGHUP };

struct proc_deferred {
	void			(*fn)(void *);
	void			*arg;
	struct proc_deferred	*next;
};

struct proc {
	struct ev_loop		*loop;
	int			 flags;
	ev_signal		 sig_w[nitems(proc_sigs)];
	proc_signal_cb		 sig_cb;
	void			*sig_arg;
	ev_prepare		 defer_w;
	struct proc_deferred	*deferred;	/* LIFO; order is not promised */
};

/* EVFLAG_NOENV: no LIBEV_FLAGS, so libev's four get*id() calls go. */
struct ev_loop *
proc_default_loop(void)
{
	return (ev_default_loop(EVFLAG_NOENV));
}

static void
proc_signal_cb_(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct proc	*p = w->data;

	if (p->sig_cb != NULL)
		p->sig_cb(loop, w->signum, p->sig_arg);
}

/* Run everything deferred so far (fns may defer more: loop until empty). */
static void
proc_drain(struct proc *p)
{
	struct proc_deferred	*d;

	while ((d = p->deferred) != NULL) {
		p->deferred = d->next;
		d->fn(d->arg);
		free(d);
	}
}

static void
proc_defer_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct proc	*p = w->data;

	ev_prepare_stop(loop, w);
	proc_drain(p);
}

struct proc *
proc_start(int flags)
{
	struct proc	*p = xcalloc(1, sizeof *p);
	size_t		 i;

	p->flags = flags;
	p->loop = (flags & PROC_OWN_LOOP) ? ev_loop_new(EVFLAG_NOENV) :
	    proc_default_loop();
	if (p->loop == NULL)
		fatal("cannot create an event loop");
	for (i = 0; i < nitems(proc_sigs); i++) {
		ev_signal_init(&p->sig_w[i], proc_signal_cb_, proc_sigs[i]);
		p->sig_w[i].data = p;
	}
	ev_prepare_init(&p->defer_w, proc_defer_cb);
	p->defer_w.data = p;
	return (p);
}

struct ev_loop *
proc_loop(const struct proc *p)
{
	return (p->loop);
}

void
proc_set_signals(struct proc *p, proc_signal_cb cb, void *arg)
{
	size_t	i;

	p->sig_cb = cb;
	p->sig_arg = arg;
	for (i = 0; i < nitems(proc_sigs); i++)
		ev_signal_start(p->loop, &p->sig_w[i]);
}

void
proc_clear_signals(struct proc *p)
{
	size_t	i;

	for (i = 0; i < nitems(proc_sigs); i++)
		ev_signal_stop(p->loop, &p->sig_w[i]);
	p->sig_cb = NULL;
	p->sig_arg = NULL;
}

void
proc_defer(struct proc *p, void (*fn)(void *), void *arg)
{
	struct proc_deferred	*d = xmalloc(sizeof *d);

	d->fn = fn;
	d->arg = arg;
	d->next = p->deferred;
	p->deferred = d;
	ev_prepare_start(p->loop, &p->defer_w);
}

void
proc_free(struct proc *p)
{
	if (p == NULL)
		return;
	proc_clear_signals(p);
	ev_prepare_stop(p->loop, &p->defer_w);
	proc_drain(p);
	if (p->flags & (PROC_DESTROY_LOOP | PROC_OWN_LOOP))
		ev_loop_destroy(p->loop);
	free(p);
}

/* The cached process id (0: ask); a fork()ed child's handler clears it. */
static pid_t	proc_self;

static void
proc_pid_forget(void)
{
	proc_self = 0;
}

pid_t
proc_pid(void)
{
	static int	registered;

	if (!registered) {
		registered = 1;
		(void)pthread_atfork(NULL, NULL, proc_pid_forget);
	}
	if (proc_self == 0)
		proc_self = getpid();
	return (proc_self);
}
