#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "js-json.h"
#include "js.h"
#include "json-util.h"
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

/* ------------------------------------------------------------ paths */

/* Node's normalizeString(): resolve "." and ".." in a slash path. */
static char *
config_path_segments(const char *p, int allow_above)
{
	char		**segs = NULL, *copy, *tok, *save, *out;
	size_t		  n = 0, i, len = 0;

	copy = xstrdup(p);
	for (tok = strtok_r(copy, "/", &save); tok != NULL;
	    tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			if (n > 0 && strcmp(segs[n - 1], "..") != 0) {
				n--;
				continue;
			}
			if (!allow_above)
				continue;
		}
		segs = xreallocarray(segs, n + 1, sizeof *segs);
		segs[n++] = tok;
	}
	for (i = 0; i < n; i++)
		len += strlen(segs[i]) + 1;
	out = xcalloc(1, len + 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, "/");
		strcat(out, segs[i]);
	}
	free(segs);
	free(copy);
	return (out);
}

/* path.normalize(p). */
char *
config_path_normalize(const char *p)
{
	char	*body, *out;
	int	 absolute, trailing;
	size_t	 len = strlen(p);

	if (len == 0)
		return (xstrdup("."));
	absolute = p[0] == '/';
	trailing = p[len - 1] == '/';
	body = config_path_segments(p, !absolute);
	if (*body == '\0' && !absolute) {
		free(body);
		body = xstrdup(".");
	} else if (*body != '\0' && trailing) {
		xasprintf(&out, "%s/", body);
		free(body);
		body = out;
	}
	if (absolute) {
		xasprintf(&out, "/%s", body);
		free(body);
		return (out);
	}
	return (body);
}

/* path.resolve(base, p). */
char *
config_path_resolve(const char *base, const char *p)
{
	char	*joined, *body, *out, cwd[8192];

	if (p != NULL && p[0] == '/')
		joined = xstrdup(p);
	else if (base != NULL && base[0] == '/')
		xasprintf(&joined, "%s/%s", base, p != NULL ? p : "");
	else {
		if (getcwd(cwd, sizeof cwd) == NULL)
			strcpy(cwd, "/");
		xasprintf(&joined, "%s/%s/%s", cwd, base != NULL ? base : "",
		    p != NULL ? p : "");
	}
	body = config_path_segments(joined, 0);
	xasprintf(&out, "/%s", body);
	free(body);
	free(joined);
	return (out);
}

/* Node's os.homedir(). */
char *
config_home(void)
{
	const char	*h;
	struct passwd	*pw;

	if ((h = getenv("HOME")) != NULL)
		return (xstrdup(h));
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		return (xstrdup(pw->pw_dir));
	return (xstrdup(""));
}

/* $HOME/.acpx/config.json (path.join). */
char *
config_global_path(const char *home)
{
	char	*joined, *out;

	xasprintf(&joined, "%s/.acpx/config.json", home);
	out = config_path_normalize(joined);
	free(joined);
	return (out);
}

/* --------------------------------------------------- validation helpers */

/* JavaScript's Object.keys order: array-index keys ascending, then insertion. */
static int
config_js_index(const char *key, unsigned long long *out)
{
	unsigned long long	v = 0;
	const char		*p;

	if (*key == '\0' || (key[0] == '0' && key[1] != '\0'))
		return (0);
	for (p = key; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return (0);
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v >= 4294967295ULL)
			return (0);
	}
	*out = v;
	return (1);
}

struct config_key {
	const char		*key;
	unsigned long long	 index;
	int			 is_index;
	size_t			 seq;
};

static int
config_key_cmp(const void *a0, const void *b0)
{
	const struct config_key	*a = a0, *b = b0;

	if (a->is_index != b->is_index)
		return (a->is_index ? -1 : 1);
	if (a->is_index)
		return (a->index < b->index ? -1 : a->index > b->index);
	return (a->seq < b->seq ? -1 : a->seq > b->seq);
}

/* The keys of obj in JavaScript order (borrowed strings). */
static const char **
config_js_keys(const json_t *obj, size_t *n)
{
	struct config_key	*k;
	const char		*key, **out;
	json_t			*v;
	size_t			 i = 0;

	*n = json_object_size(obj);
	k = xcalloc(*n + 1, sizeof *k);
	json_object_foreach((json_t *)obj, key, v) {
		k[i].key = key;
		k[i].seq = i;
		k[i].is_index = config_js_index(key, &k[i].index);
		i++;
	}
	qsort(k, *n, sizeof *k, config_key_cmp);
	out = xcalloc(*n + 1, sizeof *out);
	for (i = 0; i < *n; i++)
		out[i] = k[i].key;
	free(k);
	return (out);
}

