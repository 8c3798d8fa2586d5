#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "agent-registry.h"
#include "cli-impl.h"
#include "cli.h"
#include "cmd.h"
#include "config-file.h"
#include "js-json.h"
#include "js.h"
#include "node-fs.h"
#include "xmalloc.h"

/*
 * What the reference's action handlers check before they do any work, in
 * the same order (resolveGlobalFlags, disableExec, the permission mode,
 * the permission policy, the agent), as steps a command's prepare
 * function calls (the accessors are in cli-prepare-leaf.c).
 */

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

/* resolveGlobalFlags(): fills the invocation's global settings. */
int
cli_prepare_globals(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	struct cli_gf		*gf = &run->gf;
	const struct config	*c = run->config;
	const json_t		*v;
	const char		*s, *primary, *alias;
	char			*t;

	free(gf->agent);
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
	inv->no_color = json_is_false(cli_opt_global(leaf, "color"));

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
	inv->system_prompt = cli_prepare_dup(cli_opt_global(leaf, "systemPrompt"));
	inv->append_system_prompt = cli_prepare_dup(cli_opt_global(leaf,
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
int
cli_prepare_perm_mode(struct cli_run *run)
{
	const struct cli_gf	*gf = &run->gf;

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
int
cli_prepare_policy(struct cli_run *run, struct invocation *inv)
{
	const struct cli_gf	*gf = &run->gf;
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
int
cli_prepare_agent(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	const struct cli_gf	*gf = &run->gf;
	const char	*name = leaf->agent;

	if (gf->agent != NULL && name != NULL) {
		cli_usage_error(run, "Do not combine positional agent with "
		    "--agent override");
		return (-1);
	}
	if (name == NULL)
		name = run->config->default_agent;
	agent_registry_spec_clear(&inv->agent);
	agent_registry_resolve(run->config, name, gf->agent, &inv->agent);
	inv->agent_override = gf->agent != NULL;
	return (0);
}

/* The default agent, for verbs that do not resolve one. */
void
cli_prepare_default_agent(struct cli_run *run, struct invocation *inv)
{
	if (inv->agent.name == NULL)
		agent_registry_resolve(run->config, run->config->default_agent,
		    NULL, &inv->agent);
}

/*
 * acpx [prompt...] (cmd_root_entry's prepare): the implicit prompt to the default agent. Without
 * words on a terminal it shows the help instead (Commander's default
 * action when the reference finds nothing to send).
 */
int
cli_prepare_root(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	char	*text;

	if (json_array_size(cli_prepare_arg(leaf, 0)) == 0 &&
	    isatty(STDIN_FILENO)) {
		if (run->strict) {
			cli_usage_error(run, "Prompt is required (pass as "
			    "argument, --file, or pipe via stdin)");
			return (-1);
		}
		text = cli_help_text(run, leaf, STDOUT_FILENO);
		fputs(text, stdout);
		fflush(stdout);
		free(text);
		run->status = ACPX_EXIT_SUCCESS;
		return (-1);
	}
	return (cmd_prompt_prepare(run, leaf, inv));
}
