#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"
#include "cli-impl.h"
#include "cli.h"
#include "cmdline.h"
#include "complete.h"
#include "config-file.h"
#include "error.h"
#include "js.h"
#include "queue-owner.h"
#include "reaper.h"
#include "xmalloc.h"

/*
 * The command line, step by step as the reference's main(): version fast
 * path, --skill, a pre-scan of the leading options (output format, --cwd,
 * --mcp-config), config load, agent-token detection, then a Commander
 * parse (root options, dispatch to a subcommand, its options and
 * arguments, the action). Commander's errors keep its texts: at the root
 * they are usage errors (exit 2, printed twice in text mode); inside a
 * subcommand Commander prints them itself and exits 1.
 *
 * acpx-native also accepts the global options after the agent token and
 * after the verb: a subcommand that meets a root option it does not have
 * itself applies it to the root, as if it had been given first.
 */

/* Top-level verbs: a first token equal to one is never an agent name. */
static const char *const cli_verbs[] = { "prompt", "exec", "cancel",
    "compare", "flow", "set-mode", "set", "sessions", "status", "config",
    "help", "warp", "completion" };

/* Leading global options that take a value (version/pre-scan). */
static const char *const cli_value_flags[] = { "--agent", "--cwd",
    "--auth-policy", "--non-interactive-permissions", "--permission-policy",
    "--policy", "--format", "--model", "--allowed-tools", "--max-turns",
    "--system-prompt", "--append-system-prompt", "--prompt-retries",
    "--timeout", "--ttl", "--mcp-config" };
static const char *const cli_bool_flags[] = { "--approve-all",
    "--approve-reads", "--deny-all", "--suppress-reads", "--json-strict",
    "--no-fs", "--no-terminal", "--no-fallback", "--verbose" };

/* ------------------------------------------------------------ helpers */

static int
cli_in(const char *s, const char *const *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0)
			return (1);
	}
	return (0);
}

static int
cli_is_value_flag(const char *s)
{
	return (cli_in(s, cli_value_flags, nitems(cli_value_flags)));
}

static int
cli_is_bool_flag(const char *s)
{
	return (cli_in(s, cli_bool_flags, nitems(cli_bool_flags)));
}

/* token starts with "<flag>=" for one of the value flags. */
static int
cli_is_value_assign(const char *s)
{
	size_t	i, n;

	for (i = 0; i < nitems(cli_value_flags); i++) {
		n = strlen(cli_value_flags[i]);
		if (strncmp(s, cli_value_flags[i], n) == 0 && s[n] == '=')
			return (1);
	}
	return (0);
}

