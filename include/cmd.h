/*
 * The command table: one row (struct cmd_entry) per command and
 * subcommand, in the manner of tmux's cmd_entry. A row carries the name,
 * an alias, the help text, the options and arguments, and three functions:
 * prepare (turn the parsed command line into the invocation, with the
 * reference's checks and messages), run (do the work) and complete
 * (operand and option values for the shell completion). Help, parsing,
 * the reserved words (agent-token detection), dispatch and completion all
 * walk this table (cmd.c); nothing else lists the verbs.
 *
 * A new verb is a command file that defines its `const struct cmd_entry
 * cmd_<verb>_entry`, one line in cmd_table[] (cmd.c) and one Makefile.am
 * line. The rows and option tables are static, read-only data.
 *
 * The commands see the parse only through this header: the invocation
 * (cli-invocation.h) and the parser's accessors below (struct cli_run and
 * struct cli_cmd opaque). The parser (cli.h) and the completion walk
 * include this header, never the other way round.
 */
#ifndef ACPX_CMD_H
#define ACPX_CMD_H

#include <stddef.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"

struct cli_cmd;
struct cli_run;
struct complete;
struct output;
struct session_record;

/*
 * A command's entry point: show errors through output_error(); return the
 * exit status.
 */
typedef int	(*cmd_run_fn)(const struct invocation *, struct output *);

/*
 * An option-argument or argument parser (Commander parseArg): 0 with *out
 * (a new reference), or -1 with *msg (InvalidArgumentError's message).
 * prev is the option's previous value (borrowed, may be NULL).
 * The parsers with the reference's messages are in cli-validate.h.
 */
typedef int	(*cmd_parse_fn)(const char *value, const json_t *prev,
		    json_t **out, char **msg);

enum cmd_opt_kind {
	CMD_OPT_BOOL = 0,	/* --flag */
	CMD_OPT_VALUE,		/* --flag <value> */
	CMD_OPT_NEGATE		/* --no-flag: key defaults to true */
};

/* What the shell completion offers for an option's value. */
enum cmd_opt_values {
	CMD_VALUES_NONE = 0,	/* nothing to offer */
	CMD_VALUES_FILE,	/* a path */
	CMD_VALUES_DIR,		/* a directory */
	CMD_VALUES_LIST,	/* the words in choices */
	CMD_VALUES_SESSION,	/* a session name (the row's complete decides
				   the scope; default: open, cwd walk) */
	CMD_VALUES_AGENT,	/* an agent name */
	CMD_VALUES_NODE		/* a configured node's name */
};

struct cmd_opt {
	const char		*flags;		/* as in help: "-s, --session <name>" */
	const char		*shortf;	/* "-s" or NULL */
	const char		*longf;		/* "--session" */
	const char		*key;		/* attribute name: "session", "wait" */
	const char		*desc;		/* NULL: ours, kept off --help */
	enum cmd_opt_kind	 kind;
	cmd_parse_fn		 parse;
	int			 mandatory;	/* requiredOption */
	const char		*def;		/* default shown in help, e.g. "20" */
	enum cmd_opt_values	 values;
	const char *const	*choices;	/* CMD_VALUES_LIST, NULL-terminated */
};

/* A row of an option table; CMD_OPTV with what completion offers. */
#define CMD_OPT(flags, shortf, longf, key, desc, kind, parse)		\
	{ flags, shortf, longf, key, desc, kind, parse, 0, NULL,	\
	    CMD_VALUES_NONE, NULL }
#define CMD_OPTV(flags, shortf, longf, key, desc, kind, parse, values,	\
    choices)								\
	{ flags, shortf, longf, key, desc, kind, parse, 0, NULL, values,	\
	    choices }

struct cmd_arg {
	const char	*spec;		/* "<mode>", "[name]", "[prompt...]" */
	const char	*desc;
	cmd_parse_fn	 parse;
};

/*
 * Turn the parsed leaf command into *inv: 0 (the row's run function runs
 * then), or -1 after recording an error (cli_usage_error(), cli_fail())
 * or an exit status (help shown). The helpers are below (cli-prepare.c).
 */
typedef int	(*cmd_prepare_fn)(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *inv);

/*
 * Completion of an operand (o NULL; npos: operands of the command before
 * it) or of the value of option o: add candidates with complete_add() and
 * friends (complete.h) and return 1, or return 0 for the default.
 */
typedef int	(*cmd_complete_fn)(struct complete *, const struct cmd_opt *o,
		    int npos);

