#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "xmalloc.h"

/*
 * The background worker of fsutil.h: one thread per process, started on
 * first use, that fsyncs and closes the descriptors handed to it, in the
 * order given, so that the event loop never waits for the device after a
 * turn's answer (a queue owner's journal and directory fsyncs, the last
 * close of a replaced record, which frees its blocks: with discard, that
 * waits for the device too).
 *
 * The thread blocks every signal (they stay the loop's). It holds the lock
 * only to take the next job, never across a system call. A forked child
 * has no worker: it forgets the parent's queue (the descriptors are
 * copies the parent deals with) and starts its own when it needs one. At
 * exit, fsutil_bg_drain() (registered with atexit()) waits until the queue
 * is done, so an owner that ends has made everything durable.
 */

struct bg_job {
	int	fd;
	int	sync;	/* fsync before the close */
};

static pthread_mutex_t	 bg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 bg_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 bg_done = PTHREAD_COND_INITIALIZER;
static struct bg_job	*bg_q;
static size_t		 bg_n, bg_cap;
static int		 bg_busy;	/* the worker runs a job */
static pid_t		 bg_pid;	/* the process whose worker runs */
static int		 bg_registered;

static void *
bg_main(void *arg)
{
	struct bg_job	job;

	(void)arg;
	pthread_mutex_lock(&bg_mu);
	for (;;) {
		while (bg_n == 0) {
			bg_busy = 0;
			pthread_cond_broadcast(&bg_done);
			pthread_cond_wait(&bg_work, &bg_mu);
		}
		job = bg_q[0];
		memmove(bg_q, bg_q + 1, --bg_n * sizeof *bg_q);
		bg_busy = 1;
		pthread_mutex_unlock(&bg_mu);
		if (job.sync)
			(void)fsync(job.fd);	/* EINVAL: a directory that cannot */
		(void)close(job.fd);
		pthread_mutex_lock(&bg_mu);
	}
	return (NULL);
}

/* In a child of fork(): no worker, and the lock as if never taken. */
static void
bg_atfork_child(void)
{
	pthread_mutex_init(&bg_mu, NULL);
	pthread_cond_init(&bg_work, NULL);
	pthread_cond_init(&bg_done, NULL);
	bg_n = 0;
	bg_busy = 0;
	bg_pid = 0;
}

/* Start this process's worker (the lock held). 0, or -1: none. */
static int
bg_start(void)
{
	pthread_t	t;
	pthread_attr_t	attr;
	sigset_t	all, old;
	int		rc;

	if (bg_pid == getpid())
		return (0);
	/* A fork's copy of the parent's state: not ours. */
	bg_n = 0;
	bg_busy = 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, bg_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return (-1);
	bg_pid = getpid();
	if (!bg_registered) {
		bg_registered = 1;
		atexit(fsutil_bg_drain);
		(void)pthread_atfork(NULL, NULL, bg_atfork_child);
	}
	return (0);
}

static void
bg_add(int fd, int sync)
{
	if (fd == -1)
		return;
	pthread_mutex_lock(&bg_mu);
	if (bg_start() == -1) {
		pthread_mutex_unlock(&bg_mu);
		if (sync)
			(void)fsync(fd);	/* no thread: here and now */
		(void)close(fd);
		return;
	}
	if (bg_n == bg_cap) {
		bg_cap = bg_cap == 0 ? 8 : bg_cap * 2;
		bg_q = xreallocarray(bg_q, bg_cap, sizeof *bg_q);
	}
	bg_q[bg_n].fd = fd;
	bg_q[bg_n].sync = sync;
	bg_n++;
	bg_busy = 1;
	pthread_cond_signal(&bg_work);
	pthread_mutex_unlock(&bg_mu);
}

void
fsutil_bg_fsync(int fd)
{
	bg_add(fd, 1);
}

void
fsutil_bg_close(int fd)
{
	bg_add(fd, 0);
}

int
fsutil_bg_sync_dir(const char *path)
{
	char	*dir;
	int	 fd;

	dir = fsutil_dirname(path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return (-1);
	fsutil_bg_fsync(fd);
	return (0);
}

void
fsutil_bg_drain(void)
{
	pthread_mutex_lock(&bg_mu);
	if (bg_pid == getpid())
		while (bg_n > 0 || bg_busy)
			pthread_cond_wait(&bg_done, &bg_mu);
	pthread_mutex_unlock(&bg_mu);
}
