#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "config-impl.h"
#include "js-json.h"
#include "js.h"
#include "xmalloc.h"

/*
 * The "agents" and "auth" keys of the config files: each agent entry
 * validated with the reference's messages (argv form or legacy command +
 * args), the merged list kept in JavaScript key order, and the auth map.
 */

void
config_agent_clear(struct config_agent *a)
{
	free(a->name);
	free(a->command);
	cmdline_free(a->argv);
}

/* Does the string contain whitespace or a quote (/[\s'"]/u)? */
static int
config_has_space_or_quote(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\'' || *s == '"' || js_space(s, SIZE_MAX) != 0)
			return (1);
	}
	return (0);
}

static int
config_agent_argv(const json_t *v, const char *name, const char *path,
    char ***out, char **cause)
{
	size_t	  i, n;
	char	**argv;

	if (!json_is_array(v) || json_array_size(v) == 0) {
		xasprintf(cause, "Invalid config agents.%s.argv in %s: expected "
		    "non-empty array of strings", name, path);
		return (-1);
	}
	n = json_array_size(v);
	for (i = 0; i < n; i++) {
		if (!json_is_string(json_array_get(v, i))) {
			xasprintf(cause, "Invalid config agents.%s.argv[%zu] in "
			    "%s: expected string", name, i, path);
			return (-1);
		}
	}
	if (*json_string_value(json_array_get(v, 0)) == '\0') {
		xasprintf(cause, "Invalid config agents.%s.argv[0] in %s: "
		    "expected non-empty executable", name, path);
		return (-1);
	}
	argv = xcalloc(n + 1, sizeof *argv);
	for (i = 0; i < n; i++)
		argv[i] = xstrdup(json_string_value(json_array_get(v, i)));
	*out = argv;
	return (0);
}

static int
config_agent_args(const json_t *v, const char *name, const char *path,
    char ***out, char **cause)
{
	size_t	  i, n;
	char	**args;

	*out = xcalloc(1, sizeof **out);
	if (config_nullish(v))
		return (0);
	if (!json_is_array(v)) {
		xasprintf(cause, "Invalid config agents.%s.args in %s: expected "
		    "array of strings", name, path);
		return (-1);
	}
	n = json_array_size(v);
	for (i = 0; i < n; i++) {
		if (!json_is_string(json_array_get(v, i))) {
			xasprintf(cause, "Invalid config agents.%s.args[%zu] in "
			    "%s: expected string", name, i, path);
			return (-1);
		}
	}
	args = xcalloc(n + 1, sizeof *args);
	for (i = 0; i < n; i++)
		args[i] = xstrdup(json_string_value(json_array_get(v, i)));
	free(*out);
	*out = args;
	return (0);
}

/*
 * An entry with keys but none but maxConcurrent and nodes: settings for an
 * agent defined elsewhere (built in, a Warp id, the node's own config).
 */
int
config_agent_only_extras(const json_t *entry)
{
	const char	*k;
	json_t		*v;

	if (!json_is_object(entry) || json_object_size(entry) == 0)
		return (0);
	json_object_foreach((json_t *)entry, k, v) {
		if (strcmp(k, "maxConcurrent") != 0 && strcmp(k, "nodes") != 0)
			return (0);
	}
	return (1);
}

/* parseAgentEntry(): one agents.<name> value. */
static int
config_agent_entry(const json_t *raw, const char *name, const char *path,
    struct config_agent *a, char **cause)
{
	const json_t	 *cmd;
	char		 *trimmed, **args, **argv;
	size_t		  i, n;

	if (!config_is_object(raw)) {
		xasprintf(cause, "Invalid config agents.%s in %s: expected "
		    "object with command", name, path);
		return (-1);
	}
	if (json_object_get(raw, "argv") != NULL) {
		if (json_object_get(raw, "command") != NULL ||
		    json_object_get(raw, "args") != NULL) {
			xasprintf(cause, "Invalid config agents.%s in %s: use "
			    "argv alone, not command or args", name, path);
			return (-1);
		}
		if (config_agent_argv(json_object_get(raw, "argv"), name, path,
		    &a->argv, cause) == -1)
			return (-1);
		a->command = cmdline_identity(a->argv);
		return (0);
	}
	cmd = json_object_get(raw, "command");
	if (!json_is_string(cmd) || js_blank(json_string_value(cmd))) {
		xasprintf(cause, "Invalid config agents.%s.command in %s: "
		    "expected non-empty string", name, path);
		return (-1);
	}
	trimmed = js_trim_dup(json_string_value(cmd));
	if (json_object_get(raw, "args") == NULL) {
		a->command = trimmed;
		return (0);
	}
	if (config_has_space_or_quote(trimmed)) {
		free(trimmed);
		xasprintf(cause, "Invalid config agents.%s.command in %s: "
		    "command must be an unquoted executable with no whitespace "
		    "when args is present; migrate the complete launch to argv",
		    name, path);
		return (-1);
	}
	if (config_agent_args(json_object_get(raw, "args"), name, path, &args,
	    cause) == -1) {
		cmdline_free(args);
		free(trimmed);
		return (-1);
	}
	n = cmdline_count(args);
	argv = xcalloc(n + 2, sizeof *argv);
	argv[0] = xstrdup(trimmed);
	for (i = 0; i < n; i++)
		argv[i + 1] = xstrdup(args[i]);
	a->argv = argv;
	a->command = cmdline_legacy_identity(trimmed, args);
	cmdline_free(args);
	free(trimmed);
	return (0);
}

