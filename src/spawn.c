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
#include "spawn.h"
#include "xmalloc.h"

/*
 * Child processes. child_spawn() forks and execs without a shell; an exec or
 * chdir failure in the child is sent back over a close-on-exec status pipe,
 * so the caller learns ENOENT synchronously (the pipe just closes when exec
 * succeeds). The child is reaped only by an ev_child watcher on the default
 * loop; child_free() has the one blocking waitpid(), after SIGKILL, as the
 * documented last resort.
 *
 * The terminate sequence is a small state machine on one ev_timer:
 * GRACE (stdin closed, wait for exit) -> TERM (SIGTERM to the group, poll
 * until the child is reaped and the group is empty, up to term_ms) -> KILL
 * (SIGKILL to the group). A child that exits during GRACE while other
 * members of its group live on moves straight to TERM, as the reference
 * signals leftover descendants without waiting out the grace.
 */

#define CHILD_TAIL_MAX	8192
#define CHILD_POLL	0.05		/* seconds between group checks */

extern char **environ;

enum child_stage {
	CHILD_RUNNING = 0,	/* no terminate requested */
	CHILD_GRACE,
	CHILD_TERM,
	CHILD_KILL,
	CHILD_DONE
};

struct child {
	struct ev_loop	*loop;
	pid_t		 pid;
	pid_t		 pgid;		/* own group id, or -1 */
	int		 in_fd;		/* our end of its stdin */
	int		 out_fd;	/* our end of its stdout */
	int		 err_fd;	/* our end of its stderr */
	int		 status;
	int		 flags;
#define CHILD_EXITED	0x1
#define CHILD_PASS	0x2		/* copy stderr to ours */
#define CHILD_DEAD	0x4		/* freed inside its callback */
	int		 busy;		/* callback depth */
	enum child_stage stage;
	ev_tstamp	 term_span;	/* how long TERM may take */
	ev_tstamp	 deadline;	/* end of the TERM stage */
	ev_child	 child_w;
	ev_io		 err_w;
	ev_timer	 term_w;
	child_exit_cb	 cb;
	void		*arg;
	size_t		 tail_len;
	int		 tail_cut;	/* older bytes were dropped */
	char		 tail[CHILD_TAIL_MAX + 1];
};

/* What the child tells the parent before it exits on a setup failure. */
struct child_report {
	int	stage;
#define CHILD_REPORT_CHDIR	1
#define CHILD_REPORT_EXEC	2
#define CHILD_REPORT_SETUP	3
	int	err;
};

static void	child_reap_cb(struct ev_loop *, ev_child *, int);
static void	child_err_cb(struct ev_loop *, ev_io *, int);
static void	child_term_cb(struct ev_loop *, ev_timer *, int);

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