/* Append a borrowed string. */
void
cli_list_add(struct cli_list *l, char *s)
{
	l->v = xreallocarray(l->v, l->n + 2, sizeof *l->v);
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

/* Append n borrowed strings. */
void
cli_list_addv(struct cli_list *l, char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		cli_list_add(l, v[i]);
}

/* -------------------------------------------------------------- errors */

/* Record a handler (action) error. */
void
cli_fail(struct cli_run *run, struct acpx_error *err)
{
	if (run->err == NULL && run->status < 0)
		run->err = err;
	else
		acpx_error_free(err);
}

/* A usage error raised by a handler (InvalidArgumentError). */
void
cli_usage_error(struct cli_run *run, const char *fmt, ...)
{
	struct acpx_error	*err;
	va_list			 ap;
	char			*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	err = acpx_error_new(ACPX_CODE_USAGE, NULL, "cli", "%s", msg);
	free(msg);
	cli_fail(run, err);
}

/* Print a help text to a stream unless --json-strict silences Commander. */
void
cli_print_help(struct cli_run *run, const struct cli_cmd *cmd, int to_err)
{
	char	*text;

	if (run->strict)
		return;
	text = cli_help_text(run, cmd, to_err ? STDERR_FILENO : STDOUT_FILENO);
	fputs(text, to_err ? stderr : stdout);
	fflush(to_err ? stderr : stdout);
	free(text);
}

/*
 * Commander's command.error(): the message and the command's help on
 * stderr. At the root this becomes a usage error (exit 2) that acpx
 * renders once more; in a subcommand Commander exits 1 itself.
 */
int
cli_cmd_error(struct cli_run *run, const struct cli_cmd *cmd, const char *fmt,
    ...)
{
	struct acpx_error	*err;
	va_list			 ap;
	char			*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (!run->strict) {
		fprintf(stderr, "%s\n\n", msg);
		fflush(stderr);
		cli_print_help(run, cmd, 1);
	}
	if (cmd->parent == NULL) {
		err = acpx_error_new(ACPX_CODE_USAGE, NULL, "cli", "%s", msg);
		err->flags |= ACPX_ERROR_PARSE;
		if (run->err == NULL)
			run->err = err;
		else
			acpx_error_free(err);
	} else if (run->status < 0)
		run->status = ACPX_EXIT_ERROR;
	free(msg);
	return (-1);
}

/* Help on stdout and exit 0 (Commander's helpDisplayed). */
int
cli_help_exit(struct cli_run *run, const struct cli_cmd *cmd)
{
	cli_print_help(run, cmd, 0);
	run->status = ACPX_EXIT_SUCCESS;
	return (-1);
}

/* -------------------------------------------------------------- commands */

/* Register the default values of a command's options. */
static void
cli_cmd_defaults(struct cli_run *run, struct cli_cmd *c)
{
	const struct cli_opt *const	*o;

	for (o = c->def->opts; o != NULL && *o != NULL; o++) {
		if ((*o)->kind == CLI_OPT_NEGATE)
			json_object_set_new(c->vals, (*o)->key, json_true());
		else if ((*o)->def != NULL)
			json_object_set_new(c->vals, (*o)->key,
			    json_integer(atoll((*o)->def)));
		else if (c->parent == NULL && strcmp((*o)->key, "cwd") == 0)
			json_object_set_new(c->vals, "cwd",
			    json_string(run->process_cwd));
		else
			continue;
		json_object_set_new(c->srcs, (*o)->key, json_string("default"));
	}
}

/* A new command node. */
struct cli_cmd *
cli_cmd_new(struct cli_run *run, const struct cli_cmddef *def,
    const char *name, struct cli_cmd *parent)
{
	struct cli_cmd	*c;
	const char	*fill;
	size_t		 i;

	c = xcalloc(1, sizeof *c);
	c->def = def;
	c->parent = parent;
	c->name = xstrdup(name != NULL ? name : def->name);
	if (def->flags & CLI_CMD_DEFAULT_DESC) {
		fill = def == &cli_agent_def ? c->name :
		    run->config->default_agent;
		xasprintf(&c->desc, def->desc, fill);
	} else
		c->desc = xstrdup(def->desc);
	c->nargs = def->nargs;
	c->args = xcalloc(def->nargs + 1, sizeof *c->args);
	for (i = 0; i < def->nargs; i++)
		c->args[i] = def->args[i];
	c->vals = json_object();
	c->srcs = json_object();
	cli_cmd_defaults(run, c);
	return (c);
}

static void
cli_cmd_free(struct cli_cmd *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nsubs; i++)
		cli_cmd_free(c->subs[i]);
	free(c->subs);
	for (i = 0; i < c->nargs; i++) {
		if (c->args[i].desc == NULL)
			free((char *)c->args[i].spec);
	}
	free(c->args);
	free(c->name);
	free(c->desc);
	free(c->agent);
	json_decref(c->vals);
	json_decref(c->srcs);
	json_decref(c->processed);
	free(c);
}

static void
cli_cmd_add(struct cli_cmd *parent, struct cli_cmd *c)
{
	parent->subs = xreallocarray(parent->subs, parent->nsubs + 1,
	    sizeof *parent->subs);
	parent->subs[parent->nsubs++] = c;
}

/* The subcommand of c with this name, or NULL. */
struct cli_cmd *
cli_find_cmd(const struct cli_cmd *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nsubs; i++) {
		if (strcmp(c->subs[i]->name, name) == 0)
			return (c->subs[i]);
	}
	return (NULL);
}

/* Instantiate a command's subcommands (the root's are built at setup). */
void
cli_cmd_children(struct cli_run *run, struct cli_cmd *c)
{
	const struct cli_cmddef *const	*d;
	struct cli_cmd			*sub;

	if (c->subs_built)
		return;
	c->subs_built = 1;
	for (d = c->def->subs; d != NULL && *d != NULL; d++) {
		sub = cli_cmd_new(run, *d, NULL, c);
		if (c->agent != NULL)
			sub->agent = xstrdup(c->agent);
		cli_cmd_add(c, sub);
	}
}

