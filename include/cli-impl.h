/*
 * Inside the command line (private to cli.c, cli-parse.c, cli-help.c and
 * cli-verbs.c): a small model of the Commander program the reference
 * builds. Commands and options are static tables (cli-help.c); a parse
 * instantiates a tree of struct cli_cmd, records option values per command
 * the way Commander does (value, and whether it came from the command line
 * or a default; cli-parse.c), and the verb handlers (cli-verbs.c) turn the
 * leaf into an invocation. cli.c drives it all from cli_parse().
 */
#ifndef ACPX_CLI_IMPL_H
#define ACPX_CLI_IMPL_H

#include <stdio.h>

#include <jansson.h>

#include "acpx.h"
#include "cli.h"
#include "error.h"

struct config;

/*
 * An option-argument or argument parser (Commander parseArg): 0 with *out
 * (a new reference), or -1 with *msg (InvalidArgumentError's message).
 * prev is the option's previous value (borrowed, may be NULL).
 */
typedef int	(*cli_parse_fn)(const char *value, const json_t *prev,
		    json_t **out, char **msg);

enum cli_opt_kind {
	CLI_OPT_BOOL = 0,	/* --flag */
	CLI_OPT_VALUE,		/* --flag <value> */
	CLI_OPT_NEGATE		/* --no-flag: key defaults to true */
};

struct cli_opt {
	const char	*flags;		/* as in help: "-s, --session <name>" */
	const char	*shortf;	/* "-s" or NULL */
	const char	*longf;		/* "--session" */
	const char	*key;		/* attribute name: "session", "wait" */
	const char	*desc;
	enum cli_opt_kind kind;
	cli_parse_fn	 parse;
	int		 mandatory;	/* requiredOption */
	const char	*def;		/* default shown in help, e.g. "20" */
};

struct cli_arg {
	const char	*spec;		/* "<mode>", "[name]", "[prompt...]" */
	const char	*desc;
	cli_parse_fn	 parse;
};

enum cli_verb {
	CLI_VERB_NONE = 0,
	CLI_VERB_ROOT,		/* the root [prompt...] action */
	CLI_VERB_AGENT,		/* <agent> [prompt...] */
	CLI_VERB_PROMPT,
	CLI_VERB_EXEC,
	CLI_VERB_CANCEL,
	CLI_VERB_SET_MODE,
	CLI_VERB_SET,
	CLI_VERB_STATUS,
	CLI_VERB_SESSIONS,	/* sessions and its subcommands */
	CLI_VERB_CONFIG,	/* config and show/init */
	CLI_VERB_COMPARE,
	CLI_VERB_FLOW,
	CLI_VERB_WARP,
	CLI_VERB_COMPLETION
};

#define CLI_CMD_ACTION		0x1	/* has an action handler */
#define CLI_CMD_PASSTHROUGH	0x2	/* passThroughOptions() */
#define CLI_CMD_DEFAULT_DESC	0x4	/* desc has a %s for the default agent */

struct cli_cmddef {
	const char			 *name;		/* NULL: agent template */
	const char			 *desc;
	const struct cli_opt *const	 *opts;		/* NULL-terminated */
	const struct cli_arg		 *args;
	size_t				  nargs;
	const struct cli_cmddef *const	 *subs;		/* NULL-terminated */
	int				  flags;
	enum cli_verb			  verb;
	const char			 *subverb;
};

/* A command in a parse: the definition plus Commander's per-command state. */
struct cli_cmd {
	const struct cli_cmddef	 *def;
	char			 *name;
	char			 *desc;
	struct cli_cmd		 *parent;
	struct cli_cmd		**subs;
	size_t			  nsubs;
	int			  subs_built;
	struct cli_arg		 *args;		/* registered arguments */
	size_t			  nargs;
	char			 *agent;	/* agent commands: the agent name */
	json_t			 *vals;		/* key -> value */
	json_t			 *srcs;		/* key -> "cli" | "default" */
	json_t			 *processed;	/* processed arguments (array) */
};

/* State of one parse. */
struct cli_run {
	int			  argc;
	char			**argv;		/* user arguments (no program name) */
	struct config		 *config;
	struct cli_cmd		 *root;
	char			 *process_cwd;

	/* Pre-scan and what error output uses. */
	int			  strict;	/* Commander output suppressed */
	enum acpx_format	  err_format;

	/* Global options met after the agent/verb (acpx-native superset). */
	int			  late_globals;
	int			  late_cwd;	/* --cwd or --mcp-config among them */

	/* Parse state. */
	struct cli_cmd		 *leaf;		/* the command whose action runs */
	char			**root_args;	/* program.args: root operands+unknown */
	size_t			  nroot_args;
	char			**scratch;	/* strings made while parsing */
	size_t			  nscratch;

	/* Outcome. */
	int			  status;	/* >= 0: handled, exit with it */
	struct acpx_error	 *err;
	cmd_run_fn		  run;
};

/* A growable NULL-terminated list of borrowed strings. */
struct cli_list {
	char	**v;
	size_t	  n;
};

/* cli.c */
void		 cli_list_add(struct cli_list *, char *);
void		 cli_list_addv(struct cli_list *, char **, size_t);
struct cli_cmd	*cli_find_cmd(const struct cli_cmd *, const char *name);
void		 cli_print_help(struct cli_run *, const struct cli_cmd *, int to_err);
int		 cli_cmd_error(struct cli_run *, const struct cli_cmd *,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int		 cli_help_exit(struct cli_run *, const struct cli_cmd *);
int		 cli_set_option(struct cli_run *, struct cli_cmd *,
		    const struct cli_opt *, const char *value);
void		 cli_print_version(int verbose);
struct cli_cmd	*cli_cmd_new(struct cli_run *, const struct cli_cmddef *,
		    const char *name, struct cli_cmd *parent);
void		 cli_cmd_children(struct cli_run *, struct cli_cmd *);
const json_t	*cli_opt_value(const struct cli_cmd *, const char *key);
const json_t	*cli_opt_global(const struct cli_cmd *, const char *key);
const json_t	*cli_opt_from_cli(const struct cli_cmd *, const char *key);
void		 cli_usage_error(struct cli_run *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 cli_fail(struct cli_run *, struct acpx_error *);

/* cli-parse.c */
int		 cli_parse_command(struct cli_run *, struct cli_cmd *,
		    char **ops, size_t nops, char **unk, size_t nunk);

/* cli-help.c */
extern const struct cli_cmddef	 cli_root_def;
extern const struct cli_cmddef	 cli_agent_def;
extern const struct cli_opt	 cli_version_opt;
extern const struct cli_opt	 cli_help_opt;
const struct cli_opt *cli_find_opt(const struct cli_cmd *, const char *flag);
char		*cli_help_text(struct cli_run *, const struct cli_cmd *, int fd);
char		*cli_suggest(const char *word, const char **candidates, size_t n);
char		*cli_arg_name(const char *spec);
int		 cli_arg_variadic(const char *spec);
int		 cli_arg_required(const char *spec);
int		 cli_parse_format(const char *, const json_t *, json_t **, char **);

/* cli-verbs.c */
void		 cli_action(struct cli_run *, struct cli_cmd *,
		    struct invocation *);

#endif
