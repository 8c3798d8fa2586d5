#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"
#include "cli-impl.h"
#include "cli.h"
#include "cmd-compare.h"
#include "cmd-queue.h"
#include "cmd-sessions.h"
#include "cmdline.h"
#include "complete.h"
#include "config-file.h"
#include "error.h"
#include "js-json.h"
#include "js.h"
#include "node-fs.h"
#include "output.h"
#include "prompt-input.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * The verb handlers: what the reference's action handlers check before
 * they do any work, in the same order (resolveGlobalFlags, disableExec,
 * the permission mode, the permission policy, the agent), turned into a
 * struct invocation. Verbs acpx-native does not run yet parse fully and
 * then report NOT_IMPLEMENTED.
 */

/* Global flags after resolveGlobalFlags(): what the invocation does not hold. */
struct cli_gf {
	char		*agent;		/* trimmed --agent, or NULL */
	const char	*cwd;		/* as given (resolved into inv->cwd) */
	const char	*policy;	/* --permission-policy / --policy */
	int		 approve_all;
	int		 approve_reads;
	int		 deny_all;
};

static int
cli_true(const json_t *v)
{
	return (json_is_true(v));
}

static const char *
cli_str(const json_t *v)
{
	return (json_string_value(v));
}

static char *
cli_dup(const json_t *v)
{
	return (json_is_string(v) ? xstrdup(json_string_value(v)) : NULL);
}

/* resolveGlobalFlags(): fills the invocation's global settings. */
static int
cli_global_flags(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv, struct cli_gf *gf)
{
	const struct config	*c = run->config;
	const json_t		*v;
	const char		*s, *primary, *alias;
	char			*t;

	memset(gf, 0, sizeof *gf);
	if (cli_true(cli_opt_global(leaf, "json")))
		inv->format = ACPX_FORMAT_JSON;
	else if ((s = cli_str(cli_opt_global(leaf, "format"))) != NULL)
		inv->format = strcmp(s, "json") == 0 ? ACPX_FORMAT_JSON :
		    strcmp(s, "quiet") == 0 ? ACPX_FORMAT_QUIET :
		    ACPX_FORMAT_TEXT;
	else
		inv->format = c->format;
	inv->json_strict = cli_true(cli_opt_global(leaf, "jsonStrict"));
	inv->verbose = cli_true(cli_opt_global(leaf, "verbose"));
	if (inv->json_strict && inv->format != ACPX_FORMAT_JSON) {
		cli_usage_error(run, "--json-strict requires --format json");
		return (-1);
	}
	if (inv->json_strict && inv->verbose) {
		cli_usage_error(run, "--json-strict cannot be combined with "
		    "--verbose");
		return (-1);
	}
	if ((s = cli_str(cli_opt_global(leaf, "agent"))) != NULL) {
		t = js_trim_dup(s);
		if (*t == '\0') {
			free(t);
			cli_usage_error(run, "Agent command must not be empty");
			return (-1);
		}
		gf->agent = t;
	}
	gf->cwd = cli_str(cli_opt_global(leaf, "cwd"));
	if (gf->cwd == NULL)
		gf->cwd = run->process_cwd;
	inv->cwd = config_path_resolve(run->process_cwd, gf->cwd);

	s = cli_str(cli_opt_global(leaf, "authPolicy"));
	inv->auth_policy = s == NULL ? c->auth_policy :
	    strcmp(s, "fail") == 0 ? ACPX_AUTH_FAIL : ACPX_AUTH_SKIP;
	s = cli_str(cli_opt_global(leaf, "nonInteractivePermissions"));
	inv->nonint = s == NULL ? c->nonint :
	    strcmp(s, "fail") == 0 ? ACPX_NONINT_FAIL : ACPX_NONINT_DENY;

	primary = cli_str(cli_opt_global(leaf, "permissionPolicy"));
	alias = cli_str(cli_opt_global(leaf, "policy"));
	if (primary != NULL && alias != NULL && strcmp(primary, alias) != 0) {
		cli_usage_error(run, "Use only one permission policy flag: "
		    "--permission-policy or --policy");
		return (-1);
	}
	gf->policy = primary != NULL ? primary : alias;

	inv->suppress_reads = cli_true(cli_opt_global(leaf, "suppressReads"));
	inv->no_fs = json_is_false(cli_opt_global(leaf, "fs"));
	inv->no_terminal = json_is_false(cli_opt_global(leaf, "terminal"));
	inv->no_fallback = json_is_false(cli_opt_global(leaf, "fallback"));

	v = cli_opt_global(leaf, "timeout");
	inv->timeout_ms = json_is_integer(v) ? json_integer_value(v) :
	    c->timeout_ms;
	v = cli_opt_global(leaf, "ttl");
	inv->ttl_ms = json_is_integer(v) ? json_integer_value(v) : c->ttl_ms;

	if ((s = cli_str(cli_opt_global(leaf, "model"))) != NULL) {
		t = js_trim_dup(s);
		if (*t == '\0') {
			free(t);
			cli_usage_error(run, "Model must not be empty");
			return (-1);
		}
		inv->model = t;
	}
	if ((v = cli_opt_global(leaf, "allowedTools")) != NULL)
		inv->allowed_tools = json_copy((json_t *)v);
	if ((v = cli_opt_global(leaf, "maxTurns")) != NULL)
		inv->max_turns = (int)json_integer_value(v);
	inv->system_prompt = cli_dup(cli_opt_global(leaf, "systemPrompt"));
	inv->append_system_prompt = cli_dup(cli_opt_global(leaf,
	    "appendSystemPrompt"));
	if (inv->system_prompt != NULL && inv->append_system_prompt != NULL) {
		cli_usage_error(run, "Use only one of --system-prompt or "
		    "--append-system-prompt");
		return (-1);
	}
	if ((v = cli_opt_global(leaf, "promptRetries")) != NULL)
		inv->prompt_retries = (int)json_integer_value(v);

	gf->approve_all = cli_true(cli_opt_global(leaf, "approveAll"));
	gf->approve_reads = cli_true(cli_opt_global(leaf, "approveReads"));
	gf->deny_all = cli_true(cli_opt_global(leaf, "denyAll"));
	inv->perm_mode = gf->approve_all ? ACPX_PERM_APPROVE_ALL :
	    gf->approve_reads ? ACPX_PERM_APPROVE_READS :
	    gf->deny_all ? ACPX_PERM_DENY_ALL : c->default_permissions;

	inv->mcp_servers = json_incref(c->mcp_servers);
	inv->disable_exec = c->disable_exec;
	inv->queue_max_depth = c->queue_max_depth;
	return (0);
}

