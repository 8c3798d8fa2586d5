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
 * Child processes. spawn_child() starts the child (spawn-child.c: a clone
 * sharing our memory until its exec, as posix_spawn() does) and execs
 * without a shell; an exec or chdir failure is reported in that shared
 * memory, so the caller learns ENOENT synchronously. The child is reaped
 * only by an ev_child watcher on the default loop; spawn_free() has the one
 * blocking waitpid(), after SIGKILL, as the documented last resort.
 *
 * The terminate sequence is a small state machine on one ev_timer:
 * GRACE (stdin closed, wait for exit) -> TERM (SIGTERM to the group, poll
 * until the child is reaped and the group is empty, up to term_ms) -> KILL
 * (SIGKILL to the group). A child that exits during GRACE while other
 * members of its group live on moves straight to TERM, as the reference
 * signals leftover descendants without waiting out the grace. That end of a
 * child's life is in spawn-stop.c.
 */

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

/* Start a child; see spawn.h. The caller owns the result. */
struct child *
spawn_child(struct ev_loop *loop, const struct child_opts *opts,
    child_exit_cb cb, void *arg, int *err_no, char **cause)
{
	struct child		*c;
	struct spawn_setup	 setup;
	int			 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int			 err[2] = { -1, -1 };
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
	    child_pipe(err) == -1) {
		saved = errno;
		xasprintf(cause, "pipe: %s", strerror(saved));
		goto fail;
	}

	/* What our children orphan comes to us, not to init (reaper.h). */
	reaper_init();
	setup.opts = opts;
	setup.in = in[0];
	setup.out = out[1];
	setup.errfd = err[1];
	if ((pid = spawn_child_start(&setup)) == -1) {
		saved = errno;
		xasprintf(cause, "fork: %s", strerror(saved));
		goto fail;
	}

	/*
	 * The child set its own group before we resumed (its exec then denies
	 * us a setpgid(), EACCES): nothing to race.
	 */
	reaper_own(pid);

	spawn_child_close(&in[0]);
	spawn_child_close(&out[1]);
	spawn_child_close(&err[1]);

	if (setup.stage != 0) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		reaper_disown(pid);
		saved = setup.err;
		switch (setup.stage) {
		case SPAWN_SETUP_CHDIR:
			xasprintf(cause, "can't change directory to %s: %s",
			    opts->cwd, strerror(saved));
			break;
		case SPAWN_SETUP_EXEC:
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
