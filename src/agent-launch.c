#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "acpx-error.h"
#include "acpx.h"
#include "agent-launch.h"
#include "agent-registry.h"
#include "cmdline.h"
#include "node-bind.h"
#include "config-file.h"
#include "secrets.h"
#include "warp.h"
#include "warp-endpoint.h"
#include "warp-tap.h"
#include "xmalloc.h"

/*
 * The launch resolvers, tried in order; the first whose match accepts the
 * normalised name resolves it. A resolver fills a struct warp_env-shaped
 * change set (set, unset, secrets), may pick another agent and may leave a
 * notice. New kinds of routed agents add a row here.
 */
struct agent_resolver {
	const char	*name;
	int		(*match)(const struct config *, const char *normalized);
	int		(*resolve)(const struct config *, const char *normalized,
			    int flags, struct warp_env *, char **selected,
			    char **notice, struct acpx_error **);
};

static int	agent_launch_host_match(const struct config *, const char *);
static int	agent_launch_host(const struct config *, const char *, int,
		    struct warp_env *, char **, char **, struct acpx_error **);
static int	agent_launch_warp_match(const struct config *, const char *);
static int	agent_launch_warp(const struct config *, const char *, int,
		    struct warp_env *, char **, char **, struct acpx_error **);

static const struct agent_resolver agent_resolvers[] = {
	/* A plain harness alias: this host's warp.hostDefaults. */
	{ "warp-host", agent_launch_host_match, agent_launch_host },
	/* <harness>-warp-<provider>-<family>, unless a configured agent. */
	{ "warp", agent_launch_warp_match, agent_launch_warp },
};

static int
agent_launch_host_match(const struct config *c, const char *normalized)
{
	return (warp_harness_find(agent_registry_canonical(normalized)) != NULL);
}

static int
agent_launch_host(const struct config *c, const char *normalized, int flags,
    struct warp_env *env, char **selected, char **notice,
    struct acpx_error **err)
{
	return (warp_launch_host(c, agent_registry_canonical(normalized), env,
	    err));
}

static int
agent_launch_warp_match(const struct config *c, const char *normalized)
{
	return (config_find_agent(c, normalized) == NULL &&
	    warp_id_looks(normalized));
}

static int
agent_launch_warp(const struct config *c, const char *normalized, int flags,
    struct warp_env *env, char **selected, char **notice,
    struct acpx_error **err)
{
	return (warp_launch_id(c, normalized, ((flags & AGENT_LAUNCH_PICK) ?
	    WARP_LAUNCH_PICK : 0) | ((flags & AGENT_LAUNCH_HOP) ?
	    WARP_LAUNCH_HOP : 0) | ((flags & AGENT_LAUNCH_HOP_LAST) ?
	    WARP_LAUNCH_LAST : 0) | ((flags & AGENT_LAUNCH_TAP) ?
	    WARP_LAUNCH_TAP : 0),
	    selected, notice, env, err));
}

/* Move a change set's lists into the launch. */
static void
agent_launch_take(struct agent_launch *l, struct warp_env *env)
{
	l->env_add = env->set;
	l->env_unset = env->unset;
	l->secrets = env->secrets;
	l->endpoint = env->endpoint;
	env->endpoint = NULL;
	l->tap = warp_tap_new(env->tap);	/* takes the spec */
	env->tap = NULL;
	env->set = env->unset = env->secrets = NULL;
	env->nset = env->nunset = env->nsecrets = 0;
}

/*
 * A node-bound start (node-bind.h): the ssh argv of the node's proxy for
 * agent (normalised; l takes it, and on failure it is freed with the rest
 * of l).
 */
static int
agent_launch_node(const struct config *c, char *agent, const char *node,
    int flags, struct agent_launch *l, struct acpx_error **err)
{
	l->agent = agent;
	if (node_bind_launch(c, agent, node, (flags & AGENT_LAUNCH_PERMS) != 0,
	    (enum acpx_perm_mode)AGENT_LAUNCH_PERM_MODE(flags),
	    (enum acpx_nonint)AGENT_LAUNCH_NONINT(flags), &l->argv, &l->node,
	    err) == -1) {
		agent_launch_clear(l);
		return (-1);
	}
	/* No secret of this machine in ssh's environment. */
	l->env_unset = node_bind_env_unset();
	return (0);
}