/* resolvePermissionMode(): more than one mode flag is an error. */
static int
cli_perm_mode(struct cli_run *run, const struct cli_gf *gf)
{
	if (gf->approve_all + gf->approve_reads + gf->deny_all > 1) {
		cli_usage_error(run, "Use only one permission mode: "
		    "--approve-all, --approve-reads, or --deny-all");
		return (-1);
	}
	return (0);
}

/* parseRuleList(): trimmed non-empty strings. */
static int
cli_policy_rules(const json_t *v, const char *key, const char *source,
    json_t *policy, char **cause)
{
	json_t		*list, *e;
	size_t		 i;
	char		*t;

	if (v == NULL || json_is_null(v))
		return (0);
	if (!json_is_array(v)) {
		xasprintf(cause, "%s: permission policy %s must be an array of "
		    "strings", source, key);
		return (-1);
	}
	list = json_array();
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || js_blank(json_string_value(e))) {
			json_decref(list);
			xasprintf(cause, "%s: permission policy %s must contain "
			    "only non-empty strings", source, key);
			return (-1);
		}
		t = js_trim_dup(json_string_value(e));
		json_array_append_new(list, json_string(t));
		free(t);
	}
	json_object_set_new(policy, key, list);
	return (0);
}

/* parsePermissionPolicy(value, source). */
static json_t *
cli_policy_shape(const json_t *v, const char *source, char **cause)
{
	json_t		*policy;
	const json_t	*d;
	const char	*s;

	if (!json_is_object(v)) {
		xasprintf(cause, "%s: permission policy must be a JSON object",
		    source);
		return (NULL);
	}
	policy = json_object();
	if (cli_policy_rules(json_object_get(v, "autoApprove"), "autoApprove",
	    source, policy, cause) == -1 ||
	    cli_policy_rules(json_object_get(v, "autoDeny"), "autoDeny", source,
	    policy, cause) == -1 ||
	    cli_policy_rules(json_object_get(v, "escalate"), "escalate", source,
	    policy, cause) == -1)
		goto fail;
	d = json_object_get(v, "defaultAction");
	if (d != NULL && !json_is_null(d)) {
		s = json_string_value(d);
		if (s == NULL || (strcmp(s, "approve") != 0 &&
		    strcmp(s, "deny") != 0 && strcmp(s, "escalate") != 0)) {
			xasprintf(cause, "%s: permission policy defaultAction "
			    "must be one of approve, deny, escalate", source);
			goto fail;
		}
		json_object_set_new(policy, "defaultAction", json_string(s));
	}
	return (policy);
fail:
	json_decref(policy);
	return (NULL);
}

