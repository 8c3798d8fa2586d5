/*
 * events.c's writer: while a loop batches them (events_batch_loop()), the
 * lines of one loop iteration reach the log in one write, in order, before
 * the loop waits; stopping the batch writes what is left, and a line
 * emitted without a batch is written at once.
 */
#include <config.h>

#include <sys/inotify.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "events.h"
#include "tap.h"

/* Lines of the log; *order gets the "event" values, joined by spaces. */
static int
log_lines(const char *path, char *order, size_t size)
{
	FILE		*f = fopen(path, "r");
	char		 line[4096];
	json_t		*o;
	int		 n = 0;

	*order = '\0';
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		n++;
		if ((o = json_loads(line, 0, NULL)) != NULL) {
			if (*order != '\0')
				strncat(order, " ", size - strlen(order) - 1);
			strncat(order, json_string_value(json_object_get(o,
			    "event")), size - strlen(order) - 1);
			json_decref(o);
		}
	}
	if (f != NULL)
		fclose(f);
	return (n);
}

/* IN_MODIFY events waiting on fd. */
static int
modifications(int fd)
{
	char				 buf[4096];
	const struct inotify_event	*ev;
	ssize_t				 n, off;
	int				 count = 0;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (off = 0; off < n; off += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->mask & IN_MODIFY)
				count++;
		}
	}
	return (count);
}

int
main(void)
{
	char		 home[] = "/tmp/acpx-test-events-XXXXXX", order[256];
	char		*path, cmd[300];
	struct ev_loop	*loop;
	int		 fd;

	if (mkdtemp(home) == NULL)
		return (1);
	setenv("HOME", home, 1);
	path = events_path();
	loop = ev_loop_new(EVFLAG_AUTO);

	TEST_START("without a batch, a line is written at once");
	events_context("test", NULL, NULL, NULL, NULL);
	events_emit("test.first", NULL);
	ASSERT_INT_EQ(log_lines(path, order, sizeof order), 1);
	TEST_DONE();

	TEST_START("a loop iteration's lines: one write, in order, before it "
	    "waits");
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ASSERT_TRUE(fd != -1 && inotify_add_watch(fd, path, IN_MODIFY) != -1);
	events_batch_loop(loop);
	events_emit("test.a", NULL);
	events_emit("test.b", json_pack("{s:i}", "n", 2));
	events_emit("test.c", NULL);
	ASSERT_INT_EQ(log_lines(path, order, sizeof order), 1);
	ev_run(loop, EVRUN_NOWAIT);
	ASSERT_INT_EQ(log_lines(path, order, sizeof order), 4);
	ASSERT_STR_EQ(order, "test.first test.a test.b test.c");
	ASSERT_INT_EQ(modifications(fd), 1);
	TEST_DONE();

	TEST_START("stopping the batch writes what is left; then at once");
	events_emit("test.d", NULL);
	ASSERT_INT_EQ(log_lines(path, order, sizeof order), 4);
	events_batch_loop(NULL);
	ASSERT_INT_EQ(log_lines(path, order, sizeof order), 5);
	events_emit("test.e", NULL);
	ASSERT_INT_EQ(log_lines(path, order, sizeof order), 6);
	ASSERT_STR_EQ(order, "test.first test.a test.b test.c test.d test.e");
	close(fd);
	TEST_DONE();

	TEST_START("a line's text is JSON.stringify's (numbers, escapes, key order)");
	{
		char	 line[4096], *last = NULL;
		FILE	*f;

		events_emit("test.text", json_pack("{s:f, s:f, s:s, s:{s:i, s:i}}",
		    "ratio", 0.1, "big", 1e21, "text", "a\"\x01\xe2\x80\xa8/",
		    "obj", "b", 1, "2", 2));
		f = fopen(path, "r");
		while (f != NULL && fgets(line, sizeof line, f) != NULL) {
			free(last);
			last = strdup(line);
		}
		if (f != NULL)
			fclose(f);
		ASSERT_TRUE(last != NULL && strstr(last, ",\"ratio\":0.1,"
		    "\"big\":1e+21,\"text\":\"a\\\"\\u0001\xe2\x80\xa8/\","
		    "\"obj\":{\"2\":2,\"b\":1}}\n") != NULL);
		free(last);
	}
	TEST_DONE();

	ev_loop_destroy(loop);
	free(path);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
	if (system(cmd) != 0)
		return (1);
	return (tap_end());
}
