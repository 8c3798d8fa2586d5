#include <config.h>

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "demo-agent.h"

/*
 * What a demo prompt asks for: reading and writing files and running
 * commands through the client (with its permission), the slow stream, and
 * the default answer that counts words.
 */

#define DEMO_SLOW_MS	200
#define DEMO_SPACE	" \t\n"

/* Why a response failed (borrowed), or NULL if it succeeded. */
static const char *
demo_failure(json_t *resp)
{
	const char	*s;

	if (json_object_get(resp, "error") == NULL)
		return (NULL);
	if ((s = json_string_value(demo_get(resp, "error.data.details"))))
		return (s);
	s = json_string_value(demo_get(resp, "error.message"));
	return (s != NULL ? s : "unknown error");
}

/* Ask permission for the current tool call (input stolen); 1 if allowed. */
static int
demo_permission(struct demo *d, const char *title, const char *kind,
    json_t *input)
{
	json_t		*resp;
	const char	*choice;
	char		 id[32];
	int		 yes;

	snprintf(id, sizeof id, "demo-tool-%d", d->ntools);
	resp = demo_request(d, "session/request_permission", json_pack(
	    "{s:{s:s, s:s, s:s, s:o}, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}",
	    "toolCall", "toolCallId", id, "title", title, "kind", kind,
	    "rawInput", input, "options",
	    "optionId", "allow", "name", "Allow", "kind", "allow_once",
	    "optionId", "reject", "name", "Reject", "kind", "reject_once"));
	choice = json_string_value(demo_get(resp, "result.outcome.optionId"));
	yes = choice != NULL && strcmp(choice, "allow") == 0;
	json_decref(resp);
	return (yes);
}

/* Count the words and (UTF-8) characters of a text. */
void
demo_count(const char *s, int *words, int *chars)
{
	int	 inword = 0;

	for (*words = *chars = 0; *s != '\0'; s++) {
		*chars += (*s & 0xc0) != 0x80;
		*words += strchr(DEMO_SPACE, *s) == NULL && !inword;
		inword = strchr(DEMO_SPACE, *s) == NULL;
	}
}

/* An absolute path: relative ones are taken from the session's cwd. */
static char *
demo_path(struct demo *d, const char *path)
{
	const char	*cwd;

	cwd = json_string_value(json_object_get(json_object_get(d->sessions,
	    d->session), "cwd"));
	if (*path == '/' || cwd == NULL)
		return (demo_printf("%s", path));
	return (demo_printf("%s/%s", cwd, path));
}

/*
 * Stream an answer in chunks of three words; returns 1 if cancelled. A
 * chunk ends where the next word starts, so the chunks add up exactly.
 */
int
demo_stream(struct demo *d, const char *text)
{
	const char	*start = text, *p;
	char		*chunk;
	int		 inword = 0, n = 0;

	for (p = text; *p != '\0'; p++) {
		if (strchr(DEMO_SPACE, *p) == NULL && !inword && n++ == 3) {
			chunk = demo_printf("%.*s", (int)(p - start), start);
			demo_chunk(d, "agent_message_chunk", chunk);
			free(chunk);
			start = p;
			n = 1;
			if (demo_sleep(d, d->delay_ms))
				return (1);
		}
		inword = strchr(DEMO_SPACE, *p) == NULL;
	}
	if (p > start)
		demo_chunk(d, "agent_message_chunk", start);
	return (0);
}

/* read <path>: fetch the file through the client and describe it. */
char *
demo_read(struct demo *d, const char *arg)
{
	json_t		*resp;
	const char	*text, *p, *err;
	char		*path = demo_path(d, arg), *title, *answer = NULL;
	size_t		 lines = 0;

	title = demo_printf("Read %s", arg);
	demo_tool(d, title, "read", "in_progress", json_pack("{s:[{s:s}]}",
	    "locations", "path", path));
	free(title);
	resp = demo_request(d, "fs/read_text_file", json_pack("{s:s}", "path",
	    path));
	if (resp != NULL && (err = demo_failure(resp)) != NULL) {
		demo_tool(d, NULL, NULL, "failed", NULL);
		answer = demo_printf("I could not read %s: %s", path, err);
	} else if (resp != NULL) {
		text = json_string_value(demo_get(resp, "result.content"));
		for (p = text = text != NULL ? text : ""; *p != '\0'; lines++) {
			p += strcspn(p, "\n");
			p += *p == '\n';
		}
		demo_tool(d, NULL, NULL, "completed", json_pack("{s:{s:I}}",
		    "rawOutput", "lines", (json_int_t)lines));
		answer = demo_printf("%s has %zu line%s. The first one is: "
		    "\"%.*s\"", path, lines, lines == 1 ? "" : "s",
		    (int)strcspn(text, "\n"), text);
	}
	json_decref(resp);
	free(path);
	return (answer);
}

