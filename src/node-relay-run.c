#include <config.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "acpx-error.h"
#include "acpx.h"
#include "buf.h"
#include "config-file.h"
#include "node-relay.h"
#include "output.h"
#include "proc.h"
#include "spawn.h"
#include "xmalloc.h"

/*
 * The relay of a command given --node: the node's acpx checked, then
 * `exec <acpx> __node-relay -- <args>` run on the node from the event
 * loop: as a session of the shared connection's master, opened by us
 * (node-relay-mux.c), or, when there is no master yet (or it will not),
 * through `ssh ...`, which opens the connection.
 * The input (the --file read here, or standard input) goes to it as data
 * frames, then an end frame; a signal to this process goes as a signal
 * frame; what the node writes is copied to our stdout and stderr as it
 * comes. The ssh stdin pipe stays open until ssh exits: its end is how
 * the node learns that this side is gone.
 */

#define NODE_RUN_PENDING_MAX	(1024 * 1024)	/* pause input above this */

#define NODE_RUN_DRAIN_S	5.0	/* after the exit: bounds a hang only */

struct node_run {
	struct ev_loop	*loop;
	struct proc	*proc;
	struct child	*child;		/* ssh, or NULL */
	struct node_mux	*mux;		/* or our session on the master */
	int		 to_fd;		/* the session's stdin (frames) */
	int		 from_fd;	/* its stdout */
	int		 err_fd;	/* its stderr (a mux session), or -1 */
	int		 in_fd;		/* our input, or -1 */
	ev_io		 to_w;
	ev_io		 from_w;
	ev_io		 err_w;
	ev_io		 in_w;
	ev_timer	 drain_t;
	struct buf	 pending;	/* frames not yet written */
	int		 opened;	/* the node runs it: write frames */
	int		 mux_failed;	/* run ssh instead */
	int		 exited;	/* status known */
	int		 done;
	int		 status;
	int		 out_broken;
	int		 hello_ok;	/* the node's __node-relay answered */
	int		 hello_bad;	/* something else answered */
	char		*hello_version;	/* the version it gave */
	struct buf	 hello;		/* stdout until the first newline */
	struct buf	 err_hold;	/* stderr until then */
	char		*relayd;	/* the hello's resident relay socket */
	int		 relayd_up;	/* it was up before this session */
	int		 direct;	/* through the resident relay */
	int		 direct_failed;	/* it never said hello: a session */
	int		 direct_tried;
	struct buf	 frames;	/* direct: read, not yet parsed */
	struct buf	 args;		/* direct: the 'A' frame */
};

#define NODE_RUN_HELLO_MAX	256	/* a longer first line is not one */
#define NODE_RUN_HOLD_MAX	65536	/* stderr kept before the hello */

/* Write all of p to fd (our stdout or stderr, as every command does). */
static int
node_run_write_all(int fd, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

static void
node_run_flush(struct node_run *r)
{
	ssize_t	w;

	if (!r->opened)
		return;		/* kept until the session is open */
	if (r->to_fd == -1) {
		buf_reset(&r->pending);
		return;
	}
	while (r->pending.len > 0) {
		w = write(r->to_fd, r->pending.p, r->pending.len);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				ev_io_start(r->loop, &r->to_w);
				return;
			}
			/* ssh is gone; its exit ends the relay. */
			ev_io_stop(r->loop, &r->to_w);
			close(r->to_fd);
			r->to_fd = -1;
			buf_reset(&r->pending);
			return;
		}
		buf_drain(&r->pending, (size_t)w);
	}
	ev_io_stop(r->loop, &r->to_w);
	if (r->in_fd != -1 && !ev_is_active(&r->in_w))
		ev_io_start(r->loop, &r->in_w);
}

static void
node_run_queue(struct node_run *r, char type, const void *p, size_t n)
{
	node_relay_frame(&r->pending, type, p, n);
	node_run_flush(r);
	if (r->pending.len > NODE_RUN_PENDING_MAX && r->in_fd != -1)
		ev_io_stop(r->loop, &r->in_w);
}

static void
node_run_to_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	node_run_flush(w->data);
}

