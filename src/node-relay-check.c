#include <config.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "acpx-error.h"
#include "buf.h"
#include "config-file.h"
#include "fsutil.h"
#include "node-fs.h"
#include "node-relay.h"
#include "proc.h"
#include "spawn.h"
#include "xmalloc.h"

/*
 * The node's acpx, checked once per shared connection: `acpx --version
 * --verbose` over the connection (which also opens it), and the versions
 * compared. A successful check is remembered in <socket>.ok with the
 * socket's identity (device, inode, change time): a new connection is a
 * new socket and is checked again.
 */

struct node_check_run {
	struct child	*child;
	ev_io		 rd;
	ev_timer	 timer;
	int		 fd;
	struct buf	 out;
	int		 done;
	int		 status;
	int		 timed_out;
};

#define NODE_CAPTURE_MAX	(1024 * 1024)	/* what we keep of stdout */

static void
node_check_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node_check_run	*r = w->data;
	ssize_t			 n;
	char			 b[4096];

	(void)revents;
	n = read(r->fd, b, sizeof b);
	if (n > 0 && r->out.len < NODE_CAPTURE_MAX)
		buf_add(&r->out, b, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		ev_io_stop(loop, w);
		close(r->fd);
		r->fd = -1;
	}
}

static void
node_check_exit_cb(struct child *c, int status, void *arg)
{
	struct node_check_run	*r = arg;

	(void)c;
	r->done = 1;
	r->status = status;
}

/* Too long: ssh (and what it started in its group) is killed. */
static void
node_check_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct node_check_run	*r = w->data;

	(void)loop;
	(void)revents;
	r->timed_out = 1;
	if (!r->done)
		spawn_signal(r->child, SIGKILL);
}

/* Capture a remote command's output (see node-relay.h). */
int
node_relay_capture(const struct config_node *n, const char *ctl,
    const char *remote_cmd, double timeout_s, int *status, char **out,
    char **tail, char **cause)
{
	struct ev_loop		*loop = proc_default_loop();
	struct child_opts	 co;
	struct node_check_run	 r;
	char			**argv;
	int			 err_no, in_fd;

	memset(&r, 0, sizeof r);
	buf_init(&r.out, 0);
	argv = node_relay_ssh_argv(n, ctl, remote_cmd);
	memset(&co, 0, sizeof co);
	co.argv = argv;
	co.stderr_mode = CHILD_STDERR_KEEP;
	co.new_pgrp = 1;
	r.child = spawn_child(loop, &co, node_check_exit_cb, &r, &err_no, cause);
	node_relay_argv_free(argv);
	if (r.child == NULL)
		return (-1);
	node_relay_no_subreaper();
	spawn_take_fds(r.child, &in_fd, &r.fd);
	close(in_fd);
	fcntl(r.fd, F_SETFL, fcntl(r.fd, F_GETFL) | O_NONBLOCK);
	ev_io_init(&r.rd, node_check_read_cb, r.fd, EV_READ);
	r.rd.data = &r;
	ev_io_start(loop, &r.rd);
	ev_timer_init(&r.timer, node_check_timer_cb, timeout_s, 0.);
	r.timer.data = &r;
	if (timeout_s > 0)
		ev_timer_start(loop, &r.timer);
	while (!r.done || r.fd != -1) {
		if (r.done) {
			/* Drain what is left; a ControlPersist master may hold
			   the pipe open, so stop at the first empty read. */
			while (r.fd != -1 && r.out.len < NODE_CAPTURE_MAX) {
				size_t before = r.out.len;

				node_check_read_cb(loop, &r.rd, 0);
				if (r.out.len == before)
					break;
			}
			if (r.fd != -1) {
				ev_io_stop(loop, &r.rd);
				close(r.fd);
				r.fd = -1;
			}
			break;
		}
		ev_run(loop, EVRUN_ONCE);
	}
	ev_timer_stop(loop, &r.timer);
	*status = r.timed_out ? -1 : r.status;
	*tail = xstrdup(spawn_stderr_tail(r.child));
	spawn_free(r.child);
	buf_addc(&r.out, '\0');
	*out = buf_take(&r.out);
	return (0);
}

