#include <config.h>

#include <sys/ioctl.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "cli-impl.h"
#include "cmdline.h"
#include "js.h"
#include "json-util.h"
#include "xmalloc.h"

/*
 * The command and option tables of the Commander program the reference
 * builds (same flags, descriptions, argument names and order, so help and
 * error messages come out the same), the option-argument validators with
 * the reference's messages, and Commander's help layout and "Did you
 * mean" suggestions.
 */

#define CLI_MAX_TIMER_MS	2147483647.0

/* ------------------------------------------------------------ numbers */

static int
cli_is_integer(double d)
{
	return (isfinite(d) && floor(d) == d);
}


/* --------------------------------------------------------- validators */

/* parseOutputFormat(). */
int
cli_parse_format(const char *v, const json_t *prev, json_t **out, char **msg)
{
	if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0 &&
	    strcmp(v, "quiet") != 0) {
		xasprintf(msg, "Invalid format \"%s\". Expected one of: text, "
		    "json, quiet", v);
		return (-1);
	}
	*out = json_string(v);
	return (0);
}

static int
cli_parse_auth(const char *v, const json_t *prev, json_t **out, char **msg)
{
	if (strcmp(v, "skip") != 0 && strcmp(v, "fail") != 0) {
		xasprintf(msg, "Invalid auth policy \"%s\". Expected one of: "
		    "skip, fail", v);
		return (-1);
	}
	*out = json_string(v);
	return (0);
}

static int
cli_parse_nonint(const char *v, const json_t *prev, json_t **out, char **msg)
{
	if (strcmp(v, "deny") != 0 && strcmp(v, "fail") != 0) {
		xasprintf(msg, "Invalid non-interactive permission policy \"%s\". "
		    "Expected one of: deny, fail", v);
		return (-1);
	}
	*out = json_string(v);
	return (0);
}

/* parseTimeoutSeconds(): milliseconds. */
static int
cli_parse_timeout(const char *v, const json_t *prev, json_t **out, char **msg)
{
	double	d, ms;

	if (js_number(v, &d) == -1 || !isfinite(d) || d <= 0) {
		*msg = xstrdup("Timeout must be a positive number of seconds");
		return (-1);
	}
	ms = js_round(d * 1000);
	if (ms < 1)
		ms = 1;
	if (ms > CLI_MAX_TIMER_MS) {
		*msg = xstrdup("Timeout exceeds the maximum supported timer "
		    "delay");
		return (-1);
	}
	*out = json_integer((json_int_t)ms);
	return (0);
}

/* parseTtlSeconds(): milliseconds. */
static int
cli_parse_ttl(const char *v, const json_t *prev, json_t **out, char **msg)
{
	double	d, ms;

	if (js_number(v, &d) == -1 || !isfinite(d) || d < 0) {
		*msg = xstrdup("TTL must be a non-negative number of seconds");
		return (-1);
	}
	if (d == 0)
		ms = 0;
	else {
		ms = js_round(d * 1000);
		if (ms < 1)
			ms = 1;
	}
	if (ms > CLI_MAX_TIMER_MS) {
		*msg = xstrdup("TTL exceeds the maximum supported timer delay");
		return (-1);
	}
	*out = json_integer((json_int_t)ms);
	return (0);
}

static int
cli_parse_positive(const char *v, json_t **out, char **msg, const char *what)
{
	double	d;

	if (js_number(v, &d) == -1 || !cli_is_integer(d) || d <= 0) {
		*msg = xstrdup(what);
		return (-1);
	}
	*out = json_integer((json_int_t)d);
	return (0);
}

static int
cli_parse_max_turns(const char *v, const json_t *prev, json_t **out,
    char **msg)
{
	return (cli_parse_positive(v, out, msg,
	    "Max turns must be a positive integer"));
}

static int
cli_parse_limit(const char *v, const json_t *prev, json_t **out, char **msg)
{
	return (cli_parse_positive(v, out, msg,
	    "Limit must be a positive integer"));
}

static int
cli_parse_days(const char *v, const json_t *prev, json_t **out, char **msg)
{
	return (cli_parse_positive(v, out, msg,
	    "--older-than must be a positive integer number of days"));
}

static int
cli_parse_retries(const char *v, const json_t *prev, json_t **out, char **msg)
{
	double	d;

	if (js_number(v, &d) == -1 || !cli_is_integer(d) || d < 0) {
		*msg = xstrdup("Prompt retries must be a non-negative integer");
		return (-1);
	}
	*out = json_integer((json_int_t)d);
	return (0);
}

/* parseAllowedTools(). */
static int
cli_parse_tools(const char *v, const json_t *prev, json_t **out, char **msg)
{
	char	*t, *p, *comma, *item;
	json_t	*list;

	t = js_trim_dup(v);
	list = json_array();
	if (*t == '\0') {
		free(t);
		*out = list;
		return (0);
	}
	for (p = t;; p = comma + 1) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma = '\0';
		item = js_trim_dup(p);
		if (*item == '\0') {
			free(item);
			free(t);
			json_decref(list);
			*msg = xstrdup("Allowed tools must be a comma-separated "
			    "list without empty entries");
			return (-1);
		}
		json_array_append_new(list, json_string(item));
		free(item);
		if (comma == NULL)
			break;
	}
	free(t);
	*out = list;
	return (0);
}

/* parseNonEmptyValue(label, value). */
static int
cli_nonempty(const char *v, json_t **out, char **msg, const char *label)
{
	char	*t = js_trim_dup(v);

	if (*t == '\0') {
		free(t);
		xasprintf(msg, "%s must not be empty", label);
		return (-1);
	}
	*out = json_string(t);
	free(t);
	return (0);
}

#define CLI_NONEMPTY(fn, label)						\
static int								\
fn(const char *v, const json_t *prev, json_t **out, char **msg)	\
{									\
	return (cli_nonempty(v, out, msg, label));			\
}
CLI_NONEMPTY(cli_parse_session, "Session name")
CLI_NONEMPTY(cli_parse_system_prompt, "System prompt")
CLI_NONEMPTY(cli_parse_append_prompt, "Append system prompt")
CLI_NONEMPTY(cli_parse_cursor, "Cursor")
CLI_NONEMPTY(cli_parse_filter_cwd, "Filter cwd")
CLI_NONEMPTY(cli_parse_resume, "Resume session id")
CLI_NONEMPTY(cli_parse_output, "Output path")
CLI_NONEMPTY(cli_parse_source_cwd, "Session cwd")
CLI_NONEMPTY(cli_parse_archive, "Archive path")
CLI_NONEMPTY(cli_parse_dest_cwd, "Imported session cwd")
CLI_NONEMPTY(cli_parse_mode, "Mode")
CLI_NONEMPTY(cli_parse_config_key, "Config option key")
CLI_NONEMPTY(cli_parse_config_value, "Config option value")
CLI_NONEMPTY(cli_parse_default_agent, "Default agent")
CLI_NONEMPTY(cli_parse_prompt_file, "Prompt file")