static void
node_run_in_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node_run	*r = w->data;
	char		 b[NODE_FRAME_MAX];
	ssize_t		 n;

	(void)revents;
	n = read(r->in_fd, b, sizeof b);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		node_run_queue(r, NODE_FRAME_DATA, b, (size_t)n);
		return;
	}
	ev_io_stop(loop, w);
	if (r->in_fd != STDIN_FILENO)
		close(r->in_fd);
	r->in_fd = -1;
	node_run_queue(r, NODE_FRAME_END, NULL, 0);
}

/* Our stderr, or held until the handshake is in. */
static void
node_run_err_out(struct node_run *r, const char *b, size_t n)
{
	if (r->hello_ok)
		(void)node_run_write_all(STDERR_FILENO, b, n);
	else if (!r->hello_bad && r->err_hold.len + n <= NODE_RUN_HOLD_MAX)
		buf_add(&r->err_hold, b, n);
}

/*
 * The first line on the node's stdout is the handshake: it is judged,
 * and kept out of our output. 1 once it is in (*rest, *nrest: what came
 * after it), 0 while it is not complete yet, -1 when it is not one.
 */
static int
node_run_hello(struct node_run *r, const char *b, size_t n,
    const char **rest, size_t *nrest)
{
	const char	*nl;
	size_t		 plen = strlen(NODE_RELAY_HELLO), take;

	nl = memchr(b, '\n', n);
	take = nl != NULL ? (size_t)(nl - b) + 1 : n;
	if (r->hello.len + take > NODE_RUN_HELLO_MAX)
		return (-1);
	buf_add(&r->hello, b, take);
	if (nl == NULL)
		return (0);
	*rest = b + take;
	*nrest = n - take;
	r->hello.p[r->hello.len - 1] = '\0';
	if (r->hello.len < plen + 3 || memcmp(r->hello.p, NODE_RELAY_HELLO,
	    plen) != 0 || r->hello.p[plen] != ' ')
		return (-1);
	/* <hello> <version> [<resident relay's socket> up|new] */
	r->hello_version = xstrdup(r->hello.p + plen + 1);
	r->hello_version[strcspn(r->hello_version, " ")] = '\0';
	r->relayd = node_relay_hello_relayd(r->hello.p + plen + 1,
	    &r->relayd_up);
	if (node_relay_vercmp(r->hello_version, NODE_RELAY_MIN_VERSION) < 0)
		return (-1);	/* too old: named by node_run_no_hello() */
	return (1);
}

/* Copy what ssh printed; 0 at the end of it (or nothing more for now). */
static int
node_run_from(struct node_run *r)
{
	char		 b[65536];
	const char	*p;
	size_t		 len;
	ssize_t		 n;

	for (;;) {
		n = read(r->from_fd, b, sizeof b);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (n == -1 && errno == EAGAIN ? 1 : 0);
		p = b;
		len = (size_t)n;
		if (r->hello_bad)
			continue;
		if (!r->hello_ok) {
			switch (node_run_hello(r, b, (size_t)n, &p, &len)) {
			case 0:
				continue;
			case -1:
				/* Not our relay: stop, then ask what it is. */
				r->hello_bad = 1;
				r->done = 1;
				return (0);
			}
			r->hello_ok = 1;
			node_run_err_out(r, r->err_hold.p, r->err_hold.len);
			buf_reset(&r->err_hold);
		}
		if (len > 0 && !r->out_broken && node_run_write_all(
		    STDOUT_FILENO, p, len) == -1)
			r->out_broken = 1;
	}
}

static void	node_run_watch(struct node_run *);

/* Through the resident relay: one of its frames. */
static int
node_run_direct_frame(char type, const char *p, size_t n, void *arg)
{
	struct node_run	*r = arg;
	size_t		 plen = strlen(NODE_RELAY_HELLO);
	char		 x[16];

	if (!r->hello_ok) {
		/* Ours, of a version we take: send the args, then input. */
		if (type != NODE_FRAME_HELLO || n < plen + 2 || n > 64 ||
		    memcmp(p, NODE_RELAY_HELLO " ", plen + 1) != 0)
			return (-1);
		r->hello_version = xstrndup(p + plen + 1, n - plen - 1);
		if (node_relay_vercmp(r->hello_version,
		    NODE_RELAY_MIN_VERSION) < 0)
			return (-1);
		r->hello_ok = 1;
		buf_add(&r->args, r->pending.p, r->pending.len);
		buf_reset(&r->pending);
		buf_add(&r->pending, r->args.p, r->args.len);
		buf_reset(&r->args);
		r->opened = 1;
		node_run_flush(r);
		return (0);
	}
	switch (type) {
	case NODE_FRAME_STDOUT:
		if (!r->out_broken && node_run_write_all(STDOUT_FILENO, p,
		    n) == -1)
			r->out_broken = 1;
		break;
	case NODE_FRAME_STDERR:
		(void)node_run_write_all(STDERR_FILENO, p, n);
		break;
	case NODE_FRAME_EXIT:
		if (n == 0 || n >= sizeof x)
			return (-1);
		memcpy(x, p, n);
		x[n] = '\0';
		r->exited = 1;
		r->status = (atoi(x) & 0xff) << 8;	/* as a wait status */
		r->done = 1;
		return (-1);
	default:
		return (-1);
	}
	return (0);
}

