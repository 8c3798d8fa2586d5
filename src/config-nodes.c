#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acpx.h"
#include "config-file.h"
#include "config-impl.h"
#include "js-json.h"
#include "js.h"
#include "xmalloc.h"

/*
 * The "nodes" key of the config files: the execution nodes `--node`
 * reaches over OpenSSH. Each entry is validated here (a config error names
 * the key and the file); the project file's entries replace the global
 * file's of the same name. Names are what the ControlPath is made of, so
 * they are short and plain.
 */

void
config_node_clear(struct config_node *n)
{
	size_t	i;

	free(n->name);
	free(n->ssh);
	free(n->acpx);
	for (i = 0; i < n->nssh_options; i++)
		free(n->ssh_options[i]);
	free(n->ssh_options);
}

/* [A-Za-z0-9][A-Za-z0-9._-]{0,47} */
static int
config_node_name_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= CONFIG_NODE_NAME_MAX)
			return (0);
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (i > 0 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))
			continue;
		return (0);
	}
	return (i > 0);
}

/* An option that would undo the SSH discipline (tty, unverified host keys). */
static int
config_node_bad_option(const char *o)
{
	const char	*v;

	if (strcmp(o, "-t") == 0 || strcmp(o, "-tt") == 0)
		return (1);
	if (strncasecmp(o, "StrictHostKeyChecking", 21) != 0)
		return (0);
	v = o + 21;
	while (*v == ' ' || *v == '=' || *v == '\t')
		v++;
	return (strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0);
}

static int
config_node_entry(const json_t *raw, const char *name, const char *path,
    struct config_node *n, char **cause)
{
	const json_t	 *v, *e;
	const char	**keys;
	size_t		  i, nk;

	memset(n, 0, sizeof *n);
	n->name = xstrdup(name);
	if (!config_is_object(raw)) {
		xasprintf(cause, "Invalid config nodes.%s in %s: expected object "
		    "with ssh", name, path);
		return (-1);
	}
	keys = js_json_keys(raw, &nk);
	for (i = 0; i < nk; i++) {
		if (strcmp(keys[i], "ssh") != 0 && strcmp(keys[i], "acpx") != 0 &&
		    strcmp(keys[i], "sshOptions") != 0) {
			xasprintf(cause, "Invalid config nodes.%s.%s in %s: unknown "
			    "key (expected ssh, acpx, sshOptions)", name, keys[i],
			    path);
			free(keys);
			return (-1);
		}
	}
	free(keys);
	v = json_object_get(raw, "ssh");
	if (!json_is_string(v) || js_blank(json_string_value(v))) {
		xasprintf(cause, "Invalid config nodes.%s.ssh in %s: expected "
		    "non-empty string (an ssh destination)", name, path);
		return (-1);
	}
	if (json_string_value(v)[0] == '-') {
		xasprintf(cause, "Invalid config nodes.%s.ssh in %s: a destination "
		    "may not begin with '-'", name, path);
		return (-1);
	}
	n->ssh = js_trim_dup(json_string_value(v));
	v = json_object_get(raw, "acpx");
	if (config_nullish(v))
		n->acpx = xstrdup("acpx");
	else if (!json_is_string(v) || js_blank(json_string_value(v))) {
		xasprintf(cause, "Invalid config nodes.%s.acpx in %s: expected "
		    "non-empty string (the acpx command on the node)", name, path);
		return (-1);
	} else
		n->acpx = xstrdup(json_string_value(v));
	v = json_object_get(raw, "sshOptions");
	if (config_nullish(v))
		return (0);
	if (!json_is_array(v)) {
		xasprintf(cause, "Invalid config nodes.%s.sshOptions in %s: "
		    "expected array of strings", name, path);
		return (-1);
	}
	n->ssh_options = xcalloc(json_array_size(v) + 1, sizeof *n->ssh_options);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || *json_string_value(e) == '\0') {
			xasprintf(cause, "Invalid config nodes.%s.sshOptions[%zu] "
			    "in %s: expected non-empty string", name, i, path);
			return (-1);
		}
		if (config_node_bad_option(json_string_value(e))) {
			xasprintf(cause, "Invalid config nodes.%s.sshOptions[%zu] "
			    "in %s: '%s' is not allowed (acpx runs ssh without a "
			    "tty and verifies host keys)", name, i, path,
			    json_string_value(e));
			return (-1);
		}
		n->ssh_options[n->nssh_options++] = xstrdup(json_string_value(e));
	}
	return (0);
}

/* Merge nodes.<name> of one file (a later file replaces by name). */
int
config_nodes(struct config *c, const json_t *file, const char *path,
    char **cause)
{
	const json_t	 *nodes;
	const char	**keys;
	struct config_node n;
	size_t		  nk, i, j;

	nodes = file != NULL ? json_object_get(file, "nodes") : NULL;
	if (config_nullish(nodes))
		return (0);
	if (!config_is_object(nodes)) {
		xasprintf(cause, "Invalid config nodes in %s: expected object",
		    path);
		return (-1);
	}
	keys = js_json_keys(nodes, &nk);
	for (i = 0; i < nk; i++) {
		if (!config_node_name_ok(keys[i])) {
			xasprintf(cause, "Invalid config nodes.%s in %s: a node "
			    "name is 1 to %d letters, digits, '.', '_' or '-' "
			    "(not first)", keys[i], path, CONFIG_NODE_NAME_MAX);
			free(keys);
			return (-1);
		}
		if (config_node_entry(json_object_get(nodes, keys[i]), keys[i],
		    path, &n, cause) == -1) {
			config_node_clear(&n);
			free(keys);
			return (-1);
		}
		for (j = 0; j < c->nnodes; j++) {
			if (strcmp(c->nodes[j].name, n.name) == 0)
				break;
		}
		if (j < c->nnodes)
			config_node_clear(&c->nodes[j]);
		else {
			c->nodes = xreallocarray(c->nodes, c->nnodes + 1,
			    sizeof *c->nodes);
			c->nnodes++;
		}
		c->nodes[j] = n;
	}
	free(keys);
	return (0);
}

/* A configured node by name, or NULL. */
const struct config_node *
config_find_node(const struct config *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nnodes; i++) {
		if (strcmp(c->nodes[i].name, name) == 0)
			return (&c->nodes[i]);
	}
	return (NULL);
}

/* The "nodes" object of `config show`. Caller owns. */
json_t *
config_nodes_display(const struct config *c)
{
	json_t	*v, *o, *a;
	size_t	 i, j;

	v = json_object();
	for (i = 0; i < c->nnodes; i++) {
		a = json_array();
		for (j = 0; j < c->nodes[i].nssh_options; j++)
			json_array_append_new(a,
			    json_string(c->nodes[i].ssh_options[j]));
		o = json_pack("{s:s, s:s, s:o}", "ssh", c->nodes[i].ssh, "acpx",
		    c->nodes[i].acpx, "sshOptions", a);
		json_object_set_new(v, c->nodes[i].name, o);
	}
	return (v);
}
