/*
 * A bench-only ACP agent that notes when a prompt reaches it: on every
 * session/prompt it writes CLOCK_REALTIME (ns) to $STAMP_FILE before it
 * answers with one chunk. Answers initialize (loadSession), session/new,
 * session/load and, with "Method not found", any other request. Like
 * bench/drive.c it recognises methods and ids by their text instead of
 * parsing JSON: never part of acpx or its tests.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The text of "key":<value> up to the next , or } (ids are numbers here). */
static const char *
field(const char *line, const char *key, char *out, size_t size)
{
	const char	*p = strstr(line, key);
	size_t		 n = 0;

	if (p == NULL)
		return (NULL);
	for (p += strlen(key); *p != '\0' && *p != ',' && *p != '}' &&
	    n + 1 < size; p++)
		out[n++] = *p;
	out[n] = '\0';
	return (out);
}

static void
stamp(void)
{
	const char	*path = getenv("STAMP_FILE");
	struct timespec	 ts;
	FILE		*f;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fclose(f);
}

/*
 * A prompt "chunks N TEXT" (TEXT without quotes or backslashes) is answered
 * with N agent_message_chunk updates of TEXT, written through a 64 KiB
 * buffer: an agent as fast as a pipe allows, so that a stream's figures
 * are the client's, not the agent's.
 */
static void
chunks(const char *line, const char *sid)
{
	const char	*p = strstr(line, "\"text\":\"chunks ");
	char		*text, *end;
	long		 n;

	if (p == NULL || (n = strtol(p + 15, &end, 10)) <= 0 || *end != ' ')
		return;
	text = strndup(end + 1, strcspn(end + 1, "\"\\"));
	while (n-- > 0)
		printf("{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{\"sessionId\":%s,\"update\":{\"sessionUpdate\":\"agent_message_chunk\",\"content\":{\"type\":\"text\",\"text\":\"%s\"}}}}\n", sid, text);
	free(text);
}

int
main(void)
{
	static char	 obuf[65536];
	char		*line = NULL, id[64], sid[256];
	size_t		 cap = 0;

	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	while (getline(&line, &cap, stdin) != -1) {
		if (strstr(line, "\"method\":\"session/prompt\"") != NULL)
			stamp();
		if (field(line, "\"id\":", id, sizeof id) == NULL ||
		    strstr(line, "\"method\":") == NULL)
			continue;	/* a notification or a response */
		if (strstr(line, "\"method\":\"initialize\"") != NULL)
			printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"protocolVersion\":1,\"agentCapabilities\":{\"loadSession\":true},\"authMethods\":[]}}\n", id);
		else if (strstr(line, "\"method\":\"session/new\"") != NULL)
			printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"sessionId\":\"stamp-1\"}}\n", id);
		else if (strstr(line, "\"method\":\"session/load\"") != NULL)
			printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}\n", id);
		else if (strstr(line, "\"method\":\"session/prompt\"") != NULL) {
			if (field(line, "\"sessionId\":", sid, sizeof sid) == NULL)
				strcpy(sid, "\"stamp-1\"");
			chunks(line, sid);
			printf("{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{\"sessionId\":%s,\"update\":{\"sessionUpdate\":\"agent_message_chunk\",\"content\":{\"type\":\"text\",\"text\":\"hi\"}}}}\n", sid);
			printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"stopReason\":\"end_turn\"}}\n", id);
		} else
			printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}\n", id);
		fflush(stdout);
	}
	return (0);
}