/* Through the resident relay: its frames; 0 at the end (or a bad one). */
static int
node_run_direct_from(struct node_run *r)
{
	char	b[65536];
	ssize_t	n;

	for (;;) {
		n = read(r->from_fd, b, sizeof b);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (1);
		if (n > 0) {
			buf_add(&r->frames, b, (size_t)n);
			if (node_relay_frames_take(&r->frames, "HORX",
			    NODE_FRAME_MAX, node_run_direct_frame, r) == 0)
				continue;
		}
		/* The end, a bad frame, or the exit frame. */
		if (!r->hello_ok)
			r->direct_failed = 1;	/* nothing ran: a session */
		else if (!r->exited) {
			r->exited = 1;		/* gone mid-way: as ssh says */
			r->status = 255 << 8;
			r->done = 1;
		}
		return (0);
	}
}

/*
 * Through the resident relay: connect to the forwarded socket local and
 * wait for its hello before sending anything. -1: no one there.
 */
static int
node_run_direct(struct node_run *r, const char *local, char *const *argv,
    int prompt)
{
	struct sockaddr_un	sun;
	struct buf		a = BUF_INITIALIZER;
	size_t			i;
	int			fd;

	if (strlen(local) >= sizeof sun.sun_path ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, local, strlen(local));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return (-1);
	}
	if ((r->from_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		close(fd);
		return (-1);
	}
	/* "term|kill\0arg\0arg\0...", sent after the hello. */
	buf_adds(&a, prompt ? "kill" : "term");
	buf_addc(&a, '\0');
	for (i = 0; argv[i] != NULL; i++) {
		buf_adds(&a, argv[i]);
		buf_addc(&a, '\0');
	}
	buf_init(&r->frames, 0);
	buf_init(&r->args, 0);
	node_relay_frame(&r->args, NODE_FRAME_ARGS, a.p, a.len);
	buf_free(&a);
	r->direct = 1;
	r->to_fd = fd;
	node_run_watch(r);
	return (0);
}

/* A mux session is done once its status is in and its output ended. */
static void
node_run_mux_done(struct node_run *r)
{
	if (r->mux != NULL && r->exited && r->from_fd == -1 &&
	    r->err_fd == -1)
		r->done = 1;
}

static void
node_run_from_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node_run	*r = w->data;

	(void)revents;
	if ((r->direct ? node_run_direct_from(r) : node_run_from(r)) == 0) {
		ev_io_stop(loop, w);
		close(r->from_fd);
		r->from_fd = -1;
		node_run_mux_done(r);
	}
}

/* A mux session's stderr, copied as it comes. */
static void
node_run_err_fd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node_run	*r = w->data;
	char		 b[65536];
	ssize_t		 n;

	(void)revents;
	n = read(r->err_fd, b, sizeof b);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		node_run_err_out(r, b, (size_t)n);
		return;
	}
	ev_io_stop(loop, w);
	close(r->err_fd);
	r->err_fd = -1;
	node_run_mux_done(r);
}

/* The output did not end after the exit: stop waiting for it. */
static void
node_run_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct node_run	*r = w->data;

	(void)loop;
	(void)revents;
	r->done = 1;
}

static void
node_run_mux_cb(int event, int status, void *arg)
{
	struct node_run	*r = arg;

	switch (event) {
	case NODE_RELAY_MUX_FAILED:
		r->mux_failed = 1;
		break;
	case NODE_RELAY_MUX_OPENED:
		r->opened = 1;
		node_run_flush(r);
		break;
	case NODE_RELAY_MUX_EXITED:
		r->exited = 1;
		r->status = (status & 0xff) << 8;	/* as a wait status */
		ev_timer_start(r->loop, &r->drain_t);
		node_run_mux_done(r);
		break;
	}
}

