#include <config.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node-relay.h"
#include "sha256.h"
#include "xmalloc.h"

/*
 * This side's way to the node's resident relay: a stream-local forward
 * that the shared connection's master holds, from a socket next to the
 * control socket (<ctl>.<8 hex digits of the daemon's path>, in the same
 * private directory) to the daemon's socket on the node. It is asked for
 * once per connection, after a session's hello named the daemon, and
 * remembered in <ctl>.fwd (node_relay_memo_*) with the node's configured
 * acpx: "on <daemon's socket>", or "off" when this connection's forward does not reach a daemon that runs
 * (the node's sshd refuses stream-local forwarding) or the master would
 * not set it up. A new connection is a new socket and starts over.
 */

#define NODE_DIRECT_MEMO	".fwd"

/* The local end for the daemon's socket remote. */
static char *
node_direct_path(const char *ctl, const char *remote)
{
	char	hex[65], *p;

	sha256_hex(remote, strlen(remote), hex);
	hex[8] = '\0';
	xasprintf(&p, "%s.%s", ctl, hex);
	return (p);
}

/*
 * The daemon's socket the memo says is forwarded, for the node's acpx
 * acpx (a node whose configured acpx changed starts over), or NULL.
 */
static char *
node_direct_remote(const char *ctl, const char *acpx, int *off)
{
	char	*text, *remote = NULL, *nl;

	*off = 0;
	if ((text = node_relay_memo_read(ctl, NODE_DIRECT_MEMO)) == NULL)
		return (NULL);
	/* "on <socket>\n<acpx>\n" or "off\n<acpx>\n" */
	if ((nl = strchr(text, '\n')) == NULL ||
	    strncmp(nl + 1, acpx, strlen(acpx)) != 0 ||
	    strcmp(nl + 1 + strlen(acpx), "\n") != 0) {
		free(text);
		return (NULL);
	}
	*nl = '\0';
	if (strncmp(text, "on /", 4) == 0)
		remote = xstrdup(text + 3);
	else
		*off = strcmp(text, "off") == 0;
	free(text);
	return (remote);
}

static void
node_direct_remember(const char *ctl, const char *acpx, const char *remote)
{
	char	*text;

	if (remote != NULL)
		xasprintf(&text, "on %s\n%s\n", remote, acpx);
	else
		xasprintf(&text, "off\n%s\n", acpx);
	node_relay_memo_write(ctl, NODE_DIRECT_MEMO, text);
	free(text);
}

/* The forwarded socket for this connection (see node-relay.h). */
char *
node_relay_direct_local(const char *ctl, const char *acpx)
{
	char	*remote, *local;
	int	 off;

	if ((remote = node_direct_remote(ctl, acpx, &off)) == NULL)
		return (NULL);
	local = node_direct_path(ctl, remote);
	free(remote);
	return (local);
}

/* Does something listen at path (the master's forward)? */
static int
node_direct_listening(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, rc;

	if (strlen(path) >= sizeof sun.sun_path)
		return (0);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	close(fd);
	return (rc);
}

/* After a session's hello named the daemon (see node-relay.h). */
void
node_relay_direct_note(const char *ctl, const char *acpx,
    const char *remote, int up, int failed)
{
	char	*was, *local;
	int	 off;

	was = node_direct_remote(ctl, acpx, &off);
	if (off) {
		free(was);
		return;		/* this connection does not forward */
	}
	if (was != NULL && strcmp(was, remote) == 0) {
		/* The forward is there; it failed with the daemon up: the
		   node refuses it. (A daemon started by this session
		   explains the failure: it had ended.) */
		if (failed && up)
			node_direct_remember(ctl, acpx, NULL);
		free(was);
		return;
	}
	free(was);
	local = node_direct_path(ctl, remote);
	/* A socket left by a master that is gone is stale; a live one is
	   this master's forward (its memo lost): asking again is fine. */
	if (!node_direct_listening(local))
		(void)unlink(local);
	node_direct_remember(ctl, acpx, node_relay_mux_forward(ctl, local,
	    remote) == 0 ? remote : NULL);
	free(local);
}