/* resolvePermissionPolicyFromFlags(): JSON text or a file, shape-checked. */
static int
cli_permission_policy(struct cli_run *run, const struct cli_gf *gf,
    struct invocation *inv)
{
	json_t	*v;
	char	*spec, *cause = NULL, *path, *text;
	size_t	 len;
	int	 err_no;

	if (gf->policy == NULL)
		return (0);
	spec = js_trim_dup(gf->policy);
	if (*spec == '\0') {
		free(spec);
		return (0);
	}
	if (spec[0] == '{') {
		if ((v = js_json_parse(spec, strlen(spec), &cause)) != NULL) {
			inv->permission_policy = cli_policy_shape(v,
			    "--permission-policy", &cause);
			json_decref(v);
		}
	} else {
		text = config_path_resolve(run->process_cwd, gf->cwd);
		path = config_path_resolve(text, spec);
		free(text);
		if (node_fs_read_file(path, &text, &len, &err_no, &cause) == 0) {
			if ((v = js_json_parse(text, len, &cause)) != NULL) {
				inv->permission_policy = cli_policy_shape(v, path,
				    &cause);
				json_decref(v);
			}
			free(text);
		}
		free(path);
	}
	free(spec);
	if (inv->permission_policy == NULL) {
		cli_usage_error(run, "Invalid permission policy: %s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/* resolveAgentInvocation(). */
static int
cli_agent(struct cli_run *run, struct cli_cmd *leaf, const struct cli_gf *gf,
    struct invocation *inv)
{
	const char	*name = leaf->agent;

	if (gf->agent != NULL && name != NULL) {
		cli_usage_error(run, "Do not combine positional agent with "
		    "--agent override");
		return (-1);
	}
	if (name == NULL)
		name = run->config->default_agent;
	agent_spec_clear(&inv->agent);
	agent_registry_resolve(run->config, name, gf->agent, &inv->agent);
	inv->agent_override = gf->agent != NULL;
	return (0);
}

/* The default agent, for verbs that do not resolve one. */
static void
cli_default_agent(struct cli_run *run, struct invocation *inv)
{
	if (inv->agent.name == NULL)
		agent_registry_resolve(run->config, run->config->default_agent,
		    NULL, &inv->agent);
}

/* Set inv->words from a JSON array of strings. */
static void
cli_words(struct invocation *inv, const json_t *list)
{
	const json_t	*e;
	size_t		 i, n = json_array_size(list);

	inv->words = xcalloc(n + 1, sizeof *inv->words);
	inv->nwords = 0;
	json_array_foreach(list, i, e) {
		if (json_is_string(e))
			inv->words[inv->nwords++] = xstrdup(json_string_value(e));
	}
}

/* The i-th processed argument (borrowed) or NULL. */
static const json_t *
cli_arg(const struct cli_cmd *leaf, size_t i)
{
	const json_t	*v = json_array_get(leaf->processed, i);

	return (v == NULL || json_is_null(v) ? NULL : v);
}

/* resolveSessionNameFromFlags(): the command's own value, else inherited. */
static char *
cli_session_name(const struct cli_cmd *leaf, const char *own_key)
{
	const json_t	*v = cli_opt_value(leaf, own_key);

	if (v == NULL)
		v = cli_opt_global(leaf, "session");
	return (cli_dup(v));
}

static void
cli_verb_opt(struct invocation *inv, const char *key, const json_t *v)
{
	char	buf[32];

	if (v == NULL)
		return;
	if (json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%lld",
		    (long long)json_integer_value(v));
		json_object_set_new(inv->verb_opts, key, json_string(buf));
	} else
		json_object_set(inv->verb_opts, key, (json_t *)v);
}

/* The implicit and explicit prompt verbs. */
static void
cli_prompt(struct cli_run *run, struct cli_cmd *leaf, struct invocation *inv)
{
	struct cli_gf	 gf;
	const json_t	*v;

	inv->verb = "prompt";
	if ((v = cli_opt_from_cli(leaf, "file")) == NULL)
		v = cli_opt_value(leaf, "file");
	inv->file = cli_dup(v);
	if ((v = cli_opt_from_cli(leaf, "wait")) == NULL)
		v = cli_opt_value(leaf, "wait");
	inv->no_wait = json_is_false(v);
	inv->session = cli_session_name(leaf, "session");
	cli_words(inv, cli_arg(leaf, leaf->nargs - 1));
	if (cli_global_flags(run, leaf, inv, &gf) == 0 &&
	    cli_perm_mode(run, &gf) == 0 &&
	    cli_permission_policy(run, &gf, inv) == 0 &&
	    cli_agent(run, leaf, &gf, inv) == 0)
		run->run = cmd_prompt_run;
	free(gf.agent);
}

static void
cli_exec(struct cli_run *run, struct cli_cmd *leaf, struct invocation *inv)
{
	struct cli_gf	 gf;
	const json_t	*v, *e;
	size_t		 i;

	inv->verb = "exec";
	if ((v = cli_opt_from_cli(leaf, "file")) == NULL)
		v = cli_opt_value(leaf, "file");
	inv->file = cli_dup(v);
	v = cli_opt_value(leaf, "configOption");
	inv->config_options = xcalloc(json_array_size(v) + 1,
	    sizeof *inv->config_options);
	json_array_foreach(v, i, e)
		inv->config_options[inv->nconfig_options++] =
		    xstrdup(json_string_value(e));
	cli_words(inv, cli_arg(leaf, 0));
	if (cli_global_flags(run, leaf, inv, &gf) == -1)
		goto out;
	if (run->config->disable_exec) {
		cli_fail(run, acpx_error_new(ACPX_CODE_EXEC_DISABLED, NULL, "cli",
		    "exec subcommand is disabled by configuration (disableExec: "
		    "true)"));
		goto out;
	}
	if (cli_perm_mode(run, &gf) == -1 ||
	    cli_permission_policy(run, &gf, inv) == -1 ||
	    cli_agent(run, leaf, &gf, inv) == -1)
		goto out;
	if (inv->agent.argv == NULL) {
		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "%s", inv->agent.argv_error));
		goto out;
	}
	run->run = cmd_exec_run;
out:
	free(gf.agent);
}

