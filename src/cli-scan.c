#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "acpx.h"
#include "cli-impl.h"
#include "cmd.h"
#include "config-file.h"
#include "js.h"
#include "xmalloc.h"

/*
 * The scans the reference makes over the raw arguments before Commander
 * parses them: the version fast path, the output format and
 * --json-strict of error output, the initial --cwd (and compare's own),
 * the last value of a leading flag and the agent token (detectAgentToken).
 * The leading global options are the program's option rows (cmd.c).
 */

/* A leading global option that takes a value: "--cwd". */
static int
cli_is_value_flag(const char *s)
{
	const struct cmd_opt	*o = cmd_find_opt(&cmd_root_entry, s);

	return (o != NULL && o->kind == CMD_OPT_VALUE);
}

/* A leading global flag without a value: "--approve-all" (not -V). */
static int
cli_is_bool_flag(const char *s)
{
	const struct cmd_opt	*o = cmd_find_opt(&cmd_root_entry, s);

	return (o != NULL && o->kind != CMD_OPT_VALUE && o != &cmd_opt_version &&
	    strcmp(o->longf, s) == 0);
}

/* token starts with "<flag>=" for one of the value flags. */
static int
cli_is_value_assign(const char *s)
{
	const struct cmd_opt	*o;
	const char		*eq = strchr(s, '=');
	char			*flag;

	if (eq == NULL || strncmp(s, "--", 2) != 0)
		return (0);
	flag = xstrndup(s, (size_t)(eq - s));
	o = cmd_find_opt(&cmd_root_entry, flag);
	free(flag);
	return (o != NULL && o->kind == CMD_OPT_VALUE);
}

/* s is one of the n strings of list. */
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

/* detectAgentToken(): the index of the candidate token, or -1. */
int
cli_scan_agent_token(char **args, size_t n, int *override)
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

/* Stop at "--", a non-option or "-"; skip the values of value flags. */
static int
cli_scan_stop(const char *t)
{
	return (strcmp(t, "--") == 0 || t[0] != '-' || strcmp(t, "-") == 0);
}

/* lastTopLevelFlagValue(). */
const char *
cli_scan_last_flag(char **args, size_t n, const char *flag)
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
void
cli_scan_format(struct cli_run *run, enum acpx_format fallback, int *has,
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
	idx = cli_scan_agent_token(run->argv, n, &override);
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

int
cli_scan_strict(struct cli_run *run)
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
char *
cli_scan_initial_cwd(struct cli_run *run)
{
	const char	*ccwd = NULL, *cfmt, *v;
	int		 idx, override, json;

	idx = cli_scan_agent_token(run->argv, (size_t)run->argc, &override);
	if (idx >= 0 && strcmp(run->argv[idx], "compare") == 0) {
		cli_scan_compare(run->argv + idx + 1,
		    (size_t)run->argc - (size_t)idx - 1, &ccwd, &cfmt, &json);
		if (ccwd != NULL)
			return (config_path_resolve(run->process_cwd, ccwd));
	}
	v = cli_scan_last_flag(run->argv, (size_t)run->argc, "--cwd");
	return (config_path_resolve(run->process_cwd, v != NULL ? v :
	    run->process_cwd));
}

/* isTopLevelVersionRequest(); *verbose if --verbose is a leading option. */
int
cli_scan_version(char **args, size_t n, int *verbose)
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
