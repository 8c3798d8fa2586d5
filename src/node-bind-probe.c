#include <config.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acpx-error.h"
#include "config-file.h"
#include "node-bind.h"
#include "node-relay.h"
#include "xmalloc.h"

/*
 * Is a node reachable before an agent is started there? A live shared
 * connection (its ControlPath socket is there) says yes at no cost.
 * Otherwise ssh runs `exec <acpx> --version` over a new shared connection
 * (which it opens for the agent that follows) and must exit 0 within
 * nodeConnectTimeout seconds.
 *
 * A labelled blocking step, like the slot wait: it runs ssh with fork and
 * waitpid, on no event loop, so that it may be called from inside one (a
 * queue owner's turn, the proxy's harness start) without running that
 * loop's other watchers under its caller. Bounded by the deadline: ssh
 * is killed when it is late.
 */

#define NODE_PROBE_TAIL	512

static long long
node_probe_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The last non-empty line of s, control characters as '?'. Caller frees. */
static char *
node_probe_line(const char *s)
{
	const char	*b, *e = s + strlen(s);
	char		*l;
	size_t		 i;

	while (e > s && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	for (b = e; b > s && b[-1] != '\n'; b--)
		;
	l = xstrndup(b, (size_t)(e - b));
	for (i = 0; l[i] != '\0'; i++) {
		if ((unsigned char)l[i] < 0x20 || l[i] == 0x7f)
			l[i] = '?';
	}
	return (l);
}

/* Does a master answer on the ControlPath socket (not a stale file)? */
static int
node_probe_live(const char *ctl)
{
	struct sockaddr_un	sun;
	struct stat		sb;
	int			fd, ok;

	if (lstat(ctl, &sb) == -1 || !S_ISSOCK(sb.st_mode) ||
	    strlen(ctl) >= sizeof sun.sun_path)
		return (0);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, ctl, strlen(ctl));
	ok = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	close(fd);
	return (ok);
}

static pid_t
node_probe_spawn(char **argv, int *errfd)
{
	sigset_t	set;
	pid_t		pid;
	int		fds[2], null, fd;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return (-1);
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return (-1);
	}
	if (pid == 0) {
		sigemptyset(&set);
		sigprocmask(SIG_SETMASK, &set, NULL);
		signal(SIGPIPE, SIG_DFL);
		if ((null = open("/dev/null", O_RDWR)) == -1)
			_exit(127);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		for (fd = STDERR_FILENO + 1; fd < 1024; fd++)
			close(fd);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	*errfd = fds[0];
	return (pid);
}

int
node_bind_probe(const struct config_node *n, struct acpx_error **err)
{
	struct pollfd	 pfd;
	char		*ctl, *cause = NULL, *cmd, *line, **argv;
	char		*vargv[2] = { "--version", NULL };
	char		 tail[NODE_PROBE_TAIL + 1], b[256];
	size_t		 tlen = 0, drop;
	long long	 deadline;
	ssize_t		 r;
	pid_t		 pid, w;
	int		 status = 0, fd, done = 0, late = 0, timeout;

	*err = NULL;
	if ((ctl = node_relay_ctl_path(n, &cause)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    cause);
		free(cause);
		return (-1);
	}
	if (node_probe_live(ctl)) {
		free(ctl);
		return (0);	/* a live shared connection */
	}
	cmd = node_relay_command(n->acpx, vargv);
	line = xstrdup(cmd);
	free(cmd);
	xasprintf(&cmd, "%s >/dev/null", line);
	free(line);
	argv = node_relay_ssh_argv(n, ctl, cmd);
	free(cmd);
	free(ctl);
	pid = node_probe_spawn(argv, &fd);
	node_relay_argv_free(argv);
	if (pid == -1) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_SSH_MISSING",
		    "cli", "Node '%s': cannot run ssh: %s", n->name,
		    strerror(errno));
		return (-1);
	}
	timeout = n->connect_timeout > 0 ? n->connect_timeout : 20;
	deadline = node_probe_now_ms() + timeout * 1000LL;
	tail[0] = '\0';
	while (!done) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* A ControlPersist master keeps the pipe: poll in short steps. */
		(void)poll(fd != -1 ? &pfd : NULL, fd != -1 ? 1 : 0, 50);
		while (fd != -1) {
			if ((r = read(fd, b, sizeof b)) == 0) {
				close(fd);	/* every writer is gone */
				fd = -1;
				break;
			}
			if (r < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (tlen + (size_t)r > NODE_PROBE_TAIL) {
				drop = tlen + (size_t)r - NODE_PROBE_TAIL;
				memmove(tail, tail + drop, tlen - drop);
				tlen -= drop;
			}
			memcpy(tail + tlen, b, (size_t)r);
			tlen += (size_t)r;
			tail[tlen] = '\0';
		}
		if ((w = waitpid(pid, &status, WNOHANG)) == pid ||
		    (w == -1 && errno != EINTR))
			done = 1;
		else if (node_probe_now_ms() >= deadline) {
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
				;
			late = done = 1;
		}
	}
	if (fd != -1)
		close(fd);
	if (late) {
		*err = acpx_error_new(ACPX_CODE_NODE_UNREACHABLE, NULL, "cli",
		    "Node '%s' (ssh %s) is unreachable: no answer within %d "
		    "seconds (nodeConnectTimeout)", n->name, n->ssh, timeout);
		return (-1);
	}
	line = node_probe_line(tail);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		free(line);
		return (0);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 255)
		*err = acpx_error_new(ACPX_CODE_NODE_UNREACHABLE, NULL, "cli",
		    "Node '%s' (ssh %s) is unreachable: %s", n->name, n->ssh,
		    *line != '\0' ? line : "ssh exited 255");
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_ACPX_MISSING",
		    "cli", "Node '%s' has no acpx at '%s' (set nodes.%s.acpx): "
		    "%s", n->name, n->acpx, n->name, line);
	else
		*err = acpx_error_new(ACPX_CODE_RUNTIME,
		    "NODE_ACPX_INCOMPATIBLE", "cli", "Node '%s': '%s --version' "
		    "failed (exit %d): %s", n->name, n->acpx, WIFEXITED(status) ?
		    WEXITSTATUS(status) : 128 + WTERMSIG(status), line);
	free(line);
	return (-1);
}