/* cancel, set-mode, set, status: global flags and the agent. */
static void
cli_session_verb(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv, const char *verb)
{
	struct cli_gf	 gf;
	const json_t	*e;
	size_t		 i;

	inv->verb = verb;
	inv->session = cli_session_name(leaf, "session");
	inv->words = xcalloc(leaf->nargs + 1, sizeof *inv->words);
	for (i = 0; i < leaf->nargs; i++) {
		if ((e = cli_arg(leaf, i)) != NULL)
			inv->words[inv->nwords++] = xstrdup(json_string_value(e));
	}
	if (cli_global_flags(run, leaf, inv, &gf) == 0 &&
	    cli_agent(run, leaf, &gf, inv) == 0)
		run->run = strcmp(verb, "cancel") == 0 ? cmd_cancel_run :
		    strcmp(verb, "status") == 0 ? cmd_status_run :
		    strcmp(verb, "set-mode") == 0 ? cmd_set_mode_run : cmd_set_run;
	free(gf.agent);
}

static void
cli_sessions(struct cli_run *run, struct cli_cmd *leaf, struct invocation *inv)
{
	struct cli_gf	 gf;
	const char	*sub = leaf->def->subverb;
	const json_t	*v, *cursor;
	int		 local;

	inv->verb = "sessions";
	inv->subverb = sub;
	inv->words = xcalloc(2, sizeof *inv->words);
	if (strcmp(sub, "list") == 0) {
		local = cli_true(cli_opt_from_cli(leaf, "local")) ||
		    cli_true(cli_opt_value(leaf, "local"));
		if ((cursor = cli_opt_from_cli(leaf, "cursor")) == NULL)
			cursor = cli_opt_value(leaf, "cursor");
		if ((v = cli_opt_from_cli(leaf, "filterCwd")) == NULL)
			v = cli_opt_value(leaf, "filterCwd");
		if (local)
			json_object_set_new(inv->verb_opts, "local", json_true());
		cli_verb_opt(inv, "cursor", cursor);
		cli_verb_opt(inv, "filter-cwd", v);
		if (cli_global_flags(run, leaf, inv, &gf) == -1 ||
		    cli_agent(run, leaf, &gf, inv) == -1)
			goto out;
		if (local && cursor != NULL) {
			cli_usage_error(run, "--cursor cannot be combined with "
			    "--local");
			goto out;
		}
		if (!local && (cli_perm_mode(run, &gf) == -1 ||
		    cli_permission_policy(run, &gf, inv) == -1))
			goto out;
	} else if (strcmp(sub, "new") == 0 || strcmp(sub, "ensure") == 0) {
		inv->session = cli_dup(cli_opt_value(leaf, "name"));
		cli_verb_opt(inv, "resume-session",
		    cli_opt_value(leaf, "resumeSession"));
		if (cli_global_flags(run, leaf, inv, &gf) == -1 ||
		    cli_perm_mode(run, &gf) == -1 ||
		    cli_permission_policy(run, &gf, inv) == -1 ||
		    cli_agent(run, leaf, &gf, inv) == -1)
			goto out;
	} else {
		if (strcmp(sub, "watch") == 0)
			inv->session = cli_session_name(leaf, "name");
		else if (strcmp(sub, "import") == 0) {
			inv->session = cli_dup(cli_opt_value(leaf, "name"));
			inv->words[inv->nwords++] = cli_dup(cli_arg(leaf, 0));
			cli_verb_opt(inv, "cwd",
			    cli_opt_value(leaf, "destinationCwd"));
		} else if (strcmp(sub, "prune") != 0)
			inv->session = cli_dup(cli_arg(leaf, 0));
		cli_verb_opt(inv, "limit", cli_opt_value(leaf, "limit"));
		cli_verb_opt(inv, "tail", cli_opt_value(leaf, "tail"));
		cli_verb_opt(inv, "cursor", cli_opt_value(leaf, "cursor"));
		cli_verb_opt(inv, "output", cli_opt_value(leaf, "output"));
		if (strcmp(sub, "export") == 0)
			cli_verb_opt(inv, "cwd", cli_opt_value(leaf, "sourceCwd"));
		cli_verb_opt(inv, "dry-run", cli_opt_value(leaf, "dryRun"));
		cli_verb_opt(inv, "before", cli_opt_value(leaf, "before"));
		cli_verb_opt(inv, "older-than", cli_opt_value(leaf, "olderThan"));
		cli_verb_opt(inv, "include-history",
		    cli_opt_value(leaf, "includeHistory"));
		if (cli_global_flags(run, leaf, inv, &gf) == -1 ||
		    cli_agent(run, leaf, &gf, inv) == -1)
			goto out;
	}
	run->run = cmd_sessions_run;
out:
	free(gf.agent);
}

