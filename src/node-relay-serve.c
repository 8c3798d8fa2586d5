#include <config.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "node-relay.h"
#include "proc.h"
#include "spawn.h"
#include "xmalloc.h"

/*
 * The node's end of the relay: `acpx __node-relay -- <args...>`, run by
 * the control machine's ssh, and each connection of the resident relay
 * (node-relay-daemon.c). With --hello it first writes the handshake
 * line (NODE_RELAY_HELLO, its version, the resident relay's socket and
 * whether that was up) on stdout. The child `acpx <args...>` (this
 * process forked before any loop, going on as that command without a
 * second exec) writes straight to our stdout and stderr (the ssh
 * channel), or, framed, to pipes whose output we send as 'O' and 'R'
 * frames on the daemon's connection; its stdin is fed from the data
 * frames on ours; signal frames are delivered to it; when our input ends
 * without an end frame, or after one (this side never sees it end while
 * the control side lives), the control side is gone and the child is
 * ended: SIGTERM, then SIGKILL after NODE_SERVE_KILL_S.
 */

#define NODE_SERVE_KILL_S	10.0
#define NODE_SERVE_OUT_MAX	(1024 * 1024)	/* pause the pipes above */

struct node_serve {
	struct ev_loop	*loop;
	pid_t		 pid;
	ev_child	 child_w;
	int		 ctl_fd;	/* frames in (and out, framed) */
	ev_io		 ctl_w;
	ev_io		 feed_w;	/* the child's stdin */
	ev_io		 send_w;	/* framed: ctl_fd writable */
	ev_io		 pipe_w[2];	/* framed: the child's stdout, stderr */
	int		 pipe_fd[2];
	ev_timer	 kill_t;
	int		 feed_fd;
	int		 feed_end;	/* close it once written */
	struct buf	 in;		/* frames read, not yet parsed */
	struct buf	 feed;		/* data not yet written to the child */
	struct buf	 out;		/* framed: frames not yet sent */
	int		 framed;
	int		 out_dead;	/* the connection is gone */
	int		 hangup_kill;	/* --on-hangup kill */
	int		 done;
	int		 status;
};

static void
node_serve_close_feed(struct node_serve *s)
{
	if (s->feed_fd == -1)
		return;
	ev_io_stop(s->loop, &s->feed_w);
	close(s->feed_fd);
	s->feed_fd = -1;
	buf_reset(&s->feed);
}

static void
node_serve_feed(struct node_serve *s)
{
	ssize_t	w;

	while (s->feed_fd != -1 && s->feed.len > 0) {
		w = write(s->feed_fd, s->feed.p, s->feed.len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN) {
			ev_io_start(s->loop, &s->feed_w);
			return;
		}
		if (w == -1) {		/* the child closed its stdin */
			node_serve_close_feed(s);
			return;
		}
		buf_drain(&s->feed, (size_t)w);
	}
	if (s->feed_fd != -1) {
		ev_io_stop(s->loop, &s->feed_w);
		if (s->feed_end)
			node_serve_close_feed(s);
	}
}

static void
node_serve_feed_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	node_serve_feed(w->data);
}

static void
node_serve_kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct node_serve	*s = w->data;

	(void)loop;
	(void)revents;
	if (!s->done)
		kill(s->pid, SIGKILL);
}

/* Framed: send what is queued on the connection; -1 once it is gone. */
static void
node_serve_send(struct node_serve *s)
{
	ssize_t	w;
	int	i;

	while (!s->out_dead && s->out.len > 0) {
		w = send(s->ctl_fd, s->out.p, s->out.len, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN) {
			ev_io_start(s->loop, &s->send_w);
			return;
		}
		if (w == -1) {
			s->out_dead = 1;	/* the read side sees the end */
			break;
		}
		buf_drain(&s->out, (size_t)w);
	}
	ev_io_stop(s->loop, &s->send_w);
	if (s->out_dead)
		buf_reset(&s->out);
	/* Below the mark again: read the pipes. */
	for (i = 0; i < 2; i++)
		if (s->pipe_fd[i] != -1 && !s->done)
			ev_io_start(s->loop, &s->pipe_w[i]);
}

