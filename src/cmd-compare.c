#include <config.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "acp-update.h"
#include "agent-registry.h"
#include "buf.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd-opts.h"
#include "cmd-slots.h"
#include "cmd.h"
#include "complete.h"
#include "config-file.h"
#include "exec-turn.h"
#include "jget.h"
#include "js-json.h"
#include "js.h"
#include "output.h"
#include "proc.h"
#include "xmalloc.h"

/*
 * compare <agent>... '<prompt>' (spec acpx-cli.md §3.9): one prompt run
 * exec-style across several agents, summarised as a row per agent (json,
 * quiet or a table). The agents run one after the other, each an exec
 * turn whose rendering goes to /dev/null. The session/update traffic is watched for
 * the answer text and token usage; the row keeps a preview of both.
 * SIGINT/SIGTERM/SIGHUP let the current agent finish (exec-turn.c cancels
 * its prompt), mark its row interrupted, skip the rest, exit 130.
 * Lengths are counted in UTF-16 units, as the reference's JS strings are.
 */

#define COMPARE_PREVIEW_CHARS	200

struct compare_capture {
	struct buf	 text;		/* agent_message_chunk text so far */
	json_t		*usage[3];	/* input, output, total tokens, or NULL */
};

static const int compare_sigs[] = { SIGINT, SIGTERM, SIGHUP };

/* value.replace(/\s+/g, " ").trim(). */
static char *
compare_collapse(const char *in)
{
	struct buf	b = BUF_INITIALIZER;

	js_collapse_ws(&b, in, strlen(in));
	return (buf_take(&b));
}

/* truncate(collapseWhitespace(s), 200) as a JSON string. */
static json_t *
compare_preview(const char *s)
{
	char	*c = compare_collapse(s), *t;
	json_t	*j;

	t = js_truncate_dup(c, COMPARE_PREVIEW_CHARS);
	free(c);
	if ((j = json_string(t)) == NULL)
		j = json_string("");
	free(t);
	return (j);
}

/* The first finite number among keys of source, or NULL. */
static json_t *
compare_number(const json_t *source, const char *a, const char *b)
{
	const json_t	*v;

	if (source == NULL)
		return (NULL);
	if ((v = json_object_get(source, a)) != NULL && json_is_number(v))
		return (json_deep_copy(v));
	if ((v = json_object_get(source, b)) != NULL && json_is_number(v))
		return (json_deep_copy(v));
	return (NULL);
}

/* captureSessionUpdate(): answer text and usage_update tokens. */
static void
compare_message_cb(const json_t *msg, int outbound, void *arg)
{
	struct compare_capture	*cap = arg;
	struct acp_update	 ev;
	const json_t		*source;
	const char		*kind, *text;
	size_t			 i;

	if (outbound || !json_is_object(msg))
		return;
	kind = jget_str(msg, "method");
	if (kind == NULL || strcmp(kind, "session/update") != 0)
		return;
	acp_update_parse_params(json_object_get(msg, "params"), &ev);
	if (ev.kind == ACP_UPDATE_AGENT_MESSAGE_CHUNK) {
		if ((text = ev.text) == NULL)
			return;
		buf_adds(&cap->text, text);
	} else if (ev.kind == ACP_UPDATE_USAGE) {
		/*
		 * The reference's SDK validates usage_update and strips keys
		 * it does not know, so top-level token fields never arrive:
		 * only _meta.usage counts.
		 */
		source = ev.usage_meta;
		for (i = 0; i < nitems(cap->usage); i++)
			json_decref(cap->usage[i]);
		cap->usage[0] = compare_number(source, "input_tokens",
		    "inputTokens");
		cap->usage[1] = compare_number(source, "output_tokens",
		    "outputTokens");
		cap->usage[2] = compare_number(source, "total_tokens",
		    "totalTokens");
	}
}

static double
compare_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
}

