/*
 * warm N FILE CMD...: run CMD N times (stdout and stderr to /dev/null) and
 * print the medians of (a) the time from just before each start to the
 * CLOCK_REALTIME stamp the agent wrote in FILE (bench/stamp-agent.c: the
 * prompt reached it) and (b) the whole command, in ms. Bench tool only.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long	x = *(const long long *)a, y = *(const long long *)b;

	return (x < y ? -1 : x > y);
}

int
main(int argc, char **argv)
{
	long long	*recv, *whole, t0, s;
	int		 n, i, fd, st;
	pid_t		 pid;
	FILE		*f;

	if (argc < 4 || (n = atoi(argv[1])) <= 0)
		return (2);
	recv = calloc((size_t)n, sizeof *recv);
	whole = calloc((size_t)n, sizeof *whole);
	for (i = 0; i < n; i++) {
		unlink(argv[2]);
		t0 = now_ns();
		if ((pid = fork()) == 0) {
			fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			dup2(fd, 2);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		waitpid(pid, &st, 0);
		whole[i] = now_ns() - t0;
		s = 0;
		if ((f = fopen(argv[2], "r")) != NULL) {
			if (fscanf(f, "%lld", &s) != 1)
				s = 0;
			fclose(f);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || s == 0) {
			fprintf(stderr, "warm: run %d failed\n", i);
			return (1);
		}
		recv[i] = s - t0;
	}
	qsort(recv, (size_t)n, sizeof *recv, cmp_ll);
	qsort(whole, (size_t)n, sizeof *whole, cmp_ll);
	printf("%.3f %.3f\n", recv[n / 2] / 1e6, whole[n / 2] / 1e6);
	return (0);
}