static void
node_serve_send_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	node_serve_send(w->data);
}

/* Framed: what the child wrote on pipe i, as frames; 0 at its end. */
static int
node_serve_pipe(struct node_serve *s, int i)
{
	char	b[NODE_FRAME_MAX];
	ssize_t	n;

	for (;;) {
		n = read(s->pipe_fd[i], b, sizeof b);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (1);
		if (n <= 0) {
			ev_io_stop(s->loop, &s->pipe_w[i]);
			close(s->pipe_fd[i]);
			s->pipe_fd[i] = -1;
			return (0);
		}
		if (!s->out_dead)
			node_relay_frame(&s->out, i == 0 ? NODE_FRAME_STDOUT :
			    NODE_FRAME_STDERR, b, (size_t)n);
		if (s->out.len > NODE_SERVE_OUT_MAX) {
			ev_io_stop(s->loop, &s->pipe_w[i]);
			break;
		}
	}
	return (1);
}

static void
node_serve_pipe_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node_serve	*s = w->data;

	(void)loop;
	(void)revents;
	(void)node_serve_pipe(s, w == &s->pipe_w[0] ? 0 : 1);
	node_serve_send(s);
}

/*
 * The control side is gone: end the child. A prompt to a session is
 * SIGKILLed, so that it does not cancel its turn: the queue owner goes on
 * with it and the next prompt finds it. Anything else gets SIGTERM (exec
 * then stops its agent), and SIGKILL if it is still there later.
 */
static void
node_serve_orphaned(struct node_serve *s)
{
	ev_io_stop(s->loop, &s->ctl_w);
	node_serve_close_feed(s);
	if (s->framed)
		s->out_dead = 1;
	if (s->done)
		return;
	kill(s->pid, s->hangup_kill ? SIGKILL : SIGTERM);
	ev_timer_start(s->loop, &s->kill_t);
}

static int
node_serve_frame(char type, const char *p, size_t n, void *arg)
{
	struct node_serve	*s = arg;
	int			 sig;

	switch (type) {
	case NODE_FRAME_DATA:
		if (s->feed_fd != -1 && !s->feed_end) {
			buf_add(&s->feed, p, n);
			node_serve_feed(s);
		}
		break;
	case NODE_FRAME_END:
		s->feed_end = 1;
		node_serve_feed(s);
		break;
	case NODE_FRAME_SIGNAL:
		sig = n == 3 && memcmp(p, "INT", 3) == 0 ? SIGINT :
		    n == 3 && memcmp(p, "HUP", 3) == 0 ? SIGHUP : SIGTERM;
		if (!s->done)
			kill(s->pid, sig);
		break;
	}
	return (0);
}

static void
node_serve_ctl_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node_serve	*s = w->data;
	ssize_t			 n;
	char			 b[65536];

	(void)loop;
	(void)revents;
	n = read(s->ctl_fd, b, sizeof b);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		node_serve_orphaned(s);
		return;
	}
	buf_add(&s->in, b, (size_t)n);
	if (node_relay_frames_take(&s->in, "DES", NODE_FRAME_MAX,
	    node_serve_frame, s) == -1) {
		fprintf(stderr, "acpx: __node-relay: bad frame on stdin\n");
		node_serve_orphaned(s);
	}
}

static void
node_serve_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct node_serve	*s = w->data;

	(void)revents;
	ev_child_stop(loop, w);
	s->done = 1;
	s->status = w->rstatus;
}

static void
node_serve_signal_cb(struct ev_loop *loop, int signo, void *arg)
{
	struct node_serve	*s = arg;

	(void)loop;
	if (s->done)
		return;
	kill(s->pid, signo);
	if (signo != SIGINT && !ev_is_active(&s->kill_t))
		ev_timer_start(s->loop, &s->kill_t);
}

static int
node_serve_pipe_open(int p[2])
{
	if (pipe(p) == -1)
		return (-1);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	return (0);
}