/* True for the line terminators of a JavaScript regular expression's ".". */
static size_t
cli_line_terminator(const char *s)
{
	if (*s == '\n' || *s == '\r')
		return (1);
	if ((unsigned char)s[0] == 0xe2 && (unsigned char)s[1] == 0x80 &&
	    ((unsigned char)s[2] == 0xa8 || (unsigned char)s[2] == 0xa9))
		return (3);
	return (0);
}

/*
 * program.command(nameAndArgs) for an agent: the name is the first run of
 * non-spaces, the rest declares arguments. Fails (RUNTIME, as the
 * reference) on a duplicate name or a misplaced variadic argument.
 */
static int
cli_register_agent(struct cli_run *run, const char *name_and_args,
    const char *agent_name)
{
	struct cli_cmd	*c;
	const char	*p, *start, *rest;
	char		*name, *args, *trimmed, *tok, *save, *prev = NULL;
	struct cli_list	 extra = { NULL, 0 };
	size_t		 i;
	int		 rc = -1;

	for (p = name_and_args; *p == ' '; p++)
		;
	if (*p == '\0') {
		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "object null is not iterable (cannot read property "
		    "Symbol(Symbol.iterator))"));
		return (-1);
	}
	start = p;
	while (*p != '\0' && *p != ' ')
		p++;
	name = xstrndup(start, (size_t)(p - start));
	while (*p == ' ')
		p++;
	for (rest = p; *p != '\0' && cli_line_terminator(p) == 0; p++)
		;
	args = xstrndup(rest, (size_t)(p - rest));
	trimmed = js_trim_dup(args);
	if (*args != '\0') {
		/* arguments(): trim, split on runs of spaces. */
		if (*trimmed == '\0')
			cli_list_add(&extra, xstrdup(""));
		for (tok = strtok_r(trimmed, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save))
			cli_list_add(&extra, xstrdup(tok));
		for (i = 0; i < extra.n; i++) {
			if (prev != NULL && cli_arg_variadic(prev)) {
				char *pn = cli_arg_name(prev);

				cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME,
				    NULL, "cli", "only the last argument can be "
				    "variadic '%s'", pn));
				free(pn);
				goto out;
			}
			prev = extra.v[i];
		}
	}
	if (cli_find_cmd(run->root, name) != NULL) {
		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "cannot add command '%s' as already have command '%s'",
		    name, name));
		goto out;
	}
	if (prev != NULL && cli_arg_variadic(prev)) {
		char *pn = cli_arg_name(prev);

		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "only the last argument can be variadic '%s'", pn));
		free(pn);
		goto out;
	}
	c = cli_cmd_new(run, &cli_agent_def, name, run->root);
	free(c->desc);
	xasprintf(&c->desc, "Use %s agent", agent_name);
	c->agent = xstrdup(agent_name);
	if (extra.n > 0) {
		free(c->args);
		c->args = xcalloc(extra.n + 2, sizeof *c->args);
		for (i = 0; i < extra.n; i++) {
			c->args[i].spec = extra.v[i];	/* owned: desc NULL */
			extra.v[i] = NULL;
		}
		c->args[i] = cli_agent_def.args[0];
		c->nargs = extra.n + 1;
	}
	cli_cmd_add(run->root, c);
	rc = 0;
out:
	for (i = 0; i < extra.n; i++)
		free(extra.v[i]);
	free(extra.v);
	free(trimmed);
	free(args);
	free(name);
	return (rc);
}

/* -------------------------------------------------- agent-token scan */

/* detectAgentToken(): the index of the candidate token, or -1. */
static int
cli_agent_token(char **args, size_t n, int *override)
{
	size_t	i;

	*override = 0;
	for (i = 0; i < n; i++) {
		const char *t = args[i];

		if (strcmp(t, "--") == 0)
			return (-1);
		if (t[0] != '-' || strcmp(t, "-") == 0)
			return ((int)i);
		if (strcmp(t, "--agent") == 0) {
			*override = 1;
			i++;
		} else if (strncmp(t, "--agent=", 8) == 0)
			*override = 1;
		else if (cli_is_value_flag(t) || strcmp(t, "--file") == 0)
			i++;
		else if (cli_is_bool_flag(t) || cli_is_value_assign(t) ||
		    strncmp(t, "--file=", 7) == 0 ||
		    strncmp(t, "--json-strict=", 14) == 0)
			continue;
		else
			return (-1);
	}
	return (-1);
}

