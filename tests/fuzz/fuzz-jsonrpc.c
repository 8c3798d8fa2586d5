/*
 * libFuzzer harness: the NDJSON/JSON-RPC reader and dispatcher (jsonrpc.c).
 * The input is what an agent writes on its stdout; it reaches the
 * connection through a pipe, two requests of ours are pending so that
 * responses get matched, and every inbound request is answered.
 */
#include <config.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "js-json.h"
#include "jsonrpc.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static void
fz_request(struct jsonrpc *j, const json_t *id, const char *method,
    const json_t *params, void *arg)
{
	(void)params; (void)arg;
	if (strcmp(method, "fs/read_text_file") == 0)
		jsonrpc_reply_error(j, id, -32603, "no", NULL);
	else
		jsonrpc_reply(j, id, json_object());
}

static void
fz_notify(struct jsonrpc *j, const char *method, const json_t *params,
    void *arg)
{
	(void)j; (void)method; (void)params; (void)arg;
}

static void
fz_tap(struct jsonrpc *j, const json_t *msg, int outbound, void *arg)
{
	char	*s;

	(void)j; (void)outbound; (void)arg;
	if ((s = json_dumps(msg, JSON_COMPACT)) != NULL)
		free(s);
}

static void
fz_noise(struct jsonrpc *j, const char *line, size_t len, const char *why,
    void *arg)
{
	(void)j; (void)arg;
	if (len > 0 && line[0] == '\0' && why == NULL)
		abort();
}

static void
fz_closed(struct jsonrpc *j, enum jsonrpc_close_reason why, void *arg)
{
	(void)j; (void)why;
	*(int *)arg = 1;
}

static void
fz_diag(struct jsonrpc *j, const char *text, void *arg)
{
	(void)j; (void)text; (void)arg;
}

static void
fz_done(struct jsonrpc *j, enum jsonrpc_status st, const json_t *result,
    const json_t *error, void *arg)
{
	(void)j; (void)st; (void)result; (void)error; (void)arg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	xmalloc_init();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct jsonrpc_callbacks cb = { fz_request, fz_notify,
	    fz_tap, fz_noise, fz_closed, fz_diag };
	struct ev_loop	*loop;
	struct jsonrpc	*j;
	int		 p[2], out, closed = 0;
	char		*text;

	/* A pipe holds 64 KiB: keep the write below that (no blocking). */
	if (size > 60000 || pipe(p) != 0)
		return (0);
	if ((out = open("/dev/null", O_WRONLY)) == -1) {
		close(p[0]); close(p[1]);
		return (0);
	}
	if (size > 0 && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);

	loop = ev_loop_new(EVFLAG_AUTO);
	j = jsonrpc_create(loop, p[0], out, size % 2 ? 4096 : 0, &cb, &closed);
	jsonrpc_request(j, "initialize", json_object(), fz_done, NULL);
	jsonrpc_request(j, "session/prompt", NULL, fz_done, NULL);
	while (!closed && ev_run(loop, EVRUN_ONCE))
		;
	jsonrpc_free(j);
	ev_run(loop, EVRUN_NOWAIT);
	ev_loop_destroy(loop);

	/* The JSON.parse error message builder on the raw bytes. */
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	free(js_json_syntax_error(text, strlen(text)));
	free(text);
	return (0);
}