static void
cli_config(struct cli_run *run, struct cli_cmd *leaf, struct invocation *inv)
{
	struct cli_gf	 gf;

	inv->verb = "config";
	inv->subverb = leaf->def->subverb;
	if (cli_global_flags(run, leaf, inv, &gf) == 0) {
		cli_default_agent(run, inv);
		run->run = cmd_config_run;
	}
	free(gf.agent);
}

/* scanCompareArgs(program.args.slice(1)).promptTokens, or -1. */
static long
cli_compare_tokens(const struct cli_run *run, size_t *start)
{
	static const char *const vflags[] = { "--cwd", "--timeout", "--format",
	    "-f", "--file", "--prompt-file" };
	size_t	i, j;

	for (i = 1; i < run->nroot_args; i++) {
		if (strcmp(run->root_args[i], "--") == 0) {
			*start = i + 1;
			return ((long)(run->nroot_args - i - 1));
		}
		for (j = 0; j < nitems(vflags); j++) {
			if (strcmp(run->root_args[i], vflags[j]) == 0) {
				i++;
				break;
			}
		}
	}
	return (-1);
}

static void
cli_compare(struct cli_run *run, struct cli_cmd *leaf, struct invocation *inv)
{
	struct cli_gf	 gf;
	const json_t	*args = cli_arg(leaf, 0), *lcwd, *file, *pfile;
	json_t		*agents;
	long		 ntok;
	size_t		 start = 0, nargs = json_array_size(args), nagents, i;

	inv->verb = "compare";
	memset(&gf, 0, sizeof gf);
	if (run->config->disable_exec) {
		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "compare subcommand is disabled by configuration "
		    "(disableExec: true)"));
		goto out;
	}
	if (cli_global_flags(run, leaf, inv, &gf) == -1)
		goto out;
	if ((lcwd = cli_opt_value(leaf, "cwd")) != NULL) {
		free(inv->cwd);
		inv->cwd = config_path_resolve(run->process_cwd, cli_str(lcwd));
	}
	if (gf.agent != NULL) {
		cli_usage_error(run, "Do not combine compare with --agent; pass "
		    "agent names");
		goto out;
	}
	file = cli_opt_value(leaf, "file");
	pfile = cli_opt_value(leaf, "promptFile");
	if (file != NULL && pfile != NULL &&
	    strcmp(cli_str(file), cli_str(pfile)) != 0) {
		cli_usage_error(run, "Use only one prompt file flag: --file or "
		    "--prompt-file");
		goto out;
	}
	inv->file = cli_dup(file != NULL ? file : pfile);
	inv->words = xcalloc(nargs + 1, sizeof *inv->words);
	ntok = cli_compare_tokens(run, &start);
	if (ntok >= 0) {
		nagents = nargs >= (size_t)ntok ? nargs - (size_t)ntok : 0;
		if (nagents == 0) {
			cli_usage_error(run, "At least one agent is required");
			goto out;
		}
		for (i = 0; i < (size_t)ntok; i++)
			inv->words[inv->nwords++] =
			    xstrdup(run->root_args[start + i]);
	} else if (inv->file != NULL) {
		nagents = nargs;
		if (nagents == 0) {
			cli_usage_error(run, "At least one agent is required");
			goto out;
		}
	} else {
		if (nargs < 2) {
			cli_usage_error(run, "Usage: acpx compare <agent>... "
			    "'<prompt>'");
			goto out;
		}
		nagents = nargs - 1;
		inv->words[inv->nwords++] =
		    xstrdup(cli_str(json_array_get(args, nargs - 1)));
	}
	agents = json_array();
	for (i = 0; i < nagents; i++)
		json_array_append(agents, json_array_get(args, i));
	json_object_set_new(inv->verb_opts, "agents", agents);
	if (inv->timeout_ms < 0)
		inv->timeout_ms = 300000;
	if (cli_perm_mode(run, &gf) == -1 ||
	    cli_permission_policy(run, &gf, inv) == -1)
		goto out;
	cli_default_agent(run, inv);
	run->run = cmd_compare_run;
