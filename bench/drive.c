/*
 * The benchmark floor: the thinnest possible ACP client. It starts the agent
 * given on its command line, sends initialize, session/new and one
 * session/prompt (prompt text from $DRIVE_PROMPT), waits for each response,
 * discards everything else, and exits when the prompt is answered. What it
 * measures is the agent's own time to start and answer. Bench tool only: it
 * recognises responses by their fixed prefix instead of parsing JSON.
 * The session id is taken from the session/new answer, so the agent may be
 * a proxy (`acpx warp serve`). With $DRIVE_PINGS = N it then sends N
 * requests one at a time (an unknown method every agent answers at once)
 * and prints the median round trip in microseconds on stderr.
 *
 * Built with -DDRIVE_JANSSON (and jansson), it is the floor of a client
 * bound by this project's dependency rule: every line the agent sends is
 * parsed with json_loadb() and the chunk text looked up, as the least a
 * jansson client does; nothing is printed.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef DRIVE_JANSSON
#include <jansson.h>
#endif

static FILE	*to_agent;
static FILE	*from_agent;

static char	 session[256] = "mock-session-1";

static void
wait_response(int id)
{
	char	*line = NULL, want[64], *p, *e;
	size_t	 cap = 0;
	int	 n = snprintf(want, sizeof want, "{\"jsonrpc\":\"2.0\",\"id\":%d,", id);

	ssize_t	 len;
#ifdef DRIVE_JANSSON
	json_t	*v;
	size_t	 text = 0;
#endif

	while ((len = getline(&line, &cap, from_agent)) != -1) {
#ifdef DRIVE_JANSSON
		if ((v = json_loadb(line, (size_t)len, 0, NULL)) != NULL) {
			text += json_string_length(json_object_get(json_object_get(
			    json_object_get(json_object_get(v, "params"),
			    "update"), "content"), "text"));
			json_decref(v);
		}
#endif
		if (strncmp(line, want, (size_t)n) == 0) {
			if (id == 1 && (p = strstr(line, "\"sessionId\":\"")) != NULL &&
			    (e = strchr(p + 13, '"')) != NULL &&
			    (size_t)(e - p - 13) < sizeof session) {
				memcpy(session, p + 13, (size_t)(e - p - 13));
				session[e - p - 13] = '\0';
			}
			free(line);
			return;
		}
	}
	fprintf(stderr, "drive: agent closed before response %d\n", id);
	exit(1);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long	x = *(const long long *)a, y = *(const long long *)b;

	return (x < y ? -1 : x > y);
}

/* n sequential requests; the median round trip (ns) on stderr in µs. */
static void
pings(int n)
{
	struct timespec	 t0, t1;
	long long	*rt;
	int		 i;

	if (n <= 0)
		return;
	rt = calloc((size_t)n, sizeof *rt);
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		fprintf(to_agent, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"_bench/ping\",\"params\":{\"sessionId\":\"%s\"}}\n", 100 + i, session);
		fflush(to_agent);
		wait_response(100 + i);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		rt[i] = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	}
	qsort(rt, (size_t)n, sizeof *rt, cmp_ll);
	fprintf(stderr, "median round trip: %.1f us\n", rt[n / 2] / 1000.0);
	free(rt);
}

int
main(int argc, char **argv)
{
	int		 in[2], out[2];
	pid_t		 pid;
	const char	*prompt = getenv("DRIVE_PROMPT");
	char		 cwd[4096];

	if (argc < 2 || pipe(in) == -1 || pipe(out) == -1)
		return (2);
	if (prompt == NULL)
		prompt = "hi";
	if ((pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	to_agent = fdopen(in[1], "w");
	from_agent = fdopen(out[0], "r");
	if (getcwd(cwd, sizeof cwd) == NULL)
		return (2);
	fprintf(to_agent, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":1,\"clientCapabilities\":{\"fs\":{\"readTextFile\":true,\"writeTextFile\":true},\"terminal\":true},\"clientInfo\":{\"name\":\"acpx\",\"version\":\"0.19.1\"}}}\n");
	fflush(to_agent);
	wait_response(0);
	fprintf(to_agent, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"session/new\",\"params\":{\"cwd\":\"%s\",\"mcpServers\":[]}}\n", cwd);
	fflush(to_agent);
	wait_response(1);
	if (getenv("DRIVE_PINGS") != NULL)
		pings(atoi(getenv("DRIVE_PINGS")));
	fprintf(to_agent, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"session/prompt\",\"params\":{\"sessionId\":\"%s\",\"prompt\":[{\"type\":\"text\",\"text\":\"%s\"}]}}\n", session, prompt);
	fflush(to_agent);
	wait_response(2);
	fclose(to_agent);
	waitpid(pid, NULL, 0);
	return (0);
}
