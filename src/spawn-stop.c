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

/*
 * The end of a child process: its stderr (kept tail, optional copy to
 * ours), reaping by ev_child, signals to its group, and the terminate
 * sequence (GRACE -> TERM -> KILL on one ev_timer) described in spawn.c.
 */

#define CHILD_POLL	0.05		/* seconds between group checks */

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
spawn_signal(struct child *c, int sig)
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
		spawn_child_close(&c->err_fd);
		return (0);
	}
	child_tail_add(c, buf, (size_t)n);
	if (c->err_cb != NULL)
		c->err_cb(buf, (size_t)n, c->err_arg);
	else if (c->flags & CHILD_PASS)
		child_pass(buf, (size_t)n);
	return (1);
}

void
spawn_child_err_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	child_read_err(w->data);
}

static void
child_destroy(struct child *c)
{
	ev_io_stop(c->loop, &c->err_w);
	ev_child_stop(c->loop, &c->child_w);
	ev_timer_stop(c->loop, &c->term_w);
	spawn_child_close(&c->in_fd);
	spawn_child_close(&c->out_fd);
	spawn_child_close(&c->err_fd);
	free(c);
}

static void
child_term_stage(struct child *c)
{
	c->stage = CHILD_TERM;
	spawn_signal(c, SIGTERM);
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

void
spawn_child_term_cb(struct ev_loop *loop, ev_timer *w, int revents)
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
			spawn_signal(c, SIGKILL);
		}
		break;
	default:
		ev_timer_stop(loop, w);
		break;
	}
}

void
spawn_child_reap_cb(struct ev_loop *loop, ev_child *w, int revents)
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
spawn_terminate(struct child *c, int stdin_fd, int grace_ms, int term_ms)
{
	if (c->stage != CHILD_RUNNING)
		return;

	if (stdin_fd != -1)
		close(stdin_fd);
	spawn_child_close(&c->in_fd);

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
spawn_free(struct child *c)
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
		spawn_signal(c, SIGKILL);
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
		spawn_child_close(&c->in_fd);
		spawn_child_close(&c->out_fd);
		spawn_child_close(&c->err_fd);
		return;
	}
	child_destroy(c);
}
