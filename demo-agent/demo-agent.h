/*
 * acpx-demo-agent's parts: demo-agent.c (main, dispatch, sessions and
 * prompts), demo-wire.c (stdin, the JSON-RPC messages it sends and the
 * requests it makes of the client) and demo-tools.c (what a prompt asks
 * for: read, write, run, slow, the word count).
 */
#ifndef ACPX_DEMO_AGENT_H
#define ACPX_DEMO_AGENT_H

#include <stddef.h>

#include <jansson.h>

/* The agent: stdin, its sessions, the turn in progress. */
struct demo {
	char		*buf;		/* stdin bytes not yet consumed */
	size_t		 off, len, size;
	int		 eof;

	json_t		*sessions;	/* sessionId -> {"cwd": ...} */
	json_t		*backlog;	/* prompts that arrived during a turn */
	json_t		*responses;	/* client responses by id */
	json_int_t	 next_id;	/* of our requests to the client */
	int		 ntools;

	const char	*session;	/* of the running turn */
	int		 in_turn;
	int		 cancelled;	/* session/cancel arrived */
	long		 delay_ms;	/* between answer chunks */
};

/* Free everything and exit (so sanitizer runs stay quiet). */
void		 demo_exit(int status) __attribute__((noreturn));

/* Format a new string; caller frees. */
char		*demo_printf(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

/* Look up a dotted path ("result.outcome.optionId"); borrowed or NULL. */
json_t		*demo_get(json_t *v, const char *path);

void		 demo_reply(const json_t *id, const char *key, json_t *what);

void		 demo_error(const json_t *id, int code, const char *message);

void		 demo_chunk(struct demo *d, const char *kind, const char *text);

void		 demo_plan(struct demo *d, const char *answer_status);

/* Report a new tool call (title set) or update the last; extra is stolen. */
void		 demo_tool(struct demo *d, const char *title, const char *kind,
		    const char *status, json_t *extra);

/*
 * Read and handle one message, waiting up to timeout_ms (-1: forever).
 * Returns 0 on timeout; exits 0 at EOF.
 */
int		 demo_pump(struct demo *d, int timeout_ms);

/* Wait ms, still reading stdin; returns 1 if the turn was cancelled. */
int		 demo_sleep(struct demo *d, long ms);

/*
 * Ask the client something (params stolen) and wait for the answer. Returns
 * the response message (caller owns), or NULL once the turn is cancelled.
 */
json_t		*demo_request(struct demo *d, const char *method,
		    json_t *params);

/* Count the words and (UTF-8) characters of a text. */
void		 demo_count(const char *s, int *words, int *chars);

/*
 * Stream an answer in chunks of three words; returns 1 if cancelled. A
 * chunk ends where the next word starts, so the chunks add up exactly.
 */
int		 demo_stream(struct demo *d, const char *text);

/* read <path>: fetch the file through the client and describe it. */
char		*demo_read(struct demo *d, const char *arg);

/* write <path> <text>: ask permission, then have the client write it. */
char		*demo_write(struct demo *d, const char *arg);

/* run <command>: ask permission, run it in a client terminal, report. */
char		*demo_run(struct demo *d, const char *cmd);

/* Anything else: a thought, a think tool, then an answer counting words. */
char		*demo_answer(struct demo *d, const char *text);

/* slow: twenty chunks, DEMO_SLOW_MS apart, to try cancelling. */
int		 demo_slow(struct demo *d);

/* Handle one message from the client; prompts during a turn must wait. */
void		 demo_handle(struct demo *d, json_t *msg);

#endif /* ACPX_DEMO_AGENT_H */
