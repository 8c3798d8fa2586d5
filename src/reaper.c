#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "procfs.h"
#include "reaper.h"
#include "xmalloc.h"

/*
 * The process table is read from /proc (local file reads): one snapshot
 * of (pid, state, ppid, pgrp) per use. Our own forks are kept in a small
 * list so that "adopted" means a child we did not fork. Signals go to
 * processes found in a snapshot taken just before, so a reused pid is
 * only possible in that short window, and adopted children cannot be
 * reused at all until we reap them.
 */

#define REAPER_TERM_S	1.0	/* SIGTERM, then SIGKILL after this */
#define REAPER_GIVEUP_S	5.0	/* stop trying after this */
#define REAPER_POLL_NS	20000000L

struct reaper_proc {
	pid_t	pid;
	pid_t	ppid;
	pid_t	pgrp;
	char	state;
};

static pid_t	 reaper_self;		/* pid that called reaper_init() */
static pid_t	*reaper_owned;
static size_t	 reaper_nowned;
static size_t	 reaper_cap;

static double
reaper_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static void
reaper_nap(void)
{
	struct timespec	ts = { 0, REAPER_POLL_NS };

	(void)nanosleep(&ts, NULL);
}

/* Snapshot the process table; *n entries, caller frees. */
static struct reaper_proc *
reaper_scan(size_t *n)
{
	struct reaper_proc	*v = NULL;
	size_t			 cap = 0;
	DIR			*d;
	struct dirent		*de;
	struct procfs_stat	 st;
	pid_t			 pid;

	*n = 0;
	if ((d = opendir("/proc")) == NULL)
		return (NULL);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (procfs_stat(pid, &st) == -1)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[*n].pid = pid;
		v[*n].ppid = st.ppid;
		v[*n].pgrp = st.pgrp;
		v[*n].state = st.state;
		(*n)++;
	}
	closedir(d);
	return (v);
}

static int
reaper_is_owned(pid_t pid)
{
	size_t	i;

	for (i = 0; i < reaper_nowned; i++) {
		if (reaper_owned[i] == pid)
			return (1);
	}
	return (0);
}

static int
reaper_live(const struct reaper_proc *p)
{
	return (p->state != 'Z' && p->state != 'X');
}

/* Is a process other than a zombie in group pgid? See reaper.h. */
int
reaper_group_live(pid_t pgid)
{
	struct reaper_proc	*v;
	size_t			 n, i;
	int			 found = 0;

	if ((v = reaper_scan(&n)) == NULL)
		return (1);	/* no /proc: cannot tell, assume so */
	for (i = 0; i < n && !found; i++) {
		if (v[i].pgrp == pgid && reaper_live(&v[i]))
			found = 1;
	}
	free(v);
	return (found);
}

/* Signal the live descendants of root found in the snapshot v. */
static void
reaper_signal_tree(const struct reaper_proc *v, size_t n, pid_t root,
    int sig)
{
	pid_t	*q;
	size_t	 nq = 0, head = 0, i;

	q = xreallocarray(NULL, n + 1, sizeof *q);
	q[nq++] = root;
	while (head < nq) {
		for (i = 0; i < n; i++) {
			if (v[i].ppid != q[head] || v[i].pid == root ||
			    nq > n)
				continue;
			q[nq++] = v[i].pid;
			if (reaper_live(&v[i]))
				(void)kill(v[i].pid, sig);
		}
		head++;
	}
	free(q);
}

/* Signal root's group, then its other live descendants; see reaper.h. */
int
reaper_kill_tree(pid_t root, pid_t pgid, int sig)
{
	struct reaper_proc	*v = NULL;
	size_t			 n = 0;
	int			 rc = 0, saved = 0;

	/*
	 * The snapshot comes first, while the tree is whole; the group is
	 * signalled before its members one by one, so that no member can
	 * die alone and let its parent (the group leader) see that and exit
	 * normally before the group signal reaches it.
	 */
	if (root > 0)
		v = reaper_scan(&n);
	if (pgid > 0) {
		rc = kill(-pgid, sig);
		saved = errno;
	}
	if (v != NULL) {
		reaper_signal_tree(v, n, root, sig);
		free(v);
	}
	errno = saved;
	return (rc);
}

/*
 * One round over the children of this process that pass the filter
 * (not the pid "keep", not our own forks unless all): reap the dead,
 * signal the live (their group if they lead one, and their trees).
 * Returns how many live ones were signalled.
 */
static size_t
reaper_round(pid_t keep, int all, int sig)
{
	struct reaper_proc	*v;
	size_t			 n, i, live = 0;
	pid_t			 me = proc_pid();
	int			 status;

	if (all) {
		while (waitpid(-1, &status, WNOHANG) > 0)
			;
	}
	if ((v = reaper_scan(&n)) == NULL)
		return (0);
	for (i = 0; i < n; i++) {
		if (v[i].ppid != me || v[i].pid == keep)
			continue;
		if (!all && reaper_is_owned(v[i].pid))
			continue;
		if (!reaper_live(&v[i])) {
			(void)waitpid(v[i].pid, &status, WNOHANG);
			continue;
		}
		live++;
		reaper_signal_tree(v, n, v[i].pid, sig);
		if (v[i].pgrp == v[i].pid)
			(void)kill(-v[i].pid, sig);
		(void)kill(v[i].pid, sig);
	}
	free(v);
	return (live);
}

/* Kill children (all, or only adopted ones) until none is left. */
static void
reaper_kill_children(pid_t keep, int all)
{
	double	start = reaper_now(), t;

	for (;;) {
		t = reaper_now() - start;
		if (reaper_round(keep, all, t < REAPER_TERM_S ? SIGTERM :
		    SIGKILL) == 0 || t > REAPER_GIVEUP_S)
			break;
		reaper_nap();
	}
}