static void
node_run_err_cb(const char *b, size_t n, void *arg)
{
	node_run_err_out(arg, b, n);
}

static void
node_run_exit_cb(struct child *c, int status, void *arg)
{
	struct node_run	*r = arg;

	(void)c;
	r->done = 1;
	r->status = status;
}

static void
node_run_signal_cb(struct ev_loop *loop, int signo, void *arg)
{
	struct node_run	*r = arg;
	const char	*name;

	(void)loop;
	name = signo == SIGINT ? "INT" : signo == SIGHUP ? "HUP" : "TERM";
	if (r->to_fd != -1 || !r->opened)
		node_run_queue(r, NODE_FRAME_SIGNAL, name, strlen(name));
	else if (r->child != NULL && !r->done)
		spawn_signal(r->child, signo);
}

/* Frame a whole input (a file) into pending, then the end frame. */
static void
node_run_queue_all(struct node_run *r, const struct buf *b)
{
	size_t	off, n;

	for (off = 0; off < b->len; off += n) {
		n = b->len - off > NODE_FRAME_MAX ? NODE_FRAME_MAX : b->len - off;
		node_relay_frame(&r->pending, NODE_FRAME_DATA, b->p + off, n);
	}
	node_relay_frame(&r->pending, NODE_FRAME_END, NULL, 0);
}

/* Watch the session's descriptors (nonblocking) and our input. */
static void
node_run_watch(struct node_run *r)
{
	fcntl(r->to_fd, F_SETFL, fcntl(r->to_fd, F_GETFL) | O_NONBLOCK);
	fcntl(r->from_fd, F_SETFL, fcntl(r->from_fd, F_GETFL) | O_NONBLOCK);
	ev_io_init(&r->to_w, node_run_to_cb, r->to_fd, EV_WRITE);
	r->to_w.data = r;
	ev_io_init(&r->from_w, node_run_from_cb, r->from_fd, EV_READ);
	r->from_w.data = r;
	ev_io_start(r->loop, &r->from_w);
	if (r->err_fd != -1) {
		fcntl(r->err_fd, F_SETFL, fcntl(r->err_fd, F_GETFL) |
		    O_NONBLOCK);
		ev_io_init(&r->err_w, node_run_err_fd_cb, r->err_fd, EV_READ);
		r->err_w.data = r;
		ev_io_start(r->loop, &r->err_w);
	}
	if (r->in_fd != -1 && !ev_is_active(&r->in_w)) {
		ev_io_init(&r->in_w, node_run_in_cb, r->in_fd, EV_READ);
		r->in_w.data = r;
		ev_io_start(r->loop, &r->in_w);
	}
	node_run_flush(r);
}

/* Stop watching and close the session's descriptors (not our input's). */
static void
node_run_unwatch(struct node_run *r)
{
	ev_io_stop(r->loop, &r->to_w);
	ev_io_stop(r->loop, &r->from_w);
	ev_io_stop(r->loop, &r->err_w);
	if (r->to_fd != -1)
		close(r->to_fd);
	if (r->from_fd != -1)
		close(r->from_fd);
	if (r->err_fd != -1)
		close(r->err_fd);
	r->to_fd = r->from_fd = r->err_fd = -1;
	if (r->in_fd != -1 && r->done)
		ev_io_stop(r->loop, &r->in_w);
}

/* Start `ssh ... remote_cmd` (which opens the shared connection). */
static int
node_run_ssh(struct node_run *r, const struct config_node *n,
    const char *ctl, const char *cmd, char **cause)
{
	struct child_opts	  co;
	char			**argv;
	int			  err_no;

	argv = node_relay_ssh_argv(n, ctl, cmd);
	memset(&co, 0, sizeof co);
	co.argv = argv;
	co.stderr_mode = CHILD_STDERR_KEEP;
	co.err_cb = node_run_err_cb;
	co.err_arg = r;
	/* Its own group: a terminal's Ctrl-C reaches us, not ssh. */
	co.new_pgrp = 1;
	r->child = spawn_child(r->loop, &co, node_run_exit_cb, r, &err_no,
	    cause);
	node_relay_argv_free(argv);
	if (r->child == NULL)
		return (-1);
	node_relay_no_subreaper();
	spawn_take_fds(r->child, &r->to_fd, &r->from_fd);
	r->err_fd = -1;
	r->opened = 1;
	node_run_watch(r);
	return (0);
}