/* Build the root: agents (built-in and configured), verbs, the token. */
static int
cli_setup(struct cli_run *run)
{
	const struct cli_cmddef *const	*d;
	struct cli_list			 agents = { NULL, 0 };
	size_t				 i;
	int				 idx, override, rc = -1;

	run->root = cli_cmd_new(run, &cli_root_def, NULL, NULL);
	run->root->subs_built = 1;
	for (i = 0; i < agent_registry_count(); i++)
		cli_list_add(&agents, (char *)agent_registry_name(i));
	for (i = 0; i < run->config->nagents; i++) {
		if (!cli_in(run->config->agents[i].name, (const char *const *)
		    agents.v, agents.n))
			cli_list_add(&agents, run->config->agents[i].name);
	}
	for (i = 0; i < agents.n; i++) {
		if (cli_register_agent(run, agents.v[i], agents.v[i]) == -1)
			goto out;
	}
	for (d = cli_root_def.subs; *d != NULL; d++) {
		if (cli_find_cmd(run->root, (*d)->name) != NULL) {
			cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL,
			    "cli", "cannot add command '%s' as already have "
			    "command '%s'", (*d)->name, (*d)->name));
			goto out;
		}
		cli_cmd_add(run->root, cli_cmd_new(run, *d, NULL, run->root));
	}
	idx = cli_agent_token(run->argv, (size_t)run->argc, &override);
	if (idx >= 0 && !override && *run->argv[idx] != '\0' &&
	    !cli_in(run->argv[idx], cli_verbs, nitems(cli_verbs)) &&
	    !cli_in(run->argv[idx], (const char *const *)agents.v, agents.n)) {
		if (cli_register_agent(run, run->argv[idx],
		    run->argv[idx]) == -1)
			goto out;
	}
	rc = 0;
out:
	free(agents.v);
	return (rc);
}

/* -------------------------------------------------------- option values */

/* The value of key on cmd itself (borrowed) or NULL. */
const json_t *
cli_opt_value(const struct cli_cmd *cmd, const char *key)
{
	return (json_object_get(cmd->vals, key));
}

/* optsWithGlobals()[key]: the outermost command that has a value wins. */
const json_t *
cli_opt_global(const struct cli_cmd *cmd, const char *key)
{
	const json_t	*v = NULL, *x;

	for (; cmd != NULL; cmd = cmd->parent) {
		if ((x = json_object_get(cmd->vals, key)) != NULL)
			v = x;
	}
	return (v);
}

/* resolveCommandOption(): the nearest value given on the command line. */
const json_t *
cli_opt_from_cli(const struct cli_cmd *cmd, const char *key)
{
	const char	*src;

	for (; cmd != NULL; cmd = cmd->parent) {
		src = json_string_value(json_object_get(cmd->srcs, key));
		if (src != NULL && strcmp(src, "cli") == 0)
			return (json_object_get(cmd->vals, key));
	}
	return (NULL);
}

/* The version line(s); --verbose adds ours and our libraries'. */
void
cli_print_version(int verbose)
{
	const curl_version_info_data	*cv;

	printf("%s\n", ACPX_COMPAT_VERSION);
	if (verbose) {
		cv = curl_version_info(CURLVERSION_NOW);
		printf("acpx-native %s\n", PACKAGE_VERSION);
		printf("libev %d.%d\n", ev_version_major(), ev_version_minor());
		printf("jansson %s\n", JANSSON_VERSION);
		printf("libcurl %s\n", cv != NULL ? cv->version : "unknown");
	}
	fflush(stdout);
}

/* Commander's option event: store (and validate) one option value. */
int
cli_set_option(struct cli_run *run, struct cli_cmd *cmd,
    const struct cli_opt *o, const char *value)
{
	json_t	*v = NULL;
	char	*msg = NULL;

	if (o == &cli_version_opt) {
		if (!run->strict)
			cli_print_version(0);
		run->status = ACPX_EXIT_SUCCESS;
		return (-1);
	}
	switch (o->kind) {
	case CLI_OPT_BOOL:
		v = json_true();
		break;
	case CLI_OPT_NEGATE:
		v = json_false();
		break;
	case CLI_OPT_VALUE:
		if (o->parse == NULL)
			v = json_string(value);
		else if (o->parse(value, json_object_get(cmd->vals, o->key), &v,
		    &msg) == -1) {
			cli_cmd_error(run, cmd, "error: option '%s' argument '%s' "
			    "is invalid. %s", o->flags, value, msg);
			free(msg);
			return (-1);
		}
		if (v == NULL)		/* not valid UTF-8: keep the bytes' gist */
			v = json_string("");
		break;
	}
	json_object_set_new(cmd->vals, o->key, v);
	json_object_set_new(cmd->srcs, o->key, json_string("cli"));
	return (0);
}