/* The row of one agent's run; err (borrowed) is its failure or NULL. */
static json_t *
compare_row(const char *agent, const struct exec_turn_result *res,
    const struct acpx_error *err, const struct compare_capture *cap,
    double t0)
{
	json_t		*row = json_object(), *stop = NULL, *meta = NULL;
	const char	*status = "ok", *sr;
	int		 denied = res->perm.denied + res->perm.cancelled;
	size_t		 i;
	static const char *const keys[] = { "input_tokens", "output_tokens",
	    "total_tokens" };

	if (err == NULL) {
		stop = json_object_get(res->prompt_result, "stopReason");
		sr = json_string_value(stop);
		if (sr != NULL && strcmp(sr, "cancelled") == 0)
			status = "cancelled";
		else if (denied > 0)
			status = "permission_denied";
		meta = json_object_get(res->prompt_result, "_meta");
	} else if (err->code == ACPX_CODE_TIMEOUT)
		status = "cancelled";
	else if (err->code == ACPX_CODE_PERMISSION_DENIED ||
	    err->code == ACPX_CODE_PERMISSION_PROMPT_UNAVAILABLE)
		status = "permission_denied";
	else
		status = "error";

	json_object_set_new(row, "agent", json_string(agent));
	json_object_set_new(row, "status", json_string(status));
	json_object_set_new(row, "stop_reason", stop != NULL ?
	    json_deep_copy(stop) : json_null());
	json_object_set_new(row, "wall_ms",
	    json_integer((json_int_t)js_round_away(compare_now_ms() - t0)));
	for (i = 0; i < nitems(keys); i++)
		json_object_set_new(row, keys[i], cap->usage[i] != NULL ?
		    json_deep_copy(cap->usage[i]) : json_null());
	json_object_set_new(row, "final_message",
	    compare_preview(cap->text.p != NULL ? cap->text.p : ""));
	/* The reference shows an agent's JSON-RPC error by its own message. */
	if (err != NULL && err->acp != NULL &&
	    jget_str(err->acp, "message") != NULL)
		json_object_set_new(row, "error",
		    compare_preview(jget_str(err->acp, "message")));
	else
		json_object_set_new(row, "error", err != NULL ?
		    compare_preview(err->message) : json_null());
	json_object_set_new(row, "permission_requests",
	    json_integer(res->perm.requested));
	json_object_set_new(row, "permission_denied", json_integer(denied));
	if (meta != NULL)
		json_object_set_new(row, "_meta", json_deep_copy(meta));
	return (row);
}

static volatile sig_atomic_t compare_signalled;

/* Run one agent (in an agent slot under the host-wide cap); its row. */
static json_t *
compare_one(const struct invocation *inv, const char *agent,
    const json_t *blocks, struct output *out, struct output *sink,
    int *interrupted)
{
	struct invocation	 ai = *inv;
	struct compare_capture	 cap;
	struct exec_turn_hooks	 hooks = { compare_message_cb, &cap };
	struct exec_turn_result	 res;
	struct acpx_error	*err = NULL;
	json_t			*row;
	double			 t0 = compare_now_ms();
	struct agent_launch	 launch;
	struct acp_client_opts	 co;
	struct exec_turn_opts	 eo;
	struct slots_hold	*slot = NULL;
	size_t			 i;

	memset(&cap, 0, sizeof cap);
	memset(&res, 0, sizeof res);
	memset(&ai.agent, 0, sizeof ai.agent);
	agent_registry_resolve(inv->config, agent, NULL, &ai.agent);
	ai.agent_override = 0;
	if (ai.agent.argv == NULL)
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    ai.agent.argv_error != NULL ? ai.agent.argv_error :
		    "Invalid agent command");
	else if (cmd_slots_acquire(&ai, out, proc_default_loop(), "compare",
	    &compare_signalled, &slot, &err) == -1)
		*interrupted = compare_signalled;
	else if (cmd_opts_launch(&ai, AGENT_LAUNCH_PICK, &launch, &err) == 0) {
		cmd_opts_client(&ai, &launch, &co);
		cmd_opts_exec(&ai, &co, &eo);
		exec_turn_run_flags(&eo, blocks, sink, &hooks,
		    EXEC_TURN_HOLD_SIGNALS, &res);
		slots_hold_release(slot);
		slot = NULL;
		agent_launch_clear(&launch);
		*interrupted = res.interrupted;
		if (res.err != NULL)
			err = res.err, res.err = NULL;
		else if (res.prompt_result == NULL)
			err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
			    res.interrupted ? "Interrupted" :
			    "Agent turn did not complete");
	}
	row = compare_row(agent, &res, err, &cap, t0);
	if (*interrupted) {
		json_object_set_new(row, "status", json_string("cancelled"));
		json_object_set_new(row, "error", json_string("Interrupted"));
	}

	slots_hold_release(slot);
	acpx_error_free(err);
	exec_turn_result_clear(&res);
	agent_registry_spec_clear(&ai.agent);
	buf_free(&cap.text);
	for (i = 0; i < nitems(cap.usage); i++)
		json_decref(cap.usage[i]);
	return (row);
}

