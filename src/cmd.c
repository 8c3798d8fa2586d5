#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "cli-validate.h"
#include "cmd.h"
#include "xmalloc.h"

/*
 * The command table (see cmd.h): the program's row, the agent command's
 * row, and the verbs in the order the reference registers them (which is
 * the order of its help). Each verb's row is defined in its command file.
 */

extern const struct cmd_entry cmd_prompt_entry;
extern const struct cmd_entry cmd_exec_entry;
extern const struct cmd_entry cmd_cancel_entry;
extern const struct cmd_entry cmd_set_mode_entry;
extern const struct cmd_entry cmd_set_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_sessions_entry;
extern const struct cmd_entry cmd_config_entry;
extern const struct cmd_entry cmd_compare_entry;
extern const struct cmd_entry cmd_flow_entry;
extern const struct cmd_entry cmd_warp_entry;
extern const struct cmd_entry cmd_completion_entry;
extern const struct cmd_entry cmd_events_entry;
extern const struct cmd_entry cmd_ps_entry;
extern const struct cmd_entry cmd_nodes_entry;
extern const struct cmd_entry cmd_doctor_entry;

static const struct cmd_entry *const cmd_table[] = {
	&cmd_prompt_entry,
	&cmd_exec_entry,
	&cmd_cancel_entry,
	&cmd_set_mode_entry,
	&cmd_set_entry,
	&cmd_status_entry,
	&cmd_sessions_entry,
	&cmd_config_entry,
	&cmd_compare_entry,
	&cmd_flow_entry,
	&cmd_warp_entry,
	&cmd_completion_entry,
	&cmd_ps_entry,
	&cmd_events_entry,
	&cmd_nodes_entry,
	&cmd_doctor_entry,
	NULL
};

/*
 * The options of the program (the root command's, which acpx-native also
 * accepts after the agent and the verb) and the options and arguments
 * several commands share, with the reference's flags, descriptions and
 * validators. A command's own options are in its command file.
 */

static const char *const cmd_opt_format_values[] = { "text", "json",
    "quiet", NULL };
static const char *const cmd_opt_auth_values[] = { "skip", "fail", NULL };
static const char *const cmd_opt_nonint_values[] = { "deny", "fail", NULL };

const struct cmd_opt cmd_opt_version = CMD_OPT("-V, --version", "-V",
    "--version", "version", "output the version number", CMD_OPT_BOOL, NULL);
const struct cmd_opt cmd_opt_help = CMD_OPT("-h, --help", "-h", "--help", "help",
    "display help for command", CMD_OPT_BOOL, NULL);

static const struct cmd_opt o_agent = CMD_OPT("--agent <command>", NULL,
    "--agent", "agent", "Raw ACP agent command (escape hatch)", CMD_OPT_VALUE,
    NULL);
static const struct cmd_opt o_cwd = CMD_OPTV("--cwd <dir>", NULL, "--cwd", "cwd",
    "Working directory", CMD_OPT_VALUE, NULL, CMD_VALUES_DIR, NULL);
static const struct cmd_opt o_auth = CMD_OPTV("--auth-policy <policy>", NULL,
    "--auth-policy", "authPolicy",
    "Authentication policy: skip or fail when auth is required",
    CMD_OPT_VALUE, cli_validate_auth, CMD_VALUES_LIST, cmd_opt_auth_values);
const struct cmd_opt cmd_opt_approve_all = CMD_OPT("--approve-all", NULL,
    "--approve-all", "approveAll", "Auto-approve all permission requests",
    CMD_OPT_BOOL, NULL);
const struct cmd_opt cmd_opt_approve_reads = CMD_OPT("--approve-reads", NULL,
    "--approve-reads", "approveReads",
    "Auto-approve read/search requests and prompt for writes", CMD_OPT_BOOL,
    NULL);
const struct cmd_opt cmd_opt_deny_all = CMD_OPT("--deny-all", NULL,
    "--deny-all", "denyAll", "Deny all permission requests", CMD_OPT_BOOL,
    NULL);
static const struct cmd_opt o_nonint = CMD_OPTV(
    "--non-interactive-permissions <policy>", NULL,
    "--non-interactive-permissions", "nonInteractivePermissions",
    "When prompting is unavailable: deny or fail", CMD_OPT_VALUE,
    cli_validate_nonint, CMD_VALUES_LIST, cmd_opt_nonint_values);
static const struct cmd_opt o_perm_policy = CMD_OPTV(
    "--permission-policy <json-or-file>", NULL, "--permission-policy",
    "permissionPolicy", "Permission policy JSON or path (autoApprove, "
    "autoDeny, escalate, defaultAction)", CMD_OPT_VALUE, NULL, CMD_VALUES_FILE, NULL);
static const struct cmd_opt o_policy = CMD_OPTV("--policy <json-or-file>", NULL,
    "--policy", "policy", "Alias for --permission-policy", CMD_OPT_VALUE,
    NULL, CMD_VALUES_FILE, NULL);