static void
child_close(int *fd)
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

	/* Ignored signals survive exec (main ignores SIGPIPE): reset all. */
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
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
child_spawn(struct ev_loop *loop, const struct child_opts *opts,
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
		fatal("child_spawn: ev_child needs the default loop");
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

	child_close(&in[0]);
	child_close(&out[1]);
	child_close(&err[1]);
	child_close(&st[1]);

	if (child_wait_report(st[0], &rep) != 0) {
		child_close(&st[0]);
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
	child_close(&st[0]);

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

	(void)fcntl(c->err_fd, F_SETFL, fcntl(c->err_fd, F_GETFL) | O_NONBLOCK);
	ev_io_init(&c->err_w, child_err_cb, c->err_fd, EV_READ);
	c->err_w.data = c;
	ev_io_start(loop, &c->err_w);

	ev_child_init(&c->child_w, child_reap_cb, pid, 0);
	c->child_w.data = c;
	ev_child_start(loop, &c->child_w);

	ev_init(&c->term_w, child_term_cb);
	c->term_w.data = c;
	return (c);

fail:
	*err_no = saved;
	child_close(&in[0]);
	child_close(&in[1]);
	child_close(&out[0]);
	child_close(&out[1]);
	child_close(&err[0]);
	child_close(&err[1]);
	child_close(&st[0]);
	child_close(&st[1]);
	return (NULL);
}

/* The child's process id. */
pid_t
child_pid(const struct child *c)
{
	return (c->pid);
}

/* Hand the stdin (write) and stdout (read) pipe ends to the caller. */
void
child_take_fds(struct child *c, int *stdin_fd, int *stdout_fd)
{
	*stdin_fd = c->in_fd;
	*stdout_fd = c->out_fd;
	c->in_fd = c->out_fd = -1;
}

/* Tail of the child's stderr, NUL-terminated; owned by c. */
const char *
child_stderr_tail(const struct child *c)
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
child_exited(const struct child *c, int *status)
{
	if (!(c->flags & CHILD_EXITED))
		return (0);
	if (status != NULL)
		*status = c->status;
	return (1);
}

/* Does anything still live in the child's process group? */
static int
child_group_alive(const struct child *c)
{
	if (c->pgid <= 0)
		return (0);
	if (kill(-c->pgid, 0) == -1 && errno != EPERM)
		return (0);
#ifdef __linux__
	/* Our own unreaped child counts; otherwise skip zombies. */
	if (c->flags & CHILD_EXITED)
		return (reaper_group_live(c->pgid));
#endif
	return (1);
}

/* Signal the child's process group, or the child alone if it has none. */
void
child_signal(struct child *c, int sig)
{
	int	tree;

	/*
	 * Descendants that left the group (setsid) are found by parentage;
	 * the group is signalled first (reaper.h says why).
	 */
	tree = (sig == SIGTERM || sig == SIGKILL) &&
	    !(c->flags & CHILD_EXITED) && c->child_w.rpid != c->pid;
	if (c->pgid > 0) {
		if ((tree ? reaper_kill_tree(c->pid, c->pgid, sig) :
		    kill(-c->pgid, sig)) == 0 || errno != ESRCH)
			return;
	} else if (tree)
		(void)reaper_kill_tree(c->pid, 0, sig);
	/* Never signal a reaped pid: it may belong to someone else now. */
	if (!(c->flags & CHILD_EXITED))
		(void)kill(c->pid, sig);
}

static void
child_tail_add(struct child *c, const char *buf, size_t n)
{
	size_t	 drop;
	char	*p;

	if (n >= CHILD_TAIL_MAX) {
		memcpy(c->tail, buf + n - CHILD_TAIL_MAX, CHILD_TAIL_MAX);
		c->tail_len = CHILD_TAIL_MAX;
		c->tail_cut = 1;
	} else {
		if (c->tail_len + n > CHILD_TAIL_MAX) {
			drop = c->tail_len + n - CHILD_TAIL_MAX;
			memmove(c->tail, c->tail + drop, c->tail_len - drop);
			c->tail_len -= drop;
			c->tail_cut = 1;
		}
		memcpy(c->tail + c->tail_len, buf, n);
		c->tail_len += n;
	}
	c->tail[c->tail_len] = '\0';

	/* A NUL byte would cut the string short. */
	while ((p = memchr(c->tail, '\0', c->tail_len)) != NULL)
		*p = ' ';
}

static void
child_pass(const char *buf, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(STDERR_FILENO, buf, n)) == -1) {
			if (errno == EINTR)
				continue;
			return;		/* our stderr is gone: drop */
		}
		buf += w;
		n -= (size_t)w;
	}
}

/* Read what the child wrote on stderr; returns 0 once nothing is left. */
static int
child_read_err(struct child *c)
{
	char	buf[16384];
	ssize_t	n;

	if (c->err_fd == -1)
		return (0);
	n = read(c->err_fd, buf, sizeof buf);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return (errno == EINTR);
	if (n <= 0) {
		ev_io_stop(c->loop, &c->err_w);
		child_close(&c->err_fd);
		return (0);
	}
	child_tail_add(c, buf, (size_t)n);
	if (c->flags & CHILD_PASS)
		child_pass(buf, (size_t)n);
	return (1);
}

static void
child_err_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	child_read_err(w->data);
}

static void
child_destroy(struct child *c)
{
	ev_io_stop(c->loop, &c->err_w);
	ev_child_stop(c->loop, &c->child_w);
	ev_timer_stop(c->loop, &c->term_w);
	child_close(&c->in_fd);
	child_close(&c->out_fd);
	child_close(&c->err_fd);
	free(c);
}