/* formatCell(): "-" for null or "", collapsed strings, JS numbers. */
static char *
compare_cell(const json_t *v)
{
	char	*s, *c;

	if (v == NULL || json_is_null(v) ||
	    (json_is_string(v) && json_string_length(v) == 0))
		return (xstrdup("-"));
	if (json_is_string(v))
		return (compare_collapse(json_string_value(v)));
	s = js_json_dumps(v, 0);
	if (json_is_number(v) || json_is_boolean(v))
		return (s);
	c = compare_collapse(s);
	free(s);
	return (c);
}

/* renderTable(): headers, dashes, a padded line per row. */
static char *
compare_table(const json_t *rows)
{
	static const char *const heads[] = { "agent", "status", "wall_ms",
	    "input", "output", "total", "permissions", "stop_reason",
	    "final_message", "error" };
	static const char *const keys[] = { "agent", "status", "wall_ms",
	    "input_tokens", "output_tokens", "total_tokens", NULL,
	    "stop_reason", "final_message", "error" };
	enum { NCOLS = nitems(heads) };
	size_t		 nrows = json_array_size(rows), r, c, w, len, i;
	size_t		 widths[NCOLS];
	char		***cells, *out = NULL, *line, *tmp, *cell;
	const json_t	*row;

	cells = xcalloc(nrows + 1, sizeof *cells);
	for (r = 0; r <= nrows; r++) {
		cells[r] = xcalloc(NCOLS, sizeof *cells[r]);
		row = r > 0 ? json_array_get(rows, r - 1) : NULL;
		for (c = 0; c < NCOLS; c++) {
			if (row == NULL)
				cells[r][c] = xstrdup(heads[c]);
			else if (keys[c] == NULL)
				xasprintf(&cells[r][c], "%lld/%lld",
				    (long long)json_integer_value(
				    json_object_get(row, "permission_denied")),
				    (long long)json_integer_value(
				    json_object_get(row,
				    "permission_requests")));
			else
				cells[r][c] = compare_cell(
				    json_object_get(row, keys[c]));
		}
	}
	for (c = 0; c < NCOLS; c++) {
		widths[c] = 0;
		for (r = 0; r <= nrows; r++)
			if ((w = js_strlen(cells[r][c])) > widths[c])
				widths[c] = w;
	}
	for (r = 0; r <= nrows + 1; r++) {
		line = xstrdup("");
		for (c = 0; c < NCOLS; c++) {
			if (r == 1) {
				cell = xmalloc(widths[c] + 1);
				memset(cell, '-', widths[c]);
				cell[widths[c]] = '\0';
				w = 0;
			} else {
				cell = xstrdup(cells[r > 1 ? r - 1 : 0][c]);
				w = widths[c] - js_strlen(cell);
			}
			xasprintf(&tmp, "%s%s%s%*s", line, c > 0 ? "  " : "",
			    cell, (int)w, "");
			free(cell);
			free(line);
			line = tmp;
		}
		if (r != 1) {
			len = strlen(line);
			while (len > 0 && line[len - 1] == ' ')
				line[--len] = '\0';
		}
		if (out == NULL)
			out = line;
		else {
			xasprintf(&tmp, "%s\n%s", out, line);
			free(out);
			free(line);
			out = tmp;
		}
	}
	for (r = 0; r <= nrows; r++) {
		for (i = 0; i < NCOLS; i++)
			free(cells[r][i]);
		free(cells[r]);
	}
	free(cells);
	return (out);
}

static void
compare_sighandler(int sig)
{
	compare_signalled = 1;
}

/*
 * Catch SIGINT/TERM/HUP between agents (each turn watches them itself and
 * puts back their default when it ends); old, if not NULL, gets the
 * previous actions.
 */
static void
compare_catch(struct sigaction *old)
{
	struct sigaction	sa;
	size_t			i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = compare_sighandler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < nitems(compare_sigs); i++)
		sigaction(compare_sigs[i], &sa, old != NULL ? &old[i] : NULL);
}