const struct cmd_opt cmd_opt_format = CMD_OPTV("--format <fmt>", NULL,
    "--format", "format", "Output format: text, json, quiet", CMD_OPT_VALUE,
    cli_validate_format,
    CMD_VALUES_LIST, cmd_opt_format_values);
static const struct cmd_opt o_suppress = CMD_OPT("--suppress-reads", NULL,
    "--suppress-reads", "suppressReads",
    "Suppress raw read-file contents in output", CMD_OPT_BOOL, NULL);
static const struct cmd_opt o_model = CMD_OPT("--model <id>", NULL, "--model",
    "model", "Agent model id", CMD_OPT_VALUE, NULL);
static const struct cmd_opt o_tools = CMD_OPT("--allowed-tools <list>", NULL,
    "--allowed-tools", "allowedTools", "Allowed tool names as a "
    "comma-separated list (use \"\" for no tools)", CMD_OPT_VALUE,
    cli_validate_tools);
static const struct cmd_opt o_max_turns = CMD_OPT("--max-turns <count>", NULL,
    "--max-turns", "maxTurns", "Maximum turns for the session",
    CMD_OPT_VALUE, cli_validate_max_turns);
static const struct cmd_opt o_system = CMD_OPT("--system-prompt <text>", NULL,
    "--system-prompt", "systemPrompt", "Replace the agent system prompt "
    "(claude-agent-acp via ACP _meta.systemPrompt)", CMD_OPT_VALUE,
    cli_validate_system_prompt);
static const struct cmd_opt o_append = CMD_OPT("--append-system-prompt <text>",
    NULL, "--append-system-prompt", "appendSystemPrompt", "Append text to "
    "the agent system prompt (claude-agent-acp via ACP "
    "_meta.systemPrompt.append)", CMD_OPT_VALUE, cli_validate_append_prompt);
static const struct cmd_opt o_retries = CMD_OPT("--prompt-retries <count>", NULL,
    "--prompt-retries", "promptRetries",
    "Retry failed prompt turns on transient errors (default: 0)",
    CMD_OPT_VALUE, cli_validate_retries);
static const struct cmd_opt o_strict = CMD_OPT("--json-strict", NULL,
    "--json-strict", "jsonStrict", "Strict JSON mode: requires --format json "
    "and suppresses non-JSON stderr output", CMD_OPT_BOOL, NULL);
static const struct cmd_opt o_no_fs = CMD_OPT("--no-fs", NULL, "--no-fs", "fs",
    "Do not advertise ACP filesystem capabilities", CMD_OPT_NEGATE, NULL);
static const struct cmd_opt o_no_terminal = CMD_OPT("--no-terminal", NULL,
    "--no-terminal", "terminal", "Do not advertise ACP terminal capability",
    CMD_OPT_NEGATE, NULL);
/* Ours (Warp fallback); no desc: kept out of the reference's help. */
static const struct cmd_opt o_no_fallback = CMD_OPT("--no-fallback", NULL,
    "--no-fallback", "fallback", NULL, CMD_OPT_NEGATE, NULL);
/* Ours (Warp): exec and warp serve rehearse a provider failure; off --help. */
const struct cmd_opt cmd_opt_force_fail = CMD_OPT("--force-fail <provider>",
    NULL, "--force-fail", "forceFail", NULL, CMD_OPT_VALUE, NULL);
/* Ours: no ANSI colours on a terminal either (colour.h); off --help. */
static const struct cmd_opt o_no_color = CMD_OPT("--no-color", NULL,
    "--no-color", "color", NULL, CMD_OPT_NEGATE, NULL);
/* Ours (node-relay.h): run the command on a configured node. */
static const struct cmd_opt o_node = CMD_OPTV("--node <name>", NULL,
    "--node", "node", NULL, CMD_OPT_VALUE, NULL, CMD_VALUES_NODE, NULL);
static const struct cmd_opt o_timeout = CMD_OPT("--timeout <seconds>", NULL,
    "--timeout", "timeout", "Maximum time to wait for agent response",
    CMD_OPT_VALUE, cli_validate_timeout);
static const struct cmd_opt o_ttl = CMD_OPT("--ttl <seconds>", NULL, "--ttl",
    "ttl", "Queue owner idle TTL before shutdown (0 = keep alive forever) "
    "(default: 300)", CMD_OPT_VALUE, cli_validate_ttl);
static const struct cmd_opt o_mcp = CMD_OPTV("--mcp-config <path>", NULL,
    "--mcp-config", "mcpConfig", "Load MCP servers from a JSON config file "
    "instead of project/global mcpServers", CMD_OPT_VALUE, NULL, CMD_VALUES_FILE, NULL);