/* The last non-empty line of s, printable, at most 200 bytes. */
static char *
node_check_line(const char *s, int last)
{
	const char	*b, *e, *p;
	char		*l;
	size_t		 i, n;

	e = s + strlen(s);
	if (last) {
		while (e > s && (e[-1] == '\n' || e[-1] == '\r'))
			e--;
		for (b = e; b > s && b[-1] != '\n'; b--)
			;
	} else {
		b = s;
		if ((p = strchr(s, '\n')) != NULL)
			e = p;
	}
	n = (size_t)(e - b) > 200 ? 200 : (size_t)(e - b);
	l = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		l[i] = ((unsigned char)b[i] < 0x20 || b[i] == 0x7f) ? '?' : b[i];
	l[n] = '\0';
	return (l);
}

/* A dotted version at s ("1.2.3"), copied; NULL if none. */
static char *
node_check_version_word(const char *s, size_t len)
{
	size_t	i;
	int	dots = 0;

	if (len == 0 || s[0] < '0' || s[0] > '9')
		return (NULL);
	for (i = 0; i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.');
	    i++)
		dots += s[i] == '.';
	if (dots < 1 || s[i - 1] == '.' || (i < len && s[i] != '\n' &&
	    s[i] != '\r' && s[i] != ' ' && s[i] != '-' && s[i] != '+'))
		return (NULL);
	return (xstrndup(s, i));
}

static int
node_check_marker(const char *ctl, char **text)
{
	struct stat	sb;

	if (lstat(ctl, &sb) == -1 || !S_ISSOCK(sb.st_mode))
		return (-1);
	xasprintf(text, "%llu %llu %lld.%09ld\n", (unsigned long long)sb.st_dev,
	    (unsigned long long)sb.st_ino, (long long)sb.st_ctim.tv_sec,
	    sb.st_ctim.tv_nsec);
	return (0);
}

/* The note for ctl's connection (see node-relay.h). */
char *
node_relay_memo_read(const char *ctl, const char *suffix)
{
	char	*path, *want = NULL, *have = NULL, *cause = NULL, *text = NULL;
	size_t	 len;
	int	 err_no;

	xasprintf(&path, "%s%s", ctl, suffix);
	if (node_check_marker(ctl, &want) == 0 &&
	    node_fs_read_file(path, &have, &len, &err_no, &cause) == 0 &&
	    strncmp(have, want, strlen(want)) == 0)
		text = xstrdup(have + strlen(want));
	free(cause);
	free(path);
	free(want);
	free(have);
	return (text);
}

/* Remember text for ctl's connection (see node-relay.h). */
void
node_relay_memo_write(const char *ctl, const char *suffix, const char *text)
{
	char	*path, *want, *have;

	/* An atomic local write, not a durable one: the note is of a
	   connection, which a crash ends anyway (no fsync; one staging
	   directory for both notes of a command). */
	if (node_check_marker(ctl, &want) == 0) {
		xasprintf(&path, "%s%s", ctl, suffix);
		xasprintf(&have, "%s%s", want, text);
		(void)fsutil_write(path, have, strlen(have), FSUTIL_NOSYNC |
		    FSUTIL_KEEP_STAGE, NULL);
		free(path);
		free(have);
		free(want);
	}
}

/* Remembered for this connection? (see node-relay.h) */
int
node_relay_check_known(const char *ctl, char **version)
{
	char	*text;

	if (version != NULL)
		*version = NULL;
	if ((text = node_relay_memo_read(ctl, ".ok")) == NULL)
		return (-1);
	text[strcspn(text, "\n")] = '\0';
	if (version != NULL)
		*version = text;
	else
		free(text);
	return (0);
}

/* Remember a passed check for this connection (see node-relay.h). */
void
node_relay_check_remember(const char *ctl, const char *version)
{
	char	*text;

	xasprintf(&text, "%s\n", version);
	node_relay_memo_write(ctl, ".ok", text);
	free(text);
}