/* compare <agent>... '<prompt>': run each agent, print the rows. */
static int
cmd_compare_run(const struct invocation *inv, struct output *out)
{
	const json_t		*agents = json_object_get(inv->verb_opts,
				    "agents");
	struct output_opts	 so;
	struct output		*sink;
	struct acpx_error	*err = NULL;
	json_t			*blocks, *rows, *row;
	struct sigaction	 old[nitems(compare_sigs)];
	FILE			*null_f;
	const char		*status;
	size_t			 i;
	int			 interrupted = 0, rc, any[4] = { 0, 0, 0, 0 };
	char			*table;

	if (inv->disable_exec) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "compare subcommand is disabled by configuration "
		    "(disableExec: true)");
		return (output_fail(out, err));
	}
	if ((blocks = cmd_opts_prompt(inv, &err)) == NULL) {
		return (output_fail(out, err));
	}
	if ((null_f = fopen("/dev/null", "w")) == NULL)
		fatal("/dev/null");
	memset(&so, 0, sizeof so);
	so.format = ACPX_FORMAT_TEXT;
	so.out = so.err = null_f;
	sink = output_create(&so);

	rows = json_array();
	compare_signalled = 0;
	compare_catch(old);
	for (i = 0; i < json_array_size(agents); i++) {
		if (compare_signalled) {
			interrupted = 1;
			break;
		}
		row = compare_one(inv, json_string_value(json_array_get(agents,
		    i)), blocks, out, sink, &interrupted);
		compare_catch(NULL);
		if (compare_signalled && !interrupted) {
			/* Between the turn's watchers and ours. */
			interrupted = 1;
			json_object_set_new(row, "status",
			    json_string("cancelled"));
			json_object_set_new(row, "error",
			    json_string("Interrupted"));
		}
		json_array_append_new(rows, row);
		if (interrupted)
			break;
	}
	output_free(sink);
	fclose(null_f);

	if (inv->format == ACPX_FORMAT_JSON)
		output_result_json(out, rows);
	else if (inv->format == ACPX_FORMAT_QUIET) {
		json_array_foreach(rows, i, row)
			output_result_text(out, "%s\t%s",
			    jget_str(row, "agent"), jget_str(row, "status"));
	} else {
		table = compare_table(rows);
		output_result_text(out, "%s", table);
		free(table);
	}

	json_array_foreach(rows, i, row) {
		status = jget_str(row, "status");
		if (strcmp(status, "error") == 0)
			any[0] = 1;
		else if (strcmp(status, "permission_denied") == 0)
			any[1] = 1;
		else if (strcmp(status, "cancelled") == 0)
			any[2] = 1;
	}
	if (interrupted)
		rc = ACPX_EXIT_INTERRUPTED;
	else if (any[0])
		rc = ACPX_EXIT_ERROR;
	else if (any[1])
		rc = ACPX_EXIT_PERMISSION_DENIED;
	else if (any[2])
		rc = ACPX_EXIT_TIMEOUT;
	else
		rc = ACPX_EXIT_SUCCESS;
	if (output_broken_pipe(out))
		rc = ACPX_EXIT_SUCCESS;

	json_decref(rows);
	json_decref(blocks);
	for (i = 0; i < nitems(compare_sigs); i++)
		sigaction(compare_sigs[i], &old[i], NULL);
	return (rc);
}

/* ------------------------------------------------------- the command row */

static const struct cmd_opt o_cmp_cwd = CMD_OPTV("--cwd <dir>", NULL,
    "--cwd", "cwd", "Target workspace", CMD_OPT_VALUE, NULL, CMD_VALUES_DIR,
    NULL);
static const struct cmd_opt o_cmp_timeout = CMD_OPT("--timeout <seconds>",
    NULL, "--timeout", "timeout", "Per-agent timeout in seconds",
    CMD_OPT_VALUE, cli_validate_timeout);
static const struct cmd_opt o_cmp_json = CMD_OPT("--json", NULL, "--json",
    "json", "Alias for --format json", CMD_OPT_BOOL, NULL);
static const struct cmd_opt o_cmp_file = CMD_OPTV("-f, --file <path>", "-f",
    "--file", "file", "Read prompt text from file path (use - for stdin)",
    CMD_OPT_VALUE, cli_validate_prompt_file, CMD_VALUES_FILE, NULL);
static const struct cmd_opt o_cmp_prompt_file = CMD_OPTV(
    "--prompt-file <path>", NULL, "--prompt-file", "promptFile",
    "Alias for --file", CMD_OPT_VALUE, cli_validate_prompt_file,
    CMD_VALUES_FILE, NULL);
static const struct cmd_opt *const compare_opts[] = { &o_cmp_cwd,
    &cmd_opt_approve_all, &cmd_opt_approve_reads, &cmd_opt_deny_all,
    &o_cmp_timeout, &cmd_opt_format, &o_cmp_json, &o_cmp_file,
    &o_cmp_prompt_file, NULL };