/* --config-option key=value, collected into an array of "key=value". */
static int
cli_parse_config_option(const char *v, const json_t *prev, json_t **out,
    char **msg)
{
	const char	*eq = strchr(v, '=');
	char		*k, *key, *val, *kv;
	size_t		 len = strlen(v);

	if (eq == NULL || eq == v || (size_t)(eq - v) == len - 1)
		goto bad;
	k = xstrndup(v, (size_t)(eq - v));
	key = js_trim_dup(k);
	val = js_trim_dup(eq + 1);
	free(k);
	if (*key == '\0' || *val == '\0') {
		free(key);
		free(val);
		goto bad;
	}
	*out = json_is_array(prev) ? json_copy((json_t *)prev) : json_array();
	xasprintf(&kv, "%s=%s", key, val);
	json_array_append_new(*out, json_string(kv));
	free(kv);
	free(key);
	free(val);
	return (0);
bad:
	*msg = xstrdup("Session config option must use \"<key>=<value>\" with "
	    "non-empty parts");
	return (-1);
}

/* All characters of [s, e) are digits and there are n of them. */
static int
cli_digits(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

/* The ECMAScript date-time string format (YYYY[-MM[-DD]][THH:mm[:ss[.sss]][Z|±HH:mm]]). */
static int
cli_iso_date(const char *s)
{
	size_t	n = strlen(s);
	int	mo = 1, d = 1, h, mi, sec = 0;

	if ((s[0] == '+' || s[0] == '-') && n >= 7 && cli_digits(s + 1, 6)) {
		s += 7;
	} else if (n >= 4 && cli_digits(s, 4))
		s += 4;
	else
		return (0);
	if (*s == '-') {
		if (!cli_digits(s + 1, 2))
			return (0);
		mo = atoi(s + 1);
		s += 3;
		if (*s == '-') {
			if (!cli_digits(s + 1, 2))
				return (0);
			d = atoi(s + 1);
			s += 3;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return (0);
	if (*s == '\0')
		return (1);
	if (*s != 'T' && *s != 't')
		return (0);
	s++;
	if (!cli_digits(s, 2) || s[2] != ':' || !cli_digits(s + 3, 2))
		return (0);
	h = atoi(s);
	mi = atoi(s + 3);
	s += 5;
	if (*s == ':') {
		if (!cli_digits(s + 1, 2))
			return (0);
		sec = atoi(s + 1);
		s += 3;
		if (*s == '.') {
			s++;
			if (!isdigit((unsigned char)*s))
				return (0);
			while (isdigit((unsigned char)*s))
				s++;
		}
	}
	if (h > 24 || mi > 59 || sec > 59 || (h == 24 && (mi != 0 || sec != 0)))
		return (0);
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		if (!cli_digits(s + 1, 2) || s[3] != ':' ||
		    !cli_digits(s + 4, 2))
			return (0);
		s += 6;
	}
	return (*s == '\0');
}

/* new Date(value) is valid: ISO forms, or a few of V8's legacy forms. */
static int
cli_parse_before(const char *v, const json_t *prev, json_t **out, char **msg)
{
	static const char *const formats[] = { "%Y/%m/%d", "%Y/%m/%d %H:%M",
	    "%Y/%m/%d %H:%M:%S", "%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%b %d %Y",
	    "%b %d, %Y", "%d %b %Y", "%B %d %Y", "%B %d, %Y", "%d %B %Y",
	    "%a %b %d %Y", "%a %b %d %Y %H:%M:%S", "%Y-%m-%d %H:%M",
	    "%Y-%m-%d %H:%M:%S" };
	struct tm	 tm;
	const char	*end;
	size_t		 i;

	if (cli_iso_date(v))
		goto ok;
	for (i = 0; i < nitems(formats); i++) {
		memset(&tm, 0, sizeof tm);
		if ((end = strptime(v, formats[i], &tm)) != NULL) {
			while (*end == ' ')
				end++;
			if (*end == '\0' || strcmp(end, "Z") == 0 ||
			    strcmp(end, "GMT") == 0 || strcmp(end, "UTC") == 0)
				goto ok;
		}
	}
	*msg = xstrdup("--before must be a valid date (e.g. 2026-01-01 or "
	    "2026-01-01T00:00:00Z)");
	return (-1);
ok:
	*out = json_string(v);
	return (0);
}

static int
cli_parse_shell(const char *v, const json_t *prev, json_t **out, char **msg)
{
	if (strcmp(v, "bash") != 0 && strcmp(v, "zsh") != 0 &&
	    strcmp(v, "fish") != 0) {
		*msg = xstrdup("Shell must be one of: bash, zsh, fish");
		return (-1);
	}
	*out = json_string(v);
	return (0);
}

/* -------------------------------------------------------------- options */

#define OPT(flags, s, l, key, desc, kind, parse) \
	{ flags, s, l, key, desc, kind, parse, 0, NULL }

const struct cli_opt cli_version_opt = OPT("-V, --version", "-V",
    "--version", "version", "output the version number", CLI_OPT_BOOL, NULL);
const struct cli_opt cli_help_opt = OPT("-h, --help", "-h", "--help", "help",
    "display help for command", CLI_OPT_BOOL, NULL);

static const struct cli_opt o_agent = OPT("--agent <command>", NULL,
    "--agent", "agent", "Raw ACP agent command (escape hatch)", CLI_OPT_VALUE,
    NULL);
static const struct cli_opt o_cwd = OPT("--cwd <dir>", NULL, "--cwd", "cwd",
    "Working directory", CLI_OPT_VALUE, NULL);
static const struct cli_opt o_auth = OPT("--auth-policy <policy>", NULL,
    "--auth-policy", "authPolicy",
    "Authentication policy: skip or fail when auth is required",
    CLI_OPT_VALUE, cli_parse_auth);
static const struct cli_opt o_approve_all = OPT("--approve-all", NULL,
    "--approve-all", "approveAll", "Auto-approve all permission requests",
    CLI_OPT_BOOL, NULL);
static const struct cli_opt o_approve_reads = OPT("--approve-reads", NULL,
    "--approve-reads", "approveReads",
    "Auto-approve read/search requests and prompt for writes", CLI_OPT_BOOL,
    NULL);
static const struct cli_opt o_deny_all = OPT("--deny-all", NULL,
    "--deny-all", "denyAll", "Deny all permission requests", CLI_OPT_BOOL,
    NULL);
static const struct cli_opt o_nonint = OPT(
    "--non-interactive-permissions <policy>", NULL,
    "--non-interactive-permissions", "nonInteractivePermissions",
    "When prompting is unavailable: deny or fail", CLI_OPT_VALUE,
    cli_parse_nonint);
static const struct cli_opt o_perm_policy = OPT(
    "--permission-policy <json-or-file>", NULL, "--permission-policy",
    "permissionPolicy", "Permission policy JSON or path (autoApprove, "
    "autoDeny, escalate, defaultAction)", CLI_OPT_VALUE, NULL);
static const struct cli_opt o_policy = OPT("--policy <json-or-file>", NULL,
    "--policy", "policy", "Alias for --permission-policy", CLI_OPT_VALUE,
    NULL);
static const struct cli_opt o_format = OPT("--format <fmt>", NULL,
    "--format", "format", "Output format: text, json, quiet", CLI_OPT_VALUE,
    cli_parse_format);
static const struct cli_opt o_suppress = OPT("--suppress-reads", NULL,
    "--suppress-reads", "suppressReads",
    "Suppress raw read-file contents in output", CLI_OPT_BOOL, NULL);
static const struct cli_opt o_model = OPT("--model <id>", NULL, "--model",
    "model", "Agent model id", CLI_OPT_VALUE, NULL);
static const struct cli_opt o_tools = OPT("--allowed-tools <list>", NULL,
    "--allowed-tools", "allowedTools", "Allowed tool names as a "
    "comma-separated list (use \"\" for no tools)", CLI_OPT_VALUE,
    cli_parse_tools);
static const struct cli_opt o_max_turns = OPT("--max-turns <count>", NULL,
    "--max-turns", "maxTurns", "Maximum turns for the session",
    CLI_OPT_VALUE, cli_parse_max_turns);
static const struct cli_opt o_system = OPT("--system-prompt <text>", NULL,
    "--system-prompt", "systemPrompt", "Replace the agent system prompt "
    "(claude-agent-acp via ACP _meta.systemPrompt)", CLI_OPT_VALUE,
    cli_parse_system_prompt);
static const struct cli_opt o_append = OPT("--append-system-prompt <text>",
    NULL, "--append-system-prompt", "appendSystemPrompt", "Append text to "
    "the agent system prompt (claude-agent-acp via ACP "
    "_meta.systemPrompt.append)", CLI_OPT_VALUE, cli_parse_append_prompt);
static const struct cli_opt o_retries = OPT("--prompt-retries <count>", NULL,
    "--prompt-retries", "promptRetries",
    "Retry failed prompt turns on transient errors (default: 0)",
    CLI_OPT_VALUE, cli_parse_retries);
static const struct cli_opt o_strict = OPT("--json-strict", NULL,
    "--json-strict", "jsonStrict", "Strict JSON mode: requires --format json "
    "and suppresses non-JSON stderr output", CLI_OPT_BOOL, NULL);
static const struct cli_opt o_no_fs = OPT("--no-fs", NULL, "--no-fs", "fs",
    "Do not advertise ACP filesystem capabilities", CLI_OPT_NEGATE, NULL);
static const struct cli_opt o_no_terminal = OPT("--no-terminal", NULL,
    "--no-terminal", "terminal", "Do not advertise ACP terminal capability",
    CLI_OPT_NEGATE, NULL);
/* Ours (warp fallback, issue 7); no desc: kept out of the reference's help. */
static const struct cli_opt o_no_fallback = OPT("--no-fallback", NULL,
    "--no-fallback", "fallback", NULL, CLI_OPT_NEGATE, NULL);
static const struct cli_opt o_timeout = OPT("--timeout <seconds>", NULL,
    "--timeout", "timeout", "Maximum time to wait for agent response",
    CLI_OPT_VALUE, cli_parse_timeout);
static const struct cli_opt o_ttl = OPT("--ttl <seconds>", NULL, "--ttl",
    "ttl", "Queue owner idle TTL before shutdown (0 = keep alive forever) "
    "(default: 300)", CLI_OPT_VALUE, cli_parse_ttl);
static const struct cli_opt o_mcp = OPT("--mcp-config <path>", NULL,
    "--mcp-config", "mcpConfig", "Load MCP servers from a JSON config file "
    "instead of project/global mcpServers", CLI_OPT_VALUE, NULL);
static const struct cli_opt o_verbose = OPT("--verbose", NULL, "--verbose",
    "verbose", "Enable verbose debug logs", CLI_OPT_BOOL, NULL);

static const struct cli_opt *const root_opts[] = { &cli_version_opt,
    &o_agent, &o_cwd, &o_auth, &o_approve_all, &o_approve_reads, &o_deny_all,
    &o_nonint, &o_perm_policy, &o_policy, &o_format, &o_suppress, &o_model,
    &o_tools, &o_max_turns, &o_system, &o_append, &o_retries, &o_strict,
    &o_no_fs, &o_no_terminal, &o_no_fallback, &o_timeout, &o_ttl, &o_mcp,
    &o_verbose, NULL };

static const struct cli_opt o_session = OPT("-s, --session <name>", "-s",
    "--session", "session", "Use named session instead of cwd default",
    CLI_OPT_VALUE, cli_parse_session);
static const struct cli_opt o_no_wait = OPT("--no-wait", NULL, "--no-wait",
    "wait", "Queue prompt and return immediately when another prompt is "
    "already running", CLI_OPT_NEGATE, NULL);
static const struct cli_opt o_file = OPT("-f, --file <path>", "-f",
    "--file", "file", "Read prompt text from file path (use - for stdin)",
    CLI_OPT_VALUE, NULL);
static const struct cli_opt o_config_option = OPT(
    "--config-option <key=value>", NULL, "--config-option", "configOption",
    "Set an ACP session config option before the one-shot prompt "
    "(repeatable)", CLI_OPT_VALUE, cli_parse_config_option);

static const struct cli_opt *const prompt_opts[] = { &o_session, &o_no_wait,
    &o_file, NULL };
static const struct cli_opt *const exec_opts[] = { &o_file, &o_config_option,
    NULL };
static const struct cli_opt *const session_opts[] = { &o_session, NULL };

static const struct cli_opt o_local = OPT("--local", NULL, "--local", "local",
    "List local acpx session records instead of agent protocol sessions",
    CLI_OPT_BOOL, NULL);
static const struct cli_opt o_cursor = OPT("--cursor <cursor>", NULL,
    "--cursor", "cursor", "Opaque ACP session/list cursor", CLI_OPT_VALUE,
    cli_parse_cursor);
static const struct cli_opt o_filter_cwd = OPT("--filter-cwd <dir>", NULL,
    "--filter-cwd", "filterCwd", "Filter agent sessions by working directory",
    CLI_OPT_VALUE, cli_parse_filter_cwd);
static const struct cli_opt *const list_opts[] = { &o_local, &o_cursor,
    &o_filter_cwd, NULL };

static const struct cli_opt o_name = OPT("-s, --name <name>", "-s",
    "--name", "name", "Session name", CLI_OPT_VALUE, cli_parse_session);
static const struct cli_opt o_resume = OPT("--resume-session <id>", NULL,
    "--resume-session", "resumeSession", "Resume existing ACP session id",
    CLI_OPT_VALUE, cli_parse_resume);
static const struct cli_opt *const new_opts[] = { &o_name, &o_resume, NULL };

static const struct cli_opt o_limit = { "--limit <count>", NULL, "--limit",
    "limit", "Maximum number of entries to show (default: 20)",
    CLI_OPT_VALUE, cli_parse_limit, 0, "20" };
static const struct cli_opt *const history_opts[] = { &o_limit, NULL };
static const struct cli_opt o_tail = OPT("--tail <count>", NULL, "--tail",
    "tail", "Show only the last N entries instead of all history",
    CLI_OPT_VALUE, cli_parse_limit);
static const struct cli_opt *const read_opts[] = { &o_tail, NULL };
static const struct cli_opt o_watch_cursor = OPT("--cursor <cursor>", NULL,
    "--cursor", "cursor", "Resume after a session watch cursor",
    CLI_OPT_VALUE, cli_parse_cursor);
static const struct cli_opt *const watch_opts[] = { &o_name,
    &o_watch_cursor, NULL };
static const struct cli_opt o_output = { "--output <path>", NULL,
    "--output", "output", "Output archive path", CLI_OPT_VALUE,
    cli_parse_output, 1, NULL };
static const struct cli_opt o_source_cwd = OPT("--cwd <cwd>", NULL, "--cwd",
    "sourceCwd", "Session cwd to export", CLI_OPT_VALUE, cli_parse_source_cwd);
static const struct cli_opt *const export_opts[] = { &o_output,
    &o_source_cwd, NULL };
static const struct cli_opt o_import_name = OPT("--name <name>", NULL,
    "--name", "name", "Imported session name", CLI_OPT_VALUE,
    cli_parse_session);
static const struct cli_opt o_dest_cwd = OPT("--cwd <cwd>", NULL, "--cwd",
    "destinationCwd", "Imported session cwd", CLI_OPT_VALUE,
    cli_parse_dest_cwd);
static const struct cli_opt *const import_opts[] = { &o_import_name,
    &o_dest_cwd, NULL };
static const struct cli_opt o_dry_run = OPT("--dry-run", NULL, "--dry-run",
    "dryRun", "Preview what would be pruned without deleting anything",
    CLI_OPT_BOOL, NULL);
static const struct cli_opt o_before = OPT("--before <date>", NULL,
    "--before", "before", "Prune sessions closed before this date",
    CLI_OPT_VALUE, cli_parse_before);
static const struct cli_opt o_older = OPT("--older-than <days>", NULL,
    "--older-than", "olderThan", "Prune sessions closed more than N days ago",
    CLI_OPT_VALUE, cli_parse_days);
static const struct cli_opt o_include_history = OPT("--include-history",
    NULL, "--include-history", "includeHistory",
    "Also delete event stream files (.stream.ndjson)", CLI_OPT_BOOL, NULL);
static const struct cli_opt *const prune_opts[] = { &o_dry_run, &o_before,
    &o_older, &o_include_history, NULL };

static const struct cli_opt *const config_sub_opts[] = { &o_format, NULL };

static const struct cli_opt o_cmp_cwd = OPT("--cwd <dir>", NULL, "--cwd",
    "cwd", "Target workspace", CLI_OPT_VALUE, NULL);
static const struct cli_opt o_cmp_timeout = OPT("--timeout <seconds>", NULL,
    "--timeout", "timeout", "Per-agent timeout in seconds", CLI_OPT_VALUE,
    cli_parse_timeout);
static const struct cli_opt o_cmp_json = OPT("--json", NULL, "--json",
    "json", "Alias for --format json", CLI_OPT_BOOL, NULL);
static const struct cli_opt o_cmp_file = OPT("-f, --file <path>", "-f",
    "--file", "file", "Read prompt text from file path (use - for stdin)",
    CLI_OPT_VALUE, cli_parse_prompt_file);
static const struct cli_opt o_cmp_prompt_file = OPT("--prompt-file <path>",
    NULL, "--prompt-file", "promptFile", "Alias for --file", CLI_OPT_VALUE,
    cli_parse_prompt_file);
static const struct cli_opt *const compare_opts[] = { &o_cmp_cwd,
    &o_approve_all, &o_approve_reads, &o_deny_all, &o_cmp_timeout, &o_format,
    &o_cmp_json, &o_cmp_file, &o_cmp_prompt_file, NULL };

static const struct cli_opt o_input_json = OPT("--input-json <json>", NULL,
    "--input-json", "inputJson", "Flow input as JSON", CLI_OPT_VALUE, NULL);
static const struct cli_opt o_input_file = OPT("--input-file <path>", NULL,
    "--input-file", "inputFile", "Read flow input JSON from file",
    CLI_OPT_VALUE, NULL);
static const struct cli_opt o_default_agent = OPT("--default-agent <name>",
    NULL, "--default-agent", "defaultAgent",
    "Default agent profile for ACP nodes without profile", CLI_OPT_VALUE,
    cli_parse_default_agent);
static const struct cli_opt *const flow_run_opts[] = { &o_input_json,
    &o_input_file, &o_default_agent, NULL };

static const struct cli_opt *const no_opts[] = { NULL };

/* ------------------------------------------------------------- commands */

static const struct cli_arg a_prompt[] = { { "[prompt...]", "Prompt text",
    NULL } };
static const struct cli_arg a_mode[] = { { "<mode>", "Mode id",
    cli_parse_mode } };
static const struct cli_arg a_set[] = {
	{ "<key>", "Config option id", cli_parse_config_key },
	{ "<value>", "Config option value", cli_parse_config_value },
};
static const struct cli_arg a_name[] = { { "[name]", "Session name",
    cli_parse_session } };
static const struct cli_arg a_archive[] = { { "<archive-path>",
    "Archive path", cli_parse_archive } };
static const struct cli_arg a_compare[] = { { "<args...>",
    "Agents followed by prompt text, or agents with --file", NULL } };
static const struct cli_arg a_file[] = { { "<file>", "Flow module path",
    NULL } };
static const struct cli_arg a_targets[] = { { "[targets...]",
    "Warp agent ids or provider names", NULL } };
static const struct cli_arg a_shell[] = { { "<shell>", "bash, zsh or fish",
    cli_parse_shell } };

#define CMD(name, desc, opts, args, subs, flags, verb, sub) \
	{ name, desc, opts, args, args == NULL ? 0 : nitems(args), subs, \
	    flags, verb, sub }
#define NOARGS	((const struct cli_arg *)NULL)

/* sessions and its subcommands. */
static const struct cli_cmddef s_list = { "list", "List sessions", list_opts,
    NULL, 0, NULL, CLI_CMD_ACTION, CLI_VERB_SESSIONS, "list" };
static const struct cli_cmddef s_new = { "new",
    "Create a fresh session for current cwd", new_opts, NULL, 0, NULL,
    CLI_CMD_ACTION, CLI_VERB_SESSIONS, "new" };
static const struct cli_cmddef s_ensure = { "ensure",
    "Ensure a session exists for current cwd or ancestor", new_opts, NULL, 0,
    NULL, CLI_CMD_ACTION, CLI_VERB_SESSIONS, "ensure" };
static const struct cli_cmddef s_close = { "close",
    "Close session for current cwd", no_opts, a_name, 1, NULL,
    CLI_CMD_ACTION, CLI_VERB_SESSIONS, "close" };
static const struct cli_cmddef s_show = { "show",
    "Show session metadata for current cwd", no_opts, a_name, 1, NULL,
    CLI_CMD_ACTION, CLI_VERB_SESSIONS, "show" };
static const struct cli_cmddef s_history = { "history",
    "Show recent session history entries", history_opts, a_name, 1, NULL,
    CLI_CMD_ACTION, CLI_VERB_SESSIONS, "history" };
static const struct cli_cmddef s_read = { "read", "Read full session history",
    read_opts, a_name, 1, NULL, CLI_CMD_ACTION, CLI_VERB_SESSIONS, "read" };
static const struct cli_cmddef s_watch = { "watch",
    "Replay and follow session events without affecting the active turn",
    watch_opts, NULL, 0, NULL, CLI_CMD_ACTION, CLI_VERB_SESSIONS, "watch" };
static const struct cli_cmddef s_export = { "export",
    "Export a portable session archive", export_opts, a_name, 1, NULL,
    CLI_CMD_ACTION, CLI_VERB_SESSIONS, "export" };
static const struct cli_cmddef s_import = { "import",
    "Import a portable session archive", import_opts, a_archive, 1, NULL,
    CLI_CMD_ACTION, CLI_VERB_SESSIONS, "import" };
static const struct cli_cmddef s_prune = { "prune",
    "Delete closed sessions and free disk space", prune_opts, NULL, 0, NULL,
    CLI_CMD_ACTION, CLI_VERB_SESSIONS, "prune" };
static const struct cli_cmddef *const sessions_subs[] = { &s_list, &s_new,
    &s_ensure, &s_close, &s_show, &s_history, &s_read, &s_watch, &s_export,
    &s_import, &s_prune, NULL };
static const struct cli_cmddef c_sessions = { "sessions",
    "List, ensure, create, or close sessions for this agent", list_opts, NULL,
    0, sessions_subs, CLI_CMD_ACTION, CLI_VERB_SESSIONS, "list" };

/* The verbs under an agent. */
static const struct cli_cmddef ac_prompt = { "prompt",
    "Prompt using persistent session", prompt_opts, a_prompt, 1, NULL,
    CLI_CMD_ACTION, CLI_VERB_PROMPT, NULL };
static const struct cli_cmddef ac_exec = { "exec",
    "One-shot prompt without saved session", exec_opts, a_prompt, 1, NULL,
    CLI_CMD_ACTION, CLI_VERB_EXEC, NULL };
static const struct cli_cmddef ac_cancel = { "cancel",
    "Cooperatively cancel current in-flight prompt", session_opts, NULL, 0,
    NULL, CLI_CMD_ACTION, CLI_VERB_CANCEL, NULL };
static const struct cli_cmddef ac_set_mode = { "set-mode", "Set session mode",
    session_opts, a_mode, 1, NULL, CLI_CMD_ACTION, CLI_VERB_SET_MODE, NULL };
static const struct cli_cmddef ac_set = { "set", "Set session config option",
    session_opts, a_set, 2, NULL, CLI_CMD_ACTION, CLI_VERB_SET, NULL };
static const struct cli_cmddef ac_status = { "status",
    "Show local status of current session agent process", session_opts, NULL,
    0, NULL, CLI_CMD_ACTION, CLI_VERB_STATUS, NULL };
static const struct cli_cmddef *const agent_subs[] = { &ac_prompt, &ac_exec,
    &ac_cancel, &ac_set_mode, &ac_set, &ac_status, &c_sessions, NULL };

/* An agent command (name given at run time). */
const struct cli_cmddef cli_agent_def = { NULL, "Use %s agent", prompt_opts,
    a_prompt, 1, agent_subs, CLI_CMD_ACTION | CLI_CMD_PASSTHROUGH |
    CLI_CMD_DEFAULT_DESC, CLI_VERB_AGENT, NULL };

/* The verbs at the root (default agent). */
static const struct cli_cmddef r_prompt = { "prompt",
    "Prompt using %s by default", prompt_opts, a_prompt, 1, NULL,
    CLI_CMD_ACTION | CLI_CMD_DEFAULT_DESC, CLI_VERB_PROMPT, NULL };
static const struct cli_cmddef r_exec = { "exec",
    "One-shot prompt using %s by default", exec_opts, a_prompt, 1, NULL,
    CLI_CMD_ACTION | CLI_CMD_DEFAULT_DESC, CLI_VERB_EXEC, NULL };
static const struct cli_cmddef r_cancel = { "cancel",
    "Cancel active prompt for %s by default", session_opts, NULL, 0, NULL,
    CLI_CMD_ACTION | CLI_CMD_DEFAULT_DESC, CLI_VERB_CANCEL, NULL };
static const struct cli_cmddef r_set_mode = { "set-mode",
    "Set session mode for %s by default", session_opts, a_mode, 1, NULL,
    CLI_CMD_ACTION | CLI_CMD_DEFAULT_DESC, CLI_VERB_SET_MODE, NULL };
static const struct cli_cmddef r_set = { "set",
    "Set session config option for %s by default", session_opts, a_set, 2,
    NULL, CLI_CMD_ACTION | CLI_CMD_DEFAULT_DESC, CLI_VERB_SET, NULL };
static const struct cli_cmddef r_status = { "status",
    "Show local status for %s by default", session_opts, NULL, 0, NULL,
    CLI_CMD_ACTION | CLI_CMD_DEFAULT_DESC, CLI_VERB_STATUS, NULL };

static const struct cli_cmddef cfg_show = { "show", "Show resolved config",
    config_sub_opts, NULL, 0, NULL, CLI_CMD_ACTION, CLI_VERB_CONFIG, "show" };
static const struct cli_cmddef cfg_init = { "init",
    "Create global config template", config_sub_opts, NULL, 0, NULL,
    CLI_CMD_ACTION, CLI_VERB_CONFIG, "init" };
static const struct cli_cmddef *const config_subs[] = { &cfg_show, &cfg_init,
    NULL };
static const struct cli_cmddef r_config = { "config",
    "Inspect and initialize acpx configuration", no_opts, NULL, 0,
    config_subs, CLI_CMD_ACTION, CLI_VERB_CONFIG, "show" };

static const struct cli_cmddef r_compare = { "compare",
    "Run one prompt across multiple agents and summarize the results",
    compare_opts, a_compare, 1, NULL, CLI_CMD_ACTION, CLI_VERB_COMPARE, NULL };

static const struct cli_cmddef flow_run = { "run", "Run a flow file",
    flow_run_opts, a_file, 1, NULL, CLI_CMD_ACTION, CLI_VERB_FLOW, "run" };
static const struct cli_cmddef *const flow_subs[] = { &flow_run, NULL };
static const struct cli_cmddef r_flow = { "flow",
    "Run multi-step ACP workflows from flow files", no_opts, NULL, 0,
    flow_subs, 0, CLI_VERB_FLOW, NULL };

static const struct cli_cmddef warp_list = { "list",
    "List warp agents with provider, model, harness and fallback chain",
    no_opts, NULL, 0, NULL, CLI_CMD_ACTION, CLI_VERB_WARP, "list" };
static const struct cli_cmddef warp_doctor = { "doctor",
    "Check the secrets file and every provider", no_opts, NULL, 0, NULL,
    CLI_CMD_ACTION, CLI_VERB_WARP, "doctor" };
static const struct cli_cmddef warp_probe = { "probe",
    "Probe providers for reachability, auth and quota", no_opts, a_targets, 1,
    NULL, CLI_CMD_ACTION, CLI_VERB_WARP, "probe" };
static const struct cli_cmddef *const warp_subs[] = { &warp_list,
    &warp_doctor, &warp_probe, NULL };
static const struct cli_cmddef r_warp = { "warp",
    "Route agents through Warp providers with fallback", no_opts, NULL, 0,
    warp_subs, 0, CLI_VERB_WARP, NULL };

static const struct cli_cmddef r_completion = { "completion",
    "Print the shell completion script", no_opts, a_shell, 1, NULL,
    CLI_CMD_ACTION, CLI_VERB_COMPLETION, NULL };

static const struct cli_cmddef *const root_subs[] = { &r_prompt, &r_exec,
    &r_cancel, &r_set_mode, &r_set, &r_status, &c_sessions, &r_config,
    &r_compare, &r_flow, &r_warp, &r_completion, NULL };

/* The program (agent commands are added in front at run time). */
const struct cli_cmddef cli_root_def = { "acpx",
    "Headless CLI client for the Agent Client Protocol", root_opts, a_prompt,
    1, root_subs, CLI_CMD_ACTION, CLI_VERB_ROOT, NULL };

static const char cli_examples[] =
    "\n"
    "Examples:\n"
    "  acpx pi \"review recent changes\"\n"
    "  acpx openclaw exec \"summarize active session state\"\n"
    "  acpx codex sessions new\n"
    "  acpx codex \"fix the tests\"\n"
    "  acpx codex prompt \"fix the tests\"\n"
    "  acpx codex --no-wait \"queue follow-up task\"\n"
    "  acpx codex exec \"what does this repo do\"\n"
    "  acpx codex cancel\n"
    "  acpx codex set-mode plan\n"
    "  acpx codex set model 'gpt-5.2[high]'\n"
    "  acpx codex -s backend \"fix the API\"\n"
    "  acpx codex sessions\n"
    "  acpx codex sessions new --name backend\n"
    "  acpx codex sessions ensure --name backend\n"
    "  acpx codex sessions close backend\n"
    "  acpx codex status\n"
    "  acpx config show\n"
    "  acpx config init\n"
    "  acpx --ttl 30 codex \"investigate flaky tests\"\n"
    "  acpx claude \"refactor auth\"\n"
    "  acpx --agent ./my-custom-server \"do something\"\n";

/* The option of cmd matching flag exactly (short or long), or NULL. */
const struct cli_opt *
cli_find_opt(const struct cli_cmd *cmd, const char *flag)
{
	const struct cli_opt *const	*o;

	for (o = cmd->def->opts; o != NULL && *o != NULL; o++) {
		if (((*o)->shortf != NULL && strcmp((*o)->shortf, flag) == 0) ||
		    strcmp((*o)->longf, flag) == 0)
			return (*o);
	}
	return (NULL);
}

/* ------------------------------------------------------------- help */

struct cli_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
cli_buf_add(struct cli_buf *b, const char *s)
{
	size_t	n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap == 0 ? 1024 : b->cap * 2;
		b->p = xreallocarray(b->p, 1, b->cap);
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void
cli_buf_addn(struct cli_buf *b, const char *s, size_t n)
{
	char	*t = xstrndup(s, n);

	cli_buf_add(b, t);
	free(t);
}

static void
cli_buf_spaces(struct cli_buf *b, size_t n)
{
	while (n-- > 0)
		cli_buf_add(b, " ");
}

/* Commander's helpWidth: the terminal's columns on a TTY, else 80. */
static size_t
cli_help_width(int fd)
{
	struct winsize	ws;

	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return (ws.ws_col);
	return (80);
}

/* Help.boxWrap(): wrap at whitespace to width, keeping line breaks. */
static char *
cli_box_wrap(const char *str, size_t width)
{
	struct cli_buf	 b = { NULL, 0, 0 };
	const char	*line, *nl, *p, *cs, *ce;
	size_t		 sum, w;
	int		 first;

	if (width < 40)
		return (xstrdup(str));
	cli_buf_add(&b, "");
	for (line = str;; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line);
		if (line != str)
			cli_buf_add(&b, "\n");
		sum = 0;
		first = 1;
		for (p = line; p < nl;) {
			/* chunk: leading whitespace then non-whitespace */
			cs = p;
			while (p < nl && isspace((unsigned char)*p))
				p++;
			if (p == nl)
				break;
			while (p < nl && !isspace((unsigned char)*p))
				p++;
			ce = p;
			{
				char *chunk = xstrndup(cs, (size_t)(ce - cs));

				w = js_strlen(chunk);
				if (first) {
					cli_buf_add(&b, chunk);
					sum = w;
					first = 0;
				} else if (sum + w <= width) {
					cli_buf_add(&b, chunk);
					sum += w;
				} else {
					const char *t = chunk;

					cli_buf_add(&b, "\n");
					while (isspace((unsigned char)*t))
						t++;
					cli_buf_add(&b, t);
					sum = js_strlen(t);
				}
				free(chunk);
			}
		}
		if (*nl == '\0')
			break;
	}
	return (b.p);
}

/* Help.formatItem(). */
static void
cli_format_item(struct cli_buf *b, const char *term, size_t term_width,
    const char *desc, size_t help_width)
{
	size_t	 tw = js_strlen(term), remaining;
	char	*wrapped;
	const char *p;

	cli_buf_add(b, "  ");
	if (desc == NULL || *desc == '\0') {
		cli_buf_add(b, term);
		cli_buf_add(b, "\n");
		return;
	}
	cli_buf_add(b, term);
	cli_buf_spaces(b, term_width > tw ? term_width - tw : 0);
	cli_buf_add(b, "  ");
	remaining = help_width > term_width + 4 ? help_width - term_width - 4 : 0;
	wrapped = remaining < 40 ? xstrdup(desc) : cli_box_wrap(desc, remaining);
	for (p = wrapped; *p != '\0'; p++) {
		if (*p == '\n') {
			cli_buf_add(b, "\n  ");
			if (remaining >= 40)
				cli_buf_spaces(b, term_width + 2);
		} else
			cli_buf_addn(b, p, 1);
	}
	free(wrapped);
	cli_buf_add(b, "\n");
}

/* Help.optionDescription(): description plus "(default: ...)". */
static char *
cli_option_desc(const struct cli_run *run, const struct cli_cmd *cmd,
    const struct cli_opt *o)
{
	json_t	*s;
	char	*q, *out;

	if (cmd->parent == NULL && o == cli_find_opt(cmd, "--cwd")) {
		s = json_string(run->process_cwd);
		q = s != NULL ? json_dumps_js(s, 0) : xstrdup("\"\"");
		json_decref(s);
		xasprintf(&out, "%s (default: %s)", o->desc, q);
		free(q);
		return (out);
	}
	if (o->def != NULL) {
		xasprintf(&out, "%s (default: %s)", o->desc, o->def);
		return (out);
	}
	return (xstrdup(o->desc));
}

/* Split an argument spec like Commander's Argument constructor. */
static char *
cli_arg_parse(const char *spec, int *required, int *variadic)
{
	size_t	n = strlen(spec);
	char	*name;

	if (spec[0] == '<' || spec[0] == '[')
		name = xstrndup(spec + 1, n >= 2 ? n - 2 : 0);
	else
		name = xstrdup(spec);
	*required = spec[0] != '[';
	n = strlen(name);
	*variadic = n >= 3 && strcmp(name + n - 3, "...") == 0;
	if (*variadic)
		name[n - 3] = '\0';
	return (name);
}

/* The argument name as shown: "<mode>" -> "mode", "[prompt...]" -> "prompt". */
char *
cli_arg_name(const char *spec)
{
	int	required, variadic;

	return (cli_arg_parse(spec, &required, &variadic));
}

/* Is the argument variadic / required? */
int
cli_arg_variadic(const char *spec)
{
	int	 required, variadic;
	char	*name = cli_arg_parse(spec, &required, &variadic);

	free(name);
	return (variadic);
}

int
cli_arg_required(const char *spec)
{
	int	 required, variadic;
	char	*name = cli_arg_parse(spec, &required, &variadic);

	free(name);
	return (required);
}

/* humanReadableArgName(). */
static char *
cli_arg_human(const char *spec)
{
	int	 required, variadic;
	char	*name = cli_arg_parse(spec, &required, &variadic), *out;

	xasprintf(&out, required ? "<%s%s>" : "[%s%s]", name,
	    variadic ? "..." : "");
	free(name);
	return (out);
}

/* Help.subcommandTerm(). */
static char *
cli_sub_term(const struct cli_cmd *c)
{
	struct cli_buf	 b = { NULL, 0, 0 };
	char		*h;
	size_t		 i;

	cli_buf_add(&b, c->name);
	if (c->def->opts != NULL && c->def->opts[0] != NULL)
		cli_buf_add(&b, " [options]");
	for (i = 0; i < c->nargs; i++) {
		h = cli_arg_human(c->args[i].spec);
		cli_buf_add(&b, " ");
		cli_buf_add(&b, h);
		free(h);
	}
	return (b.p);
}

/* The implicit "help [command]" command: subcommands and no action. */
static int
cli_has_help_command(const struct cli_cmd *c)
{
	return (c->nsubs > 0 && !(c->def->flags & CLI_CMD_ACTION));
}

/* The full help text of a command (Commander's formatHelp). */
char *
cli_help_text(struct cli_run *run, const struct cli_cmd *ccmd, int fd)
{
	struct cli_cmd			*cmd = (struct cli_cmd *)ccmd;
	struct cli_buf			 b = { NULL, 0, 0 };
	const struct cli_cmd		*a;
	const struct cli_opt *const	*o;
	char				**terms, **descs, *h, *wrapped, *anc;
	size_t				 width, tw = 0, n = 0, i, nopts;
	int				 have_arg_desc = 0;

	cli_cmd_children(run, cmd);
	width = cli_help_width(fd);

	/* Usage. */
	anc = xstrdup("");
	for (a = cmd->parent; a != NULL; a = a->parent) {
		xasprintf(&h, "%s %s", a->name, anc);
		free(anc);
		anc = h;
	}
	cli_buf_add(&b, "Usage: ");
	cli_buf_add(&b, anc);
	free(anc);
	cli_buf_add(&b, cmd->name);
	cli_buf_add(&b, " [options]");
	if (cmd->nsubs > 0 || cli_has_help_command(cmd))
		cli_buf_add(&b, " [command]");
	for (i = 0; i < cmd->nargs; i++) {
		h = cli_arg_human(cmd->args[i].spec);
		cli_buf_add(&b, " ");
		cli_buf_add(&b, h);
		free(h);
	}
	cli_buf_add(&b, "\n\n");
	if (cmd->desc != NULL && *cmd->desc != '\0') {
		wrapped = cli_box_wrap(cmd->desc, width);
		cli_buf_add(&b, wrapped);
		cli_buf_add(&b, "\n\n");
		free(wrapped);
	}

	/* Collect terms to compute the pad width. */
	nopts = 0;
	for (o = cmd->def->opts; o != NULL && *o != NULL; o++)
		nopts++;
	terms = xcalloc(cmd->nargs + nopts + cmd->nsubs + 3, sizeof *terms);
	descs = xcalloc(cmd->nargs + nopts + cmd->nsubs + 3, sizeof *descs);
	for (i = 0; i < cmd->nargs; i++) {
		if (cmd->args[i].desc != NULL && *cmd->args[i].desc != '\0')
			have_arg_desc = 1;
	}
	if (have_arg_desc) {
		for (i = 0; i < cmd->nargs; i++) {
			terms[n] = cli_arg_name(cmd->args[i].spec);
			descs[n++] = xstrdup(cmd->args[i].desc != NULL ?
			    cmd->args[i].desc : "");
		}
	}
	for (o = cmd->def->opts; o != NULL && *o != NULL; o++) {
		if ((*o)->desc == NULL)
			continue;	/* ours, not in the reference's help */
		terms[n] = xstrdup((*o)->flags);
		descs[n++] = cli_option_desc(run, cmd, *o);
	}
	terms[n] = xstrdup(cli_help_opt.flags);
	descs[n++] = xstrdup(cli_help_opt.desc);
	for (i = 0; i < cmd->nsubs; i++) {
		terms[n] = cli_sub_term(cmd->subs[i]);
		descs[n++] = xstrdup(cmd->subs[i]->desc);
	}
	if (cli_has_help_command(cmd)) {
		terms[n] = xstrdup("help [command]");
		descs[n++] = xstrdup("display help for command");
	}
	for (i = 0; i < n; i++) {
		if (js_strlen(terms[i]) > tw)
			tw = js_strlen(terms[i]);
	}

	i = 0;
	if (have_arg_desc) {
		cli_buf_add(&b, "Arguments:\n");
		for (; i < cmd->nargs; i++)
			cli_format_item(&b, terms[i], tw, descs[i], width);
		cli_buf_add(&b, "\n");
	}
	cli_buf_add(&b, "Options:\n");
	for (; i < n - cmd->nsubs - (cli_has_help_command(cmd) ? 1 : 0); i++)
		cli_format_item(&b, terms[i], tw, descs[i], width);
	if (i < n) {
		cli_buf_add(&b, "\nCommands:\n");
		for (; i < n; i++)
			cli_format_item(&b, terms[i], tw, descs[i], width);
	}
	for (i = 0; i < n; i++) {
		free(terms[i]);
		free(descs[i]);
	}
	free(terms);
	free(descs);
	if (cmd->parent == NULL)
		cli_buf_add(&b, cli_examples);
	return (b.p);
}

/* ------------------------------------------------------- suggestions */

/* Optimal string alignment distance (Commander's editDistance). */
static size_t
cli_edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, cost, v, *d;

	if ((la > lb ? la - lb : lb - la) > 3)
		return (la > lb ? la : lb);
	d = xcalloc((la + 1) * (lb + 1), sizeof *d);
#define D(x, y) d[(x) * (lb + 1) + (y)]
	for (i = 0; i <= la; i++)
		D(i, 0) = i;
	for (j = 0; j <= lb; j++)
		D(0, j) = j;
	for (j = 1; j <= lb; j++) {
		for (i = 1; i <= la; i++) {
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			v = D(i - 1, j) + 1;
			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	}
	v = D(la, lb);
#undef D
	free(d);
	return (v);
}

static int
cli_strcmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* suggestSimilar(): "\n(Did you mean ...?)" or "". Caller owns. */
char *
cli_suggest(const char *word, const char **cands, size_t n)
{
	const char	**similar, *w = word, *c;
	size_t		  ns = 0, best = 3, i, j, dist, len;
	int		  options = strncmp(word, "--", 2) == 0, dup;
	double		  sim;
	char		 *out, *list, *t;

	similar = xcalloc(n + 1, sizeof *similar);
	if (options)
		w = word + 2;
	for (i = 0; i < n; i++) {
		dup = 0;
		for (j = 0; j < i; j++) {
			if (strcmp(cands[j], cands[i]) == 0)
				dup = 1;
		}
		if (dup)
			continue;
		c = options && strncmp(cands[i], "--", 2) == 0 ? cands[i] + 2 :
		    options ? cands[i] + (strlen(cands[i]) >= 2 ? 2 : 0) :
		    cands[i];
		if (strlen(c) <= 1)
			continue;
		dist = cli_edit_distance(w, c);
		len = strlen(w) > strlen(c) ? strlen(w) : strlen(c);
		sim = ((double)len - (double)dist) / (double)len;
		if (sim > 0.4) {
			if (dist < best) {
				best = dist;
				ns = 0;
				similar[ns++] = cands[i];
			} else if (dist == best)
				similar[ns++] = cands[i];
		}
	}
	qsort(similar, ns, sizeof *similar, cli_strcmp);
	if (ns == 0) {
		free(similar);
		return (xstrdup(""));
	}
	list = xstrdup(similar[0]);
	for (i = 1; i < ns; i++) {
		xasprintf(&t, "%s, %s", list, similar[i]);
		free(list);
		list = t;
	}
	xasprintf(&out, ns > 1 ? "\n(Did you mean one of %s?)" :
	    "\n(Did you mean %s?)", list);
	free(list);
	free(similar);
	return (out);
}
