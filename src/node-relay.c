#include <config.h>

#include <arpa/inet.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config-file.h"
#include "node-relay.h"
#include "queue-lease.h"
#include "xmalloc.h"

/*
 * The pieces of the relay that do no I/O of their own: the frames, the
 * quoting for the node's shell, the ssh command line and where the shared
 * connection's socket lives.
 */

/* Append one frame to b. */
void
node_relay_frame(struct buf *b, char type, const void *p, size_t n)
{
	uint32_t	len = htonl((uint32_t)n);

	buf_addc(b, type);
	buf_add(b, &len, sizeof len);
	if (n > 0)
		buf_add(b, p, n);
}

/* Take the whole frames at the start of in (see node-relay.h). */
int
node_relay_frames_take(struct buf *in, const char *types, size_t max,
    node_relay_frame_fn fn, void *arg)
{
	uint32_t	len;
	char		type;

	while (in->len >= NODE_FRAME_HEADER) {
		type = in->p[0];
		memcpy(&len, in->p + 1, sizeof len);
		len = ntohl(len);
		if (len > max || type == '\0' || strchr(types, type) == NULL)
			return (-1);
		if (in->len < NODE_FRAME_HEADER + (size_t)len)
			break;
		if (fn(type, in->p + NODE_FRAME_HEADER, len, arg) == -1)
			return (-1);
		buf_drain(in, NODE_FRAME_HEADER + (size_t)len);
	}
	return (0);
}

/* Read a local file whole (see node-relay.h). */
int
node_relay_read_file(const char *path, struct buf *b, char **cause)
{
	char	chunk[65536];
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "Cannot read --file %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "Cannot read --file %s: %s", path,
			    strerror(errno));
			close(fd);
			return (-1);
		}
		if (n == 0)
			break;
		buf_add(b, chunk, (size_t)n);
	}
	close(fd);
	return (0);
}

/* The hello's third and fourth words (see node-relay.h). */
char *
node_relay_hello_relayd(const char *words, int *up)
{
	const char	*sock, *state;

	*up = 0;
	if ((sock = strchr(words, ' ')) == NULL || sock[1] != '/')
		return (NULL);
	sock++;
	if ((state = strchr(sock, ' ')) == NULL || (strcmp(state + 1,
	    "up") != 0 && strcmp(state + 1, "new") != 0))
		return (NULL);
	*up = strcmp(state + 1, "up") == 0;
	return (xstrndup(sock, (size_t)(state - sock)));
}

/* s single-quoted for a POSIX shell. */
char *
node_relay_quote(const char *s)
{
	struct buf	b = BUF_INITIALIZER;

	buf_addc(&b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_adds(&b, "'\\''");
		else
			buf_addc(&b, *s);
	}
	buf_addc(&b, '\'');
	return (buf_take(&b));
}

/* The remote command line: exec <acpx> __node-relay -- <argv...>. */
char *
node_relay_command(const char *acpx, char *const *argv)
{
	struct buf	 b = BUF_INITIALIZER;
	char		*q;
	size_t		 i;

	buf_adds(&b, "exec ");
	if (strncmp(acpx, "~/", 2) == 0) {
		buf_adds(&b, "\"$HOME\"/");
		acpx += 2;
	}
	q = node_relay_quote(acpx);
	buf_adds(&b, q);
	free(q);
	for (i = 0; argv[i] != NULL; i++) {
		q = node_relay_quote(argv[i]);
		buf_addc(&b, ' ');
		buf_adds(&b, q);
		free(q);
	}
	return (buf_take(&b));
}

/* The ssh argv for remote_cmd on node n. */
char **
node_relay_ssh_argv(const struct config_node *n, const char *ctl_path,
    const char *remote_cmd)
{
	char	**argv;
	size_t	  i = 0, j;

	argv = xcalloc(18 + n->nssh_options, sizeof *argv);
	argv[i++] = xstrdup("ssh");
	argv[i++] = xstrdup("-T");
	/* ssh takes the first value of an option: ours come first. */
	argv[i++] = xstrdup("-o");
	argv[i++] = xstrdup("BatchMode=yes");
	argv[i++] = xstrdup("-o");
	argv[i++] = xstrdup("ControlMaster=auto");
	argv[i++] = xstrdup("-o");
	xasprintf(&argv[i++], "ControlPath=%s", ctl_path);
	argv[i++] = xstrdup("-o");
	argv[i++] = xstrdup("ControlPersist=60");
	for (j = 0; j < n->nssh_options; j++)
		argv[i++] = xstrdup(n->ssh_options[j]);
	/* After them: an sshOptions ConnectTimeout wins. */
	argv[i++] = xstrdup("-o");
	xasprintf(&argv[i++], "ConnectTimeout=%d", n->connect_timeout > 0 ?
	    n->connect_timeout : 20);
	argv[i++] = xstrdup(n->ssh);
	argv[i++] = xstrdup("--");
	argv[i++] = xstrdup(remote_cmd);
	argv[i] = NULL;
	return (argv);
}

void
node_relay_argv_free(char **argv)
{
	size_t	i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/*
 * <private socket directory>/n-<name>: the queue sockets' directory,
 * private to this user and $HOME. Node names are short (config-nodes.c),
 * which keeps the path and ssh's temporary name beside it under the
 * length of a socket address.
 */
char *
node_relay_ctl_path(const struct config_node *n, char **cause)
{
	char	*dir, *p;

	if (queue_lease_socket_dir_check(1, cause) == -1)
		return (NULL);
	dir = queue_lease_socket_dir();
	xasprintf(&p, "%s/n-%s", dir, n->name);
	free(dir);
	return (p);
}

/*
 * Let the shared connection outlive us. spawn_child() made this process a
 * child subreaper, which would adopt ssh's ControlPersist master when the
 * ssh that forked it exits, and kill it at our exit. The relay starts no
 * agent, so it gives that up again right after starting ssh (before that
 * ssh can exit): the master then goes to init and ends itself after
 * ControlPersist seconds idle.
 */
void
node_relay_no_subreaper(void)
{
#if defined(__linux__) && defined(PR_SET_CHILD_SUBREAPER)
	(void)prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
#endif
}

/* Compare dotted versions. */
int
node_relay_vercmp(const char *a, const char *b)
{
	unsigned long	x, y;
	char		*e;

	while (*a != '\0' || *b != '\0') {
		x = strtoul(a, &e, 10);
		a = e;
		y = strtoul(b, &e, 10);
		b = e;
		if (x != y)
			return (x < y ? -1 : 1);
		if (*a == '.')
			a++;
		else
			a = "";
		if (*b == '.')
			b++;
		else
			b = "";
	}
	return (0);
}
