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
 * Is a node reachable, and does it run an acpx-native new enough, before
 * an agent is started there? A live shared connection whose check is
 * remembered (node-relay.h) says yes at no cost. Otherwise ssh runs
 * `<acpx> --version --verbose` over the shared connection (opening it for
 * the agent that follows) within nodeConnectTimeout seconds, and its
 * answer is judged and remembered as --node's check does.
 *
 * A labelled blocking step, like the slot wait: it runs ssh with fork and
 * waitpid, on no event loop, so that it may be called from inside one (a
 * queue owner's turn, the proxy's harness start) without running that
 * loop's other watchers under its caller. Bounded by the deadline: ssh
 * is killed when it is late.
 */

#define NODE_PROBE_TAIL	512
#define NODE_PROBE_OUT	4096	/* what --version --verbose may print */

static long long
node_probe_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Does a master answer on the ControlPath socket (not a stale file)? */
static int
node_probe_live(const char *ctl)
{
	int	fd;

	if ((fd = node_relay_mux_connect(ctl)) == -1)
		return (0);
	close(fd);
	return (1);
}

static pid_t
node_probe_spawn(char **argv, int *outfd, int *errfd)
{
	sigset_t	set;
	pid_t		pid;
	int		o[2], e[2], null, fd;

	if (pipe2(o, O_CLOEXEC) == -1)
		return (-1);
	if (pipe2(e, O_CLOEXEC) == -1) {
		close(o[0]);
		close(o[1]);
		return (-1);
	}
	if ((pid = fork()) == -1) {
		close(o[0]);
		close(o[1]);
		close(e[0]);
		close(e[1]);
		return (-1);
	}
	if (pid == 0) {
		sigemptyset(&set);
		sigprocmask(SIG_SETMASK, &set, NULL);
		signal(SIGPIPE, SIG_DFL);
		if ((null = open("/dev/null", O_RDWR)) == -1)
			_exit(127);
		dup2(null, STDIN_FILENO);
		dup2(o[1], STDOUT_FILENO);
		dup2(e[1], STDERR_FILENO);
		for (fd = STDERR_FILENO + 1; fd < 1024; fd++)
			close(fd);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	fcntl(o[0], F_SETFL, fcntl(o[0], F_GETFL) | O_NONBLOCK);
	fcntl(e[0], F_SETFL, fcntl(e[0], F_GETFL) | O_NONBLOCK);
	*outfd = o[0];
	*errfd = e[0];
	return (pid);
}

/*
 * Read what fd has now into b (at most max bytes kept: the first ones for
 * stdout, the last ones for stderr's tail). Closes it and sets -1 at EOF.
 */
static void
node_probe_drain(int *fd, char *b, size_t *len, size_t max, int keep_tail)
{
	char	chunk[512];
	ssize_t	r;
	size_t	n, drop;

	while (*fd != -1) {
		if ((r = read(*fd, chunk, sizeof chunk)) == 0) {
			close(*fd);	/* every writer is gone */
			*fd = -1;
			break;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n = (size_t)r;
		if (!keep_tail) {
			if (*len + n > max)
				n = max - *len;
			memcpy(b + *len, chunk, n);
			*len += n;
		} else {
			if (*len + n > max) {
				if (n >= max) {
					memcpy(b, chunk + n - max, max);
					*len = max;
					continue;
				}
				drop = *len + n - max;
				memmove(b, b + drop, *len - drop);
				*len -= drop;
			}
			memcpy(b + *len, chunk, n);
			*len += n;
		}
		b[*len] = '\0';
	}
}

int
node_bind_probe(const struct config_node *n, struct acpx_error **err)
{
	struct pollfd	 pfd[2];
	char		*ctl, *cause = NULL, *cmd, **argv;
	char		*vargv[3] = { "--version", "--verbose", NULL };
	char		 tail[NODE_PROBE_TAIL + 1], out[NODE_PROBE_OUT + 1];
	size_t		 tlen = 0, olen = 0;
	long long	 deadline;
	pid_t		 pid, w;
	int		 status = 0, ofd, efd, done = 0, late = 0, timeout;
	int		 nfd, rc;

	*err = NULL;
	if ((ctl = node_relay_ctl_path(n, &cause)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    cause);
		free(cause);
		return (-1);
	}
	/* A live shared connection whose acpx was checked: nothing to do. */
	if (node_probe_live(ctl) && node_relay_check_known(ctl, NULL) == 0) {
		free(ctl);
		return (0);
	}
	cmd = node_relay_command(n->acpx, vargv);
	argv = node_relay_ssh_argv(n, ctl, cmd);
	free(cmd);
	pid = node_probe_spawn(argv, &ofd, &efd);
	node_relay_argv_free(argv);
	if (pid == -1) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "NODE_SSH_MISSING",
		    "cli", "Node '%s': cannot run ssh: %s", n->name,
		    strerror(errno));
		free(ctl);
		return (-1);
	}
	timeout = n->connect_timeout > 0 ? n->connect_timeout : 20;
	deadline = node_probe_now_ms() + timeout * 1000LL;
	tail[0] = out[0] = '\0';
	while (!done) {
		nfd = 0;
		if (ofd != -1) {
			pfd[nfd].fd = ofd;
			pfd[nfd].events = POLLIN;
			pfd[nfd++].revents = 0;
		}
		if (efd != -1) {
			pfd[nfd].fd = efd;
			pfd[nfd].events = POLLIN;
			pfd[nfd++].revents = 0;
		}
		/* A ControlPersist master keeps the pipes: poll in short steps. */
		(void)poll(nfd > 0 ? pfd : NULL, (nfds_t)nfd, 50);
		node_probe_drain(&ofd, out, &olen, NODE_PROBE_OUT, 0);
		node_probe_drain(&efd, tail, &tlen, NODE_PROBE_TAIL, 1);
		if ((w = waitpid(pid, &status, WNOHANG)) == pid ||
		    (w == -1 && errno != EINTR)) {
			done = 1;
			/* What it wrote just before it exited. */
			node_probe_drain(&ofd, out, &olen, NODE_PROBE_OUT, 0);
			node_probe_drain(&efd, tail, &tlen, NODE_PROBE_TAIL, 1);
		} else if (node_probe_now_ms() >= deadline) {
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
				;
			late = done = 1;
		}
	}
	if (ofd != -1)
		close(ofd);
	if (efd != -1)
		close(efd);
	if (late) {
		*err = acpx_error_new(ACPX_CODE_NODE_UNREACHABLE, NULL, "cli",
		    "Node '%s' (ssh %s) is unreachable: no answer within %d "
		    "seconds (nodeConnectTimeout)", n->name, n->ssh, timeout);
		free(ctl);
		return (-1);
	}
	/* The same judgement, and memory, as --node's check. */
	rc = node_relay_check_verdict(n, ctl, status, out, tail, NULL, err);
	free(ctl);
	return (rc);
}