/* What `acpx --version --verbose` on the node said (see node-relay.h). */
int
node_relay_check_verdict(const struct config_node *n, const char *ctl,
    int status, const char *out, const char *tail, char **version,
    struct acpx_error **err)
{
	char		*line, *first, *native;
	const char	*p;

	*err = NULL;
	if (version != NULL)
		*version = NULL;
	line = node_check_line(tail, 1);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 255) {
		*err = acpx_error_new(ACPX_CODE_NODE_UNREACHABLE, NULL, "cli",
		    "Node '%s' (ssh %s) is unreachable: %s", n->name, n->ssh,
		    *line != '\0' ? line : "ssh exited 255");
		free(line);
		return (-1);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_ACPX_MISSING", "cli",
		    "Node '%s' has no acpx at '%s' (set nodes.%s.acpx): %s",
		    n->name, n->acpx, n->name, line);
		free(line);
		return (-1);
	}
	free(line);
	first = node_check_version_word(out, strcspn(out, "\n"));
	native = NULL;
	for (p = out; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL) {
		if (strncmp(p, "acpx-native ", 12) == 0) {
			native = node_check_version_word(p + 12,
			    strcspn(p + 12, "\n"));
			break;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || first == NULL) {
		line = node_check_line(out, 0);
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_ACPX_INCOMPATIBLE",
		    "cli", "Node '%s': '%s --version' did not print an acpx "
		    "version (exit %d): %s", n->name, n->acpx,
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
		    WTERMSIG(status), *line != '\0' ? line : "no output");
		free(line);
		free(first);
		free(native);
		return (-1);
	}
	if (native == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_ACPX_INCOMPATIBLE",
		    "cli", "Node '%s' runs acpx %s, not acpx-native; --node needs "
		    "acpx-native %s or newer there (this is acpx-native %s)",
		    n->name, first, NODE_RELAY_MIN_VERSION, PACKAGE_VERSION);
		free(first);
		return (-1);
	}
	free(first);
	if (node_relay_vercmp(native, NODE_RELAY_MIN_VERSION) < 0) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_ACPX_INCOMPATIBLE",
		    "cli", "Node '%s' runs acpx-native %s; --node needs %s or "
		    "newer there (this is acpx-native %s)", n->name, native,
		    NODE_RELAY_MIN_VERSION, PACKAGE_VERSION);
		free(native);
		return (-1);
	}
	node_relay_check_remember(ctl, native);
	if (version != NULL)
		*version = native;
	else
		free(native);
	return (0);
}

/* Check the node's acpx (see node-relay.h). */
int
node_relay_check(const struct config_node *n, int force, char **version,
    long long *rtt_ms, struct acpx_error **err)
{
	struct timespec	 t0, t1;
	char		*ctl, *cause = NULL, *out = NULL, *tail = NULL, *cmd;
	char		*argv[3] = { "--version", "--verbose", NULL };
	int		 status, rc = -1;

	*err = NULL;
	if (version != NULL)
		*version = NULL;
	if (rtt_ms != NULL)
		*rtt_ms = -1;
	if ((ctl = node_relay_ctl_path(n, &cause)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s", cause);
		free(cause);
		return (-1);
	}
	if (!force && node_relay_check_known(ctl, version) == 0) {
		free(ctl);
		return (0);
	}
	cmd = node_relay_command(n->acpx, argv);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (node_relay_capture(n, ctl, cmd, 0, &status, &out, &tail,
	    &cause) == -1) {
		free(cmd);
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_SSH_MISSING", "cli",
		    "Node '%s': cannot run ssh: %s", n->name, cause);
		free(cause);
		free(ctl);
		return (-1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(cmd);
	if (rtt_ms != NULL)
		*rtt_ms = (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	rc = node_relay_check_verdict(n, ctl, status, out, tail, version, err);
	free(ctl);
	free(out);
	free(tail);
	return (rc);
}
