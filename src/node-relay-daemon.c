#include <config.h>

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "node-relay.h"
#include "queue-lease.h"
#include "sha256.h"
#include "xmalloc.h"

/*
 * The resident relay on the node: `acpx __node-relayd`, one per node user
 * (its private socket directory, the queue sockets') and acpx binary
 * (its version and path in the socket's name: an upgrade or another build
 * gets a daemon of its own). It holds <socket>.lock (flock; its pid
 * written in it) for its whole life, so one runs per path; it removes a
 * stale socket under that lock, and its socket when it ends. It waits in
 * poll() (no event loop of its own); each connection from its own uid
 * (SO_PEERCRED) gets a handler (fork, no exec): the hello frame, the 'A'
 * frame, then node_relay_serve_run() framed, whose child goes on as the
 * command. It ends after ACPX_RELAYD_IDLE seconds (NODE_RELAYD_IDLE_S)
 * without a connection or a handler, or at the first connection after its
 * executable was replaced (that connection gets no hello: the client's
 * session path then starts the new one). Its commands get its
 * environment and working directory: the first session's that started it.
 */

#define NODE_RELAYD_ARGS_WAIT_MS	30000	/* the 'A' frame, after hello */

static volatile sig_atomic_t	node_relayd_chld;

/* A command's args (kept reachable until it exits: its argv's strings). */
static char	*volatile node_relayd_payload;
static char	**volatile node_relayd_args;

static void
node_relayd_sigchld(int signo)
{
	(void)signo;
	node_relayd_chld = 1;
}

/* The executable's path (it names the daemon); NULL where unknown. */
static char *
node_relayd_exe(void)
{
	char	b[4096];
	ssize_t	n;

	if ((n = readlink("/proc/self/exe", b, sizeof b - 1)) <= 0)
		return (NULL);
	b[n] = '\0';
	return (xstrdup(b));
}

/* The socket's path (see node-relay.h). */
char *
node_relay_daemon_socket(char **cause)
{
	char	*dir, *exe, *p, hex[65];

	if ((exe = node_relayd_exe()) == NULL) {
		*cause = xstrdup("no /proc/self/exe");
		return (NULL);
	}
	if (queue_lease_socket_dir_check(1, cause) == -1) {
		free(exe);
		return (NULL);
	}
	sha256_hex(exe, strlen(exe), hex);
	hex[8] = '\0';
	dir = queue_lease_socket_dir();
	xasprintf(&p, "%s/%s-%s-%s.sock", dir, NODE_RELAYD_NAME,
	    PACKAGE_VERSION, hex);
	free(dir);
	free(exe);
	return (p);
}

/* <socket less .sock>.lock, opened (close-on-exec); -1 on failure. */
static int
node_relayd_lock_open(const char *sock)
{
	char	*lock;
	size_t	 n = strlen(sock);
	int	 fd;

	if (n > 5 && strcmp(sock + n - 5, ".sock") == 0)
		n -= 5;
	xasprintf(&lock, "%.*s.lock", (int)n, sock);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(lock);
	return (fd);
}

/* Does the daemon run (see node-relay.h)? */
int
node_relay_daemon_running(const char *sock)
{
	int	fd;

	if ((fd = node_relayd_lock_open(sock)) == -1)
		return (-1);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return (errno == EWOULDBLOCK ? 1 : -1);
	}
	/* None runs: the one started takes the lock itself (a second one
	   started meanwhile finds it taken and goes). */
	close(fd);
	return (0);
}