/* write <path> <text>: ask permission, then have the client write it. */
char *
demo_write(struct demo *d, const char *arg)
{
	json_t		*resp = NULL;
	const char	*text = arg + strcspn(arg, " "), *err;
	char		*name, *path, *title, *answer = NULL;

	name = demo_printf("%.*s", (int)(text - arg), arg);
	text += *text == ' ';
	path = demo_path(d, name);
	title = demo_printf("Write %s", name);
	demo_tool(d, title, "edit", "pending", NULL);
	err = "permission was not given";
	if (demo_permission(d, title, "edit", json_pack("{s:s, s:s}", "path",
	    path, "content", text)) && (resp = demo_request(d,
	    "fs/write_text_file", json_pack("{s:s, s:s+}", "path", path,
	    "content", text, "\n"))) != NULL)
		err = demo_failure(resp);
	if (!d->cancelled && err != NULL) {
		demo_tool(d, NULL, NULL, "failed", NULL);
		answer = demo_printf("I did not write %s: %s.", path, err);
	} else if (!d->cancelled) {
		demo_tool(d, NULL, NULL, "completed", json_pack(
		    "{s:[{s:s, s:s, s:s+}]}", "content", "type", "diff",
		    "path", path, "newText", text, "\n"));
		answer = demo_printf("I wrote %s.", path);
	}
	json_decref(resp);
	free(title);
	free(path);
	free(name);
	return (answer);
}

/* run <command>: ask permission, run it in a client terminal, report. */
char *
demo_run(struct demo *d, const char *cmd)
{
	json_t		*resp = NULL, *out = NULL;
	const char	*tid = NULL, *text, *err;
	char		*title, *answer = NULL;
	json_int_t	 code;

	title = demo_printf("Run %s", cmd);
	demo_tool(d, title, "execute", "pending", json_pack("{s:{s:s}}",
	    "rawInput", "command", cmd));
	err = "permission was not given";
	if (demo_permission(d, title, "execute", json_pack("{s:s}", "command",
	    cmd)) && (resp = demo_request(d, "terminal/create", json_pack(
	    "{s:s, s:[s, s]}", "command", "/bin/sh", "args", "-c", cmd))))
		err = demo_failure(resp);
	free(title);
	if (err == NULL &&
	    (tid = json_string_value(demo_get(resp, "result.terminalId")))) {
		json_decref(demo_request(d, "terminal/wait_for_exit",
		    json_pack("{s:s}", "terminalId", tid)));
		out = demo_request(d, "terminal/output", json_pack("{s:s}",
		    "terminalId", tid));
		json_decref(demo_request(d, "terminal/release",
		    json_pack("{s:s}", "terminalId", tid)));
	}
	if (!d->cancelled && tid == NULL) {
		demo_tool(d, NULL, NULL, "failed", NULL);
		answer = demo_printf("I did not run it: %s.", err != NULL ?
		    err : "no terminal");
	} else if (!d->cancelled) {
		text = json_string_value(demo_get(out, "result.output"));
		code = json_integer_value(demo_get(out,
		    "result.exitStatus.exitCode"));
		demo_tool(d, NULL, NULL, code == 0 ? "completed" : "failed",
		    json_pack("{s:{s:s, s:I}}", "rawOutput", "output",
		    text != NULL ? text : "", "exitCode", code));
		answer = demo_printf("The command exited with code %lld. Its "
		    "output:\n%s", (long long)code, text != NULL ? text : "");
	}
	json_decref(out);
	json_decref(resp);
	return (answer);
}

/* Anything else: a thought, a think tool, then an answer counting words. */
char *
demo_answer(struct demo *d, const char *text)
{
	const char	*p;
	char		*thought;
	int		 words, chars, n = 0;

	demo_count(text, &words, &chars);
	for (p = text; *p != '\0'; p++) {	/* the first 80 characters */
		if ((*p & 0xc0) != 0x80 && n++ == 80)
			break;
	}
	thought = demo_printf("The user asked: %.*s", (int)(p - text), text);
	demo_chunk(d, "agent_thought_chunk", thought);
	free(thought);
	demo_tool(d, "Analyse prompt", "think", "pending", NULL);
	demo_tool(d, NULL, NULL, "completed", json_pack("{s:{s:i, s:i}}",
	    "rawOutput", "words", words, "chars", chars));
	return (demo_printf("You asked: \"%s\". Your message has %d word%s and "
	    "%d character%s.", text, words, words == 1 ? "" : "s", chars,
	    chars == 1 ? "" : "s"));
}

/* slow: twenty chunks, DEMO_SLOW_MS apart, to try cancelling. */
int
demo_slow(struct demo *d)
{
	char	*s;
	int	 i;

	for (i = 1; i <= 20; i++) {
		s = demo_printf("Chunk %d of 20. ", i);
		demo_chunk(d, "agent_message_chunk", s);
		free(s);
		if (i < 20 && demo_sleep(d, DEMO_SLOW_MS))
			return (i * 4);
	}
	return (80);
}