static void
child_term_stage(struct child *c)
{
	c->stage = CHILD_TERM;
	child_signal(c, SIGTERM);
	c->deadline = ev_now(c->loop) + c->term_span;
	ev_timer_stop(c->loop, &c->term_w);
	ev_timer_set(&c->term_w, CHILD_POLL, CHILD_POLL);
	ev_timer_start(c->loop, &c->term_w);
}

static void
child_done_stage(struct child *c)
{
	c->stage = CHILD_DONE;
	ev_timer_stop(c->loop, &c->term_w);
}

static void
child_term_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct child	*c = w->data;

	switch (c->stage) {
	case CHILD_GRACE:
		if ((c->flags & CHILD_EXITED) && !child_group_alive(c))
			child_done_stage(c);
		else
			child_term_stage(c);
		break;
	case CHILD_TERM:
		if ((c->flags & CHILD_EXITED) && !child_group_alive(c))
			child_done_stage(c);
		else if (ev_now(loop) >= c->deadline) {
			c->stage = CHILD_KILL;
			ev_timer_stop(loop, &c->term_w);
			child_signal(c, SIGKILL);
		}
		break;
	default:
		ev_timer_stop(loop, w);
		break;
	}
}

static void
child_reap_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct child	*c = w->data;

	ev_child_stop(loop, w);
	c->status = w->rstatus;
	c->flags |= CHILD_EXITED;
	reaper_disown(c->pid);

	/* What it wrote before exiting is in the pipe now: take it all. */
	while (child_read_err(c))
		;

	switch (c->stage) {
	case CHILD_GRACE:
		if (child_group_alive(c))
			child_term_stage(c);
		else
			child_done_stage(c);
		break;
	case CHILD_TERM:
		if (!child_group_alive(c))
			child_done_stage(c);
		break;
	case CHILD_KILL:
		if (!child_group_alive(c))
			child_done_stage(c);
		break;
	default:
		break;
	}

	if (c->cb != NULL) {
		c->busy++;
		c->cb(c, c->status, c->arg);
		if (--c->busy == 0 && (c->flags & CHILD_DEAD))
			child_destroy(c);
	}
}

/* Begin the shutdown sequence; see spawn.h. */
void
child_terminate(struct child *c, int stdin_fd, int grace_ms, int term_ms)
{
	if (c->stage != CHILD_RUNNING)
		return;

	if (stdin_fd != -1)
		close(stdin_fd);
	child_close(&c->in_fd);

	c->stage = CHILD_GRACE;
	c->term_span = (term_ms < 0 ? 0 : term_ms) / 1000.0;
	/* The grace counts from now, not from the loop's last wake-up. */
	ev_now_update(c->loop);

	if (c->flags & CHILD_EXITED) {
		if (child_group_alive(c))
			child_term_stage(c);
		else
			child_done_stage(c);
		return;
	}
	ev_timer_set(&c->term_w, (grace_ms < 0 ? 0 : grace_ms) / 1000.0, 0.);
	ev_timer_start(c->loop, &c->term_w);
}

/* Free; a child still running is SIGKILLed (group) and reaped here. */
void
child_free(struct child *c)
{
	int	status = 0;

	if (c == NULL || (c->flags & CHILD_DEAD))
		return;

	ev_child_stop(c->loop, &c->child_w);
	if (!(c->flags & CHILD_EXITED) && c->child_w.rpid == c->pid) {
		/* libev reaped it but our callback has not run yet. */
		c->status = c->child_w.rstatus;
		c->flags |= CHILD_EXITED;
		reaper_disown(c->pid);
	}
	if (!(c->flags & CHILD_EXITED)) {
		child_signal(c, SIGKILL);
		/* The documented last resort: it cannot ignore SIGKILL. */
		while (waitpid(c->pid, &status, 0) == -1 && errno == EINTR)
			;
		c->status = status;
		c->flags |= CHILD_EXITED;
		reaper_disown(c->pid);
	} else if (child_group_alive(c))
		(void)kill(-c->pgid, SIGKILL);	/* leftover descendants */

	if (c->busy > 0) {
		c->flags |= CHILD_DEAD;
		ev_io_stop(c->loop, &c->err_w);
		ev_timer_stop(c->loop, &c->term_w);
		child_close(&c->in_fd);
		child_close(&c->out_fd);
		child_close(&c->err_fd);
		return;
	}
	child_destroy(c);
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
