/*
 * Internals shared by the parts of the child processes: spawn.c (the
 * start, the accessors), spawn-child.c (the child until its exec) and
 * spawn-stop.c (stderr, reaping, signals and the
 * terminate sequence). Not for other modules: they use spawn.h.
 */
#ifndef ACPX_SPAWN_IMPL_H
#define ACPX_SPAWN_IMPL_H

#include <sys/types.h>

#include <ev.h>

#include "spawn.h"

#define CHILD_TAIL_MAX	8192		/* bytes of stderr kept */

enum child_stage {
	CHILD_RUNNING = 0,	/* no terminate requested */
	CHILD_GRACE,
	CHILD_TERM,
	CHILD_KILL,
	CHILD_DONE
};

struct child {
	struct ev_loop	*loop;
	pid_t		 pid;
	pid_t		 pgid;		/* own group id, or -1 */
	int		 in_fd;		/* our end of its stdin */
	int		 out_fd;	/* our end of its stdout */
	int		 err_fd;	/* our end of its stderr */
	int		 status;
	int		 flags;
#define CHILD_EXITED	0x1
#define CHILD_PASS	0x2		/* copy stderr to ours */
#define CHILD_DEAD	0x4		/* freed inside its callback */
	int		 busy;		/* callback depth */
	enum child_stage stage;
	ev_tstamp	 term_span;	/* how long TERM may take */
	ev_tstamp	 deadline;	/* end of the TERM stage */
	ev_child	 child_w;
	ev_io		 err_w;
	ev_timer	 term_w;
	child_exit_cb	 cb;
	void		*arg;
	void		(*err_cb)(const char *, size_t, void *);
	void		*err_arg;
	size_t		 tail_len;
	int		 tail_cut;	/* older bytes were dropped */
	char		 tail[CHILD_TAIL_MAX + 1];
};

void		 spawn_child_close(int *fd);

/*
 * spawn-child.c: what the child needs and what it reports, shared with it
 * (it runs in our memory until it has exec'd). stage 0: the exec happened.
 */
struct spawn_setup {
	const struct child_opts	*opts;
	int			 in, out, errfd;	/* its ends of the pipes */
	volatile int		 stage;
#define SPAWN_SETUP_CHDIR	1
#define SPAWN_SETUP_EXEC	2
#define SPAWN_SETUP_FAILED	3
	volatile int		 err;		/* the errno of that stage */
	int			 rep;		/* the child's end of the report
						   pipe (close-on-exec) */
};

pid_t		 spawn_child_start(struct spawn_setup *);

void		 spawn_child_err_cb(struct ev_loop *loop, ev_io *w, int revents);

void		 spawn_child_term_cb(struct ev_loop *loop, ev_timer *w, int revents);

void		 spawn_child_reap_cb(struct ev_loop *loop, ev_child *w, int revents);

#endif /* ACPX_SPAWN_IMPL_H */
