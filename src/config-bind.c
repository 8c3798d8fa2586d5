#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "js.h"
#include "config-impl.h"
#include "xmalloc.h"

/*
 * Agents bound to execution nodes: agents.<id>.nodes, a non-empty list of
 * configured node names (the `nodes` key), for any agent id (built in,
 * configured, a Warp id: an entry may carry nodes alone); the project
 * file's list replaces the global file's for the same id. And
 * nodeConnectTimeout, the seconds ssh may take to reach a node (project
 * over global). A bad value is a config error naming the key and file.
 */

static void
config_bind_clear(struct config_bind *b)
{
	free(b->agent);
	cmdline_free(b->nodes);
}

void
config_binds_free(struct config *c)
{
	size_t	i;

	for (i = 0; i < c->nbinds; i++)
		config_bind_clear(&c->binds[i]);
	free(c->binds);
	c->binds = NULL;
	c->nbinds = 0;
}

/* agents.<id>.nodes of one entry into b; -1 with *cause. */
static int
config_bind_entry(const struct config *c, const char *id, const json_t *v,
    const char *path, struct config_bind *b, char **cause)
{
	const json_t	*e;
	size_t		 i, j;

	memset(b, 0, sizeof *b);
	if (!json_is_array(v) || json_array_size(v) == 0) {
		xasprintf(cause, "Invalid config agents.%s.nodes in %s: expected "
		    "non-empty array of node names", id, path);
		return (-1);
	}
	b->nodes = xcalloc(json_array_size(v) + 1, sizeof *b->nodes);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			xasprintf(cause, "Invalid config agents.%s.nodes[%zu] in "
			    "%s: expected string (a node name)", id, i, path);
			return (-1);
		}
		if (config_find_node(c, json_string_value(e)) == NULL) {
			xasprintf(cause, "Invalid config agents.%s.nodes[%zu] in "
			    "%s: unknown node '%s' (not under nodes)", id, i,
			    path, json_string_value(e));
			return (-1);
		}
		for (j = 0; j < b->nnodes; j++) {
			if (strcmp(b->nodes[j], json_string_value(e)) == 0) {
				xasprintf(cause, "Invalid config agents.%s.nodes"
				    "[%zu] in %s: node '%s' is listed twice", id,
				    i, path, json_string_value(e));
				return (-1);
			}
		}
		b->nodes[b->nnodes++] = xstrdup(json_string_value(e));
	}
	b->agent = config_normalize_name(id);
	return (0);
}

static int
config_bind_file(struct config *c, const json_t *file, const char *path,
    char **cause)
{
	const json_t		*agents, *a, *v;
	const char		*id;
	struct config_bind	 b;
	size_t			 j;

	agents = file != NULL ? json_object_get(file, "agents") : NULL;
	if (!json_is_object(agents))
		return (0);	/* config-agents.c said what was wrong */
	json_object_foreach((json_t *)agents, id, a) {
		if (!json_is_object(a) || (v = json_object_get(a, "nodes")) ==
		    NULL || json_is_null(v))
			continue;
		if (config_bind_entry(c, id, v, path, &b, cause) == -1) {
			config_bind_clear(&b);
			return (-1);
		}
		for (j = 0; j < c->nbinds; j++) {
			if (strcmp(c->binds[j].agent, b.agent) == 0)
				break;
		}
		if (j < c->nbinds)
			config_bind_clear(&c->binds[j]);
		else {
			c->binds = xreallocarray(c->binds, c->nbinds + 1,
			    sizeof *c->binds);
			c->nbinds++;
		}
		c->binds[j] = b;
	}
	return (0);
}

static int
config_bind_timeout(const json_t *v, const char *path, int *out,
    char **cause)
{
	double	d;

	d = json_is_number(v) ? json_number_value(v) : 0;
	if (!json_is_number(v) || !isfinite(d) || js_floor(d) != d || d < 1 ||
	    d > 3600) {
		xasprintf(cause, "Invalid config nodeConnectTimeout in %s: "
		    "expected whole seconds from 1 to 3600", path);
		return (-1);
	}
	*out = (int)d;
	return (0);
}

/* agents.<id>.nodes and nodeConnectTimeout of both files. */
int
config_binds(struct config *c, const json_t *g, const char *gp,
    const json_t *p, const char *pp, char **cause)
{
	const json_t	*v;
	size_t		 i;

	c->node_connect_timeout = CONFIG_NODE_CONNECT_TIMEOUT;
	if (p != NULL && (v = json_object_get(p, "nodeConnectTimeout")) != NULL &&
	    !json_is_null(v)) {
		if (config_bind_timeout(v, pp, &c->node_connect_timeout,
		    cause) == -1)
			return (-1);
	} else if (g != NULL && (v = json_object_get(g,
	    "nodeConnectTimeout")) != NULL && !json_is_null(v)) {
		if (config_bind_timeout(v, gp, &c->node_connect_timeout,
		    cause) == -1)
			return (-1);
	}
	for (i = 0; i < c->nnodes; i++)
		c->nodes[i].connect_timeout = c->node_connect_timeout;
	if (config_bind_file(c, g, gp, cause) == -1 ||
	    config_bind_file(c, p, pp, cause) == -1)
		return (-1);
	return (0);
}

/* The binding of agent (normalised), or NULL. */
const struct config_bind *
config_find_bind(const struct config *c, const char *agent)
{
	size_t	i;

	if (c == NULL || agent == NULL)
		return (NULL);
	for (i = 0; i < c->nbinds; i++) {
		if (strcmp(c->binds[i].agent, agent) == 0)
			return (&c->binds[i]);
	}
	return (NULL);
}

/* `config show`: agents.<id>.nodes, and nodeConnectTimeout with nodes. */
void
config_binds_display(const struct config *c, json_t *agents, json_t *top)
{
	json_t	*a, *e;
	size_t	 i, j;

	for (i = 0; i < c->nbinds; i++) {
		a = json_array();
		for (j = 0; j < c->binds[i].nnodes; j++)
			json_array_append_new(a, json_string(c->binds[i].nodes[j]));
		if ((e = json_object_get(agents, c->binds[i].agent)) == NULL) {
			e = json_object();
			json_object_set_new(agents, c->binds[i].agent, e);
		}
		json_object_set_new(e, "nodes", a);
	}
	if (c->nnodes > 0)
		json_object_set_new(top, "nodeConnectTimeout",
		    json_integer(c->node_connect_timeout));
}
