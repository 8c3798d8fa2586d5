/*
 * procfs.c: the stat line and the command line of a process, read from
 * /proc. A comm holding spaces and parentheses must not shift the fields;
 * a zombie reads as 'Z'; a process that is gone reads as gone.
 */
#include <config.h>

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "tap.h"

int
main(void)
{
	struct procfs_stat	 st;
	char			 buf[4096];
	ssize_t			 n;
	pid_t			 pid;
	int			 fds[2], status;
	char			 c;

	TEST_START("our own stat line: running, our parent and group");
	ASSERT_INT_EQ(procfs_stat(getpid(), &st), 0);
	ASSERT_INT_EQ(st.state, 'R');
	ASSERT_INT_EQ(st.ppid, getppid());
	ASSERT_INT_EQ(st.pgrp, getpgrp());
	ASSERT_TRUE(*st.start != '\0' &&
	    strspn(st.start, "0123456789") == strlen(st.start));
	TEST_DONE();

	TEST_START("a comm with spaces and parentheses does not shift fields");
	if (pipe(fds) == -1)
		return (1);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		(void)prctl(PR_SET_NAME, "a) (b ) c", 0, 0, 0);
		(void)write(fds[1], "x", 1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	ASSERT_INT_EQ(read(fds[0], &c, 1), 1);
	close(fds[0]);
	ASSERT_INT_EQ(procfs_stat(pid, &st), 0);
	ASSERT_INT_EQ(st.ppid, getpid());
	ASSERT_INT_EQ(st.pgrp, getpgrp());
	ASSERT_TRUE(st.state == 'S' || st.state == 'R');
	TEST_DONE();

	TEST_START("the command line of an exec'd child, NUL-separated");
	{
		int	 ready[2], in[2];
		pid_t	 sh;
		char	 want[] = "/bin/sh\0-c\0read x\0procfs-marker";

		/* ready's write end closes on exec: EOF says it happened. */
		if (pipe2(ready, O_CLOEXEC) == -1 || pipe(in) == -1)
			return (1);
		if ((sh = fork()) == 0) {
			close(ready[0]);
			close(in[1]);
			dup2(in[0], 0);
			execl("/bin/sh", "/bin/sh", "-c", "read x",
			    "procfs-marker", (char *)NULL);
			_exit(127);
		}
		close(ready[1]);
		close(in[0]);
		ASSERT_INT_EQ(read(ready[0], &c, 1), 0);
		close(ready[0]);
		n = procfs_cmdline(sh, buf, sizeof buf);
		ASSERT_INT_EQ(n, sizeof want);
		ASSERT_TRUE(n == sizeof want && memcmp(buf, want, n) == 0);
		ASSERT_INT_EQ(procfs_cmdline(sh, buf, 8), 7);
		ASSERT_STR_EQ(buf, "/bin/sh");
		close(in[1]);
		ASSERT_INT_EQ(waitpid(sh, &status, 0), sh);
	}
	TEST_DONE();

	TEST_START("a zombie reads as Z, and has no command line");
	kill(pid, SIGKILL);
	/* waitid with WNOWAIT: wait for the death, leave the zombie. */
	{
		siginfo_t	si;

		ASSERT_INT_EQ(waitid(P_PID, (id_t)pid, &si,
		    WEXITED | WNOWAIT), 0);
	}
	ASSERT_INT_EQ(procfs_stat(pid, &st), 0);
	ASSERT_INT_EQ(st.state, 'Z');
	ASSERT_INT_EQ(procfs_cmdline(pid, buf, sizeof buf), -1);
	TEST_DONE();

	TEST_START("a reaped process reads as gone");
	ASSERT_INT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_INT_EQ(procfs_stat(pid, &st), -1);
	ASSERT_INT_EQ(procfs_cmdline(pid, buf, sizeof buf), -1);
	TEST_DONE();

	TEST_START("procfs_read truncates to the buffer and terminates it");
	ASSERT_TRUE(procfs_read("/proc/self/stat", buf, 8) == 7);
	ASSERT_INT_EQ(strlen(buf), 7);
	ASSERT_INT_EQ(procfs_read("/nonexistent/x", buf, sizeof buf), -1);
	TEST_DONE();

	return (tap_end());
}