/* value == null in JavaScript (absent or null). */
static int
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

static int
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
static char *
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
	if (!config_finite(v, &d) || d != floor(d) || d <= 0) {
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

/* ------------------------------------------------------------- agents */

static void
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
static int
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
	keys = config_js_keys(agents, &n);
	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof a);
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
	unsigned long long		 ia, ib;
	int				 xa, xb;

	xa = config_js_index(a->name, &ia);
	xb = config_js_index(b->name, &ib);
	if (xa && xb)
		return (ia < ib ? -1 : ia > ib);
	return (xa ? -1 : xb ? 1 : 0);
}

/* Stable JS key order for the merged agents (index-like names first). */
static void
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
static int
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
	keys = config_js_keys(auth, &n);
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

/* ---------------------------------------------------------- mcpServers */

/* json_string of the trimmed value. */
static json_t *
config_mcp_trimmed(const json_t *v)
{
	char	*t = js_trim_dup(json_string_value(v));
	json_t	*s = json_string_nocheck(t);

	free(t);
	return (s);
}

/* parseNonEmptyString(): the trimmed string, or NULL and an error. */
static json_t *
config_mcp_nonempty(const json_t *v, const char *path, char **cause)
{
	if (!json_is_string(v) || js_blank(json_string_value(v))) {
		xasprintf(cause, "Invalid %s: expected non-empty string", path);
		return (NULL);
	}
	return (config_mcp_trimmed(v));
}

static int
config_mcp_string(const json_t *v, const char *path, char **cause)
{
	if (!json_is_string(v)) {
		xasprintf(cause, "Invalid %s: expected string", path);
		return (-1);
	}
	return (0);
}

static json_t *
config_mcp_pairs(const json_t *v, const char *path, char **cause)
{
	json_t	*out, *e;
	char	*sub;
	size_t	 i;

	out = json_array();
	if (config_nullish(v))
		return (out);
	if (!json_is_array(v)) {
		xasprintf(cause, "Invalid %s: expected array", path);
		goto fail;
	}
	json_array_foreach(v, i, e) {
		if (!config_is_object(e)) {
			xasprintf(cause, "Invalid %s[%zu]: expected object", path, i);
			goto fail;
		}
		xasprintf(&sub, "%s[%zu].name", path, i);
		if (!json_is_string(json_object_get(e, "name")) ||
		    js_blank(json_string_value(json_object_get(e, "name")))) {
			xasprintf(cause, "Invalid %s: expected non-empty string",
			    sub);
			free(sub);
			goto fail;
		}
		free(sub);
		xasprintf(&sub, "%s[%zu].value", path, i);
		if (config_mcp_string(json_object_get(e, "value"), sub,
		    cause) == -1) {
			free(sub);
			goto fail;
		}
		free(sub);
		json_array_append_new(out, json_pack("{s:o, s:O}", "name",
		    config_mcp_trimmed(json_object_get(e, "name")), "value",
		    json_object_get(e, "value")));
	}
	return (out);
fail:
	json_decref(out);
	return (NULL);
}

