/*
 * Shell completion's candidates: what the rows' complete functions (cmd.h)
 * offer, agent names from the registry and config (complete.c) and
 * live session names from ~/.acpx/sessions (complete-sessions.c), and the
 * embedded scripts. The hidden `acpx __complete` entry point the bash, zsh
 * and fish scripts call walks the partial command line through the
 * command table (cli-complete.c, cli-complete-walk.c: cli.h);
 * `acpx completion bash|zsh|fish` prints a script (cmd-completion.c; the
 * scripts are embedded at build time from completions/ into the generated
 * src/completion-scripts.c).
 */
#ifndef ACPX_COMPLETE_H
#define ACPX_COMPLETE_H

struct complete;

/* Which sessions a position takes (spec acpx-cli.md §8.2). */
enum complete_scope {
	COMPLETE_WALK_OPEN,	/* prompt, cancel, set-mode, set, ensure: open,
				   cwd or an ancestor up to the git root */
	COMPLETE_EXACT_OPEN,	/* status, sessions close: open, exact cwd */
	COMPLETE_EXACT_ANY	/* sessions show|history|read|export|watch:
				   open or closed, exact cwd */
};

/* ------------------------------------- for the rows' complete functions */

/* What the shell is told to do (the first output line). */
enum complete_kind {
	COMPLETE_WORDS = 0,	/* offer the candidates */
	COMPLETE_FILES,		/* complete a path */
	COMPLETE_DIRS,		/* complete a directory */
	COMPLETE_NONE		/* nothing */
};

/* A candidate (copied; a duplicate value is dropped), desc may be NULL. */
void		 complete_add(struct complete *, const char *value,
		    const char *desc);
void		 complete_set_kind(struct complete *, enum complete_kind);
/* The agent's named sessions for the directory on the command line. */
void		 complete_sessions(struct complete *, enum complete_scope);
/* Built-in agents, config agents and Warp agent ids. */
void		 complete_agents(struct complete *);
/* The config's node names. */
void		 complete_nodes(struct complete *);
/* The config's Warp agent ids; with providers, the provider names too. */
void		 complete_warp(struct complete *, int providers);

/* Told about each named session found: name, its cwd, closed. */
typedef void	(*complete_session_fn)(const char *name, const char *cwd,
		    int closed, void *arg);

/*
 * The named sessions of an agent command for an absolute cwd, read from
 * the records in ~/.acpx/sessions (complete-sessions.c). Reads only the
 * head of each record, so it stays fast with thousands of large ones.
 */
void		 complete_session_names(const char *agent_command,
		    const char *cwd, enum complete_scope, complete_session_fn,
		    void *arg);

/* The scripts, one NULL-terminated array of lines each (generated). */
extern const char *const completion_scripts_bash[];
extern const char *const completion_scripts_zsh[];
extern const char *const completion_scripts_fish[];

#endif
