#include <config.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "agent-launch.h"
#include "agent-registry.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd-slots.h"
#include "cmd-opts.h"
#include "cmd.h"
#include "config-file.h"
#include "events.h"
#include "exec-turn.h"
#include "fallback.h"
#include "node-bind.h"
#include "model.h"
#include "output.h"
#include "proc.h"
#include "run-registry.h"
#include "xmalloc.h"

/*
 * exec: a one-shot prompt without a saved session, rendered as it streams.
 * The turn itself (phases, --timeout, interrupts) is exec-turn.c's.
 */

struct exec_fb {
	struct fallback	*fb;
	struct output	*out;
};

static void
exec_fallback_tap(const json_t *msg, int outbound, void *arg)
{
	struct exec_fb	*x = arg;

	fallback_tap(x->fb, msg);
	/* Quiet keeps only the final answer: drop a cut-short turn's text. */
	if (!outbound && output_format(x->out) == ACPX_FORMAT_QUIET &&
	    fallback_turn_failed(x->fb, msg))
		output_turn_discard(x->out);
}

static void
exec_fallback_stalled(void *arg)
{
	struct exec_fb	*x = arg;

	fallback_stalled(x->fb);
}

/*
 * The turn, and on a warp agent's provider failure the hops of its
 * fallback chain (fallback.h): each next agent gets the continuation
 * summary and the original prompt; a signal or --no-fallback stops it.
 */
static void
exec_turns(const struct invocation *inv, const struct agent_launch *launch,
    const json_t *blocks, struct output *out, struct exec_turn_result *r)
{
	struct fallback		*fb = fallback_begin(inv->config,
				    inv->agent_override ? NULL : inv->agent.name,
				    inv->no_fallback, launch, blocks);
	struct exec_fb		 x = { fb, out };
	struct exec_turn_hooks	 hooks = { exec_fallback_tap, &x };
	struct exec_turn_stall	 stall = { fallback_stall_seconds(fb),
				    exec_fallback_stalled, &x };
	struct fallback_hop	 hop;
	struct acp_client_opts	 co, hco;
	struct acpx_error	*ferr = NULL;
	struct exec_turn_opts	 eo, heo;
	json_t			*n;
	char			*notice;
	int			 rc;

	fallback_set_launch_flags(fb, AGENT_LAUNCH_PERM(inv->perm_mode,
	    inv->nonint) | AGENT_LAUNCH_TAP);
	/* A node-bound agent's proxy does the forcing on its node. */
	if (inv->force_fail != NULL && fb != NULL && launch->node == NULL &&
	    fallback_force_fail(fb, inv->force_fail, &ferr) == -1)
		acpx_error_free(ferr);	/* checked before the launch */
	cmd_opts_client(inv, launch, &co);
	cmd_opts_exec(inv, &co, &eo);
	exec_turn_run_stall(&eo, blocks, out, fb != NULL ? &hooks : NULL,
	    &stall, 0, r);
	fallback_tap_seen(fb, launch->tap);
	while (fb != NULL && !r->interrupted) {
		rc = fallback_after_turn(fb, r->err != NULL ? r->err->acp : NULL,
		    r->prompt_result, r->stderr_text, &hop, &notice, &ferr);
		if (notice != NULL) {
			output_notice(out, "%s", notice);
			free(notice);
		}
		if (rc == -1 && r->err == NULL)
			r->err = ferr;	/* a "successful" turn that was not */
		else if (rc == -1) {
			output_notice(out, "fallback: %s", ferr->message);
			acpx_error_free(ferr);
		}
		if (rc != 1)
			break;
		n = fallback_notification(&hop);
		output_fallback(out, n);
		json_decref(n);
		exec_turn_result_clear(r);
		cmd_opts_client(inv, &hop.launch, &hco);
		hco.command = hop.to;
		cmd_opts_exec(inv, &hco, &heo);
		exec_turn_run_stall(&heo, hop.prompt, out, &hooks, &stall, 0, r);
		fallback_tap_seen(fb, hop.launch.tap);
		fallback_hop_clear(&hop);
	}
	fallback_free(fb);
}

