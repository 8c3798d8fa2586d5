/*
 * The benchmark floor: the thinnest possible ACP client. It starts the agent
 * given on its command line, sends initialize, session/new and one
 * session/prompt (prompt text from $DRIVE_PROMPT), waits for each response,
 * discards everything else, and exits when the prompt is answered. What it
 * measures is the agent's own time to start and answer. Bench tool only: it
 * recognises responses by their fixed prefix instead of parsing JSON.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static FILE	*to_agent;
static FILE	*from_agent;

static void
wait_response(int id)
{
	char	*line = NULL, want[64];
	size_t	 cap = 0;
	int	 n = snprintf(want, sizeof want, "{\"jsonrpc\":\"2.0\",\"id\":%d,", id);

	while (getline(&line, &cap, from_agent) != -1) {
		if (strncmp(line, want, (size_t)n) == 0) {
			free(line);
			return;
		}
	}
	fprintf(stderr, "drive: agent closed before response %d\n", id);
	exit(1);
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
	fprintf(to_agent, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"session/prompt\",\"params\":{\"sessionId\":\"mock-session-1\",\"prompt\":[{\"type\":\"text\",\"text\":\"%s\"}]}}\n", prompt);
	fflush(to_agent);
	wait_response(2);
	fclose(to_agent);
	waitpid(pid, NULL, 0);
	return (0);
}