#define CMD_ACTION		0x1	/* runs (else: needs a subcommand) */
#define CMD_PASSTHROUGH		0x2	/* passThroughOptions() */
#define CMD_DEFAULT_DESC	0x4	/* desc has a %s for the default agent */
#define CMD_AGENT		0x8	/* also a subcommand of every agent */
#define CMD_HIDDEN		0x10	/* ours: kept out of the reference's help */

struct cmd_entry {
	const char			 *name;
	const char			 *alias;	/* or NULL */
	const char			 *desc;		/* help line */
	const char			 *agent_desc;	/* under an agent, if other */
	const struct cmd_opt *const	 *opts;		/* NULL-terminated or NULL */
	const struct cmd_arg		 *args;
	size_t				  nargs;
	const struct cmd_entry *const	 *subs;		/* NULL-terminated or NULL */
	const char			 *implies;	/* subverb when none is named */
	int				  flags;
	cmd_prepare_fn			  prepare;
	cmd_run_fn			  run;
	cmd_complete_fn			  complete;
};

/* The program itself (acpx [prompt...]) and the agent command template. */
extern const struct cmd_entry	 cmd_root_entry;
extern const struct cmd_entry	 cmd_agent_entry;

/*
 * The options of the program and the options and arguments several
 * commands share (cmd.c).
 */
extern const struct cmd_opt		 cmd_opt_version;	/* -V, --version */
extern const struct cmd_opt		 cmd_opt_help;		/* -h, --help */
extern const struct cmd_opt *const	 cmd_opt_root[];	/* the program's */

extern const struct cmd_opt	 cmd_opt_format;	/* --format <fmt> */
extern const struct cmd_opt	 cmd_opt_approve_all;
extern const struct cmd_opt	 cmd_opt_approve_reads;
extern const struct cmd_opt	 cmd_opt_deny_all;
extern const struct cmd_opt	 cmd_opt_session;	/* -s, --session <name> */
extern const struct cmd_opt	 cmd_opt_file;		/* -f, --file <path> */
extern const struct cmd_opt	 cmd_opt_force_fail;	/* --force-fail <provider> */
extern const struct cmd_opt	 cmd_opt_name;		/* -s, --name <name> */
/* prompt's: -s, --no-wait, -f (prompt, the agent command, the root's prompt). */
extern const struct cmd_opt *const cmd_opt_prompt[];

extern const struct cmd_arg	 cmd_opt_prompt_arg[1];	/* [prompt...] */
extern const struct cmd_arg	 cmd_opt_name_arg[1];	/* [name] */

/*
 * The i-th subcommand of e, or NULL past the last: the table's rows for
 * the root, its CMD_AGENT rows for an agent, else e->subs.
 */
const struct cmd_entry *cmd_sub(const struct cmd_entry *e, size_t i);

/* The subcommand of e called name (or by its alias), or NULL. */
const struct cmd_entry *cmd_find(const struct cmd_entry *e, const char *name);

/* A word that names a top-level verb (or "help"): never an agent name. */
int		 cmd_reserved(const char *word);

/* The option of e matching flag exactly (short or long), or NULL. */
const struct cmd_opt *cmd_find_opt(const struct cmd_entry *e,
		    const char *flag);

/*
 * ------------------------------------------ the parser's side (cli*.c)
 * What the parser offers the rows' prepare functions: errors (cli.c) and
 * the parsed options, arguments and globals (cli-prepare.c,
 * cli-prepare-leaf.c). struct cli_run and struct cli_cmd stay opaque here.
 */