/* Merge agents.<name> of one file into c->agents (later files win). */
int
config_agents(struct config *c, const json_t *file, const char *path,
    char **cause)
{
	const json_t		 *agents;
	const char		**keys;
	struct config_agent	  a, *slot;
	size_t			  n, i, j;

	agents = file != NULL ? json_object_get(file, "agents") : NULL;
	if (config_nullish(agents))
		return (0);
	if (!config_is_object(agents)) {
		xasprintf(cause, "Invalid config agents in %s: expected object",
		    path);
		return (-1);
	}
	keys = js_json_keys(agents, &n);
	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof a);
		/*
		 * Only a cap (config-caps.c) or nodes (config-bind.c): the
		 * agent itself is unchanged.
		 */
		if (config_agent_only_extras(json_object_get(agents, keys[i])))
			continue;
		if (config_agent_entry(json_object_get(agents, keys[i]), keys[i],
		    path, &a, cause) == -1) {
			config_agent_clear(&a);
			free(keys);
			return (-1);
		}
		a.name = config_normalize_name(keys[i]);
		slot = NULL;
		for (j = 0; j < c->nagents; j++) {
			if (strcmp(c->agents[j].name, a.name) == 0)
				slot = &c->agents[j];
		}
		if (slot != NULL) {
			config_agent_clear(slot);
			*slot = a;
		} else {
			c->agents = xreallocarray(c->agents, c->nagents + 1,
			    sizeof *c->agents);
			c->agents[c->nagents++] = a;
		}
	}
	free(keys);
	return (0);
}

static int
config_agent_cmp(const void *a0, const void *b0)
{
	const struct config_agent	*a = a0, *b = b0;
	uint32_t			 ia, ib;
	int				 xa, xb;

	xa = js_json_array_index(a->name, &ia);
	xb = js_json_array_index(b->name, &ib);
	if (xa && xb)
		return (ia < ib ? -1 : ia > ib);
	return (xa ? -1 : xb ? 1 : 0);
}

/* Stable JS key order for the merged agents (index-like names first). */
void
config_agents_order(struct config *c)
{
	size_t			 i, j;
	struct config_agent	 t;

	/* Insertion sort: stable, and lists are tiny. */
	for (i = 1; i < c->nagents; i++) {
		for (j = i; j > 0 && config_agent_cmp(&c->agents[j - 1],
		    &c->agents[j]) > 0; j--) {
			t = c->agents[j];
			c->agents[j] = c->agents[j - 1];
			c->agents[j - 1] = t;
		}
	}
}

/* A configured agent by normalised name. */
const struct config_agent *
config_find_agent(const struct config *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nagents; i++) {
		if (strcmp(c->agents[i].name, name) == 0)
			return (&c->agents[i]);
	}
	return (NULL);
}

/* Merge auth.<method> of one file. */
int
config_auth(struct config *c, const json_t *file, const char *path,
    char **cause)
{
	const json_t	 *auth, *v;
	const char	**keys;
	size_t		  n, i;

	auth = file != NULL ? json_object_get(file, "auth") : NULL;
	if (config_nullish(auth))
		return (0);
	if (!config_is_object(auth)) {
		xasprintf(cause, "Invalid config auth in %s: expected object",
		    path);
		return (-1);
	}
	keys = js_json_keys(auth, &n);
	for (i = 0; i < n; i++) {
		v = json_object_get(auth, keys[i]);
		if (!json_is_string(v) || js_blank(json_string_value(v))) {
			xasprintf(cause, "Invalid config auth.%s in %s: expected "
			    "non-empty string", keys[i], path);
			free(keys);
			return (-1);
		}
		/* parsed[methodId] = value: "__proto__" does not become a key. */
		if (strcmp(keys[i], "__proto__") != 0)
			json_object_set(c->auth, keys[i], (json_t *)v);
	}
	free(keys);
	return (0);
}

