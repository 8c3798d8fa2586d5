#include <config.h>

#include <stdlib.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cmd-warp.h"
#include "cmd.h"
#include "complete.h"
#include "fallback.h"
#include "node-bind.h"
#include "output.h"
#include "warp-serve.h"

/*
 * acpx warp serve <agent-id>: the command row of the proxy (warp-serve.h).
 * stdout belongs to the ACP stream from here on: nothing else is printed
 * there; diagnostics go to stderr.
 */

static int
cmd_warp_serve_run(const struct invocation *inv, struct output *out)
{
	struct warp_serve_opts	 o;
	struct acpx_error	*err = NULL;

	if (inv->nwords < 1 || inv->words[0] == NULL || *inv->words[0] == '\0')
		return (output_fail(out, acpx_error_new(ACPX_CODE_USAGE, NULL,
		    "cli", "warp serve needs an agent id")));
	o.on_node = json_is_true(json_object_get(inv->verb_opts, "onNode"));
	o.force_fail = inv->force_fail;
	/* A node-bound id: its node's proxy forces it (node-bind.h). */
	if (o.force_fail != NULL && !o.on_node && node_bind_force_fail(
	    inv->config, inv->words[0], o.force_fail))
		o.force_fail = NULL;
	if (o.force_fail != NULL && fallback_force_check(inv->config,
	    inv->words[0], inv->force_fail, &err) == -1)
		return (output_fail(out, err));
	o.config = inv->config;
	o.agent = inv->words[0];
	o.cwd = inv->cwd;
	o.no_fallback = inv->no_fallback;
	o.verbose = inv->verbose;
	o.perm_mode = inv->perm_mode;
	o.nonint = inv->nonint;
	return (warp_serve_main(&o));
}

static const struct cmd_arg serve_args[] = { { "<agent-id>",
    "Warp agent id or agent name to serve", NULL } };

/* serve's operand: the Warp agent ids. */
static int
cmd_warp_serve_complete(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o == &cmd_opt_force_fail) {
		complete_warp(c, 1);	/* ids too: the providers come last */
		return (1);
	}
	if (o != NULL || npos > 0)
		return (0);
	complete_warp(c, 0);
	return (1);
}

/*
 * Internal: the node side of a node-bound agent (node-bind.h), started
 * over ssh by the control machine; kept off --help.
 */
static const struct cmd_opt o_serve_on_node = CMD_OPT("--on-node", NULL,
    "--on-node", "onNode", NULL, CMD_OPT_BOOL, NULL);
static const struct cmd_opt *const serve_opts[] = { &o_serve_on_node,
    &cmd_opt_force_fail, NULL };

/* The operand, --on-node and --force-fail. */
static int
cmd_warp_serve_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	cli_prepare_verb_opt(inv, "onNode", cli_prepare_own(leaf, "onNode"));
	inv->force_fail = cli_prepare_dup(cli_prepare_own(leaf, "forceFail"));
	return (cli_prepare_operands(run, leaf, inv));
}

const struct cmd_entry cmd_warp_serve_entry = {
	.name = "serve",
	.desc = "Serve an agent over ACP on stdin/stdout, with Warp routing "
	    "and fallback",
	.args = serve_args,
	.nargs = 1,
	.opts = serve_opts,
	.flags = CMD_ACTION,
	.prepare = cmd_warp_serve_prepare,
	.run = cmd_warp_serve_run,
	.complete = cmd_warp_serve_complete
};