/* The registry's argv for name. */
static char **
agent_launch_resolve_argv(const struct config *c, const char *name)
{
	struct agent_spec	 spec;
	char			**argv;

	agent_registry_resolve(c, name, NULL, &spec);
	argv = spec.argv;
	spec.argv = NULL;
	agent_registry_spec_clear(&spec);
	return (argv);
}

int
agent_launch_prepare(const struct config *c, const char *name,
    char *const *argv, int flags, struct agent_launch *l,
    struct acpx_error **err)
{
	const struct agent_resolver	*r = NULL;
	struct warp_env			 env;
	char				*normalized = NULL, *selected = NULL;
	size_t				 i;

	memset(l, 0, sizeof *l);
	memset(&env, 0, sizeof env);
	*err = NULL;
	if (name != NULL && c != NULL) {
		normalized = agent_registry_normalize(name);
		/* Bound to nodes: the node's proxy resolves it there. */
		if (!(flags & AGENT_LAUNCH_HERE) &&
		    node_bind_bound(c, normalized))
			return (agent_launch_node(c, normalized, NULL, flags, l,
			    err));
		for (i = 0; i < nitems(agent_resolvers); i++) {
			if (agent_resolvers[i].match(c, normalized)) {
				r = &agent_resolvers[i];
				break;
			}
		}
	}
	if (r != NULL) {
		if (r->resolve(c, normalized, flags, &env, &selected,
		    &l->notice, err) == -1) {
			warp_env_clear(&env);
			free(selected);
			free(normalized);
			agent_launch_clear(l);
			return (-1);
		}
		/* The pick fell on an agent bound to nodes: start it there. */
		if (selected != NULL && strcmp(selected, normalized) != 0 &&
		    !(flags & AGENT_LAUNCH_HERE) && node_bind_bound(c,
		    selected)) {
			warp_env_clear(&env);
			free(normalized);
			return (agent_launch_node(c, selected, NULL, flags, l,
			    err));
		}
		agent_launch_take(l, &env);
		l->agent = selected != NULL ? selected : xstrdup(normalized);
	}
	if (l->agent != NULL && strcmp(l->agent, normalized) != 0)
		l->argv = agent_launch_resolve_argv(c, l->agent);
	else if (argv != NULL)
		l->argv = cmdline_copy(argv);
	else if (name != NULL)
		l->argv = agent_launch_resolve_argv(c, name);
	warp_endpoint_bind(l->endpoint, l->argv, l->env_add, l->env_unset,
	    l->secrets);
	free(normalized);
	return (0);
}

int
agent_launch_session(const struct config *c, const char *agent_command,
    const char *serving, const char *node, int flags, struct agent_launch *l,
    struct acpx_error **err)
{
	memset(l, 0, sizeof *l);
	*err = NULL;
	if (node != NULL && agent_command != NULL && c != NULL)
		return (agent_launch_node(c, agent_registry_normalize(
		    agent_command), node, flags, l, err));
	if (agent_command == NULL || !warp_id_looks(agent_command))
		return (0);
	return (agent_launch_prepare(c, serving != NULL ? serving :
	    agent_command, NULL, flags & AGENT_LAUNCH_TAP, l, err));
}

/* Free a launch, wiping what may be secret. */
void
agent_launch_clear(struct agent_launch *l)
{
	size_t	i;

	cmdline_free(l->argv);
	for (i = 0; l->env_add != NULL && l->env_add[i] != NULL; i++)
		secrets_wipe(l->env_add[i], strlen(l->env_add[i]));
	cmdline_free(l->env_add);
	cmdline_free(l->env_unset);
	for (i = 0; l->secrets != NULL && l->secrets[i] != NULL; i++)
		secrets_wipe(l->secrets[i], strlen(l->secrets[i]));
	cmdline_free(l->secrets);
	free(l->agent);
	free(l->notice);
	free(l->node);
	warp_endpoint_free(l->endpoint);
	warp_tap_free(l->tap);
	memset(l, 0, sizeof *l);
}