/* ------------------------------------------------------------- pre-scan */

/* Stop at "--", a non-option or "-"; skip the values of value flags. */
static int
cli_scan_stop(const char *t)
{
	return (strcmp(t, "--") == 0 || t[0] != '-' || strcmp(t, "-") == 0);
}

/* lastTopLevelFlagValue(). */
static const char *
cli_last_flag(char **args, size_t n, const char *flag)
{
	const char	*v = NULL;
	size_t		 i, fl = strlen(flag);

	for (i = 0; i < n; i++) {
		if (cli_scan_stop(args[i]))
			break;
		if (strcmp(args[i], flag) == 0)
			v = i + 1 < n ? args[i + 1] : NULL;
		else if (strncmp(args[i], flag, fl) == 0 && args[i][fl] == '=')
			v = args[i] + fl + 1;
		if (cli_is_value_flag(args[i]))
			i++;
	}
	return (v);
}

static int
cli_format_name(const char *s, enum acpx_format *f)
{
	if (s == NULL)
		return (0);
	if (strcmp(s, "text") == 0)
		*f = ACPX_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*f = ACPX_FORMAT_JSON;
	else if (strcmp(s, "quiet") == 0)
		*f = ACPX_FORMAT_QUIET;
	else
		return (0);
	return (1);
}

/* scanCompareArgs() over the arguments after "compare". */
static void
cli_scan_compare(char **args, size_t n, const char **cwd, const char **format,
    int *json)
{
	static const char *const vflags[] = { "--cwd", "--timeout", "--format",
	    "-f", "--file", "--prompt-file" };
	size_t	i;

	*cwd = *format = NULL;
	*json = 0;
	for (i = 0; i < n; i++) {
		const char *t = args[i];

		if (strcmp(t, "--") == 0)
			return;
		if (strcmp(t, "--cwd") == 0)
			*cwd = i + 1 < n ? args[i + 1] : NULL;
		else if (strncmp(t, "--cwd=", 6) == 0)
			*cwd = t + 6;
		if (strcmp(t, "--json") == 0)
			*json = 1;
		else if (strcmp(t, "--format") == 0)
			*format = i + 1 < n ? args[i + 1] : NULL;
		else if (strncmp(t, "--format=", 9) == 0)
			*format = t + 9;
		if (cli_in(t, vflags, nitems(vflags)))
			i++;
	}
}

/* The requested format and --json-strict from the leading options. */
static void
cli_prescan(struct cli_run *run, enum acpx_format fallback, int *has,
    enum acpx_format *out)
{
	enum acpx_format	 f = fallback, rf;
	const char		*ccwd, *cfmt;
	char			*v;
	size_t			 i, n = (size_t)run->argc;
	int			 found = 0, json, idx, override;

	for (i = 0; i < n; i++) {
		const char *t = run->argv[i];

		if (cli_scan_stop(t))
			break;
		if (strcmp(t, "--json-strict") == 0 ||
		    strncmp(t, "--json-strict=", 14) == 0) {
			*out = ACPX_FORMAT_JSON;
			*has = 1;
			return;
		}
		if (strcmp(t, "--format") == 0) {
			if (cli_format_name(i + 1 < n ? run->argv[i + 1] : NULL,
			    &rf)) {
				f = rf;
				found = 1;
			}
		} else if (strncmp(t, "--format=", 9) == 0) {
			v = js_trim_dup(t + 9);
			if (cli_format_name(v, &rf)) {
				f = rf;
				found = 1;
			}
			free(v);
		}
		if (cli_is_value_flag(t))
			i++;
	}
	idx = cli_agent_token(run->argv, n, &override);
	if (idx >= 0 && strcmp(run->argv[idx], "compare") == 0) {
		cli_scan_compare(run->argv + idx + 1, n - (size_t)idx - 1, &ccwd,
		    &cfmt, &json);
		if (json) {
			*out = ACPX_FORMAT_JSON;
			*has = 0;
			return;
		}
		if (!found && cli_format_name(cfmt, &rf)) {
			f = rf;
			found = 1;
		}
	}
	*has = 0;
	*out = found ? f : fallback;
}

