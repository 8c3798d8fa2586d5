#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "config-impl.h"
#include "fsutil.h"
#include "js-json.h"
#include "js.h"
#include "node-fs.h"
#include "xmalloc.h"

/*
 * Config files: read (Node's fs messages), parse (JSON.parse's messages),
 * validate (the reference's messages, in the reference's order), merge.
 *
 * Order matters because the first failure is what the user sees: the
 * global file is read before the project file and the --mcp-config file;
 * then each scalar key is resolved project-first (the global value of a
 * key is only looked at when the project has none), then agents (global,
 * project), auth (global, project), mcpServers and disableExec.
 */

#define CONFIG_MAX_TIMER_MS	2147483647LL

/* --------------------------------------------------- validation helpers */

/* value == null in JavaScript (absent or null). */
int
config_nullish(const json_t *v)
{
	return (v == NULL || json_is_null(v));
}

/* typeof v === "number" && Number.isFinite(v). */
static int
config_finite(const json_t *v, double *d)
{
	if (!json_is_number(v))
		return (0);
	*d = json_number_value(v);
	return (isfinite(*d) && fabs(*d) != DBL_MAX);
}

int
config_is_object(const json_t *v)
{
	return (json_is_object(v));
}


/* toTimerMilliseconds(); -1 if above the timer maximum. */
static long long
config_timer_ms(double seconds, int allow_zero)
{
	double	ms;

	if (allow_zero && seconds == 0)
		return (0);
	ms = js_round(seconds * 1000);
	if (ms < 1)
		ms = 1;
	if (ms > (double)CONFIG_MAX_TIMER_MS)
		return (-1);
	return ((long long)ms);
}

