#include <config.h>

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn-impl.h"
#include "xmalloc.h"

/*
 * The child's side of spawn_child(), started the way posix_spawn() starts
 * one: clone(CLONE_VM | CLONE_VFORK) on a stack of its own, so the parent's
 * page tables are neither copied nor torn down again at exec (a fork of
 * acpx costs ~0.3-0.5 ms more on this VM, all of it on the path to the
 * agent's start), and the parent resumes once the exec succeeded or the
 * child exited. The child shares the parent's memory until then: it writes
 * nothing but its report (struct spawn_setup, and the same on a
 * close-on-exec pipe, for a clone() run as a fork), allocates nothing, touches
 * no stdio, and runs with every signal blocked until it has set them all
 * to their default, so no handler of the parent's ever runs in it. Not
 * instrumented by the sanitizers: it runs on a stack they do not know.
 */

#define SPAWN_NOSAN	__attribute__((no_sanitize("address", "undefined")))

extern char **environ;

/* In the child: record a setup failure for the parent and exit. */
static SPAWN_NOSAN __attribute__((noreturn)) void
spawn_child_fail(struct spawn_setup *s, int stage, int err)
{
	int	rep[2] = { stage, err };

	s->stage = stage;
	s->err = err;
	(void)write(s->rep, rep, sizeof rep);
	_exit(127);
}

