#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "agent-registry.h"
#include "cli-impl.h"
#include "cli.h"
#include "cmd-doctor.h"
#include "cmd.h"
#include "complete.h"
#include "config-file.h"
#include "queue-owner.h"
#include "reaper.h"
#include "spawn.h"
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
 *
 * The leaf command's row (cmd.h) then prepares the invocation and names
 * the function that runs it.
 */

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

/* ------------------------------------------------------------- entry */

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
	free(run->gf.agent);
	memset(&run->gf, 0, sizeof run->gf);
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

/*
 * Run a leaf command's action: the verb is the command under the root or
 * the agent (its subcommand the leaf, else the one it implies); the row's
 * prepare fills inv, and on success its run function is the one to run.
 */
static void
cli_action(struct cli_run *run, struct cli_cmd *leaf, struct invocation *inv)
{
	const struct cmd_entry	*e = leaf->def;
	const struct cli_cmd	*top = leaf;

	inv->verb_opts = json_object();
	while (top->parent != NULL && top->parent->parent != NULL &&
	    top->parent->def != &cmd_agent_entry)
		top = top->parent;
	if (top->parent != NULL) {
		inv->verb = top->def->name;
		inv->subverb = top != leaf ? e->name : top->def->implies;
	}
	if (cli_opt_global(leaf, "node") != NULL) {
		/* The node checks and runs it all (node-relay.h). */
		if (cli_node_prepare(run, leaf, inv) == 0)
			run->run = cmd_nodes_relay_run;
	} else if (e->prepare == NULL || e->prepare(run, leaf, inv) == 0)
		run->run = e->run;
}

/*
 * acpx doctor reports a config that does not load itself: it is parsed
 * with the defaults (no file read), the cause kept in *keep. NULL if even
 * that fails.
 */
static struct config *
cli_doctor_config(char **cause, char **keep)
{
	free(*keep);
	*keep = *cause;
	*cause = NULL;
	return (config_load("/nonexistent", "/nonexistent", NULL, cause));
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
	char			*config_cause = NULL;
	int			 strict, has, verbose, pass, rc = -1, doctor = 0;
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
		return (reaper_keeper_main(spawn_self_path()));
	/* The shell completion scripts' entry point (complete.h). */
	if (n > 0 && strcmp(args[0], "__complete") == 0)
		return (cli_complete_main((int)n - 1, args + 1));
	if (n > 0 && strcmp(args[0], "--") == 0 &&
	    (getenv("npm_lifecycle_event") != NULL ||
	    getenv("npm_lifecycle_script") != NULL)) {
		args++;
		n--;
	}
	if (cli_scan_version(args, n, &verbose)) {
		cli_print_version(verbose);
		return (ACPX_EXIT_SUCCESS);
	}
	run.argc = (int)n;
	run.argv = args;
	if (getcwd(cwdbuf, sizeof cwdbuf) == NULL)
		strcpy(cwdbuf, "/");
	run.process_cwd = xstrdup(cwdbuf);

	strict = cli_scan_strict(&run);
	inv->json_strict = strict;
	cli_scan_format(&run, ACPX_FORMAT_TEXT, &has, &f);
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

	for (i = 0; i < n && !doctor; i++)
		doctor = strcmp(args[i], "doctor") == 0;
	home = config_home();
	cwd = cli_scan_initial_cwd(&run);
	m = cli_scan_last_flag(args, n, "--mcp-config");
	if (cli_scan_last_flag(args, n, "--node") != NULL)
		m = NULL;	/* a path on the node */
	mcp = m != NULL && *m != '\0' ? xstrdup(m) : NULL;
	for (pass = 0;; pass++) {
		if ((run.config = config_load(home, cwd, mcp, &cause)) == NULL &&
		    (!doctor || (run.config = cli_doctor_config(&cause,
		    &config_cause)) == NULL)) {
			*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
			    cause);
			free(cause);
			goto out;
		}
		cli_scan_format(&run, run.config->format, &has, &f);
		run.strict = strict;
		run.err_format = *err_format = strict ? ACPX_FORMAT_JSON : f;
		if (cli_cmd_setup(&run) == -1 ||
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
		run.nnode_notes = 0;
	}
	if (config_cause != NULL && (run.leaf == NULL ||
	    run.leaf->def != &cmd_doctor_entry)) {
		acpx_error_free(run.err);
		run.err = NULL;
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    config_cause);
		goto out;
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
	free(config_cause);
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