/* normalizeAgentName(): trim and lower-case (ASCII). */
char *
config_normalize_name(const char *s)
{
	char	*n = js_trim_dup(s), *p;

	for (p = n; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return (n);
}

/* Parse functions: 0 = undefined (fall through), 1 = set, -1 = error. */
typedef int	(*config_parse_fn)(const json_t *, const char *, void *,
		    char **);

static int
config_parse_agent_name(const json_t *v, const char *path, void *out,
    char **cause)
{
	if (config_nullish(v))
		return (0);
	if (!json_is_string(v) || js_blank(json_string_value(v))) {
		xasprintf(cause, "Invalid config defaultAgent in %s: expected "
		    "non-empty string", path);
		return (-1);
	}
	*(char **)out = config_normalize_name(json_string_value(v));
	return (1);
}

static int
config_parse_perm(const json_t *v, const char *path, void *out, char **cause)
{
	const char	*s = json_string_value(v);

	if (config_nullish(v))
		return (0);
	if (s != NULL && strcmp(s, "approve-all") == 0)
		*(enum acpx_perm_mode *)out = ACPX_PERM_APPROVE_ALL;
	else if (s != NULL && strcmp(s, "approve-reads") == 0)
		*(enum acpx_perm_mode *)out = ACPX_PERM_APPROVE_READS;
	else if (s != NULL && strcmp(s, "deny-all") == 0)
		*(enum acpx_perm_mode *)out = ACPX_PERM_DENY_ALL;
	else {
		xasprintf(cause, "Invalid config defaultPermissions in %s: "
		    "expected approve-all, approve-reads, or deny-all", path);
		return (-1);
	}
	return (1);
}

static int
config_parse_nonint(const json_t *v, const char *path, void *out, char **cause)
{
	const char	*s = json_string_value(v);

	if (config_nullish(v))
		return (0);
	if (s != NULL && strcmp(s, "deny") == 0)
		*(enum acpx_nonint *)out = ACPX_NONINT_DENY;
	else if (s != NULL && strcmp(s, "fail") == 0)
		*(enum acpx_nonint *)out = ACPX_NONINT_FAIL;
	else {
		xasprintf(cause, "Invalid config nonInteractivePermissions in "
		    "%s: expected deny or fail", path);
		return (-1);
	}
	return (1);
}

static int
config_parse_auth_policy(const json_t *v, const char *path, void *out,
    char **cause)
{
	const char	*s = json_string_value(v);

	if (config_nullish(v))
		return (0);
	if (s != NULL && strcmp(s, "skip") == 0)
		*(enum acpx_auth_policy *)out = ACPX_AUTH_SKIP;
	else if (s != NULL && strcmp(s, "fail") == 0)
		*(enum acpx_auth_policy *)out = ACPX_AUTH_FAIL;
	else {
		xasprintf(cause, "Invalid config authPolicy in %s: expected "
		    "skip or fail", path);
		return (-1);
	}
	return (1);
}

static int
config_parse_format(const json_t *v, const char *path, void *out, char **cause)
{
	const char	*s = json_string_value(v);

	if (config_nullish(v))
		return (0);
	if (s != NULL && strcmp(s, "text") == 0)
		*(enum acpx_format *)out = ACPX_FORMAT_TEXT;
	else if (s != NULL && strcmp(s, "json") == 0)
		*(enum acpx_format *)out = ACPX_FORMAT_JSON;
	else if (s != NULL && strcmp(s, "quiet") == 0)
		*(enum acpx_format *)out = ACPX_FORMAT_QUIET;
	else {
		xasprintf(cause, "Invalid config format in %s: expected text, "
		    "json, or quiet", path);
		return (-1);
	}
	return (1);
}

static int
config_parse_ttl(const json_t *v, const char *path, void *out, char **cause)
{
	double		d;
	long long	ms;

	if (config_nullish(v))
		return (0);
	if (!config_finite(v, &d) || d < 0) {
		xasprintf(cause, "Invalid config ttl in %s: expected "
		    "non-negative seconds", path);
		return (-1);
	}
	if ((ms = config_timer_ms(d, 1)) == -1) {
		xasprintf(cause, "Invalid config ttl in %s: exceeds maximum "
		    "supported timer delay", path);
		return (-1);
	}
	*(long long *)out = ms;
	return (1);
}

static int
config_parse_timeout(const json_t *v, const char *path, void *out,
    char **cause)
{
	double		d;
	long long	ms;

	if (config_nullish(v)) {
		*(long long *)out = -1;
		return (0);
	}
	if (!config_finite(v, &d) || d <= 0) {
		xasprintf(cause, "Invalid config timeout in %s: expected "
		    "positive seconds or null", path);
		return (-1);
	}
	if ((ms = config_timer_ms(d, 0)) == -1) {
		xasprintf(cause, "Invalid config timeout in %s: exceeds maximum "
		    "supported timer delay", path);
		return (-1);
	}
	*(long long *)out = ms;
	return (1);
}

static int
config_parse_depth(const json_t *v, const char *path, void *out, char **cause)
{
	double	d;

	if (config_nullish(v))
		return (0);
	if (!config_finite(v, &d) || d != js_floor(d) || d <= 0) {
		xasprintf(cause, "Invalid config queueMaxDepth in %s: expected "
		    "positive integer", path);
		return (-1);
	}
	*(int *)out = d > 2147483647.0 ? 2147483647 : (int)d;
	return (1);
}

static int
config_parse_bool(const json_t *v, const char *path, void *out, char **cause)
{
	if (config_nullish(v))
		return (0);
	if (!json_is_boolean(v)) {
		xasprintf(cause, "Invalid config disableExec in %s: expected "
		    "boolean", path);
		return (-1);
	}
	*(int *)out = json_is_true(v);
	return (1);
}

/* resolveScalar(): project first; the global value only if that is unset. */
static int
config_scalar(const json_t *proj, const char *ppath, const json_t *glob,
    const char *gpath, const char *key, config_parse_fn fn, void *out,
    char **cause)
{
	int	r;

	r = fn(proj != NULL ? json_object_get(proj, key) : NULL, ppath, out,
	    cause);
	if (r != 0)
		return (r);
	return (fn(glob != NULL ? json_object_get(glob, key) : NULL, gpath,
	    out, cause));
}

/* --------------------------------------------------------------- load */

/* readConfigFile(): 1 loaded, 0 missing, -1 error. */
static int
config_read_object(const char *path, json_t **out, char **cause)
{
	char	*text, *why;
	size_t	 len;
	int	 err_no;

	*out = NULL;
	if (node_fs_read_file(path, &text, &len, &err_no, &why) == -1) {
		if (err_no == ENOENT) {
			free(why);
			return (0);
		}
		*cause = why;
		return (-1);
	}
	*out = js_json_parse(text, len, &why);
	free(text);
	if (*out == NULL) {
		xasprintf(cause, "Invalid JSON in %s: %s", path, why);
		free(why);
		return (-1);
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		xasprintf(cause, "Invalid config in %s: expected top-level JSON "
		    "object", path);
		return (-1);
	}
	return (1);
}

/* Load and merge the config files. */
struct config *
config_load(const char *home, const char *cwd, const char *mcp_path,
    char **cause)
{
	struct config	*c;
	json_t		*mcp = NULL, *g, *p;
	char		*joined;
	const char	*gp, *pp;
	int		 r;

	c = xcalloc(1, sizeof *c);
	c->default_agent = xstrdup("codex");
	c->default_permissions = ACPX_PERM_APPROVE_READS;
	c->nonint = ACPX_NONINT_DENY;
	c->auth_policy = ACPX_AUTH_SKIP;
	c->ttl_ms = 300000;
	c->timeout_ms = -1;
	c->queue_max_depth = 16;
	c->format = ACPX_FORMAT_TEXT;
	c->auth = json_object();
	c->global_path = config_global_path(home);
	xasprintf(&joined, "%s/.acpxrc.json", cwd);
	c->project_path = config_path_resolve(joined, NULL);
	free(joined);

	if ((r = config_read_object(c->global_path, &c->global_json,
	    cause)) == -1)
		goto fail;
	c->has_global = r;
	if ((r = config_read_object(c->project_path, &c->project_json,
	    cause)) == -1)
		goto fail;
	c->has_project = r;
	if (mcp_path != NULL) {
		c->mcp_path = config_path_resolve(cwd, mcp_path);
		if ((r = config_read_object(c->mcp_path, &mcp, cause)) == -1)
			goto fail;
		if (r == 0) {
			xasprintf(cause, "MCP config file not found: %s",
			    c->mcp_path);
			goto fail;
		}
	}

	g = c->global_json;
	p = c->project_json;
	gp = c->global_path;
	pp = c->project_path;
	{
		char *name = NULL;

		if (config_scalar(p, pp, g, gp, "defaultAgent",
		    config_parse_agent_name, &name, cause) == -1)
			goto fail;
		if (name != NULL) {
			free(c->default_agent);
			c->default_agent = name;
		}
	}
	if (config_scalar(p, pp, g, gp, "defaultPermissions", config_parse_perm,
	    &c->default_permissions, cause) == -1 ||
	    config_scalar(p, pp, g, gp, "nonInteractivePermissions",
	    config_parse_nonint, &c->nonint, cause) == -1 ||
	    config_scalar(p, pp, g, gp, "authPolicy", config_parse_auth_policy,
	    &c->auth_policy, cause) == -1 ||
	    config_scalar(p, pp, g, gp, "ttl", config_parse_ttl, &c->ttl_ms,
	    cause) == -1)
		goto fail;
	if (p != NULL && json_object_get(p, "timeout") != NULL) {
		if (config_parse_timeout(json_object_get(p, "timeout"), pp,
		    &c->timeout_ms, cause) == -1)
			goto fail;
	} else if (g != NULL && json_object_get(g, "timeout") != NULL) {
		if (config_parse_timeout(json_object_get(g, "timeout"), gp,
		    &c->timeout_ms, cause) == -1)
			goto fail;
	}
	if (config_scalar(p, pp, g, gp, "queueMaxDepth", config_parse_depth,
	    &c->queue_max_depth, cause) == -1 ||
	    config_scalar(p, pp, g, gp, "format", config_parse_format,
	    &c->format, cause) == -1)
		goto fail;
	if (config_caps_check(g, gp, p, pp, cause) == -1 ||
	    config_agents(c, g, gp, cause) == -1 ||
	    config_agents(c, p, pp, cause) == -1)
		goto fail;
	config_agents_order(c);
	if (config_nodes(c, g, gp, cause) == -1 ||
	    config_nodes(c, p, pp, cause) == -1 ||
	    config_binds(c, g, gp, p, pp, cause) == -1)
		goto fail;
	if (config_auth(c, g, gp, cause) == -1 ||
	    config_auth(c, p, pp, cause) == -1)
		goto fail;
	if (c->mcp_path != NULL)
		c->mcp_servers = config_mcp_servers(json_object_get(mcp,
		    "mcpServers"), c->mcp_path, cause);
	else if (p != NULL && json_object_get(p, "mcpServers") != NULL)
		c->mcp_servers = config_mcp_servers(json_object_get(p,
		    "mcpServers"), pp, cause);
	else if (g != NULL && json_object_get(g, "mcpServers") != NULL)
		c->mcp_servers = config_mcp_servers(json_object_get(g,
		    "mcpServers"), gp, cause);
	else
		c->mcp_servers = json_array();
	if (c->mcp_servers == NULL)
		goto fail;
	if (config_scalar(p, pp, g, gp, "disableExec", config_parse_bool,
	    &c->disable_exec, cause) == -1)
		goto fail;
	json_decref(mcp);
	return (c);
fail:
	json_decref(mcp);
	config_free(c);
	return (NULL);
}

/* Free a config. */
void
config_free(struct config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->default_agent);
	for (i = 0; i < c->nagents; i++)
		config_agent_clear(&c->agents[i]);
	free(c->agents);
	for (i = 0; i < c->nnodes; i++)
		config_node_clear(&c->nodes[i]);
	free(c->nodes);
	config_binds_free(c);
	json_decref(c->auth);
	json_decref(c->mcp_servers);
	free(c->global_path);
	free(c->project_path);
	free(c->mcp_path);
	json_decref(c->global_json);
	json_decref(c->project_json);
	free(c);
}

