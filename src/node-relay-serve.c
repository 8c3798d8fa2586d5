#include <config.h>

#include <sys/types.h>
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
 * the control machine's ssh. With --hello it first writes the handshake
 * line (NODE_RELAY_HELLO and its version) on stdout. The child `acpx
 * <args...>` (this process forked before any loop, going on as that
 * command without a second exec) writes straight
 * to our stdout and stderr (the ssh channel); its stdin is fed from the
 * data frames on ours; signal frames are delivered to it; when our stdin
 * ends without an end frame, or after one (this side never sees its own
 * stdin end while the control side lives), the control side is gone and
 * the child is ended: SIGTERM, then SIGKILL after NODE_SERVE_KILL_S.
 */

#define NODE_SERVE_KILL_S	10.0

struct node_serve {
	struct ev_loop	*loop;
	pid_t		 pid;
	ev_child	 child_w;
	ev_io		 ctl_w;		/* our stdin: frames */
	ev_io		 feed_w;	/* the child's stdin */
	ev_timer	 kill_t;
	int		 feed_fd;
	int		 feed_end;	/* close it once written */
	struct buf	 in;		/* frames read, not yet parsed */
	struct buf	 feed;		/* data not yet written to the child */
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
	if (s->done)
		return;
	kill(s->pid, s->hangup_kill ? SIGKILL : SIGTERM);
	ev_timer_start(s->loop, &s->kill_t);
}

static void
node_serve_frame(struct node_serve *s, char type, const char *p, size_t n)
{
	int	sig;

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
}

static void
node_serve_ctl_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node_serve	*s = w->data;
	uint32_t		 len;
	ssize_t			 n;
	char			 b[65536];

	(void)loop;
	(void)revents;
	n = read(STDIN_FILENO, b, sizeof b);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		node_serve_orphaned(s);
		return;
	}
	buf_add(&s->in, b, (size_t)n);
	while (s->in.len >= NODE_FRAME_HEADER) {
		memcpy(&len, s->in.p + 1, sizeof len);
		len = ntohl(len);
		if (len > NODE_FRAME_MAX || (s->in.p[0] != NODE_FRAME_DATA &&
		    s->in.p[0] != NODE_FRAME_END &&
		    s->in.p[0] != NODE_FRAME_SIGNAL)) {
			fprintf(stderr, "acpx: __node-relay: bad frame on "
			    "stdin\n");
			node_serve_orphaned(s);
			return;
		}
		if (s->in.len < NODE_FRAME_HEADER + len)
			break;
		node_serve_frame(s, s->in.p[0], s->in.p + NODE_FRAME_HEADER,
		    len);
		buf_drain(&s->in, NODE_FRAME_HEADER + len);
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

/*
 * `acpx __node-relay [--hello] [--on-hangup term|kill] -- <args...>`
 * (see node-relay.h): fork before any loop exists; the child goes on as
 * `acpx <args...>` in this same process image (no second exec), the
 * parent relays.
 */
int
node_relay_serve_main(int argc, char **argv, char ***child_argv)
{
	struct node_serve	 s;
	struct proc		*proc;
	char			**cargv, *hello;
	int			 p[2], i, a = 0, say_hello = 0;

	memset(&s, 0, sizeof s);
	*child_argv = NULL;
	/* [--hello] [--on-hangup term|kill] -- <args> */
	for (; a < argc && strcmp(argv[a], "--") != 0; a++) {
		if (strcmp(argv[a], "--on-hangup") == 0 && a + 1 < argc)
			s.hangup_kill = strcmp(argv[++a], "kill") == 0;
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
		/* The first line on the channel: who answers (node-relay.h). */
		xasprintf(&hello, "%s %s\n", NODE_RELAY_HELLO, PACKAGE_VERSION);
		if (write(STDOUT_FILENO, hello, strlen(hello)) == -1) {
			free(hello);
			return (1);
		}
		free(hello);
	}
	if (pipe(p) == -1) {
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
		/* acpx <args...>: the strings are argv's, alive until exit. */
		cargv = xcalloc((size_t)(argc - a) + 2, sizeof *cargv);
		cargv[0] = "acpx";
		for (i = a; i < argc; i++)
			cargv[i - a + 1] = argv[i];
		*child_argv = cargv;
		return (argc - a + 1);
	}
	close(p[0]);
	s.loop = proc_default_loop();
	proc = proc_start(0);
	s.feed_fd = p[1];
	fcntl(s.feed_fd, F_SETFD, FD_CLOEXEC);
	fcntl(s.feed_fd, F_SETFL, fcntl(s.feed_fd, F_GETFL) | O_NONBLOCK);
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	buf_init(&s.in, 0);
	buf_init(&s.feed, 0);

	/* Started after the fork: libev reaps the child from here on. */
	ev_child_init(&s.child_w, node_serve_child_cb, s.pid, 0);
	s.child_w.data = &s;
	ev_child_start(s.loop, &s.child_w);
	/* It may have ended before the loop's SIGCHLD handler existed. */
	ev_feed_signal(SIGCHLD);
	ev_io_init(&s.ctl_w, node_serve_ctl_cb, STDIN_FILENO, EV_READ);
	s.ctl_w.data = &s;
	ev_io_start(s.loop, &s.ctl_w);
	ev_io_init(&s.feed_w, node_serve_feed_cb, s.feed_fd, EV_WRITE);
	s.feed_w.data = &s;
	ev_timer_init(&s.kill_t, node_serve_kill_cb, NODE_SERVE_KILL_S, 0.);
	s.kill_t.data = &s;
	/* A signal to us goes to the child (a TERM or HUP: then a KILL). */
	proc_set_signals(proc, node_serve_signal_cb, &s);

	while (!s.done)
		ev_run(s.loop, EVRUN_ONCE);
	ev_io_stop(s.loop, &s.ctl_w);
	ev_timer_stop(s.loop, &s.kill_t);
	node_serve_close_feed(&s);
	buf_free(&s.in);
	buf_free(&s.feed);
	proc_free(proc);
	if (WIFEXITED(s.status))
		return (WEXITSTATUS(s.status));
	return (128 + WTERMSIG(s.status));
}