/* Kill adopted children; see reaper.h. */
void
reaper_kill_adopted(void)
{
	siginfo_t	si;

	if (reaper_self == 0 || proc_pid() != reaper_self)
		return;
	/*
	 * No child at all (WNOWAIT leaves a dead one waitable): nothing was
	 * adopted, and the process table need not be read.
	 */
	memset(&si, 0, sizeof si);
	if (waitid(P_ALL, 0, &si, WEXITED|WNOHANG|WNOWAIT) == -1 &&
	    errno == ECHILD)
		return;
	reaper_kill_children(0, 0);
}

/* Become a subreaper; see reaper.h. */
void
reaper_init(void)
{
	if (reaper_self == proc_pid())
		return;
#if defined(__linux__) && defined(PR_SET_CHILD_SUBREAPER)
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		return;
	if (reaper_self == 0)
		atexit(reaper_kill_adopted);
	reaper_self = proc_pid();
#endif
}

/* Remember a child we forked; see reaper.h. */
void
reaper_own(pid_t pid)
{
	if (reaper_is_owned(pid))
		return;
	if (reaper_nowned == reaper_cap) {
		reaper_cap = reaper_cap == 0 ? 8 : reaper_cap * 2;
		reaper_owned = xreallocarray(reaper_owned, reaper_cap,
		    sizeof *reaper_owned);
	}
	reaper_owned[reaper_nowned++] = pid;
}

/* Forget a reaped child; see reaper.h. */
void
reaper_disown(pid_t pid)
{
	size_t	i;

	for (i = 0; i < reaper_nowned; i++) {
		if (reaper_owned[i] == pid) {
			reaper_owned[i] = reaper_owned[--reaper_nowned];
			break;
		}
	}
	if (reaper_nowned == 0) {
		free(reaper_owned);
		reaper_owned = NULL;
		reaper_cap = 0;
	}
}

/* ---------------------------------------------------------------- keeper */

static volatile sig_atomic_t	keeper_owner;

static void
keeper_forward(int sig)
{
	int	saved = errno;

	if (keeper_owner > 0)
		(void)kill((pid_t)keeper_owner, sig);
	errno = saved;
}

/*
 * The keeper's side once the kept process (pid) runs: forward SIGTERM,
 * SIGINT and SIGHUP to it, reap what it orphans, and when it is gone kill
 * and reap everything left; its wait status.
 */
static int
keeper_wait(pid_t kept)
{
	struct sigaction	 sa;
	pid_t			 pid;
	int			 status = 0;

	keeper_owner = kept;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = keeper_forward;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);

	/* Reap what the kept process orphans while it runs; stop when it is gone. */
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid == kept)
			break;
		if (pid == -1 && errno != EINTR) {
			status = 0;
			break;
		}
	}
	keeper_owner = 0;
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);

	reaper_kill_children(0, 1);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return (status);
}

/* Hold nothing of the client's: the kept process has the stdio it needs. */
static void
keeper_drop_stdio(void)
{
	int	fd;

	if ((fd = open("/dev/null", O_RDWR|O_CLOEXEC)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* Exit as the kept process did (its signal re-raised). */
static void __attribute__((noreturn))
keeper_exit(int status)
{
	int	sig;

	if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		signal(sig, SIG_DFL);
		(void)kill(getpid(), sig);
		_exit(128 + sig);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* Split into keeper and kept worker; see reaper.h. */
int
reaper_keeper_fork(void)
{
	sigset_t	set, old;
	pid_t		keeper = getpid(), worker;

	sigfillset(&set);
	sigprocmask(SIG_SETMASK, &set, &old);
	if ((worker = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return (-1);
	}
	if (worker == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
#ifdef __linux__
		/* If the keeper dies first, the worker shuts down. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		if (getppid() != keeper)
			_exit(1);
#endif
		return (0);
	}
#if defined(__linux__) && defined(PR_SET_CHILD_SUBREAPER)
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
	keeper_drop_stdio();
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	keeper_exit(keeper_wait(worker));
}

/* Run the keeper; see reaper.h. */
int
reaper_keeper_main(char *self)
{
	sigset_t		 set;
	const char		*exe;
	char			*argv[3];
	pid_t			 keeper = getpid(), owner;
	int			 status, sig;

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
#if defined(__linux__) && defined(PR_SET_CHILD_SUBREAPER)
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
	if (self == NULL) {
		fprintf(stderr, "[acpx] queue keeper: cannot find our own "
		    "executable\n");
		return (1);
	}
	/* Tests run the owner under a wrapper (valgrind) this way. */
	exe = getenv("ACPX_QUEUE_OWNER_EXEC");
	if (exe == NULL || *exe == '\0')
		exe = self;
	if ((owner = fork()) == -1) {
		fprintf(stderr, "[acpx] queue keeper: fork: %s\n",
		    strerror(errno));
		free(self);
		return (1);
	}
	if (owner == 0) {
#ifdef __linux__
		/* If the keeper dies first, the owner shuts down. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		if (getppid() != keeper)
			_exit(1);
#endif
		argv[0] = (char *)exe;
		argv[1] = "__queue-owner";
		argv[2] = NULL;
		execv(exe, argv);
		fprintf(stderr, "[acpx] queue keeper: %s: %s\n", exe,
		    strerror(errno));
		_exit(127);
	}
	free(self);
	keeper_drop_stdio();
	status = keeper_wait(owner);

	if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		signal(sig, SIG_DFL);
		(void)kill(getpid(), sig);
		_exit(128 + sig);
	}
	return (WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}