/* ------------------------------------------------------------ display */

static const char *
config_perm_name(enum acpx_perm_mode m)
{
	return (m == ACPX_PERM_APPROVE_ALL ? "approve-all" :
	    m == ACPX_PERM_DENY_ALL ? "deny-all" : "approve-reads");
}

static const char *
config_format_name(enum acpx_format f)
{
	return (f == ACPX_FORMAT_JSON ? "json" :
	    f == ACPX_FORMAT_QUIET ? "quiet" : "text");
}

/* milliseconds / 1000 as a JS number. */
static json_t *
config_seconds(long long ms)
{
	if (ms % 1000 == 0)
		return (json_integer(ms / 1000));
	return (json_real((double)ms / 1000.0));
}

static int
config_strcmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* The `config show` payload. */
json_t *
config_display(const struct config *c)
{
	json_t		*v, *agents, *methods, *argv, *paths;
	const char	*key, **keys;
	json_t		*val;
	size_t		 i, j, n;

	agents = json_object();
	for (i = 0; i < c->nagents; i++) {
		if (c->agents[i].argv != NULL) {
			argv = json_array();
			for (j = 0; c->agents[i].argv[j] != NULL; j++)
				json_array_append_new(argv,
				    json_string(c->agents[i].argv[j]));
			json_object_set_new(agents, c->agents[i].name,
			    json_pack("{s:o}", "argv", argv));
		} else
			json_object_set_new(agents, c->agents[i].name,
			    json_pack("{s:s}", "command", c->agents[i].command));
	}
	n = json_object_size(c->auth);
	keys = xcalloc(n + 1, sizeof *keys);
	i = 0;
	json_object_foreach(c->auth, key, val)
		keys[i++] = key;
	qsort(keys, n, sizeof *keys, config_strcmp);
	methods = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(methods, json_string(keys[i]));
	free(keys);

	paths = json_pack("{s:s, s:s}", "global", c->global_path, "project",
	    c->project_path);
	if (c->mcp_path != NULL)
		json_object_set_new(paths, "mcp", json_string(c->mcp_path));

	v = json_object();
	json_object_set_new(v, "defaultAgent", json_string(c->default_agent));
	json_object_set_new(v, "defaultPermissions",
	    json_string(config_perm_name(c->default_permissions)));
	json_object_set_new(v, "nonInteractivePermissions",
	    json_string(c->nonint == ACPX_NONINT_FAIL ? "fail" : "deny"));
	json_object_set_new(v, "authPolicy",
	    json_string(c->auth_policy == ACPX_AUTH_FAIL ? "fail" : "skip"));
	json_object_set_new(v, "ttl", config_seconds(c->ttl_ms));
	json_object_set_new(v, "timeout", c->timeout_ms < 0 ? json_null() :
	    config_seconds(c->timeout_ms));
	json_object_set_new(v, "queueMaxDepth",
	    json_integer(c->queue_max_depth));
	json_object_set_new(v, "format",
	    json_string(config_format_name(c->format)));
	json_object_set_new(v, "agents", agents);
	json_object_set_new(v, "authMethods", methods);
	json_object_set_new(v, "disableExec", json_boolean(c->disable_exec));
	if (c->nnodes > 0)
		json_object_set_new(v, "nodes", config_nodes_display(c));
	config_binds_display(c, agents, v);
	json_object_set_new(v, "paths", paths);
	json_object_set_new(v, "loaded", json_pack("{s:b, s:b}", "global",
	    c->has_global, "project", c->has_project));
	return (v);
}