/* Start one (see node-relay.h). */
void
node_relay_daemon_start(void)
{
	pid_t	pid;
	int	st, nul;

	if ((pid = fork()) == -1)
		return;
	if (pid == 0) {
		/* Detached: its own session, /dev/null for stdio, and not
		   our child (we do not wait for it). */
		(void)setsid();
		if (fork() != 0)
			_exit(0);
		if ((nul = open("/dev/null", O_RDWR)) != -1) {
			dup2(nul, STDIN_FILENO);
			dup2(nul, STDOUT_FILENO);
			dup2(nul, STDERR_FILENO);
			if (nul > STDERR_FILENO)
				close(nul);
		}
		execl("/proc/self/exe", "acpx", "__node-relayd", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
}

/* Read exactly n bytes from c within the deadline; -1 otherwise. */
static int
node_relayd_read_full(int c, void *p, size_t n, int wait_ms)
{
	struct pollfd	pfd;
	ssize_t		r;
	size_t		got = 0;

	while (got < n) {
		pfd.fd = c;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, wait_ms) <= 0)
			return (-1);
		r = read(c, (char *)p + got, n - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return (-1);
		got += (size_t)r;
	}
	return (0);
}

/*
 * A handler (forked for connection c): say hello, take the 'A' frame, and
 * relay the command. The command's child returns its argc with
 * *child_argv; the handler its exit status.
 */
static int
node_relayd_handle(int c, char ***child_argv)
{
	struct buf	 b = BUF_INITIALIZER;
	unsigned char	 h[NODE_FRAME_HEADER];
	uint32_t	 len;
	char		*payload, **args, *p, *e;
	int		 nargs = 0, hangup_kill, rc;

	buf_adds(&b, NODE_RELAY_HELLO " " PACKAGE_VERSION);
	payload = buf_take(&b);
	buf_init(&b, 0);
	node_relay_frame(&b, NODE_FRAME_HELLO, payload, strlen(payload));
	free(payload);
	rc = send(c, b.p, b.len, MSG_NOSIGNAL) == (ssize_t)b.len ? 0 : -1;
	buf_free(&b);
	if (rc == -1 || node_relayd_read_full(c, h, sizeof h,
	    NODE_RELAYD_ARGS_WAIT_MS) == -1)
		return (1);
	memcpy(&len, h + 1, sizeof len);
	len = ntohl(len);
	if (h[0] != NODE_FRAME_ARGS || len == 0 || len > NODE_FRAME_ARGS_MAX)
		return (1);
	payload = xmalloc((size_t)len);
	if (node_relayd_read_full(c, payload, len,
	    NODE_RELAYD_ARGS_WAIT_MS) == -1 || payload[len - 1] != '\0') {
		free(payload);
		return (1);
	}
	/* "term|kill\0arg\0arg\0...": the strings stay in payload. */
	hangup_kill = strcmp(payload, "kill") == 0;
	args = xcalloc((size_t)len + 1, sizeof *args);
	e = payload + len;
	for (p = payload + strlen(payload) + 1; p < e; p += strlen(p) + 1)
		args[nargs++] = p;
	rc = node_relay_serve_run(c, 1, hangup_kill, 0, args, nargs,
	    child_argv);
	if (*child_argv != NULL) {
		/* The command: its strings live until it exits. */
		node_relayd_payload = payload;
		node_relayd_args = args;
		return (rc);
	}
	free(args);
	free(payload);
	close(c);
	return (rc);
}

/* The socket, bound and listening (a stale one replaced); -1. */
static int
node_relayd_listen(const char *sock)
{
	struct sockaddr_un	sun;
	int			fd;

	if (strlen(sock) >= sizeof sun.sun_path)
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock, strlen(sock));
	(void)unlink(sock);		/* under the lock: stale */
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(fd, 64) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static double
node_relayd_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Was our executable replaced since we started? */
static int
node_relayd_replaced(const char *exe, const struct stat *st0)
{
	struct stat	st;

	return (exe == NULL || stat(exe, &st) == -1 || st.st_dev !=
	    st0->st_dev || st.st_ino != st0->st_ino || st.st_mtim.tv_sec !=
	    st0->st_mtim.tv_sec || st.st_mtim.tv_nsec != st0->st_mtim.tv_nsec);
}

/* `acpx __node-relayd` (see node-relay.h). */
int
node_relay_daemon_main(int argc, char **argv, char ***child_argv)
{
	struct sigaction	 sa;
	struct pollfd		 pfd;
	struct ucred		 cr;
	struct timespec		 ts, *tsp;
	struct stat		 st0;
	sigset_t		 chld, none;
	socklen_t		 crlen;
	const char		*env;
	char			*sock, *exe, *cause = NULL, pidline[32];
	double			 idle = NODE_RELAYD_IDLE_S, last, left;
	pid_t			 pid;
	int			 lock, lfd, c, st, nhandlers = 0, rc;

	(void)argc;
	(void)argv;
	*child_argv = NULL;
	if ((env = getenv("ACPX_RELAYD_IDLE")) != NULL && *env != '\0')
		idle = strtod(env, NULL);
	if ((sock = node_relay_daemon_socket(&cause)) == NULL) {
		free(cause);
		return (1);
	}
	exe = node_relayd_exe();
	if (exe == NULL || stat(exe, &st0) == -1 ||
	    (lock = node_relayd_lock_open(sock)) == -1) {
		free(exe);
		free(sock);
		return (1);
	}
	if (flock(lock, LOCK_EX | LOCK_NB) == -1) {
		free(exe);
		free(sock);
		return (0);		/* another one runs */
	}
	snprintf(pidline, sizeof pidline, "%ld\n", (long)getpid());
	if (ftruncate(lock, 0) == 0 &&
	    pwrite(lock, pidline, strlen(pidline), 0) == -1) {
		/* The pid is for people (and the tests) only. */
	}
	if ((lfd = node_relayd_listen(sock)) == -1) {
		free(exe);
		free(sock);
		return (1);
	}

	/* SIGCHLD wakes ppoll() only (no race: blocked in between). */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &none);
	sigdelset(&none, SIGCHLD);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = node_relayd_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGHUP, SIG_IGN);

	last = node_relayd_now();
	for (;;) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			nhandlers--;
			last = node_relayd_now();
		}
		node_relayd_chld = 0;
		left = idle - (node_relayd_now() - last);
		if (nhandlers <= 0 && left <= 0)
			break;
		tsp = NULL;
		if (nhandlers <= 0) {
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
			tsp = &ts;
		}
		pfd.fd = lfd;
		pfd.events = POLLIN;
		if (ppoll(&pfd, 1, tsp, &none) <= 0 ||
		    (pfd.revents & POLLIN) == 0)
			continue;
		if ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		crlen = sizeof cr;
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1 ||
		    cr.uid != geteuid()) {
			close(c);	/* not our user: no hello */
			continue;
		}
		if (node_relayd_replaced(exe, &st0)) {
			close(c);	/* an upgrade: its session starts the new */
			break;
		}
		last = node_relayd_now();
		if ((pid = fork()) == -1) {
			close(c);
			continue;
		}
		if (pid == 0) {
			close(lfd);
			close(lock);
			signal(SIGCHLD, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			sigprocmask(SIG_SETMASK, &none, NULL);
			free(exe);
			free(sock);
			return (node_relayd_handle(c, child_argv));
		}
		nhandlers++;
		close(c);
	}
	(void)unlink(sock);
	close(lfd);
	rc = 0;
	close(lock);		/* the lock goes last */
	free(exe);
	free(sock);
	return (rc);
}