static int
cli_prescan_strict(struct cli_run *run)
{
	size_t	i;

	for (i = 0; i < (size_t)run->argc; i++) {
		const char *t = run->argv[i];

		if (cli_scan_stop(t))
			break;
		if (strcmp(t, "--json-strict") == 0 ||
		    strncmp(t, "--json-strict=", 14) == 0)
			return (1);
		if (cli_is_value_flag(t))
			i++;
	}
	return (0);
}

/* detectInitialCwd(): compare's own --cwd, else the leading --cwd. */
static char *
cli_initial_cwd(struct cli_run *run)
{
	const char	*ccwd = NULL, *cfmt, *v;
	int		 idx, override, json;

	idx = cli_agent_token(run->argv, (size_t)run->argc, &override);
	if (idx >= 0 && strcmp(run->argv[idx], "compare") == 0) {
		cli_scan_compare(run->argv + idx + 1,
		    (size_t)run->argc - (size_t)idx - 1, &ccwd, &cfmt, &json);
		if (ccwd != NULL)
			return (config_path_resolve(run->process_cwd, ccwd));
	}
	v = cli_last_flag(run->argv, (size_t)run->argc, "--cwd");
	return (config_path_resolve(run->process_cwd, v != NULL ? v :
	    run->process_cwd));
}

/* ------------------------------------------------------------- entry */

/* isTopLevelVersionRequest(); *verbose if --verbose is a leading option. */
static int
cli_version_request(char **args, size_t n, int *verbose)
{
	size_t	i;
	int	found = 0;

	*verbose = 0;
	for (i = 0; i < n; i++) {
		const char *t = args[i];

		if (strcmp(t, "--") == 0)
			break;
		if (strcmp(t, "--version") == 0 || strcmp(t, "-V") == 0) {
			found = 1;
			break;
		}
		if (t[0] != '-' || strcmp(t, "-") == 0)
			break;
		if (cli_is_value_flag(t))
			i++;
		else if (!cli_is_value_assign(t) && !cli_is_bool_flag(t))
			break;
	}
	if (!found)
		return (0);
	for (i = 0; i < n; i++) {
		if (cli_scan_stop(args[i]))
			break;
		if (strcmp(args[i], "--verbose") == 0)
			*verbose = 1;
		if (cli_is_value_flag(args[i]))
			i++;
	}
	return (1);
}

static void
cli_run_free(struct cli_run *run)
{
	size_t	i;

	cli_cmd_free(run->root);
	run->root = NULL;
	run->leaf = NULL;
	for (i = 0; i < run->nscratch; i++)
		free(run->scratch[i]);
	free(run->scratch);
	run->scratch = NULL;
	run->nscratch = 0;
	free(run->root_args);
	run->root_args = NULL;
	run->nroot_args = 0;
}

/* Where the effective cwd / --mcp-config differ from what config was loaded for. */
static int
cli_needs_reload(struct cli_run *run, const char *loaded_cwd,
    const char *loaded_mcp, char **cwd, char **mcp)
{
	const char	*c = json_string_value(cli_opt_global(run->root, "cwd"));
	const char	*m = json_string_value(cli_opt_global(run->root,
			    "mcpConfig"));

	*cwd = config_path_resolve(run->process_cwd, c != NULL ? c :
	    run->process_cwd);
	*mcp = m != NULL && *m != '\0' ? xstrdup(m) : NULL;
	if (strcmp(*cwd, loaded_cwd) != 0)
		return (1);
	if ((*mcp == NULL) != (loaded_mcp == NULL))
		return (1);
	return (*mcp != NULL && strcmp(*mcp, loaded_mcp) != 0);
}

/* Parse argv and load config (see cli.h). */
int
cli_parse(int argc, char **argv, struct invocation *inv, cmd_run_fn *run_fn,
    enum acpx_format *err_format, struct acpx_error **err)
{
	struct cli_run		 run;
	char			*home = NULL, *cwd = NULL, *mcp = NULL, *cause;
	char			*ncwd, *nmcp, **args = argv + 1, cwdbuf[8192];
	const char		*m;
	size_t			 n = argc > 0 ? (size_t)argc - 1 : 0, i;
	int			 strict, has, verbose, pass, rc = -1;
	enum acpx_format	 f;