/* exec: one-shot prompt without a saved session. */
int
cmd_exec_run(const struct invocation *inv, struct output *out)
{
	struct exec_turn_result	 r;
	struct acpx_error	*err = NULL;
	struct agent_launch	 launch;
	struct slots_hold	*slot;
	json_t			*blocks;
	int			 rc;

	if (inv->disable_exec) {
		err = acpx_error_new(ACPX_CODE_EXEC_DISABLED, NULL, "cli",
		    "exec subcommand is disabled by configuration "
		    "(disableExec: true)");
		return (output_fail(out, err));
	}

	if ((blocks = cmd_opts_prompt(inv, &err)) == NULL) {
		return (output_fail(out, err));
	}
	/* Warp agents: secrets, checks, harness environment; nothing spawned yet. */
	if (inv->force_fail != NULL && !inv->agent_override)
		(void)node_bind_force_fail(inv->config, inv->agent.name,
		    inv->force_fail);
	/* No next agent with --no-fallback: the harness keeps its retries. */
	if (cmd_opts_launch(inv, AGENT_LAUNCH_PICK | (inv->no_fallback ? 0 :
	    AGENT_LAUNCH_TAP), &launch, &err) == -1) {
		json_decref(blocks);
		return (output_fail(out, err));
	}
	if (launch.notice != NULL)
		output_notice(out, "%s", launch.notice);
	if (inv->force_fail != NULL && launch.node == NULL &&
	    fallback_force_check(inv->config,
	    inv->agent_override ? NULL : inv->agent.name, inv->force_fail,
	    &err) == -1) {
		agent_launch_clear(&launch);
		json_decref(blocks);
		return (output_fail(out, err));
	}

	run_registry_lazy();
	events_register("exec", NULL, NULL, inv->agent_override ? NULL :
	    inv->agent.name, inv->cwd);
	run_registry_loop(proc_default_loop());	/* a wait for a slot */
	rc = cmd_slots_exec_acquire(inv, out, &slot, &err);
	run_registry_loop(NULL);
	if (rc == -1) {
		agent_launch_clear(&launch);
		json_decref(blocks);
		return (output_fail(out, err));
	}
	exec_turns(inv, &launch, blocks, out, &r);
	slots_hold_release(slot);
	agent_launch_clear(&launch);

	rc = r.exit;
	if (r.err != NULL) {
		/* Agent error responses are already in text/json streams. */
		if (output_format(out) == ACPX_FORMAT_QUIET)
			r.err->flags &= ~ACPX_ERROR_EMITTED;
		if (!output_broken_pipe(out))
			output_error(out, r.err);
		rc = acpx_error_exit(r.err);
		if (r.err->code == ACPX_CODE_PERMISSION_DENIED)
			rc = ACPX_EXIT_PERMISSION_DENIED;
	} else if (r.silent_fail)
		rc = ACPX_EXIT_ERROR;
	if (output_broken_pipe(out))
		rc = ACPX_EXIT_SUCCESS;

	exec_turn_result_clear(&r);
	json_decref(blocks);
	return (rc);
}

/* ------------------------------------------------------- the command row */

static const struct cmd_opt cmd_exec_config_option = CMD_OPT(
    "--config-option <key=value>", NULL, "--config-option", "configOption",
    "Set an ACP session config option before the one-shot prompt "
    "(repeatable)", CMD_OPT_VALUE, cli_validate_config_option);
static const struct cmd_opt *const cmd_exec_opts[] = { &cmd_opt_file,
    &cmd_exec_config_option, &cmd_opt_force_fail, NULL };

/* -f, --config-option, the words; disableExec; the agent must be spawnable. */
static int
cmd_exec_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	const json_t	*v, *e;
	size_t		 i;

	inv->file = cli_prepare_dup(cli_prepare_cli_own(leaf, "file"));
	inv->force_fail = cli_prepare_dup(cli_prepare_own(leaf, "forceFail"));
	v = cli_prepare_own(leaf, "configOption");
	inv->config_options = xcalloc(json_array_size(v) + 1,
	    sizeof *inv->config_options);
	json_array_foreach(v, i, e)
		inv->config_options[inv->nconfig_options++] =
		    xstrdup(json_string_value(e));
	cli_prepare_words(inv, cli_prepare_arg(leaf, 0));
	if (cli_prepare_globals(run, leaf, inv) == -1)
		return (-1);
	if (cli_prepare_config(run)->disable_exec) {
		cli_fail(run, acpx_error_new(ACPX_CODE_EXEC_DISABLED, NULL, "cli",
		    "exec subcommand is disabled by configuration (disableExec: "
		    "true)"));
		return (-1);
	}
	if (cli_prepare_perm_mode(run) == -1 ||
	    cli_prepare_policy(run, inv) == -1 ||
	    cli_prepare_agent(run, leaf, inv) == -1)
		return (-1);
	if (inv->agent.argv == NULL) {
		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "%s", inv->agent.argv_error));
		return (-1);
	}
	return (0);
}

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.desc = "One-shot prompt using %s by default",
	.agent_desc = "One-shot prompt without saved session",
	.opts = cmd_exec_opts,
	.args = cmd_opt_prompt_arg,
	.nargs = 1,
	.flags = CMD_ACTION | CMD_DEFAULT_DESC | CMD_AGENT,
	.prepare = cmd_exec_prepare,
	.run = cmd_exec_run
};