/* Framed: the end. What the child wrote, then its exit status, sent. */
static void
node_serve_finish_framed(struct node_serve *s, int rc)
{
	char	x[16];
	int	i;

	for (i = 0; i < 2; i++)
		while (s->pipe_fd[i] != -1 && node_serve_pipe(s, i) == 1 &&
		    !s->out_dead) {
			/* More than the mark: send some first. */
			if (s->out.len <= NODE_SERVE_OUT_MAX)
				break;
			node_serve_send(s);
			if (s->out.len > 0 && !s->out_dead)
				ev_run(s->loop, EVRUN_ONCE);
		}
	snprintf(x, sizeof x, "%d", rc);
	if (!s->out_dead)
		node_relay_frame(&s->out, NODE_FRAME_EXIT, x, strlen(x));
	node_serve_send(s);
	while (s->out.len > 0 && !s->out_dead)
		ev_run(s->loop, EVRUN_ONCE);
	for (i = 0; i < 2; i++) {
		ev_io_stop(s->loop, &s->pipe_w[i]);
		if (s->pipe_fd[i] != -1)
			close(s->pipe_fd[i]);
	}
}

/* The relay of one command (see node-relay.h). */
int
node_relay_serve_run(int ctl_fd, int framed, int hangup_kill,
    int start_daemon, char **args, int nargs, char ***child_argv)
{
	struct node_serve	 s;
	struct proc		*proc;
	char			**cargv;
	int			 p[2], po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	int			 i, rc;

	memset(&s, 0, sizeof s);
	*child_argv = NULL;
	s.ctl_fd = ctl_fd;
	s.framed = framed;
	s.hangup_kill = hangup_kill;
	s.pipe_fd[0] = s.pipe_fd[1] = -1;
	if (pipe(p) == -1 || (framed && (node_serve_pipe_open(po) == -1 ||
	    node_serve_pipe_open(pe) == -1))) {
		fprintf(stderr, "acpx: __node-relay: pipe: %s\n",
		    strerror(errno));
		return (1);
	}
	fflush(NULL);
	/* No loop exists yet: the child may go on without an exec. */
	if ((s.pid = fork()) == -1) {
		fprintf(stderr, "acpx: __node-relay: fork: %s\n",
		    strerror(errno));
		close(p[0]);
		close(p[1]);
		return (1);
	}
	if (s.pid == 0) {
		close(p[1]);
		if (p[0] != STDIN_FILENO) {
			dup2(p[0], STDIN_FILENO);
			close(p[0]);
		}
		if (framed) {
			dup2(po[1], STDOUT_FILENO);
			dup2(pe[1], STDERR_FILENO);
			close(po[1]);
			close(pe[1]);
			close(ctl_fd);
		}
		/* acpx <args...>: the strings are the caller's, alive until
		   exit. */
		cargv = xcalloc((size_t)nargs + 2, sizeof *cargv);
		cargv[0] = "acpx";
		for (i = 0; i < nargs; i++)
			cargv[i + 1] = args[i];
		*child_argv = cargv;
		return (nargs + 1);
	}
	close(p[0]);
	s.feed_fd = p[1];
	fcntl(s.feed_fd, F_SETFD, FD_CLOEXEC);
	/* The command runs: start the resident relay beside it (before
	   any loop: its intermediate process is waited for here). */
	if (start_daemon)
		node_relay_daemon_start();
	s.loop = proc_default_loop();
	proc = proc_start(0);
	fcntl(s.feed_fd, F_SETFL, fcntl(s.feed_fd, F_GETFL) | O_NONBLOCK);
	fcntl(ctl_fd, F_SETFL, fcntl(ctl_fd, F_GETFL) | O_NONBLOCK);
	buf_init(&s.in, 0);
	buf_init(&s.feed, 0);
	buf_init(&s.out, 0);

	/* Started after the fork: libev reaps the child from here on. */
	ev_child_init(&s.child_w, node_serve_child_cb, s.pid, 0);
	s.child_w.data = &s;
	ev_child_start(s.loop, &s.child_w);
	/* It may have ended before the loop's SIGCHLD handler existed. */
	ev_feed_signal(SIGCHLD);
	ev_io_init(&s.ctl_w, node_serve_ctl_cb, ctl_fd, EV_READ);
	s.ctl_w.data = &s;
	ev_io_start(s.loop, &s.ctl_w);
	ev_io_init(&s.feed_w, node_serve_feed_cb, s.feed_fd, EV_WRITE);
	s.feed_w.data = &s;
	ev_io_init(&s.send_w, node_serve_send_cb, ctl_fd, EV_WRITE);
	s.send_w.data = &s;
	if (framed) {
		close(po[1]);
		close(pe[1]);
		s.pipe_fd[0] = po[0];
		s.pipe_fd[1] = pe[0];
		for (i = 0; i < 2; i++) {
			fcntl(s.pipe_fd[i], F_SETFL, fcntl(s.pipe_fd[i],
			    F_GETFL) | O_NONBLOCK);
			ev_io_init(&s.pipe_w[i], node_serve_pipe_cb,
			    s.pipe_fd[i], EV_READ);
			s.pipe_w[i].data = &s;
			ev_io_start(s.loop, &s.pipe_w[i]);
		}
	}
	ev_timer_init(&s.kill_t, node_serve_kill_cb, NODE_SERVE_KILL_S, 0.);
	s.kill_t.data = &s;
	/* A signal to us goes to the child (a TERM or HUP: then a KILL). */
	proc_set_signals(proc, node_serve_signal_cb, &s);

	while (!s.done)
		ev_run(s.loop, EVRUN_ONCE);
	rc = WIFEXITED(s.status) ? WEXITSTATUS(s.status) :
	    128 + WTERMSIG(s.status);
	if (framed)
		node_serve_finish_framed(&s, rc);
	ev_io_stop(s.loop, &s.ctl_w);
	ev_io_stop(s.loop, &s.send_w);
	ev_timer_stop(s.loop, &s.kill_t);
	node_serve_close_feed(&s);
	buf_free(&s.in);
	buf_free(&s.feed);
	buf_free(&s.out);
	proc_free(proc);
	return (rc);
}

