/*
 * The command line: global options, agent-token detection, verbs and their
 * options (spec acpx-cli.md §1-3), merged with the config files into one
 * read-only struct invocation (cli-invocation.h) that a command's run
 * function receives.
 * cli.c drives the parse (the cli*.c files, cli-impl.h) over the command
 * table (cmd.h), whose rows say how each command is parsed, prepared into
 * an invocation and run.
 */
#ifndef ACPX_CLI_H
#define ACPX_CLI_H

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cmd.h"

/*
 * Parse argv and load config; on success *inv is filled and the caller
 * runs the command. Returns -1 with *err set (already classified, with the
 * format to render it in *err_format), or a non-negative exit status when
 * the command line was fully handled (help, version): then nothing to run.
 * On error inv->json_strict still tells whether --json-strict was given
 * (render the error with it); call cli_invocation_free() in every case.
 */
int		 cli_parse(int argc, char **argv, struct invocation *inv,
		    cmd_run_fn *run, enum acpx_format *err_format,
		    struct acpx_error **err);

/*
 * acpx __complete ...: argc/argv are the arguments after "__complete".
 * Prints candidates on stdout and returns the exit status; never fails
 * loudly (a completion that cannot be computed prints nothing).
 * (cli-complete.c)
 */
int		 cli_complete_main(int argc, char **argv);

#endif
