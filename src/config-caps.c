#include <config.h>

#include <math.h>
#include <stdlib.h>

#include <jansson.h>

#include "config-impl.h"
#include "js.h"
#include "xmalloc.h"

/*
 * The host-wide agent caps (slots.h): maxConcurrentAgents and
 * agents.<id>.maxConcurrent, read from the global config only (a cap for
 * all agents of this user on this host cannot depend on the directory).
 * A value that is not a positive integer, or one in a project file, is a
 * config error naming the key.
 */

static int
config_cap_value(const json_t *v, const char *key, const char *path,
    char **cause)
{
	double	d;

	if (v == NULL)
		return (0);
	d = json_is_number(v) ? json_number_value(v) : 0;
	if (!json_is_number(v) || !isfinite(d) || js_floor(d) != d || d < 1 ||
	    d > 2147483647.0) {
		xasprintf(cause, "Invalid config %s in %s: expected a positive "
		    "integer (the number of agents that may run at once)", key,
		    path);
		return (-1);
	}
	return (0);
}

static int
config_cap_file(const json_t *file, const char *path, const char *global,
    char **cause)
{
	const json_t	*a;
	const char	*id;
	char		*key;
	int		 rc;

	if (file == NULL)
		return (0);
	if (json_object_get(file, "maxConcurrentAgents") != NULL) {
		if (global != NULL) {
			xasprintf(cause, "Invalid config maxConcurrentAgents in "
			    "%s: the host-wide cap belongs in the global config "
			    "(%s)", path, global);
			return (-1);
		}
		if (config_cap_value(json_object_get(file,
		    "maxConcurrentAgents"), "maxConcurrentAgents", path,
		    cause) == -1)
			return (-1);
	}
	json_object_foreach((json_t *)json_object_get(file, "agents"), id, a) {
		if (!json_is_object(a) ||
		    json_object_get(a, "maxConcurrent") == NULL)
			continue;
		xasprintf(&key, "agents.%s.maxConcurrent", id);
		if (global != NULL) {
			xasprintf(cause, "Invalid config %s in %s: the host-wide "
			    "cap belongs in the global config (%s)", key, path,
			    global);
			rc = -1;
		} else
			rc = config_cap_value(json_object_get(a,
			    "maxConcurrent"), key, path, cause);
		free(key);
		if (rc == -1)
			return (-1);
	}
	return (0);
}

/* Check the caps of the global (g) and project (p) files. -1 with *cause. */
int
config_caps_check(const json_t *g, const char *gp, const json_t *p,
    const char *pp, char **cause)
{
	if (config_cap_file(g, gp, NULL, cause) == -1 ||
	    config_cap_file(p, pp, gp, cause) == -1)
		return (-1);
	return (0);
}