/*
 * `acpx __node-relay [--hello] [--on-hangup term|kill] -- <args...>`
 * (see node-relay.h): the hello (after making sure the resident relay
 * runs), then the relay of the command on our stdin and stdout.
 */
int
node_relay_serve_main(int argc, char **argv, char ***child_argv)
{
	char	*hello, *sock, *cause = NULL;
	int	 a = 0, say_hello = 0, hangup_kill = 0, up = -1;

	*child_argv = NULL;
	/* [--hello] [--on-hangup term|kill] -- <args> */
	for (; a < argc && strcmp(argv[a], "--") != 0; a++) {
		if (strcmp(argv[a], "--on-hangup") == 0 && a + 1 < argc)
			hangup_kill = strcmp(argv[++a], "kill") == 0;
		else if (strcmp(argv[a], "--hello") == 0)
			say_hello = 1;
		else {
			fprintf(stderr, "acpx: __node-relay: unknown option "
			    "%s\n", argv[a]);
			return (2);
		}
	}
	if (a < argc)
		a++;
	if (say_hello) {
		/* The first line on the channel: who answers (node-relay.h),
		   and the resident relay's socket when it can run. */
		if ((sock = node_relay_daemon_socket(&cause)) != NULL)
			up = node_relay_daemon_running(sock);
		free(cause);
		if (up == -1)
			xasprintf(&hello, "%s %s\n", NODE_RELAY_HELLO,
			    PACKAGE_VERSION);
		else
			xasprintf(&hello, "%s %s %s %s\n", NODE_RELAY_HELLO,
			    PACKAGE_VERSION, sock, up ? "up" : "new");
		free(sock);
		if (write(STDOUT_FILENO, hello, strlen(hello)) == -1) {
			free(hello);
			return (1);
		}
		free(hello);
	}
	return (node_relay_serve_run(STDIN_FILENO, 0, hangup_kill, up == 0,
	    argv + a, argc - a, child_argv));
}
