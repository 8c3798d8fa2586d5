/*
 * libFuzzer harness: the queue IPC decoder (queue-proto.h): the capped
 * line framer, then every line as a client request (owner side) and as an
 * owner message (client side), re-serialised when valid.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "queue-proto.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	xmalloc_init();
	return (0);
}

static void
fz_line(const char *line, size_t len)
{
	struct queue_request	*req;
	struct queue_msg	*msg;
	const char		*detail;
	json_t			*v;
	char			*s;
	size_t			 n;

	if ((req = queue_request_parse(line, len, &detail)) != NULL) {
		v = queue_request_json(req);
		s = queue_proto_line(v, &n);
		/* What we serialise must parse back. */
		queue_request_free(req);
		if ((req = queue_request_parse(s, n - 1, &detail)) == NULL)
			abort();
		queue_request_free(req);
		free(s);
		json_decref(v);
	} else if (detail == NULL)
		abort();
	if ((msg = queue_msg_parse(line, len, &detail)) != NULL) {
		s = queue_proto_line(msg->root, &n);
		free(s);
		queue_msg_free(msg);
	} else if (detail == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_framer	*f;
	char			*line;
	size_t			 len, half = size / 2;
	enum queue_frame_status	 st;

	f = queue_framer_create(size % 3 == 0 ? 0 : 1024);
	/* Two feeds: a line may straddle reads. */
	queue_framer_feed(f, (const char *)data, half);
	while ((st = queue_framer_next(f, &line, &len)) == QUEUE_FRAME_LINE)
		fz_line(line, len);
	if (st == QUEUE_FRAME_NEED_MORE) {
		queue_framer_feed(f, (const char *)data + half, size - half);
		queue_framer_feed(f, "\n", 1);
		while (queue_framer_next(f, &line, &len) == QUEUE_FRAME_LINE)
			fz_line(line, len);
	}
	queue_framer_free(f);
	return (0);
}
