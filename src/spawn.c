#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "reaper.h"
#include "spawn-impl.h"
#include "spawn.h"
#include "xmalloc.h"

/*
 * Child processes. spawn_child() forks and execs without a shell; an exec or
 * chdir failure in the child is sent back over a close-on-exec status pipe,
 * so the caller learns ENOENT synchronously (the pipe just closes when exec
 * succeeds). The child is reaped only by an ev_child watcher on the default
 * loop; spawn_free() has the one blocking waitpid(), after SIGKILL, as the
 * documented last resort.
 *
 * The terminate sequence is a small state machine on one ev_timer:
 * GRACE (stdin closed, wait for exit) -> TERM (SIGTERM to the group, poll
 * until the child is reaped and the group is empty, up to term_ms) -> KILL
 * (SIGKILL to the group). A child that exits during GRACE while other
 * members of its group live on moves straight to TERM, as the reference
 * signals leftover descendants without waiting out the grace. That end of a
 * child's life is in spawn-stop.c.
 */

extern char **environ;

/* What the child tells the parent before it exits on a setup failure. */
struct child_report {
	int	stage;
#define CHILD_REPORT_CHDIR	1
#define CHILD_REPORT_EXEC	2
#define CHILD_REPORT_SETUP	3
	int	err;
};

static int
child_pipe(int fds[2])
{
#ifdef HAVE_PIPE2
	return (pipe2(fds, O_CLOEXEC));
#else
	if (pipe(fds) == -1)
		return (-1);
	if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) == -1) {
		close(fds[0]);
		close(fds[1]);
		return (-1);
	}
	return (0);
#endif
}

void
spawn_child_close(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/* In the child: send a setup failure to the parent and exit. */
static void __attribute__((noreturn))
child_fail(int fd, int stage, int err)
{
	struct child_report	rep;
	ssize_t			n;

	rep.stage = stage;
	rep.err = err;
	do
		n = write(fd, &rep, sizeof rep);
	while (n == -1 && errno == EINTR);
	_exit(127);
}

/* In the child: keep fd away from 0-2 so the dup2()s cannot clobber it. */
static int
child_lift(int fd)
{
	int	nfd;

	if (fd > STDERR_FILENO)
		return (fd);
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) == -1)
		return (-1);
	return (nfd);
}

/* In the child: set up and exec; never returns. */
static void __attribute__((noreturn))
child_exec(const struct child_opts *opts, int in, int out, int err, int st)
{
	sigset_t	set;
	int		sig;

	if ((st = child_lift(st)) == -1)
		_exit(127);

	/*
	 * Ignored signals survive exec (main ignores SIGPIPE, whoever started
	 * us may ignore SIGINT or SIGQUIT): reset them, handlers reset by
	 * themselves. Signals 1-31 as libuv resets them for the reference:
	 * the real-time ones are libc's, and each call is a system call on
	 * the path to the agent's start (64 of them cost ~0.1 ms here).
	 */
	for (sig = 1; sig < 32; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	}
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

	if (opts->new_pgrp && setpgid(0, 0) == -1)
		child_fail(st, CHILD_REPORT_SETUP, errno);

	if ((in = child_lift(in)) == -1 || (out = child_lift(out)) == -1 ||
	    (err = child_lift(err)) == -1)
		child_fail(st, CHILD_REPORT_SETUP, errno);
	/* Terminals: one combined output stream, as the reference buffers it. */
	if (opts->stderr_mode == CHILD_STDERR_MERGE)
		err = out;
	if (dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(err, STDERR_FILENO) == -1)
		child_fail(st, CHILD_REPORT_SETUP, errno);

	if (opts->cwd != NULL && chdir(opts->cwd) == -1)
		child_fail(st, CHILD_REPORT_CHDIR, errno);

	if (opts->envp != NULL)
		environ = (char **)opts->envp;
	execvp(opts->argv[0], opts->argv);
	child_fail(st, CHILD_REPORT_EXEC, errno);
}

/* Wait for the child's report; 0 if exec succeeded. */
static int
child_wait_report(int fd, struct child_report *rep)
{
	ssize_t	n;

	do
		n = read(fd, rep, sizeof *rep);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof *rep)
		return (-1);
	if (n > 0) {
		rep->stage = CHILD_REPORT_SETUP;
		rep->err = EIO;
		return (-1);
	}
	return (0);
}