/*
 * The node did not answer the handshake: say why as the version check
 * does (ssh's own failure, no acpx there, another program, an old
 * acpx-native), running that check when the answer does not tell. What
 * the node printed is dropped. Frees what the run holds.
 */
static int
node_run_no_hello(struct node_run *r, const struct config_node *n,
    char *ctl, struct output *out)
{
	struct acpx_error	*err = NULL;
	char			*version = NULL;
	int			 rc;

	if (r->child != NULL && !r->hello_bad && WIFEXITED(r->status) &&
	    WEXITSTATUS(r->status) == 255)
		(void)node_relay_check_verdict(n, ctl, r->status, "",
		    spawn_stderr_tail(r->child), NULL, &err);
	else if (r->hello_version != NULL)
		err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_ACPX_INCOMPATIBLE",
		    "cli", "Node '%s' runs acpx-native %s; --node needs %s or "
		    "newer there (this is acpx-native %s)", n->name,
		    r->hello_version, NODE_RELAY_MIN_VERSION, PACKAGE_VERSION);
	/* Another program answered, or nothing did: end it, then ask. */
	spawn_free(r->child);
	node_relay_mux_free(r->mux);
	r->child = NULL;
	r->mux = NULL;
	proc_free(r->proc);
	if (err == NULL && node_relay_check(n, 1, &version, NULL, &err) == 0)
		err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_ACPX_INCOMPATIBLE",
		    "cli", "Node '%s' runs acpx-native %s, which does not answer "
		    "--node's handshake; --node needs a newer acpx-native there "
		    "(this is acpx-native %s)", n->name, version,
		    PACKAGE_VERSION);
	free(version);
	free(ctl);
	free(r->hello_version);
	free(r->relayd);
	buf_free(&r->frames);
	buf_free(&r->args);
	buf_free(&r->hello);
	buf_free(&r->err_hold);
	rc = output_fail(out, err);
	return (rc);
}

