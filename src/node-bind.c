#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fnmatch.h>

#include "acpx-error.h"
#include "acpx.h"
#include "agent-registry.h"
#include "config-file.h"
#include "node-bind.h"
#include "node-relay.h"
#include "xmalloc.h"

/*
 * The start of a node-bound agent (node-bind.h): which node, and the ssh
 * argv of the node's `acpx warp serve --on-node`.
 */

extern char	**environ;

/*
 * What ssh must not even have in its environment (a SendEnv of the
 * user's ssh_config could send it): provider keys and URLs, Warp's
 * variables, acpx's auth credentials, anything named like a secret.
 */
static const char *const node_bind_secret_env[] = { "WARP_*", "ACPX_AUTH_*",
    "*_API_KEY", "*_API_KEY_*", "*_BASE_URL", "*_TOKEN", "*_SECRET*",
    "*_PASSWORD*", "*_CREDENTIALS*", "OPENCODE_CONFIG_CONTENT" };

char **
node_bind_env_unset(void)
{
	char	**names, *name;
	size_t	  n = 0, i, j;

	for (i = 0; environ[i] != NULL; i++)
		;
	names = xcalloc(i + 1, sizeof *names);
	for (i = 0; environ[i] != NULL; i++) {
		name = xstrndup(environ[i], strcspn(environ[i], "="));
		for (j = 0; j < nitems(node_bind_secret_env); j++) {
			if (fnmatch(node_bind_secret_env[j], name, 0) == 0)
				break;
		}
		if (j < nitems(node_bind_secret_env))
			names[n++] = name;
		else
			free(name);
	}
	return (names);
}

int
node_bind_bound(const struct config *c, const char *agent)
{
	return (config_find_bind(c, agent) != NULL);
}

int
node_bind_bound_name(const struct config *c, const char *name)
{
	char	*norm;
	int	 bound;

	if (c == NULL || name == NULL)
		return (0);
	norm = agent_registry_normalize(name);
	bound = node_bind_bound(c, norm);
	free(norm);
	return (bound);
}

/* --force-fail for a node-bound agent: its normalised id, the provider. */
static char	*node_bind_forced_agent;
static char	*node_bind_forced;

int
node_bind_force_fail(const struct config *c, const char *agent,
    const char *provider)
{
	char	*norm;

	if (c == NULL || agent == NULL || provider == NULL)
		return (0);
	norm = agent_registry_normalize(agent);
	if (!node_bind_bound(c, norm)) {
		free(norm);
		return (0);
	}
	free(node_bind_forced_agent);
	free(node_bind_forced);
	node_bind_forced_agent = norm;
	node_bind_forced = xstrdup(provider);
	return (1);
}

/* The remote command: in the node user's home, exec the node's proxy. */
static char *
node_bind_remote(const struct config_node *n, const char *agent, int perms,
    enum acpx_perm_mode mode, enum acpx_nonint nonint)
{
	char		*argv[12], *cmd, *line;
	size_t		 i = 0;

	if (perms) {
		switch (mode) {
		case ACPX_PERM_APPROVE_ALL:
			argv[i++] = "--approve-all";
			break;
		case ACPX_PERM_DENY_ALL:
			argv[i++] = "--deny-all";
			break;
		default:
			argv[i++] = "--approve-reads";
			break;
		}
		argv[i++] = "--non-interactive-permissions";
		argv[i++] = nonint == ACPX_NONINT_FAIL ?
		    "fail" : "deny";
	}
	argv[i++] = "warp";
	argv[i++] = "serve";
	argv[i++] = "--on-node";
	argv[i++] = (char *)agent;
	if (node_bind_forced != NULL && strcmp(agent,
	    node_bind_forced_agent) == 0) {
		argv[i++] = "--force-fail";
		argv[i++] = node_bind_forced;
	}
	argv[i] = NULL;
	cmd = node_relay_command(n->acpx, argv);
	/* sshd starts us in the home directory; cd makes it $HOME's. */
	xasprintf(&line, "cd 2>/dev/null; %s", cmd);
	free(cmd);
	return (line);
}

/* Reach n (the per-connection check); 0, or -1 with *err. */
static int
node_bind_try(const struct config_node *n, const char *home,
    struct acpx_error **err)
{
	if (node_bind_probe(n, err) == 0) {
		node_bind_state_mark(home, n->name, 0, NULL);
		return (0);
	}
	if ((*err)->code == ACPX_CODE_NODE_UNREACHABLE)
		node_bind_state_mark(home, n->name, 1, (*err)->message);
	return (-1);
}

static int
node_bind_fill(const struct config_node *n, const char *agent, int perms,
    enum acpx_perm_mode mode, enum acpx_nonint nonint, char ***argv,
    char **chosen, struct acpx_error **err)
{
	char	*ctl, *cause = NULL, *remote;

	if ((ctl = node_relay_ctl_path(n, &cause)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    cause);
		free(cause);
		return (-1);
	}
	remote = node_bind_remote(n, agent, perms, mode, nonint);
	*argv = node_relay_ssh_argv(n, ctl, remote);
	*chosen = xstrdup(n->name);
	free(remote);
	free(ctl);
	return (0);
}

int
node_bind_launch(const struct config *c, const char *agent, const char *node,
    int perms, enum acpx_perm_mode mode, enum acpx_nonint nonint,
    char ***argv, char **chosen, struct acpx_error **err)
{
	const struct config_bind	*b;
	const struct config_node	*n, *order[64];
	const char			*home = getenv("HOME");
	struct acpx_error		*last = NULL;
	size_t				 i, k = 0, pass;

	*err = NULL;
	if (node != NULL) {
		if ((n = config_find_node(c, node)) == NULL) {
			*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
			    "The session runs on node '%s', which is not "
			    "configured (nodes.%s)", node, node);
			return (-1);
		}
		if (node_bind_try(n, home, err) == -1)
			return (-1);
		return (node_bind_fill(n, agent, perms, mode, nonint, argv,
		    chosen, err));
	}
	if ((b = config_find_bind(c, agent)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "Agent '%s' is not bound to nodes", agent);
		return (-1);
	}
	/* Nodes not marked down first, in order; then the ones marked. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < b->nnodes && k < nitems(order); i++) {
			n = config_find_node(c, b->nodes[i]);
			if (n != NULL && node_bind_state_down(home, n->name) ==
			    (int)pass)
				order[k++] = n;
		}
	}
	for (i = 0; i < k; i++) {
		if (node_bind_try(order[i], home, err) == 0) {
			acpx_error_free(last);
			return (node_bind_fill(order[i], agent, perms, mode,
			    nonint, argv, chosen, err));
		}
		if (i + 1 < k)
			fprintf(stderr, "[acpx] node %s: %s; trying node %s\n",
			    order[i]->name, (*err)->message, order[i + 1]->name);
		acpx_error_free(last);
		last = *err;
		*err = NULL;
	}
	if ((*err = last) == NULL)
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "Agent '%s' has no usable node", agent);
	return (-1);
}