/* In the child: keep fd away from 0-2 so the dup2()s cannot clobber it. */
static SPAWN_NOSAN int
spawn_child_lift(int fd)
{
	if (fd > STDERR_FILENO)
		return (fd);
	return (fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
}

/* In the child: execve(), and a file without a #! line through /bin/sh. */
static SPAWN_NOSAN void
spawn_child_execve(const char *path, char *const argv[], char *const envp[])
{
	size_t	argc, i;

	execve(path, argv, envp);
	if (errno != ENOEXEC)
		return;
	for (argc = 0; argv[argc] != NULL; argc++)
		;
	{
		char	*sh[argc + 2];

		sh[0] = (char *)"/bin/sh";
		sh[1] = (char *)path;
		for (i = 1; i <= argc; i++)
			sh[i + 1] = argv[i];
		if (argc == 0)
			sh[2] = NULL;
		execve(sh[0], sh, envp);
		errno = ENOEXEC;
	}
}

/*
 * In the child: execvp() with the PATH of envp (as execvp() after
 * `environ = envp`, which a child sharing our memory may not do), glibc's
 * rules: a name with a slash as it is; else each PATH entry (empty: the
 * current directory), going on past ENOENT, ESTALE, ENOTDIR, ENODEV,
 * ETIMEDOUT and EACCES (then the error if nothing ran); no PATH:
 * /bin:/usr/bin.
 */
static SPAWN_NOSAN void
spawn_child_execvpe(const char *file, char *const argv[], char *const envp[])
{
	const char	*path = NULL, *p, *e;
	size_t		 flen, plen, i;
	int		 eacces = 0;

	if (*file == '\0') {
		errno = ENOENT;
		return;
	}
	if (strchr(file, '/') != NULL) {
		spawn_child_execve(file, argv, envp);
		return;
	}
	for (i = 0; envp[i] != NULL; i++) {
		if (strncmp(envp[i], "PATH=", 5) == 0) {
			path = envp[i] + 5;
			break;
		}
	}
	if (path == NULL)
		path = "/bin:/usr/bin";
	flen = strnlen(file, NAME_MAX) + 1;
	plen = strnlen(path, PATH_MAX - 1) + 1;
	if (flen > NAME_MAX) {
		errno = ENAMETOOLONG;
		return;
	}
	{
		char	buf[plen + flen + 1];

		for (p = path;; p = e + 1) {
			if ((e = strchr(p, ':')) == NULL)
				e = p + strlen(p);
			if ((size_t)(e - p) < plen) {
				memcpy(buf, p, (size_t)(e - p));
				buf[e - p] = '/';
				memcpy(buf + (e - p) + (p < e), file, flen);
				spawn_child_execve(buf, argv, envp);
				switch (errno) {
				case EACCES:
					eacces = 1;
					break;
				case ENOENT:
				case ESTALE:
				case ENOTDIR:
				case ENODEV:
				case ETIMEDOUT:
					break;
				default:
					return;
				}
			}
			if (*e == '\0')
				break;
		}
	}
	if (eacces)
		errno = EACCES;
}

/* The child: set up and exec; never returns. */
static SPAWN_NOSAN int
spawn_child_main(void *arg)
{
	struct spawn_setup	*s = arg;
	const struct child_opts	*opts = s->opts;
	sigset_t		 set;
	int			 sig, in, out, err;

	/*
	 * Ignored signals survive exec (main ignores SIGPIPE, whoever started
	 * us may ignore SIGINT or SIGQUIT), and our handlers must not run
	 * here: 1-31 to their default, as libuv resets them for the
	 * reference (the real-time ones are libc's; each call is a system
	 * call on the path to the agent's start), then unblock.
	 */
	for (sig = 1; sig < 32; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	}
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

	if (opts->new_pgrp && setpgid(0, 0) == -1)
		spawn_child_fail(s, SPAWN_SETUP_FAILED, errno);
	if ((s->rep = spawn_child_lift(s->rep)) == -1 ||
	    (in = spawn_child_lift(s->in)) == -1 ||
	    (out = spawn_child_lift(s->out)) == -1 ||
	    (err = spawn_child_lift(s->errfd)) == -1)
		spawn_child_fail(s, SPAWN_SETUP_FAILED, errno);
	/* Terminals: one combined output stream, as the reference buffers it. */
	if (opts->stderr_mode == CHILD_STDERR_MERGE)
		err = out;
	if (dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(err, STDERR_FILENO) == -1)
		spawn_child_fail(s, SPAWN_SETUP_FAILED, errno);

	if (opts->cwd != NULL && chdir(opts->cwd) == -1)
		spawn_child_fail(s, SPAWN_SETUP_CHDIR, errno);

	spawn_child_execvpe(opts->argv[0], opts->argv, opts->envp != NULL ?
	    opts->envp : environ);
	spawn_child_fail(s, SPAWN_SETUP_EXEC, errno);
}

/*
 * Start the child of s (its report zeroed here); the parent resumes when
 * it has exec'd or exited. Returns its pid (s->stage says whether the exec
 * happened), or -1 with errno.
 */
pid_t
spawn_child_start(struct spawn_setup *s)
{
	sigset_t	 all, old;
	size_t		 argc, size;
	char		*stack;
	ssize_t		 n;
	pid_t		 pid;
	int		 saved, rep[2], got[2];

	s->stage = 0;
	s->err = 0;
	/* Room for the PATH search and a /bin/sh argv, besides the calls. */
	for (argc = 0; s->opts->argv[argc] != NULL; argc++)
		;
	size = 64 * 1024 + PATH_MAX + NAME_MAX + (argc + 3) * sizeof (char *);
	size = (size + 4095) & ~(size_t)4095;
	stack = xmalloc(size);

	if (pipe2(rep, O_CLOEXEC) == -1) {
		free(stack);
		return (-1);
	}
	s->rep = rep[1];
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(spawn_child_main, stack + size, CLONE_VM | CLONE_VFORK |
	    SIGCHLD, s);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(rep[1]);
	/*
	 * The report again through the pipe: where clone() runs the child as
	 * a fork (valgrind does, qemu's user mode too) it neither shares our
	 * memory nor holds us until its exec. The read ends at its exec (the
	 * pipe is close-on-exec) or brings its report; after a true vfork
	 * either has happened already, and it returns at once.
	 */
	if (pid != -1) {
		while ((n = read(rep[0], got, sizeof got)) == -1 &&
		    errno == EINTR)
			;
		if (n == (ssize_t)sizeof got) {
			s->stage = got[0];
			s->err = got[1];
		}
	}
	close(rep[0]);
	free(stack);
	errno = saved;
	return (pid);
}
