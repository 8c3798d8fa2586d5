/*
 * Reading a queue lease (queue-lease.h): the file as the owner writes it,
 * one too large for the reader's first read, and what is refused (not
 * JSON, trailing bytes, a field missing, another session's lease). The
 * heartbeat's age: fresh, stale, in another zone's offset, unparsable.
 */
#include <config.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue-lease.h"
#include "xmalloc.h"

#include "tap.h"

static const char *const rid = "lease-test-session";

static void
write_lease(const char *text)
{
	char	*path = queue_lease_path(rid);
	FILE	*f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(path);
}

/*
 * A lease text whose heartbeat is the wall time ms in zone, with pad bytes
 * of socket path and extra members.
 */
static char *
lease_text(long long ms, const char *zone, size_t pad, const char *extra)
{
	char		 ts[64], *s, *sock;
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	sock = xmalloc(pad + 16);
	memcpy(sock, "/tmp/", 5);
	memset(sock + 5, 's', pad);
	strcpy(sock + 5 + pad, ".sock");
	xasprintf(&s, "{\n  \"pid\": %d,\n  \"sessionId\": \"%s\",\n"
	    "  \"socketPath\": \"%s\",\n  \"createdAt\": \"%s.000Z\",\n"
	    "  \"heartbeatAt\": \"%s.%03d%s\",\n  \"ownerGeneration\": 42,\n"
	    "  \"queueDepth\": 0%s\n}\n", (int)getpid(), rid, sock, ts, ts,
	    (int)(ms % 1000), zone, extra);
	free(sock);
	return (s);
}

int
main(void)
{
	struct queue_lease_info	*li;
	char			 dir[] = "/tmp/acpx-test-lease-XXXXXX", *q, *s;
	long long		 now;
	struct timespec		 tsp;

	if (mkdtemp(dir) == NULL)
		return (1);
	setenv("HOME", dir, 1);
	xasprintf(&q, "%s/.acpx", dir);
	mkdir(q, 0700);
	free(q);
	xasprintf(&q, "%s/.acpx/queues", dir);
	mkdir(q, 0700);
	free(q);
	clock_gettime(CLOCK_REALTIME, &tsp);
	now = (long long)tsp.tv_sec * 1000 + tsp.tv_nsec / 1000000;

	TEST_START("a lease as the owner writes it: read, fresh, ours");
	s = lease_text(now, "Z", 10, "");
	write_lease(s);
	free(s);
	li = queue_lease_read(rid);
	ASSERT_PTR_NOT_NULL(li);
	if (li != NULL) {
		ASSERT_INT_EQ(li->pid, getpid());
		ASSERT_STR_EQ(li->socket_path, "/tmp/ssssssssss.sock");
		ASSERT_INT_EQ(li->generation, 42);
		ASSERT_TRUE(!queue_lease_stale(li));
		ASSERT_TRUE(queue_lease_usable(li));
	}
	queue_lease_info_free(li);
	TEST_DONE();

	TEST_START("a lease larger than the first read (4 KiB) is read whole");
	s = lease_text(now, "Z", 8000, ",\n  \"sharedRuntime\": true");
	write_lease(s);
	ASSERT_TRUE(strlen(s) > 8192);
	free(s);
	li = queue_lease_read(rid);
	ASSERT_PTR_NOT_NULL(li);
	if (li != NULL) {
		ASSERT_INT_EQ(strlen(li->socket_path), 8010);
		ASSERT_TRUE(li->shared_runtime);
	}
	queue_lease_info_free(li);
	TEST_DONE();

	TEST_START("refused: not JSON, trailing bytes, a field missing, another session");
	write_lease("{\"pid\": 1,");
	ASSERT_PTR_NULL(queue_lease_read(rid));
	s = lease_text(now, "Z", 10, "");
	xasprintf(&q, "%s{}", s);
	write_lease(q);
	free(q);
	ASSERT_PTR_NULL(queue_lease_read(rid));
	*strstr(s, "\"queueDepth\"") = 'x';
	write_lease(s);
	free(s);
	ASSERT_PTR_NULL(queue_lease_read(rid));
	s = lease_text(now, "Z", 10, "");
	memcpy(strstr(s, rid), "other", 5);
	write_lease(s);
	free(s);
	ASSERT_PTR_NULL(queue_lease_read(rid));
	TEST_DONE();

	TEST_START("the heartbeat's age: 16 s is stale, an offset counts, junk is no time");
	s = lease_text(now - 16000, "Z", 10, "");
	write_lease(s);
	free(s);
	li = queue_lease_read(rid);
	ASSERT_TRUE(li != NULL && queue_lease_stale(li) && !queue_lease_usable(li));
	queue_lease_info_free(li);
	/* Now at +01:00 is fresh; the same wall time in UTC is an hour ahead. */
	s = lease_text(now + 3600 * 1000, "+01:00", 10, "");
	write_lease(s);
	li = queue_lease_read(rid);
	ASSERT_TRUE(li != NULL && !queue_lease_stale(li));
	queue_lease_info_free(li);
	free(s);
	s = lease_text(now - 3600 * 1000, "+01:00", 10, "");
	write_lease(s);
	li = queue_lease_read(rid);
	ASSERT_TRUE(li != NULL && queue_lease_stale(li));
	queue_lease_info_free(li);
	free(s);
	ASSERT_TRUE(queue_lease_parse_iso("2026-12-06T10:00:00+02:00") ==
	    1796544000000LL);
	ASSERT_INT_EQ(queue_lease_parse_iso("yesterday"), -1);
	TEST_DONE();

	xasprintf(&q, "rm -rf '%s'", dir);
	if (system(q) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(q);
	return (tap_end());
}