static const struct cmd_arg compare_args[] = { { "<args...>",
    "Agents followed by prompt text, or agents with --file", NULL } };

/* scanCompareArgs(program.args.slice(1)).promptTokens, or -1. */
static long
compare_tokens(struct cli_run *run, size_t *start)
{
	static const char *const vflags[] = { "--cwd", "--timeout", "--format",
	    "-f", "--file", "--prompt-file" };
	char	**args;
	size_t	  i, j, n;

	args = cli_prepare_root_args(run, &n);
	for (i = 1; i < n; i++) {
		if (strcmp(args[i], "--") == 0) {
			*start = i + 1;
			return ((long)(n - i - 1));
		}
		for (j = 0; j < nitems(vflags); j++) {
			if (strcmp(args[i], vflags[j]) == 0) {
				i++;
				break;
			}
		}
	}
	return (-1);
}

/* The agents and the prompt words, the files, the timeout, the checks. */
static int
compare_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	const json_t	*args = cli_prepare_arg(leaf, 0), *lcwd, *file, *pfile;
	json_t		*agents;
	char		**root_args;
	long		 ntok;
	size_t		 start = 0, nargs = json_array_size(args), nagents, i, n;

	if (cli_prepare_config(run)->disable_exec) {
		cli_fail(run, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "compare subcommand is disabled by configuration "
		    "(disableExec: true)"));
		return (-1);
	}
	if (cli_prepare_globals(run, leaf, inv) == -1)
		return (-1);
	if ((lcwd = cli_prepare_own(leaf, "cwd")) != NULL) {
		free(inv->cwd);
		inv->cwd = config_path_resolve(cli_prepare_process_cwd(run),
		    json_string_value(lcwd));
	}
	if (cli_prepare_agent_override(run) != NULL) {
		cli_usage_error(run, "Do not combine compare with --agent; pass "
		    "agent names");
		return (-1);
	}
	file = cli_prepare_own(leaf, "file");
	pfile = cli_prepare_own(leaf, "promptFile");
	if (file != NULL && pfile != NULL && strcmp(json_string_value(file),
	    json_string_value(pfile)) != 0) {
		cli_usage_error(run, "Use only one prompt file flag: --file or "
		    "--prompt-file");
		return (-1);
	}
	inv->file = cli_prepare_dup(file != NULL ? file : pfile);
	inv->words = xcalloc(nargs + 1, sizeof *inv->words);
	ntok = compare_tokens(run, &start);
	if (ntok >= 0) {
		nagents = nargs >= (size_t)ntok ? nargs - (size_t)ntok : 0;
		if (nagents == 0) {
			cli_usage_error(run, "At least one agent is required");
			return (-1);
		}
		root_args = cli_prepare_root_args(run, &n);
		for (i = 0; i < (size_t)ntok; i++)
			inv->words[inv->nwords++] = xstrdup(root_args[start + i]);
	} else if (inv->file != NULL) {
		nagents = nargs;
		if (nagents == 0) {
			cli_usage_error(run, "At least one agent is required");
			return (-1);
		}
	} else {
		if (nargs < 2) {
			cli_usage_error(run, "Usage: acpx compare <agent>... "
			    "'<prompt>'");
			return (-1);
		}
		nagents = nargs - 1;
		inv->words[inv->nwords++] = xstrdup(json_string_value(
		    json_array_get(args, nargs - 1)));
	}
	agents = json_array();
	for (i = 0; i < nagents; i++)
		json_array_append(agents, json_array_get(args, i));
	json_object_set_new(inv->verb_opts, "agents", agents);
	if (inv->timeout_ms < 0)
		inv->timeout_ms = 300000;
	if (cli_prepare_perm_mode(run) == -1 ||
	    cli_prepare_policy(run, inv) == -1)
		return (-1);
	cli_prepare_default_agent(run, inv);
	return (0);
}

/* The operands are agent names (then the prompt). */
static int
compare_complete(struct complete *c, const struct cmd_opt *o, int npos)
{
	if (o != NULL)
		return (0);
	complete_agents(c);
	return (1);
}

const struct cmd_entry cmd_compare_entry = {
	.name = "compare",
	.desc = "Run one prompt across multiple agents and summarize the "
	    "results",
	.opts = compare_opts,
	.args = compare_args,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = compare_prepare,
	.run = cmd_compare_run,
	.complete = compare_complete
};