	memset(inv, 0, sizeof *inv);
	memset(&run, 0, sizeof run);
	*run_fn = NULL;
	*err = NULL;
	*err_format = ACPX_FORMAT_TEXT;
	run.status = -1;

	if (n > 0 && strcmp(args[0], "__queue-owner") == 0) {
		return (queue_owner_main());
	}
	/* The queue owner's parent that cleans up after it (reaper.h). */
	if (n > 0 && strcmp(args[0], "__queue-keeper") == 0)
		return (reaper_keeper_main());
	/* The shell completion scripts' entry point (complete.h). */
	if (n > 0 && strcmp(args[0], "__complete") == 0)
		return (complete_main((int)n - 1, args + 1));
	if (n > 0 && strcmp(args[0], "--") == 0 &&
	    (getenv("npm_lifecycle_event") != NULL ||
	    getenv("npm_lifecycle_script") != NULL)) {
		args++;
		n--;
	}
	if (cli_version_request(args, n, &verbose)) {
		cli_print_version(verbose);
		return (ACPX_EXIT_SUCCESS);
	}
	run.argc = (int)n;
	run.argv = args;
	if (getcwd(cwdbuf, sizeof cwdbuf) == NULL)
		strcpy(cwdbuf, "/");
	run.process_cwd = xstrdup(cwdbuf);

	strict = cli_prescan_strict(&run);
	inv->json_strict = strict;
	cli_prescan(&run, ACPX_FORMAT_TEXT, &has, &f);
	*err_format = strict ? ACPX_FORMAT_JSON : f;

	for (i = 0; i < n; i++) {
		if (strcmp(args[i], "--skill") == 0 ||
		    strncmp(args[i], "--skill=", 8) == 0) {
			*err = acpx_error_new(ACPX_CODE_RUNTIME, "UNSUPPORTED",
			    "cli", "--skill is not supported by acpx-native "
			    "(skills are not bundled); see acpx(1)");
			goto out;
		}
	}

	home = config_home();
	cwd = cli_initial_cwd(&run);
	m = cli_last_flag(args, n, "--mcp-config");
	mcp = m != NULL && *m != '\0' ? xstrdup(m) : NULL;
	for (pass = 0;; pass++) {
		if ((run.config = config_load(home, cwd, mcp, &cause)) == NULL) {
			*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
			    cause);
			free(cause);
			goto out;
		}
		cli_prescan(&run, run.config->format, &has, &f);
		run.strict = strict;
		run.err_format = *err_format = strict ? ACPX_FORMAT_JSON : f;
		if (cli_setup(&run) == -1 ||
		    cli_parse_command(&run, run.root, NULL, 0, run.argv,
		    (size_t)run.argc) == -1 || run.leaf == NULL)
			break;
		ncwd = nmcp = NULL;
		if (pass > 0 || !run.late_cwd ||
		    !cli_needs_reload(&run, cwd, mcp, &ncwd, &nmcp)) {
			free(ncwd);
			free(nmcp);
			break;
		}
		/* A --cwd/--mcp-config after the verb: reload for that directory. */
		free(cwd);
		free(mcp);
		cwd = ncwd;
		mcp = nmcp;
		cli_run_free(&run);
		config_free(run.config);
		run.config = NULL;
		run.late_globals = run.late_cwd = 0;
	}
	if (run.leaf != NULL && run.status < 0 && run.err == NULL)
		cli_action(&run, run.leaf, inv);
	if (run.late_globals)
		*err_format = run.err_format;
	if (run.status >= 0) {
		rc = run.status;
		acpx_error_free(run.err);
		run.err = NULL;
	} else if (run.err != NULL) {
		*err = run.err;
		run.err = NULL;
	} else {
		*run_fn = run.run;
		rc = 0;
		/* The invocation owns the config from here. */
		inv->config = run.config;
		run.config = NULL;
	}
	if (run.strict)
		inv->json_strict = 1;
out:
	cli_run_free(&run);
	config_free(run.config);
	free(run.process_cwd);
	free(home);
	free(cwd);
	free(mcp);
	if (*err != NULL)
		return (-1);
	return (rc);
}
