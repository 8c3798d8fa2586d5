/*
 * Internals shared by the parts of the child processes: spawn.c (fork,
 * exec, the accessors) and spawn-stop.c (stderr, reaping, signals and the
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

void		 spawn_child_err_cb(struct ev_loop *loop, ev_io *w, int revents);

void		 spawn_child_term_cb(struct ev_loop *loop, ev_timer *w, int revents);

void		 spawn_child_reap_cb(struct ev_loop *loop, ev_child *w, int revents);

#endif /* ACPX_SPAWN_IMPL_H */
