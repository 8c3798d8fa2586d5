/*
 * Shell completion: the hidden `acpx __complete` entry point the bash, zsh
 * and fish scripts call (complete.c: the protocol; complete-walk.c: the
 * partial command line walked through the command table that parses it,
 * each row completing its own operands; complete-cands.c: candidates,
 * agent names from the registry and config; complete-sessions.c: live
 * session names from ~/.acpx/sessions), and `acpx completion
 * bash|zsh|fish` (cmd-completion.c: prints the script, embedded at build
 * time from completions/ into the generated src/completion-scripts.c).
 */
#ifndef ACPX_COMPLETE_H
#define ACPX_COMPLETE_H

struct complete;
struct invocation;
struct output;

/*
 * acpx __complete ...: argc/argv are the arguments after "__complete".
 * Prints candidates on stdout and returns the exit status; never fails
 * loudly (a completion that cannot be computed prints nothing).
 */
int		 complete_main(int argc, char **argv);

/* acpx completion <shell>: print that shell's completion script. */
int		 cmd_completion_run(const struct invocation *, struct output *);

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
