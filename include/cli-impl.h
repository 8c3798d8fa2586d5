/*
 * Inside the command line (private to the cli*.c files; the commands'
 * prepare functions see it through the accessors cmd.h declares, which
 * cli-prepare.c and cli-prepare-leaf.c implement): a small model of the
 * Commander program the reference builds. The commands and options are
 * the rows of the command table (cmd.h); a parse instantiates a tree of
 * struct cli_cmd from them (cli-cmd.c), records option values per command
 * the way Commander does (value, and whether it came from the command
 * line or a default; cli-parse.c), and the leaf's prepare function turns
 * it into an invocation. cli.c drives it all from cli_parse(); cli-scan.c
 * holds the scans of the raw arguments made before the parse;
 * cli-complete.c walks a partial command line for the shell completion.
 */
#ifndef ACPX_CLI_IMPL_H
#define ACPX_CLI_IMPL_H

#include <stdio.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli.h"
#include "cmd.h"

struct config;

/*
 * A command in a parse: the definition plus Commander's per-command state.
 * A parse builds the root's ~45 commands and one branch below, so a node
 * borrows what it can: its name and arguments are the definition's unless
 * an agent command declares its own, its agent name lives as long as the
 * parse (the registry, the config or argv), and its description is made
 * only for help (cli_cmd_desc()).
 */
struct cli_cmd {
	const struct cmd_entry	 *def;
	const char		 *name;		/* def's, agent's or own_name */
	char			 *own_name;
	struct cli_cmd		 *parent;
	struct cli_cmd		**subs;
	size_t			  nsubs;
	size_t			  subs_cap;
	int			  subs_built;
	const struct cmd_arg	 *args;		/* registered arguments */
	struct cmd_arg		 *own_args;	/* an agent's declared (or NULL) */
	size_t			  nargs;
	const char		 *agent;	/* agent commands: the agent name */
	json_t			 *vals;		/* key -> value */
	json_t			 *srcs;		/* key -> "cli" | "default" */
	json_t			 *processed;	/* processed arguments (array) */
	struct cli_cmd		 *block;	/* the root's: its commands' nodes */
	size_t			  nblock;	/* nodes of block in use */
	size_t			  block_cap;
	int			  in_block;	/* a node of its parent's block */
};

/* Global flags after resolveGlobalFlags(): what the invocation does not hold. */
struct cli_gf {
	char		*agent;		/* trimmed --agent, or NULL */
	const char	*cwd;		/* as given (resolved into inv->cwd) */
	const char	*policy;	/* --permission-policy / --policy */
	int		 approve_all;
	int		 approve_reads;
	int		 deny_all;
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

	/* The values of --node and --file as met (pointers into argv). */
#define CLI_NODE_NOTES	16
	const char		 *node_notes[CLI_NODE_NOTES];
	char			  node_note_kind[CLI_NODE_NOTES];	/* 'n', 'f' */
	size_t			  nnode_notes;

	/* Outcome. */
	int			  status;	/* >= 0: handled, exit with it */
	struct acpx_error	 *err;
	cmd_run_fn		  run;
	struct cli_gf		  gf;		/* filled by cli_prepare_globals() */
};

/* A growable NULL-terminated list of borrowed strings. */
struct cli_list {
	char	**v;
	size_t	  n;
};

/* cli-node.c: --node (the relay, node-relay.h). */
void		 cli_node_note(struct cli_run *, const char *key,
		    const char *value);
int		 cli_node_prepare(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);

/* cli.c */
void		 cli_list_add(struct cli_list *, char *);
void		 cli_list_addv(struct cli_list *, char **, size_t);
void		 cli_print_help(struct cli_run *, const struct cli_cmd *, int to_err);
int		 cli_cmd_error(struct cli_run *, const struct cli_cmd *,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int		 cli_help_exit(struct cli_run *, const struct cli_cmd *);
void		 cli_print_version(int verbose);

/* cli-agent.c */
int		 cli_cmd_setup(struct cli_run *);

/* cli-cmd.c */
void		 cli_cmd_add(struct cli_cmd *parent, struct cli_cmd *);
struct cli_cmd	*cli_cmd_new(struct cli_run *, const struct cmd_entry *,
		    const char *name, struct cli_cmd *parent);
void		 cli_cmd_reserve(struct cli_cmd *, size_t n);
void		 cli_cmd_free(struct cli_cmd *);
char		*cli_cmd_desc(const struct cli_run *, const struct cli_cmd *);
void		 cli_cmd_children(struct cli_run *, struct cli_cmd *);
struct cli_cmd	*cli_find_cmd(const struct cli_cmd *, const char *name);
int		 cli_set_option(struct cli_run *, struct cli_cmd *,
		    const struct cmd_opt *, const char *value);
const json_t	*cli_opt_value(const struct cli_cmd *, const char *key);
const json_t	*cli_opt_global(const struct cli_cmd *, const char *key);
const json_t	*cli_opt_from_cli(const struct cli_cmd *, const char *key);

/* cli-scan.c */
int		 cli_scan_version(char **args, size_t n, int *verbose);
int		 cli_scan_strict(struct cli_run *);
void		 cli_scan_format(struct cli_run *, enum acpx_format fallback,
		    int *has, enum acpx_format *out);
char		*cli_scan_initial_cwd(struct cli_run *);
const char	*cli_scan_last_flag(char **args, size_t n, const char *flag);
int		 cli_scan_agent_token(char **args, size_t n, int *override);

/* cli-parse-opts.c: Commander's parseOptions() */
int		 cli_parse_options(struct cli_run *, struct cli_cmd *,
		    char **args, size_t n, struct cli_list *ops,
		    struct cli_list *unk);

/* cli-parse.c */
int		 cli_parse_command(struct cli_run *, struct cli_cmd *,
		    char **ops, size_t nops, char **unk, size_t nunk);

/* cli-help.c */
char		*cli_help_text(struct cli_run *, const struct cli_cmd *, int fd);

/* cli-arg.c: argument specs ("<mode>", "[name]", "[prompt...]"). */
char		*cli_arg_name(const char *spec);
char		*cli_arg_human(const char *spec);
int		 cli_arg_variadic(const char *spec);
int		 cli_arg_required(const char *spec);

/* cli-complete-walk.c: walk words[0..n-2], complete words[n-1]. */
struct complete;
void		 cli_complete_words(struct complete *, char **words, int n);

/* cli-suggest.c */
char		*cli_suggest(const char *word, const char **candidates, size_t n);

#endif