out:
	free(gf.agent);
}

/* warp, completion: words and global flags, then fn runs the command. */
static void
cli_words_verb(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv, const char *verb, cmd_run_fn fn)
{
	struct cli_gf	 gf;
	const json_t	*a, *e;

	inv->verb = verb;
	inv->subverb = leaf->def->subverb;
	a = cli_arg(leaf, 0);
	if (json_is_array(a))
		cli_words(inv, a);
	else {
		inv->words = xcalloc(2, sizeof *inv->words);
		if ((e = a) != NULL)
			inv->words[inv->nwords++] = xstrdup(json_string_value(e));
	}
	if (cli_global_flags(run, leaf, inv, &gf) == 0) {
		cli_default_agent(run, inv);
		run->run = fn;
	}
	free(gf.agent);
}

/* Run a leaf command's action: fill inv and choose the run function. */
void
cli_action(struct cli_run *run, struct cli_cmd *leaf, struct invocation *inv)
{
	const json_t	*words;

	inv->verb_opts = json_object();
	switch (leaf->def->verb) {
	case CLI_VERB_ROOT:
		words = cli_arg(leaf, 0);
		if (json_array_size(words) == 0 && isatty(STDIN_FILENO)) {
			if (run->strict) {
				cli_usage_error(run, "Prompt is required (pass as "
				    "argument, --file, or pipe via stdin)");
				return;
			}
			{
				char *text = cli_help_text(run, leaf,
				    STDOUT_FILENO);

				fputs(text, stdout);
				fflush(stdout);
				free(text);
			}
			run->status = ACPX_EXIT_SUCCESS;
			return;
		}
		cli_prompt(run, leaf, inv);
		break;
	case CLI_VERB_AGENT:
	case CLI_VERB_PROMPT:
		cli_prompt(run, leaf, inv);
		break;
	case CLI_VERB_EXEC:
		cli_exec(run, leaf, inv);
		break;
	case CLI_VERB_CANCEL:
		cli_session_verb(run, leaf, inv, "cancel");
		break;
	case CLI_VERB_SET_MODE:
		cli_session_verb(run, leaf, inv, "set-mode");
		break;
	case CLI_VERB_SET:
		cli_session_verb(run, leaf, inv, "set");
		break;
	case CLI_VERB_STATUS:
		cli_session_verb(run, leaf, inv, "status");
		break;
	case CLI_VERB_SESSIONS:
		cli_sessions(run, leaf, inv);
		break;
	case CLI_VERB_CONFIG:
		cli_config(run, leaf, inv);
		break;
	case CLI_VERB_COMPARE:
		cli_compare(run, leaf, inv);
		break;
	case CLI_VERB_FLOW:
		inv->verb = "flow";
		inv->subverb = "run";
		cli_fail(run, acpx_error_new(ACPX_CODE_USAGE, NULL, "cli",
		    "flow run is not supported by acpx-native (it executes user "
		    "TypeScript); see acpx(1)"));
		break;
	case CLI_VERB_WARP:
		cli_words_verb(run, leaf, inv, "warp", cmd_warp_run);
		break;
	case CLI_VERB_COMPLETION:
		cli_words_verb(run, leaf, inv, "completion", cmd_completion_run);
		break;
	case CLI_VERB_NONE:
		break;
	}
}

/* Free what cli_parse() put into inv. */
void
cli_invocation_free(struct invocation *inv)
{
	int	i;

	if (inv == NULL)
		return;
	json_decref(inv->permission_policy);
	free(inv->cwd);
	agent_spec_clear(&inv->agent);
	free(inv->model);
	json_decref(inv->allowed_tools);
	free(inv->system_prompt);
	free(inv->append_system_prompt);
	json_decref(inv->mcp_servers);
	config_free((struct config *)inv->config);
	for (i = 0; i < inv->nwords; i++)
		free(inv->words[i]);
	free(inv->words);
	free(inv->file);
	free(inv->session);
	for (i = 0; i < inv->nconfig_options; i++)
		free(inv->config_options[i]);
	free(inv->config_options);
	json_decref(inv->verb_opts);
	memset(inv, 0, sizeof *inv);
}