/* Start a child; see spawn.h. The caller owns the result. */
struct child *
spawn_child(struct ev_loop *loop, const struct child_opts *opts,
    child_exit_cb cb, void *arg, int *err_no, char **cause)
{
	struct child		*c;
	struct child_report	 rep;
	int			 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int			 err[2] = { -1, -1 }, st[2] = { -1, -1 };
	int			 status, saved;
	pid_t			 pid;

	*err_no = 0;
	if (!ev_is_default_loop(loop))
		fatal("spawn_child: ev_child needs the default loop");
	if (opts->argv == NULL || opts->argv[0] == NULL) {
		*err_no = EINVAL;
		xasprintf(cause, "can't run an empty command");
		return (NULL);
	}

	if (child_pipe(in) == -1 || child_pipe(out) == -1 ||
	    child_pipe(err) == -1 || child_pipe(st) == -1) {
		saved = errno;
		xasprintf(cause, "pipe: %s", strerror(saved));
		goto fail;
	}

	/* What our children orphan comes to us, not to init (reaper.h). */
	reaper_init();
	if ((pid = fork()) == -1) {
		saved = errno;
		xasprintf(cause, "fork: %s", strerror(saved));
		goto fail;
	}
	if (pid == 0) {
		close(in[1]);
		close(out[0]);
		close(err[0]);
		close(st[0]);
		child_exec(opts, in[0], out[1], err[1], st[1]);
	}

	/* Both sides set the group, so it exists before either goes on. */
	if (opts->new_pgrp)
		(void)setpgid(pid, pid);
	reaper_own(pid);

	spawn_child_close(&in[0]);
	spawn_child_close(&out[1]);
	spawn_child_close(&err[1]);
	spawn_child_close(&st[1]);

	if (child_wait_report(st[0], &rep) != 0) {
		spawn_child_close(&st[0]);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		reaper_disown(pid);
		saved = rep.err;
		switch (rep.stage) {
		case CHILD_REPORT_CHDIR:
			xasprintf(cause, "can't change directory to %s: %s",
			    opts->cwd, strerror(saved));
			break;
		case CHILD_REPORT_EXEC:
			xasprintf(cause, "can't run %s: %s", opts->argv[0],
			    strerror(saved));
			break;
		default:
			xasprintf(cause, "can't set up %s: %s", opts->argv[0],
			    strerror(saved));
			break;
		}
		goto fail;
	}
	spawn_child_close(&st[0]);

	c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->pid = pid;
	c->pgid = opts->new_pgrp ? pid : -1;
	c->in_fd = in[1];
	c->out_fd = out[0];
	c->err_fd = err[0];
	c->cb = cb;
	c->arg = arg;
	if (opts->stderr_mode == CHILD_STDERR_PASS)
		c->flags |= CHILD_PASS;
	c->err_cb = opts->err_cb;
	c->err_arg = opts->err_arg;

	/* A fresh pipe end: no other status flag to keep. */
	(void)fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	ev_io_init(&c->err_w, spawn_child_err_cb, c->err_fd, EV_READ);
	c->err_w.data = c;
	ev_io_start(loop, &c->err_w);

	ev_child_init(&c->child_w, spawn_child_reap_cb, pid, 0);
	c->child_w.data = c;
	ev_child_start(loop, &c->child_w);

	ev_init(&c->term_w, spawn_child_term_cb);
	c->term_w.data = c;
	return (c);

fail:
	*err_no = saved;
	spawn_child_close(&in[0]);
	spawn_child_close(&in[1]);
	spawn_child_close(&out[0]);
	spawn_child_close(&out[1]);
	spawn_child_close(&err[0]);
	spawn_child_close(&err[1]);
	spawn_child_close(&st[0]);
	spawn_child_close(&st[1]);
	return (NULL);
}

/* The child's process id. */
pid_t
spawn_pid(const struct child *c)
{
	return (c->pid);
}

/* Hand the stdin (write) and stdout (read) pipe ends to the caller. */
void
spawn_take_fds(struct child *c, int *stdin_fd, int *stdout_fd)
{
	*stdin_fd = c->in_fd;
	*stdout_fd = c->out_fd;
	c->in_fd = c->out_fd = -1;
}

/* Tail of the child's stderr, NUL-terminated; owned by c. */
const char *
spawn_stderr_tail(const struct child *c)
{
	const char	*p = c->tail;

	/* Do not start in the middle of a UTF-8 sequence. */
	if (c->tail_cut) {
		while (*p != '\0' && ((unsigned char)*p & 0xc0) == 0x80)
			p++;
	}
	return (p);
}

/* Non-zero once reaped; *status is then the wait status. */
int
spawn_exited(const struct child *c, int *status)
{
	if (!(c->flags & CHILD_EXITED))
		return (0);
	if (status != NULL)
		*status = c->status;
	return (1);
}

/* The running executable's path. */
char *
spawn_self_path(void)
{
	char	buf[4096];
	ssize_t	n;

	if ((n = readlink("/proc/self/exe", buf, sizeof buf - 1)) <= 0)
		return (NULL);
	buf[n] = '\0';
	return (xstrdup(buf));
}
