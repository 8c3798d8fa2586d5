/*
 * spawn: exec errors reported synchronously, exit status, stderr tail,
 * the terminate sequence and process-group signalling.
 */
#include <config.h>

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "spawn.h"
#include "xmalloc.h"
#include "tap.h"

struct run {
	int		 exited;
	int		 status;
	char		*tail;		/* stderr tail seen in the exit callback */
	int		 free_in_cb;
	int		 timed_out;
	ev_timer	 guard_w;
};

static void
exit_cb(struct child *c, int status, void *arg)
{
	struct run	*r = arg;

	r->exited++;
	r->status = status;
	free(r->tail);
	r->tail = xstrdup(spawn_stderr_tail(c));
	if (r->free_in_cb)
		spawn_free(c);	/* deferred until we return */
}

static void
guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;

	r->timed_out = 1;
	ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until nothing is left to do (the 120 s guard bounds a hang). */
static void
run_loop(struct ev_loop *loop, struct run *r)
{
	ev_timer_init(&r->guard_w, guard_cb, 120., 0.);
	r->guard_w.data = r;
	ev_timer_start(loop, &r->guard_w);
	ev_unref(loop);		/* the guard alone does not keep us running */
	ev_run(loop, 0);
	ev_ref(loop);
	ev_timer_stop(loop, &r->guard_w);
}

