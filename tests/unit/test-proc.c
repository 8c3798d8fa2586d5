/*
 * proc.c: a process kind's loop. Signals reach the handler with their
 * number, deferred frees run after the callback
 * that asked for them (not inside it), and proc_free() runs what is left.
 */
#include <config.h>

#include <sys/wait.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "proc.h"
#include "tap.h"

struct state {
	struct proc	*proc;
	int		 signo;
	int		 freed;
	int		 freed_in_cb;	/* value of freed as the callback left */
	int		 done;
};

static void
on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct state	*s = arg;

	s->signo = signo;
	s->done = 1;
}

static void
count_free(void *arg)
{
	((struct state *)arg)->freed++;
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct state	*s = w->data;

	proc_defer(s->proc, count_free, s);
	proc_defer(s->proc, count_free, s);
	s->freed_in_cb = s->freed;
	s->done = 1;
}

int
main(void)
{
	struct state	 s;
	ev_timer	 t;

	memset(&s, 0, sizeof s);

	TEST_START("a caught signal reaches the handler with its number");
	s.proc = proc_start(0);
	ASSERT_TRUE(proc_loop(s.proc) == proc_default_loop());
	proc_set_signals(s.proc, on_signal, &s);
	raise(SIGHUP);
	while (!s.done)
		ev_run(proc_loop(s.proc), EVRUN_ONCE);
	ASSERT_INT_EQ(s.signo, SIGHUP);
	TEST_DONE();

	TEST_START("deferred frees run after the callback, before the next wait");
	s.done = 0;
	ev_timer_init(&t, on_timer, 0., 0.);
	t.data = &s;
	ev_timer_start(proc_loop(s.proc), &t);
	while (!s.done)
		ev_run(proc_loop(s.proc), EVRUN_ONCE);
	ASSERT_INT_EQ(s.freed_in_cb, 0);
	ev_run(proc_loop(s.proc), EVRUN_NOWAIT);
	ASSERT_INT_EQ(s.freed, 2);
	TEST_DONE();

	TEST_START("proc_free runs what is still deferred");
	proc_defer(s.proc, count_free, &s);
	proc_free(s.proc);
	ASSERT_INT_EQ(s.freed, 3);
	TEST_DONE();

	TEST_START("PROC_OWN_LOOP: a loop of its own, destroyed by proc_free");
	s.proc = proc_start(PROC_OWN_LOOP);
	ASSERT_TRUE(proc_loop(s.proc) != NULL);
	ASSERT_TRUE(proc_loop(s.proc) != proc_default_loop());
	proc_defer(s.proc, count_free, &s);
	ev_run(proc_loop(s.proc), EVRUN_NOWAIT);
	ASSERT_INT_EQ(s.freed, 4);
	proc_free(s.proc);
	TEST_DONE();

	TEST_START("proc_pid is getpid, also in a fork()ed child");
	{
		pid_t	pid;
		int	status;

		ASSERT_INT_EQ(proc_pid(), getpid());
		ASSERT_INT_EQ(proc_pid(), getpid());
		if ((pid = fork()) == 0)
			_exit(proc_pid() == getpid() ? 0 : 1);
		ASSERT_TRUE(pid > 0);
		ASSERT_INT_EQ(waitpid(pid, &status, 0), pid);
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		ASSERT_INT_EQ(proc_pid(), getpid());
	}
	TEST_DONE();

	return (tap_end());
}