/* Run argv on node n (see node-relay.h). */
int
node_relay_exec(const struct config_node *n, char *const *node_argv,
    const char *node_file, int prompt, struct output *out)
{
	struct acpx_error		*err = NULL;
	struct node_run			 r;
	struct buf			 file = BUF_INITIALIZER;
	struct stat			 sb;
	char				*ctl, *cmd, *cause = NULL, *local;
	char				*line, *nl, **rargv;
	size_t				 nargs;
	int				 rc;

	if ((ctl = node_relay_ctl_path(n, &cause)) == NULL) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s", cause);
		free(cause);
		return (output_fail(out, err));
	}

	memset(&r, 0, sizeof r);
	r.in_fd = -1;
	buf_init(&r.pending, 0);
	buf_init(&r.hello, 0);
	buf_init(&r.err_hold, 0);
	/* The input: the --file here, a redirected file, a pipe, or none. */
	if (node_file != NULL) {
		if (node_relay_read_file(node_file, &file, &cause) == -1) {
			free(ctl);
			err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
			    cause);
			free(cause);
			return (output_fail(out, err));
		}
		node_run_queue_all(&r, &file);
	} else if (isatty(STDIN_FILENO) || fstat(STDIN_FILENO, &sb) == -1)
		node_relay_frame(&r.pending, NODE_FRAME_END, NULL, 0);
	else if (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))
		r.in_fd = STDIN_FILENO;		/* as it comes */
	else {
		/* A file or a device such as /dev/null (which no poller
		   takes): read whole, here. */
		if (node_relay_read_file("/dev/stdin", &file, &cause) == -1) {
			free(cause);
			buf_reset(&file);
		}
		node_run_queue_all(&r, &file);
	}
	buf_free(&file);

	r.loop = proc_default_loop();
	r.proc = proc_start(0);
	r.err_fd = -1;
	for (nargs = 0; node_argv[nargs] != NULL; nargs++)
		;
	rargv = xcalloc(nargs + 6, sizeof *rargv);
	rargv[0] = "__node-relay";
	rargv[1] = "--hello";
	rargv[2] = "--on-hangup";
	rargv[3] = prompt ? "kill" : "term";
	rargv[4] = "--";
	memcpy(rargv + 5, node_argv, nargs * sizeof *rargv);
	cmd = node_relay_command(n->acpx, rargv);
	free(rargv);
	ev_timer_init(&r.drain_t, node_run_drain_cb, NODE_RUN_DRAIN_S, 0.);
	r.drain_t.data = &r;
	proc_set_signals(r.proc, node_run_signal_cb, &r);

	/* The resident relay if this connection forwards to it. */
	if ((local = node_relay_direct_local(ctl, n->acpx)) != NULL &&
	    node_run_direct(&r, local, node_argv, prompt) == 0) {
		while (!r.done && !r.direct_failed)
			ev_run(r.loop, EVRUN_ONCE);
		if (r.direct_failed) {
			/* It never said hello: nothing ran. A session. */
			node_run_unwatch(&r);
			free(r.hello_version);
			r.hello_version = NULL;
			r.direct = 0;
			r.direct_tried = 1;
		}
	}
	free(local);
	/* A session on the master if there is one, else ssh. */
	if (!r.direct)
		r.mux = node_relay_mux_start(r.loop, ctl, cmd, &r.to_fd,
		    &r.from_fd, &r.err_fd, node_run_mux_cb, &r);
	if (r.mux != NULL) {
		node_run_watch(&r);
		while (!r.done && !r.mux_failed)
			ev_run(r.loop, EVRUN_ONCE);
		if (r.mux_failed) {
			node_run_unwatch(&r);
			node_relay_mux_free(r.mux);
			r.mux = NULL;
		}
	}
	if (!r.direct && r.mux == NULL && node_run_ssh(&r, n, ctl, cmd,
	    &cause) == -1) {
		free(ctl);
		free(cmd);
		proc_clear_signals(r.proc);
		proc_free(r.proc);
		buf_free(&r.pending);
		buf_free(&r.hello);
		buf_free(&r.err_hold);
		buf_free(&r.frames);
		buf_free(&r.args);
		err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_SSH_MISSING", "cli",
		    "Node '%s': cannot run ssh: %s", n->name, cause);
		free(cause);
		return (output_fail(out, err));
	}
	free(cmd);
	while (!r.done)
		ev_run(r.loop, EVRUN_ONCE);
	/* What ssh wrote before it exited (a master may hold the pipe). */
	if (r.from_fd != -1 && r.mux == NULL)
		(void)node_run_from(&r);
	node_run_unwatch(&r);
	ev_timer_stop(r.loop, &r.drain_t);
	proc_clear_signals(r.proc);
	buf_free(&r.pending);
	if (!r.hello_ok)
		return (node_run_no_hello(&r, n, ctl, out));
	/* A new connection: remember its check (the node probe reads it). */
	if (r.child != NULL)
		node_relay_check_remember(ctl, r.hello_version);
	/* A session named the resident relay: forward to it from now on. */
	if (!r.direct && r.relayd != NULL)
		node_relay_direct_note(ctl, n->acpx, r.relayd, r.relayd_up,
		    r.direct_tried);
	free(r.relayd);
	buf_free(&r.frames);
	buf_free(&r.args);
	free(ctl);
	free(r.hello_version);
	buf_free(&r.hello);
	buf_free(&r.err_hold);

	if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 255) {
		line = xstrdup(r.child != NULL ? spawn_stderr_tail(r.child) :
		    "the shared connection closed");
		while ((nl = strrchr(line, '\n')) != NULL && nl[1] == '\0')
			*nl = '\0';
		nl = strrchr(line, '\n');
		err = acpx_error_new(ACPX_CODE_NODE_UNREACHABLE, NULL, "cli",
		    "Node '%s' (ssh %s): the connection failed: %s", n->name,
		    n->ssh, nl != NULL ? nl + 1 : *line != '\0' ? line :
		    "ssh exited 255");
		free(line);
		spawn_free(r.child);
		node_relay_mux_free(r.mux);
		proc_free(r.proc);
		return (output_fail(out, err));
	}
	rc = WIFEXITED(r.status) ? WEXITSTATUS(r.status) :
	    128 + WTERMSIG(r.status);
	spawn_free(r.child);
	node_relay_mux_free(r.mux);
	proc_free(r.proc);
	(void)out;
	return (rc);
}