static struct child *
start(struct ev_loop *loop, struct run *r, const char *cwd, int mode,
    const char *a0, const char *a1, const char *a2)
{
	char * const	 argv[] = { (char *)a0, (char *)a1, (char *)a2, NULL };
	struct child_opts opts;
	struct child	*c;
	char		*cause = NULL;
	int		 err_no;

	memset(&opts, 0, sizeof opts);
	opts.argv = argv;
	opts.cwd = cwd;
	opts.stderr_mode = mode;
	opts.new_pgrp = 1;
	memset(r, 0, sizeof *r);
	c = spawn_child(loop, &opts, exit_cb, r, &err_no, &cause);
	/* Timers set before the loop runs count from now, not its last run. */
	ev_now_update(loop);
	if (c == NULL) {
		printf("# spawn failed: %s\n", cause);
		free(cause);
	}
	return (c);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Gone, or a zombie nobody has reaped yet (pid 1 in a container may not). */
static int
pid_gone(pid_t pid)
{
	char	 path[64], buf[512], *p;
	FILE	*f;
	int	 gone = 0;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return (1);
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (1);
	if (fgets(buf, sizeof buf, f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ' &&
	    (p[2] == 'Z' || p[2] == 'X'))
		gone = 1;
	fclose(f);
	return (gone);
}

static ssize_t
read_all(int fd, char *buf, size_t size)
{
	size_t	got = 0;
	ssize_t	n;

	while (got < size - 1) {
		n = read(fd, buf + got, size - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return ((ssize_t)got);
}

int
main(void)
{
	struct ev_loop		*loop = ev_default_loop(0);
	struct child_opts	 opts;
	struct child		*c;
	struct run		 r;
	char			*cause, buf[8192 * 3], line[64], *big;
	char * const		 nope[] = { "acpx-test-no-such-command", NULL };
	char * const		 envsh[] = { "sh", "-c", "printf %s \"$FOO\"", NULL };
	char * const		 env[] = { "FOO=from-envp", NULL };
	int			 err_no, in, out, saved, p[2];
	pid_t			 pid, gpid;
	double			 t0, dt;
	ssize_t			 n;

	signal(SIGPIPE, SIG_IGN);	/* as main() does */
#ifdef PR_SET_CHILD_SUBREAPER
	/* Orphaned grandchildren come to us, and libev reaps them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif

	TEST_START("missing command: NULL and ENOENT, synchronously");
	memset(&opts, 0, sizeof opts);
	opts.argv = nope;
	opts.new_pgrp = 1;
	cause = NULL;
	c = spawn_child(loop, &opts, exit_cb, &r, &err_no, &cause);
	ASSERT_PTR_NULL(c);
	ASSERT_INT_EQ(err_no, ENOENT);
	ASSERT_TRUE(cause != NULL &&
	    strstr(cause, "acpx-test-no-such-command") != NULL);
	free(cause);
	/* The failed child was reaped: no child is left. */
	ASSERT_INT_EQ(waitpid(-1, NULL, WNOHANG), -1);
	TEST_DONE();

	TEST_START("missing cwd: NULL and ENOENT");
	memset(&opts, 0, sizeof opts);
	opts.argv = envsh;
	opts.cwd = "/nonexistent/acpx-test-dir";
	cause = NULL;
	c = spawn_child(loop, &opts, exit_cb, &r, &err_no, &cause);
	ASSERT_PTR_NULL(c);
	ASSERT_INT_EQ(err_no, ENOENT);
	ASSERT_TRUE(cause != NULL && strstr(cause, "acpx-test-dir") != NULL);
	free(cause);
	TEST_DONE();

	TEST_START("the child starts with signals 1-31 at default, none blocked");
	{
		sigset_t	 block, old;
		char		 status[4096], *q;
		int		 sigs[] = { SIGINT, SIGQUIT, SIGHUP, SIGTERM,
		    SIGUSR1, SIGTSTP, SIGTTOU };
		size_t		 i;
		unsigned long long ign = ~0ULL, blk = ~0ULL;

		/* As a shell's background job or nohup would start us. */
		for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], SIG_IGN);
		sigemptyset(&block);
		sigaddset(&block, SIGUSR2);
		sigprocmask(SIG_BLOCK, &block, &old);
		c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "cat",
		    "/proc/self/status", NULL);
		for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		ASSERT_PTR_NOT_NULL(c);
		if (c != NULL) {
			spawn_take_fds(c, &in, &out);
			close(in);
			ASSERT_TRUE(read_all(out, status, sizeof status) > 0);
			if ((q = strstr(status, "\nSigIgn:")) != NULL)
				ign = strtoull(q + 9, NULL, 16);
			if ((q = strstr(status, "\nSigBlk:")) != NULL)
				blk = strtoull(q + 9, NULL, 16);
			ASSERT_TRUE((ign & 0x7fffffffULL) == 0);
			ASSERT_TRUE((blk & 0x7fffffffULL) == 0);
			close(out);
			run_loop(loop, &r);
			spawn_free(c);
		}
		free(r.tail);
	}
	TEST_DONE();

	TEST_START("exit status, and the child runs in cwd");
	c = start(loop, &r, "/", CHILD_STDERR_KEEP, "sh", "-c",
	    "[ \"$(pwd)\" = / ] && exit 3; exit 4");
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		ASSERT_TRUE(spawn_pid(c) > 0);
		ASSERT_INT_EQ(spawn_exited(c, NULL), 0);
		run_loop(loop, &r);
		ASSERT_INT_EQ(r.exited, 1);
		ASSERT_TRUE(WIFEXITED(r.status));
		ASSERT_INT_EQ(WEXITSTATUS(r.status), 3);
		ASSERT_INT_EQ(spawn_exited(c, &saved), 1);
		ASSERT_INT_EQ(saved, r.status);
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("stdin and stdout are pipes; envp replaces the environment");
	memset(&opts, 0, sizeof opts);
	opts.argv = envsh;
	opts.envp = env;
	memset(&r, 0, sizeof r);
	c = spawn_child(loop, &opts, exit_cb, &r, &err_no, &cause);
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		spawn_take_fds(c, &in, &out);
		ASSERT_TRUE(in >= 0 && out >= 0);
		close(in);
		read_all(out, buf, sizeof buf);
		ASSERT_STR_EQ(buf, "from-envp");
		close(out);
		run_loop(loop, &r);
		ASSERT_INT_EQ(r.exited, 1);
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("the command is looked up in envp's PATH; no #! runs in sh");
	{
		char	 dir[] = "/tmp/acpx-test-spawn-XXXXXX", file[64], envpath[80];
		char	*const av[] = { "acpx-test-noshebang", "one", NULL };
		char	*const ev[] = { envpath, "FOO=x", NULL };
		FILE	*f;

		ASSERT_TRUE(mkdtemp(dir) != NULL);
		snprintf(file, sizeof file, "%s/acpx-test-noshebang", dir);
		snprintf(envpath, sizeof envpath, "PATH=/nonexistent::%s", dir);
		ASSERT_TRUE((f = fopen(file, "w")) != NULL);
		fputs("printf '%s-%s' \"$FOO\" \"$1\"\n", f);
		fclose(f);
		chmod(file, 0755);
		memset(&opts, 0, sizeof opts);
		opts.argv = av;
		opts.envp = ev;
		memset(&r, 0, sizeof r);
		c = spawn_child(loop, &opts, exit_cb, &r, &err_no, &cause);
		ASSERT_PTR_NOT_NULL(c);
		if (c != NULL) {
			spawn_take_fds(c, &in, &out);
			close(in);
			read_all(out, buf, sizeof buf);
			ASSERT_STR_EQ(buf, "x-one");
			close(out);
			run_loop(loop, &r);
			ASSERT_INT_EQ(r.exited, 1);
			spawn_free(c);
		} else
			free(cause);
		free(r.tail);
		/* Not in our own PATH: found only through envp's. */
		c = start(loop, &r, NULL, CHILD_STDERR_KEEP,
		    "acpx-test-noshebang", NULL, NULL);
		ASSERT_TRUE(c == NULL);
		unlink(file);
		rmdir(dir);
	}
	TEST_DONE();

	TEST_START("stderr tail: everything written before exit is there");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sh", "-c",
	    "printf 'boom: missing thing\\n' >&2; exit 9");
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		run_loop(loop, &r);
		ASSERT_INT_EQ(WEXITSTATUS(r.status), 9);
		ASSERT_STR_EQ(r.tail, "boom: missing thing\n");
		ASSERT_STR_EQ(spawn_stderr_tail(c), "boom: missing thing\n");
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("stderr tail keeps only the last 8192 bytes");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sh", "-c",
	    "i=0; while [ $i -lt 3000 ]; do printf '%04d\\n' $i >&2; "
	    "i=$((i+1)); done");
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		run_loop(loop, &r);
		ASSERT_INT_EQ(strlen(r.tail), 8192);
		n = (ssize_t)strlen(r.tail);
		ASSERT_TRUE(n >= 5 &&
		    strcmp(r.tail + n - 5, "2999\n") == 0);
		/* 15000 bytes written: the tail starts 3 bytes into "1361\n". */
		ASSERT_TRUE(strncmp(r.tail, "1\n1362\n", 7) == 0);
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("CHILD_STDERR_PASS copies stderr to ours");
	if (pipe(p) == 0) {
		saved = dup(STDERR_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		c = start(loop, &r, NULL, CHILD_STDERR_PASS, "sh", "-c",
		    "printf 'verbose line\\n' >&2");
		if (c != NULL)
			run_loop(loop, &r);
		dup2(saved, STDERR_FILENO);
		close(saved);
		read_all(p[0], buf, sizeof buf);
		close(p[0]);
		ASSERT_PTR_NOT_NULL(c);
		ASSERT_STR_EQ(buf, "verbose line\n");
		ASSERT_STR_EQ(r.tail, "verbose line\n");
		spawn_free(c);
		free(r.tail);
	} else
		TAP_FAIL("pipe: %s", strerror(errno));
	TEST_DONE();

	TEST_START("terminate: a child that exits on stdin EOF gets no signal");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "cat", NULL, NULL);
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		spawn_take_fds(c, &in, &out);
		close(out);
		/* A grace longer than the guard: only EOF can end it. */
		spawn_terminate(c, in, 600000, 1500);
		spawn_terminate(c, -1, 600000, 1500);	/* idempotent */
		run_loop(loop, &r);
		ASSERT_INT_EQ(r.timed_out, 0);	/* did not wait out the grace */
		ASSERT_INT_EQ(r.exited, 1);
		ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("terminate: SIGTERM after the grace");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sleep", "100", NULL);
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		t0 = now();
		spawn_terminate(c, -1, 100, 600000);
		run_loop(loop, &r);
		dt = now() - t0;
		ASSERT_INT_EQ(r.timed_out, 0);
		ASSERT_TRUE(WIFSIGNALED(r.status) &&
		    WTERMSIG(r.status) == SIGTERM);
		ASSERT_TRUE(dt >= 0.09);	/* the grace was waited */
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("terminate: SIGKILL for a child that ignores SIGTERM");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sh", "-c",
	    "trap '' TERM; echo ready; while :; do sleep 1; done");
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		spawn_take_fds(c, &in, &out);
		n = read(out, line, sizeof line);	/* trap is set */
		ASSERT_TRUE(n > 0);
		ev_now_update(loop);	/* the read may have taken a while */
		t0 = now();
		spawn_terminate(c, in, 50, 300);
		run_loop(loop, &r);
		dt = now() - t0;
		ASSERT_INT_EQ(r.timed_out, 0);
		ASSERT_TRUE(WIFSIGNALED(r.status) &&
		    WTERMSIG(r.status) == SIGKILL);
		ASSERT_TRUE(dt >= 0.34);	/* grace + term both waited */
		close(out);
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("the group signal reaches a grandchild");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sh", "-c",
	    "sleep 100 & echo $!; wait");
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		spawn_take_fds(c, &in, &out);
		n = read(out, line, sizeof line - 1);
		line[n > 0 ? n : 0] = '\0';
		gpid = (pid_t)strtol(line, NULL, 10);
		ASSERT_TRUE(gpid > 0);
		spawn_terminate(c, in, 50, 1500);
		run_loop(loop, &r);
		ASSERT_INT_EQ(r.exited, 1);
		ASSERT_INT_EQ(r.timed_out, 0);
		if (gpid > 0)
			ASSERT_TRUE(pid_gone(gpid));
		close(out);
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("leftover group members are signalled after the child exits");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sh", "-c",
	    "sleep 100 >/dev/null 2>&1 & echo $!; read x");
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		spawn_take_fds(c, &in, &out);
		n = read(out, line, sizeof line - 1);
		line[n > 0 ? n : 0] = '\0';
		gpid = (pid_t)strtol(line, NULL, 10);
		/* sh exits on EOF; a grace longer than the guard */
		spawn_terminate(c, in, 600000, 600000);
		run_loop(loop, &r);
		ASSERT_INT_EQ(r.timed_out, 0);	/* no grace wait */
		ASSERT_TRUE(WIFEXITED(r.status));
		if (gpid > 0)
			ASSERT_TRUE(pid_gone(gpid));
		close(out);
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("spawn_signal reaches the child");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sleep", "100", NULL);
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		spawn_signal(c, SIGINT);
		run_loop(loop, &r);
		ASSERT_TRUE(WIFSIGNALED(r.status) &&
		    WTERMSIG(r.status) == SIGINT);
		spawn_free(c);
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("spawn_free on a running child kills and reaps it");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sleep", "100", NULL);
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		pid = spawn_pid(c);
		spawn_free(c);
		errno = 0;
		ASSERT_INT_EQ(waitpid(pid, NULL, WNOHANG), -1);
		ASSERT_INT_EQ(errno, ECHILD);
		ASSERT_INT_EQ(r.exited, 0);	/* no callback from free */
	}
	TEST_DONE();

	TEST_START("spawn_free inside the exit callback is deferred");
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sh", "-c",
	    "echo bye >&2");
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		r.free_in_cb = 1;
		run_loop(loop, &r);	/* ASan catches a use after free */
		ASSERT_INT_EQ(r.exited, 1);
		ASSERT_STR_EQ(r.tail, "bye\n");
	}
	free(r.tail);
	TEST_DONE();

	TEST_START("a big stderr with a NUL byte stays a whole C string");
	big = NULL;
	c = start(loop, &r, NULL, CHILD_STDERR_KEEP, "sh", "-c",
	    "printf 'a\\000b' >&2");
	ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		run_loop(loop, &r);
		ASSERT_STR_EQ(r.tail, "a b");
		spawn_free(c);
	}
	free(r.tail);
	free(big);
	TEST_DONE();

	ev_loop_destroy(loop);
	return (tap_end());
}