/* Record a prepare's error (taken over), unless one is already recorded. */
void		 cli_fail(struct cli_run *, struct acpx_error *);
/* A usage error (InvalidArgumentError, exit 2). */
void		 cli_usage_error(struct cli_run *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * The program's prepare: the implicit prompt, or the help when there are
 * no words on a terminal.
 */
int		 cli_prepare_root(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);

/*
 * resolveGlobalFlags(): the invocation's global settings from the root
 * options (and config). The first step of every prepare; -1 on a usage
 * error.
 */
int		 cli_prepare_globals(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);
/* resolvePermissionMode(): more than one mode flag is an error. */
int		 cli_prepare_perm_mode(struct cli_run *);
/* resolvePermissionPolicyFromFlags() into inv->permission_policy. */
int		 cli_prepare_policy(struct cli_run *, struct invocation *);
/* resolveAgentInvocation(): the positional agent or --agent. */
int		 cli_prepare_agent(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);
/* The default agent, for verbs that do not resolve one. */
void		 cli_prepare_default_agent(struct cli_run *,
		    struct invocation *);
/* --agent as given (trimmed), or NULL (after cli_prepare_globals()). */
const char	*cli_prepare_agent_override(const struct cli_run *);
/* The config loaded for this command line. */
const struct config *cli_prepare_config(const struct cli_run *);
/* The directory acpx was started in. */
const char	*cli_prepare_process_cwd(const struct cli_run *);

/* program.args: the root's operands and unknown arguments (borrowed). */
char		**cli_prepare_root_args(const struct cli_run *, size_t *n);
/* The i-th processed argument (borrowed) or NULL; the count. */
const json_t	*cli_prepare_arg(const struct cli_cmd *leaf, size_t i);
size_t		 cli_prepare_nargs(const struct cli_cmd *leaf);
/* The positional agent of the leaf's agent command, or NULL. */
const char	*cli_prepare_leaf_agent(const struct cli_cmd *leaf);
/* Option values: the leaf's own; the nearest given on the command line;
   the outermost command's (optsWithGlobals). Borrowed or NULL. */
const json_t	*cli_prepare_own(const struct cli_cmd *leaf, const char *key);
const json_t	*cli_prepare_cli(const struct cli_cmd *leaf, const char *key);
const json_t	*cli_prepare_global(const struct cli_cmd *leaf,
		    const char *key);
/* The nearest given on the command line, else the leaf's own. */
const json_t	*cli_prepare_cli_own(const struct cli_cmd *leaf,
		    const char *key);
/* A string value copied (caller owns), or NULL. */
char		*cli_prepare_dup(const json_t *);
/* resolveSessionNameFromFlags(): the leaf's own key, else -s inherited. */
char		*cli_prepare_session(const struct cli_cmd *leaf,
		    const char *own_key);
/* inv->words from a JSON array of strings / from all processed arguments. */
void		 cli_prepare_words(struct invocation *, const json_t *list);
void		 cli_prepare_args_words(struct invocation *,
		    const struct cli_cmd *leaf);
/* inv->verb_opts[key] = v (integers as their decimal text); v may be NULL. */
void		 cli_prepare_verb_opt(struct invocation *, const char *key,
		    const json_t *v);

/* Common prepares: globals and agent; globals and the default agent. */
int		 cli_prepare_agent_verb(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);
int		 cli_prepare_plain(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);
/* Words from the first argument, globals and the default agent. */
int		 cli_prepare_operands(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);

/* ------------------------------------------------------------ commands */

/*
 * The commands that go through a session's queue owner: prompt (explicit
 * and implicit, cmd-prompt.c) and cancel, status, set-mode, set
 * (cmd-control.c).
 */
/*
 * The session of prompt/cancel/set-mode/set: the nearest open record of
 * the agent and -s name from cwd up to the git root. NULL if none; with
 * err non-NULL that is a NO_SESSION error with the reference's message.
 */
struct session_record *cmd_prompt_find_session(const struct invocation *,
		    struct acpx_error **err);

/* The prompt's prepare (cmd.h), also the program's and an agent's. */
int		 cmd_prompt_prepare(struct cli_run *, struct cli_cmd *leaf,
		    struct invocation *);

/* prompt: submit to the session's owner (starting it), stream the turn. */
int		 cmd_prompt_run(const struct invocation *, struct output *);
/* cancel: ask the owner to cancel the running turn. */
int		 cmd_cancel_run(const struct invocation *, struct output *);
/* status: the session's owner state as a status_snapshot. */
int		 cmd_status_run(const struct invocation *, struct output *);
/* set-mode <mode>: through the owner, else directly. */
int		 cmd_set_mode_run(const struct invocation *, struct output *);
/* set <key> <value> (and set model <id>): through the owner, else directly. */
int		 cmd_set_run(const struct invocation *, struct output *);


/* exec: one-shot prompt without a saved session (cmd-exec.c). */
int		 cmd_exec_run(const struct invocation *, struct output *);

/* config [show] (cmd-config.c). */
int		 cmd_config_run(const struct invocation *, struct output *);

/* acpx completion <shell>: print that shell's completion script
   (cmd-completion.c). */
int		 cmd_completion_run(const struct invocation *, struct output *);
/* Any command given --node: the node runs it (cmd-nodes.c). */
int		 cmd_nodes_relay_run(const struct invocation *, struct output *);
/*
 * Check the configured nodes (or only the one named; cmd-nodes.c, also
 * used by acpx doctor): the JSON list (caller owns), one line each in
 * text; *down / *bad when one is unreachable / unusable.
 */
struct buf;
json_t		*cmd_nodes_report(const struct config *, const char *only,
		    struct buf *text, int *down, int *bad);

#endif