static const struct cmd_opt o_verbose = CMD_OPT("--verbose", NULL, "--verbose",
    "verbose", "Enable verbose debug logs", CMD_OPT_BOOL, NULL);

const struct cmd_opt *const cmd_opt_root[] = { &cmd_opt_version,
    &o_agent, &o_cwd, &o_auth, &cmd_opt_approve_all, &cmd_opt_approve_reads, &cmd_opt_deny_all,
    &o_nonint, &o_perm_policy, &o_policy, &cmd_opt_format, &o_suppress, &o_model,
    &o_tools, &o_max_turns, &o_system, &o_append, &o_retries, &o_strict,
    &o_no_fs, &o_no_terminal, &o_no_fallback, &o_timeout, &o_ttl, &o_mcp,
    &o_verbose, &o_node, &o_no_color, NULL };

const struct cmd_opt cmd_opt_session = CMD_OPTV("-s, --session <name>", "-s",
    "--session", "session", "Use named session instead of cwd default",
    CMD_OPT_VALUE, cli_validate_session, CMD_VALUES_SESSION, NULL);
static const struct cmd_opt o_no_wait = CMD_OPT("--no-wait", NULL, "--no-wait",
    "wait", "Queue prompt and return immediately when another prompt is "
    "already running", CMD_OPT_NEGATE, NULL);
const struct cmd_opt cmd_opt_file = CMD_OPTV("-f, --file <path>", "-f",
    "--file", "file", "Read prompt text from file path (use - for stdin)",
    CMD_OPT_VALUE, NULL, CMD_VALUES_FILE, NULL);
const struct cmd_opt *const cmd_opt_prompt[] = { &cmd_opt_session,
    &o_no_wait, &cmd_opt_file, &cmd_opt_force_fail, NULL };
const struct cmd_opt cmd_opt_name = CMD_OPTV("-s, --name <name>", "-s",
    "--name", "name", "Session name", CMD_OPT_VALUE, cli_validate_session,
    CMD_VALUES_SESSION, NULL);

const struct cmd_arg cmd_opt_prompt_arg[1] = { { "[prompt...]",
    "Prompt text", NULL } };
const struct cmd_arg cmd_opt_name_arg[1] = { { "[name]", "Session name",
    cli_validate_session } };

/* The program (agent commands are added in front at run time). */
const struct cmd_entry cmd_root_entry = {
	.name = "acpx",
	.desc = "Headless CLI client for the Agent Client Protocol",
	.opts = cmd_opt_root,
	.args = cmd_opt_prompt_arg,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cli_prepare_root,
	.run = cmd_prompt_run
};

/* acpx <agent> [prompt...]: one per agent name (given at run time). */
const struct cmd_entry cmd_agent_entry = {
	.desc = "Use %s agent",
	.opts = cmd_opt_prompt,
	.args = cmd_opt_prompt_arg,
	.nargs = 1,
	.flags = CMD_ACTION | CMD_PASSTHROUGH,
	.prepare = cmd_prompt_prepare,
	.run = cmd_prompt_run
};

/* The i-th subcommand of e (see cmd.h). */
const struct cmd_entry *
cmd_sub(const struct cmd_entry *e, size_t i)
{
	size_t	j;

	if (e == &cmd_root_entry)
		return (i < nitems(cmd_table) ? cmd_table[i] : NULL);
	if (e == &cmd_agent_entry) {
		for (j = 0; cmd_table[j] != NULL; j++) {
			if ((cmd_table[j]->flags & CMD_AGENT) && i-- == 0)
				return (cmd_table[j]);
		}
		return (NULL);
	}
	if (e->subs == NULL)
		return (NULL);
	for (j = 0; j < i; j++) {
		if (e->subs[j] == NULL)
			return (NULL);
	}
	return (e->subs[i]);
}

/* The subcommand of e called name (or by its alias), or NULL. */
const struct cmd_entry *
cmd_find(const struct cmd_entry *e, const char *name)
{
	const struct cmd_entry	*s;
	size_t			 i;

	for (i = 0; (s = cmd_sub(e, i)) != NULL; i++) {
		if (strcmp(s->name, name) == 0 ||
		    (s->alias != NULL && strcmp(s->alias, name) == 0))
			return (s);
	}
	return (NULL);
}

/* A word the agent-token detection never takes for an agent name. */
int
cmd_reserved(const char *word)
{
	return (strcmp(word, "help") == 0 ||
	    cmd_find(&cmd_root_entry, word) != NULL);
}

/* The option of e matching flag exactly (short or long), or NULL. */
const struct cmd_opt *
cmd_find_opt(const struct cmd_entry *e, const char *flag)
{
	const struct cmd_opt *const	*o;

	for (o = e->opts; o != NULL && *o != NULL; o++) {
		if (((*o)->shortf != NULL && strcmp((*o)->shortf, flag) == 0) ||
		    strcmp((*o)->longf, flag) == 0)
			return (*o);
	}
	return (NULL);
}
