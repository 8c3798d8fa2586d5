/*
 * The options of the program and the options and arguments several
 * commands share (cli-opt.c). Static, read-only rows of the command table
 * (cmd.h).
 */
#ifndef ACPX_CLI_OPT_H
#define ACPX_CLI_OPT_H

#include "cmd.h"

extern const struct cmd_opt		 cli_opt_version;	/* -V, --version */
extern const struct cmd_opt		 cli_opt_help;		/* -h, --help */
extern const struct cmd_opt *const	 cli_opt_root[];	/* the program's */

extern const struct cmd_opt	 cli_opt_format;	/* --format <fmt> */
extern const struct cmd_opt	 cli_opt_approve_all;
extern const struct cmd_opt	 cli_opt_approve_reads;
extern const struct cmd_opt	 cli_opt_deny_all;
extern const struct cmd_opt	 cli_opt_session;	/* -s, --session <name> */
extern const struct cmd_opt	 cli_opt_file;		/* -f, --file <path> */
extern const struct cmd_opt	 cli_opt_name;		/* -s, --name <name> */
/* prompt's: -s, --no-wait, -f (prompt, the agent command, the root's prompt). */
extern const struct cmd_opt *const cli_opt_prompt[];

extern const struct cmd_arg	 cli_opt_prompt_arg[1];	/* [prompt...] */
extern const struct cmd_arg	 cli_opt_name_arg[1];	/* [name] */

#endif