/* ---------------------------------------------------------------- init */

/* mkdir -p with mode for created directories (fs.mkdir recursive). */
static int
config_mkdirs(const char *dir, char **cause)
{
	struct stat	 sb;
	char		*parent, *slash;

	if (stat(dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return (0);
		*cause = node_fs_errno_message(EEXIST, "mkdir", dir);
		return (-1);
	}
	parent = xstrdup(dir);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (config_mkdirs(parent, cause) == -1) {
			free(parent);
			return (-1);
		}
	}
	free(parent);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		*cause = node_fs_errno_message(errno, "mkdir", dir);
		return (-1);
	}
	return (0);
}

/* `config init`. */
int
config_init_file(const char *home, char **path, int *created, char **cause)
{
	json_t		*tmpl;
	char		*dir, *slash, *text, *full;
	const char	*op;
	int		 rc, e;

	*path = config_global_path(home);
	*created = 0;
	dir = xstrdup(*path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (*dir != '\0' && config_mkdirs(dir, cause) == -1) {
		free(dir);
		return (-1);
	}
	free(dir);
	if (access(*path, F_OK) == 0)
		return (0);
	tmpl = json_pack("{s:s, s:s, s:s, s:s, s:i, s:n, s:i, s:s, s:{}, s:{}}",
	    "defaultAgent", "codex", "defaultPermissions", "approve-all",
	    "nonInteractivePermissions", "deny", "authPolicy", "skip",
	    "ttl", 300, "timeout", "queueMaxDepth", 16, "format", "text",
	    "agents", "auth");
	text = js_json_dumps(tmpl, 2);
	json_decref(tmpl);
	xasprintf(&full, "%s\n", text);
	free(text);
	/* Never replaces: a file that appeared meanwhile is kept. */
	rc = fsutil_write(*path, full, strlen(full), FSUTIL_NOREPLACE, &op);
	e = errno;
	free(full);
	errno = e;
	if (rc == 0) {
		*created = 1;
		return (0);
	}
	if (errno == EEXIST && strcmp(op, "link") == 0)
		return (0);
	/* Worded as the reference's open/write/close of the file. */
	if (strcmp(op, "write") == 0 || strcmp(op, "fsync") == 0)
		*cause = node_fs_errno_message(errno, "write", NULL);
	else if (strcmp(op, "close") == 0)
		*cause = node_fs_errno_message(errno, "close", NULL);
	else
		*cause = node_fs_errno_message(errno, "open", *path);
	return (-1);
}
