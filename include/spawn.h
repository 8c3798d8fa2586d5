/*
 * Child processes: an agent or a terminal command (client-term.c) started with
 * a vfork-style clone and exec (as posix_spawn() does; spawn-child.c) and no
 * shell, stdio on pipes, in its own process group so the
 * whole tree can be signalled, reaped with ev_child. Owns the kill sequence
 * (stdin EOF, grace, SIGTERM to the group, grace, SIGKILL) and keeps the
 * tail of the child's stderr for startup-failure messages.
 */
#ifndef ACPX_SPAWN_H
#define ACPX_SPAWN_H

#include <sys/types.h>

#include <stddef.h>

#include <ev.h>

struct child;

struct child_opts {
	char *const	*argv;		/* argv[0] looked up in PATH */
	char *const	*envp;		/* NULL = inherit environ */
	const char	*cwd;		/* NULL = inherit */
	int		 stderr_mode;
#define CHILD_STDERR_KEEP	0	/* capture; keep the last 8192 bytes */
#define CHILD_STDERR_PASS	1	/* capture, keep, and copy to our stderr */
#define CHILD_STDERR_MERGE	2	/* into the stdout pipe (terminals) */
	int		 new_pgrp;	/* setpgid(0,0) in the child */
	/*
	 * Optional: every chunk read from its stderr (after the tail keeps
	 * it; instead of CHILD_STDERR_PASS's copy), e.g. to redact and pass.
	 */
	void		(*err_cb)(const char *buf, size_t n, void *arg);
	void		*err_arg;
};

/*
 * Called once when the child has been reaped (status as from waitpid).
 * Its stderr has been read up to that point, so spawn_stderr_tail() is
 * complete. spawn_free() may be called from here.
 */
typedef void	(*child_exit_cb)(struct child *, int status, void *arg);

/*
 * Start a child. On failure returns NULL and sets *cause; *err_no is the
 * exec/chdir errno (ENOENT for a missing command or cwd) so the caller can
 * pick the reference's message; the failed child is already reaped. The
 * loop must be the default loop (libev reaps children only there). The
 * stdin/stdout pipe ends belong to the caller after spawn_take_fds();
 * all our ends are close-on-exec. Signal dispositions and the signal mask
 * are reset to defaults in the child.
 */
struct child	*spawn_child(struct ev_loop *, const struct child_opts *,
		    child_exit_cb, void *arg, int *err_no, char **cause);

pid_t		 spawn_pid(const struct child *);

/* Hand the stdin (write) and stdout (read) pipe ends to the caller. */
void		 spawn_take_fds(struct child *, int *stdin_fd, int *stdout_fd);

/* Tail of what the child wrote on stderr (up to 8192 bytes, NUL-terminated). */
const char	*spawn_stderr_tail(const struct child *);

/* Non-zero once reaped; then *status is its wait status. */
int		 spawn_exited(const struct child *, int *status);

/*
 * Signal the child's process group (or the child alone if it has none);
 * SIGTERM and SIGKILL also reach its descendants that left the group.
 */
void		 spawn_signal(struct child *, int sig);

/*
 * Begin the shutdown sequence: close its stdin if the caller still has it
 * open (caller passes fd or -1), wait grace_ms for exit, SIGTERM the group,
 * wait term_ms, SIGKILL the group. Asynchronous; the exit callback fires
 * when reaped. A child that exits while other members of its group live
 * on moves straight to SIGTERM for them (then SIGKILL after term_ms).
 * Idempotent: only the first call does anything (and closes stdin_fd).
 */
void		 spawn_terminate(struct child *, int stdin_fd, int grace_ms,
		    int term_ms);

/*
 * Free; if still running it is SIGKILLed (group) and reaped synchronously
 * (the one blocking waitpid). What is left of its process group is
 * SIGKILLed too. No callback runs. Safe inside the exit callback.
 */
void		 spawn_free(struct child *);

/* The path of the running executable (/proc/self/exe), or NULL. Caller owns. */
char		*spawn_self_path(void);

#endif
