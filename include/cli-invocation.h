/*
 * The invocation: everything a command needs, resolved from argv and the
 * config files by the parser (cli.h) and read by the command's run
 * function (cmd.h). A plain struct; cli_invocation_free() frees what it
 * holds (the strings, the JSON values and the config it owns).
 */
#ifndef ACPX_CLI_INVOCATION_H
#define ACPX_CLI_INVOCATION_H

#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"

struct config;

/* Everything a command needs, resolved from argv and config. Read-only. */
struct invocation {
	/* Effective settings: CLI flag > project config > global config > default. */
	enum acpx_format	 format;
	int			 json_strict;
	int			 verbose;
	int			 suppress_reads;
	int			 no_fs;
	int			 no_terminal;
	int			 no_fallback;		/* --no-fallback (warp) */
	int			 no_color;		/* --no-color */
	enum acpx_perm_mode	 perm_mode;
	enum acpx_nonint	 nonint;
	enum acpx_auth_policy	 auth_policy;
	json_t			*permission_policy;	/* parsed policy object, or NULL */
	char			*cwd;			/* absolute */
	struct agent_spec	 agent;
	int			 agent_override;	/* --agent was given */
	long long		 timeout_ms;		/* -1: none */
	long long		 ttl_ms;		/* queue owner idle TTL; 0 = never */
	char			*model;			/* --model or NULL */
	json_t			*allowed_tools;		/* array of strings, or NULL */
	int			 max_turns;		/* 0: not given */
	char			*system_prompt;
	char			*append_system_prompt;
	int			 prompt_retries;
	json_t			*mcp_servers;		/* normalised array, never NULL */
	int			 disable_exec;		/* config disableExec */
	int			 queue_max_depth;	/* config queueMaxDepth (16) */
	const struct config	*config;

	/* The verb and its own arguments. */
	const char		*verb;		/* "prompt", "exec", "sessions", "config", ... */
	const char		*subverb;	/* sessions/config subcommand, else NULL */
	char			**words;	/* positional args after the verb (NULL-terminated) */
	int			 nwords;
	char			*file;		/* -f/--file (or NULL) */
	char			*force_fail;	/* --force-fail <provider> (warp) */
	char			*session;	/* -s/--session or --name (or NULL) */
	int			 no_wait;
	char			**config_options;	/* exec --config-option "k=v" (NULL-terminated) */
	int			 nconfig_options;
	json_t			*verb_opts;	/* other verb options by long name: {"limit":"20","local":true} */

	/* --node: the command runs there (node-relay.h); else all NULL. */
	char			*node;		/* the node's name (configured) */
	char			**node_argv;	/* the arguments to run there */
	char			*node_file;	/* a --file to read here and send */
};

/*
 * Notes on the fields above, as cli_parse() fills them:
 * - config is owned by the invocation (cli_invocation_free() frees it).
 * - session: -s/--session (prompt, cancel, set-mode, set, status; also
 *   given at agent level), sessions new/ensure/watch --name, the [name]
 *   argument of sessions close/show/history/read/export, import --name.
 * - words: prompt words (prompt, exec), set-mode <mode>, set <key> <value>,
 *   sessions import <archive-path>, flow run <file>, warp probe targets,
 *   completion <shell>; compare: the prompt words (the agents are
 *   verb_opts "agents", an array).
 * - config_options: exec --config-option as "key=value", both parts trimmed.
 * - verb_opts keys (values as typed, trimmed where the reference trims;
 *   flags true): sessions list: "local", "cursor", "filter-cwd";
 *   new/ensure: "resume-session"; history: "limit" (default "20");
 *   read: "tail"; watch: "cursor"; export: "output", "cwd"; import: "cwd";
 *   prune: "dry-run", "before", "older-than", "include-history";
 *   compare: "agents"; flow run: "input-json", "input-file",
 *   "default-agent".
 * - timeout_ms for compare is the per-agent timeout (300000 by default).
 */

/* Free what the parse put into inv (and clear it); NULL is fine. */
void		 cli_invocation_free(struct invocation *);

#endif
