/*
 * session-lock.c: waiting for the turn lock on the event loop. The
 * callback never runs inside session_lock_acquire() (its caller stores the
 * wait in an object the callback may free: the queue owner's job did, and
 * the owner wrote to the freed job when the lock was free at once); a held
 * lock is waited for and taken once released; a cancelled wait never calls
 * back.
 */
#include <config.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "session-lock.h"
#include "tap.h"

static char	 home[] = "/tmp/acpx-test-session-lock-XXXXXX";

/* What a caller keeps: the wait, and what the callback saw. */
struct holder {
	struct session_lock_wait *wait;
	struct session_lock	*lock;
	int			 calls;
	int			 rc;
	int			 free_me;	/* the callback frees the holder */
	int			*freed;
};

static void
lock_cb(struct session_lock *lock, int rc, const char *cause, void *arg)
{
	struct holder	*h = arg;

	h->calls++;
	h->rc = rc;
	h->lock = lock;
	h->wait = NULL;
	if (h->free_me) {
		session_lock_release(lock);
		*h->freed = 1;
		free(h);
	}
}

/* Run the loop until *flag is set; 0 if it was (a hang fails the case). */
static int
run_until(struct ev_loop *loop, const int *flag)
{
	int	 i;

	for (i = 0; i < 100000 && !*flag; i++)
		ev_run(loop, EVRUN_ONCE);
	return (*flag ? 0 : -1);
}

int
main(void)
{
	struct ev_loop	*loop = ev_default_loop(0);
	struct holder	 a, b, c, *h;
	char		*path;
	int		 freed = 0;

	if (mkdtemp(home) == NULL)
		return (99);
	setenv("HOME", home, 1);
	if (asprintf(&path, "%s/.acpx", home) == -1)
		return (99);
	mkdir(path, 0700);
	free(path);
	if (asprintf(&path, "%s/.acpx/sessions", home) == -1)
		return (99);
	mkdir(path, 0700);
	free(path);

	TEST_START("a free lock: the callback runs on the loop, not in the call");
	memset(&a, 0, sizeof a);
	a.wait = session_lock_acquire(loop, "rec-1", lock_cb, &a);
	ASSERT_TRUE(a.wait != NULL);
	ASSERT_INT_EQ(a.calls, 0);
	ASSERT_INT_EQ(run_until(loop, &a.calls), 0);
	ASSERT_INT_EQ(a.calls, 1);
	ASSERT_INT_EQ(a.rc, 0);
	ASSERT_TRUE(a.lock != NULL);
	TEST_DONE();

	TEST_START("a held lock is waited for, then taken once released");
	memset(&b, 0, sizeof b);
	b.wait = session_lock_acquire(loop, "rec-1", lock_cb, &b);
	ASSERT_TRUE(b.wait != NULL);
	/* Some turns of the loop (retries every 15 ms): still held. */
	ev_run(loop, EVRUN_ONCE);
	ev_run(loop, EVRUN_ONCE);
	ASSERT_INT_EQ(b.calls, 0);
	session_lock_release(a.lock);
	ASSERT_INT_EQ(run_until(loop, &b.calls), 0);
	ASSERT_INT_EQ(b.rc, 0);
	ASSERT_TRUE(b.lock != NULL);
	TEST_DONE();

	TEST_START("a cancelled wait never calls back");
	memset(&c, 0, sizeof c);
	c.wait = session_lock_acquire(loop, "rec-1", lock_cb, &c);
	session_lock_wait_cancel(c.wait);
	session_lock_release(b.lock);
	/* The lock is free now: a wait still alive would get it. */
	memset(&a, 0, sizeof a);
	a.wait = session_lock_acquire(loop, "rec-1", lock_cb, &a);
	ASSERT_INT_EQ(run_until(loop, &a.calls), 0);
	ASSERT_INT_EQ(c.calls, 0);
	session_lock_release(a.lock);
	TEST_DONE();

	/*
	 * The queue owner's shape: the holder stores the wait, and the
	 * callback frees the holder. Under ASan a callback inside the call
	 * made the store a write to freed memory.
	 */
	TEST_START("the callback may free the object that holds the wait");
	h = calloc(1, sizeof *h);
	h->free_me = 1;
	h->freed = &freed;
	h->wait = session_lock_acquire(loop, "rec-2", lock_cb, h);
	ASSERT_INT_EQ(freed, 0);
	ASSERT_INT_EQ(run_until(loop, &freed), 0);
	TEST_DONE();

	if (asprintf(&path, "rm -rf '%s'", home) != -1) {
		if (system(path) != 0)
			fprintf(stderr, "could not remove %s\n", home);
		free(path);
	}
	return (tap_end());
}