static json_t *
config_mcp_server(const json_t *raw, const char *path, char **cause)
{
	json_t		*srv = NULL, *name, *meta, *type, *t, *x, *args, *e;
	const char	*ts = "stdio";
	char		*sub;
	size_t		 i;

	if (!config_is_object(raw)) {
		xasprintf(cause, "Invalid %s: expected object", path);
		return (NULL);
	}
	xasprintf(&sub, "%s.name", path);
	name = config_mcp_nonempty(json_object_get(raw, "name"), sub, cause);
	free(sub);
	if (name == NULL)
		return (NULL);
	meta = json_object_get(raw, "_meta");
	if (meta != NULL && !json_is_null(meta) && !config_is_object(meta)) {
		xasprintf(cause, "Invalid %s._meta: expected object or null",
		    path);
		goto fail;
	}
	type = json_object_get(raw, "type");
	if (type != NULL) {
		xasprintf(&sub, "%s.type", path);
		if (!json_is_string(type) ||
		    js_blank(json_string_value(type))) {
			xasprintf(cause, "Invalid %s: expected non-empty string",
			    sub);
			free(sub);
			goto fail;
		}
		free(sub);
		t = config_mcp_trimmed(type);
		ts = json_string_value(t);
		if (strcmp(ts, "http") != 0 && strcmp(ts, "sse") != 0 &&
		    strcmp(ts, "stdio") != 0) {
			json_decref(t);
			xasprintf(cause, "Invalid %s.type: expected http, sse, "
			    "or stdio", path);
			goto fail;
		}
		ts = strcmp(ts, "http") == 0 ? "http" :
		    strcmp(ts, "sse") == 0 ? "sse" : "stdio";
		json_decref(t);
	}
	if (strcmp(ts, "stdio") != 0) {
		srv = json_pack("{s:s, s:O}", "type", ts, "name", name);
		xasprintf(&sub, "%s.url", path);
		t = config_mcp_nonempty(json_object_get(raw, "url"), sub, cause);
		free(sub);
		if (t == NULL)
			goto fail;
		json_object_set_new(srv, "url", t);
		xasprintf(&sub, "%s.headers", path);
		x = config_mcp_pairs(json_object_get(raw, "headers"), sub, cause);
		free(sub);
		if (x == NULL)
			goto fail;
		json_object_set_new(srv, "headers", x);
	} else {
		srv = json_pack("{s:O}", "name", name);
		xasprintf(&sub, "%s.command", path);
		t = config_mcp_nonempty(json_object_get(raw, "command"), sub,
		    cause);
		free(sub);
		if (t == NULL)
			goto fail;
		json_object_set_new(srv, "command", t);
		args = json_object_get(raw, "args");
		x = json_array();
		json_object_set_new(srv, "args", x);
		if (!config_nullish(args)) {
			xasprintf(&sub, "%s.args", path);
			if (!json_is_array(args)) {
				xasprintf(cause, "Invalid %s: expected array", sub);
				free(sub);
				goto fail;
			}
			json_array_foreach(args, i, e) {
				char *item;

				xasprintf(&item, "%s[%zu]", sub, i);
				if (config_mcp_string(e, item, cause) == -1) {
					free(item);
					free(sub);
					goto fail;
				}
				free(item);
				json_array_append(x, e);
			}
			free(sub);
		}
		xasprintf(&sub, "%s.env", path);
		x = config_mcp_pairs(json_object_get(raw, "env"), sub, cause);
		free(sub);
		if (x == NULL)
			goto fail;
		json_object_set_new(srv, "env", x);
	}
	if (meta != NULL)
		json_object_set(srv, "_meta", meta);
	json_decref(name);
	return (srv);
fail:
	json_decref(srv);
	json_decref(name);
	return (NULL);
}

/* parseMcpServers(value, sourcePath). */
static json_t *
config_mcp_servers(const json_t *v, const char *path, char **cause)
{
	json_t	*out, *srv, *e;
	char	*sub;
	size_t	 i;

	if (!json_is_array(v)) {
		xasprintf(cause, "Invalid mcpServers in %s: expected array", path);
		return (NULL);
	}
	out = json_array();
	json_array_foreach(v, i, e) {
		xasprintf(&sub, "mcpServers[%zu] in %s", i, path);
		srv = config_mcp_server(e, sub, cause);
		free(sub);
		if (srv == NULL) {
			json_decref(out);
			return (NULL);
		}
		json_array_append_new(out, srv);
	}
	return (out);
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
	if (config_agents(c, g, gp, cause) == -1 ||
	    config_agents(c, p, pp, cause) == -1)
		goto fail;
	config_agents_order(c);
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
	json_t	*tmpl;
	char	*dir, *slash, *text;
	size_t	 len, off = 0;
	ssize_t	 w;
	int	 fd;

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
	if ((fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		if (errno == EEXIST)
			return (0);
		*cause = node_fs_errno_message(errno, "open", *path);
		return (-1);
	}
	tmpl = json_pack("{s:s, s:s, s:s, s:s, s:i, s:n, s:i, s:s, s:{}, s:{}}",
	    "defaultAgent", "codex", "defaultPermissions", "approve-all",
	    "nonInteractivePermissions", "deny", "authPolicy", "skip",
	    "ttl", 300, "timeout", "queueMaxDepth", 16, "format", "text",
	    "agents", "auth");
	text = json_dumps_js(tmpl, 2);
	json_decref(tmpl);
	len = strlen(text);
	text = xreallocarray(text, len + 2, 1);
	text[len++] = '\n';
	text[len] = '\0';
	while (off < len) {
		if ((w = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			*cause = node_fs_errno_message(errno, "write", NULL);
			free(text);
			close(fd);
			return (-1);
		}
		off += (size_t)w;
	}
	free(text);
	if (close(fd) == -1) {
		*cause = node_fs_errno_message(errno, "close", NULL);
		return (-1);
	}
	*created = 1;
	return (0);
}
