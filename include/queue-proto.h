/*
 * The queue IPC wire format (spec acpx-runtime.md §7.4-7.6,
 * docs/queue-protocol.md): one compact JSON object per line over a Unix
 * stream socket, one request per connection. This module is the only code
 * that frames, unframes, builds or validates queue messages; the owner and
 * the client both call it. Message types and fields are exactly the
 * reference's, so our client talks to a reference owner and a reference
 * client to ours. Pure: no I/O.
 */
#ifndef ACPX_QUEUE_PROTO_H
#define ACPX_QUEUE_PROTO_H

#include <stddef.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"

/* Client refuses a response buffer over this many bytes (the reference's 10 MiB). */
#define QUEUE_PROTO_CLIENT_MAX	(10 * 1024 * 1024)
/* Owner cap on a request line when ACPX_QUEUE_MAX_REQUEST_BYTES is unset/0. */
#define QUEUE_PROTO_OWNER_MAX	(64 * 1024 * 1024)

/* ---------------------------------------------------------------- framing */

struct queue_framer;

enum queue_frame_status {
	QUEUE_FRAME_LINE = 0,	/* a non-empty trimmed line was returned */
	QUEUE_FRAME_NEED_MORE,	/* no complete line buffered */
	QUEUE_FRAME_TOO_LONG	/* the peer exceeded the cap: drop it */
};

/* A capped line splitter; max = largest line in bytes (0: unlimited). */
struct queue_framer *queue_framer_create(size_t max);
void		 queue_framer_free(struct queue_framer *);
/* Room for at least want bytes to read() into, then commit what arrived. */
char		*queue_framer_reserve(struct queue_framer *, size_t want);
void		 queue_framer_commit(struct queue_framer *, size_t);
/* Append bytes (tests). */
void		 queue_framer_feed(struct queue_framer *, const char *, size_t);
/*
 * Next line with surrounding whitespace trimmed; empty lines are skipped.
 * *line is borrowed until the next call.
 */
enum queue_frame_status queue_framer_next(struct queue_framer *, char **line,
		    size_t *len);

/* One message as a wire line: compact JSON.stringify bytes + "\n". Caller owns. */
char		*queue_proto_line(const json_t *msg, size_t *len);

/*
 * ACPX_QUEUE_MAX_REQUEST_BYTES: 0 with *limit (0 = unlimited), or -1 with
 * *cause when the value is not a non-negative safe integer.
 */
int		 queue_proto_request_limit(size_t *limit, char **cause);

/* ---------------------------------------------------------------- requests */

enum queue_req_type {
	QUEUE_REQ_SUBMIT = 0,		/* submit_prompt */
	QUEUE_REQ_CANCEL,		/* cancel_prompt */
	QUEUE_REQ_SET_MODE,		/* set_mode */
	QUEUE_REQ_SET_MODEL,		/* set_model */
	QUEUE_REQ_SET_CONFIG,		/* set_config_option */
	QUEUE_REQ_CLOSE			/* close_session */
};

/* A validated request (client → owner). Strings and json are owned. */
struct queue_request {
	enum queue_req_type	 type;
	char			*request_id;
	long long		 owner_generation;	/* 0: absent */
	long long		 timeout_ms;		/* 0: absent */

	/* submit_prompt */
	char			*message;
	json_t			*prompt;		/* content blocks (default: one text block) */
	enum acpx_perm_mode	 perm_mode;
	char			*resume_policy;		/* NULL, allow-new, same-session-only */
	int			 nonint;		/* -1 absent, else enum acpx_nonint */
	json_t			*permission_policy;	/* NULL if absent */
	int			 suppress_sdk_errors;	/* -1 absent, 0, 1 */
	int			 prompt_retries;	/* -1 absent */
	int			 wait;			/* waitForCompletion */
	int			 report_started;	/* reportPromptStarted */
	json_t			*session_options;	/* normalised, or NULL */
	int			 no_fallback;		/* noFallback (acpx-native) */
	char			*force_fail;		/* forceFail (acpx-native):
							   this provider fails, or NULL */
	int			 no_record;		/* resultWithoutRecord
							   (acpx-native): the
							   result leaves the
							   record out */
	int			 merge_chunks;		/* mergeTextChunks
							   (acpx-native): plain
							   text chunks may come
							   merged */

	/* cancel_prompt: targetRequestId; set_mode: modeId; set_model: modelId */
	char			*target;
	/* set_config_option */
	char			*config_id;
	char			*value;
};

/* Request validation failures, as the owner reports them. */
#define QUEUE_BAD_JSON		"QUEUE_REQUEST_PAYLOAD_INVALID_JSON"
#define QUEUE_BAD_REQUEST	"QUEUE_REQUEST_INVALID"

/*
 * Parse and validate one request line as the reference's parseQueueRequest
 * does. NULL with *detail = QUEUE_BAD_JSON or QUEUE_BAD_REQUEST. Caller owns.
 */
struct queue_request *queue_request_parse(const char *line, size_t len,
		    const char **detail);
void		 queue_request_free(struct queue_request *);

/* A request as the reference client serialises it (field order kept). Caller owns. */
json_t		*queue_request_json(const struct queue_request *);

/* Normalised sessionOptions from a payload/request value, or NULL if invalid. */
json_t		*queue_proto_session_options(const json_t *, int lenient);

/* ---------------------------------------------------------------- owner messages */

enum queue_msg_type {
	QUEUE_MSG_ACCEPTED = 0,
	QUEUE_MSG_PROMPT_STARTED,
	QUEUE_MSG_EVENT,
	QUEUE_MSG_PERMISSION_ESCALATION,
	QUEUE_MSG_RESULT,
	QUEUE_MSG_CANCEL_RESULT,
	QUEUE_MSG_SET_MODE_RESULT,
	QUEUE_MSG_SET_MODEL_RESULT,
	QUEUE_MSG_SET_CONFIG_RESULT,
	QUEUE_MSG_CLOSE_RESULT,
	QUEUE_MSG_ERROR
};

/* Builders; gen 0 omits ownerGeneration. Each returns a new object the caller owns. */
json_t		*queue_msg_simple(enum queue_msg_type, const char *rid,
		    long long gen);			/* accepted, prompt_started */
json_t		*queue_msg_event(const char *rid, int outbound,
		    const json_t *message, long long gen);
/*
 * The wire line of queue_msg_event() without its message: the compact
 * JSON.stringify text of the message (js_json_dumps(message, 0)) spliced
 * in at *at gives queue_proto_line(queue_msg_event(...)) byte for byte, so
 * a relayed message is serialised once for the journal and every event.
 * Caller owns.
 */
char		*queue_msg_event_frame(const char *rid, int outbound,
		    long long gen, size_t *at, size_t *len);
json_t		*queue_msg_result(const char *rid, json_t *result /* stolen */,
		    long long gen);
json_t		*queue_msg_bool(enum queue_msg_type, const char *rid, int value,
		    long long gen);			/* cancel_result, close_session_result */
json_t		*queue_msg_set_mode(const char *rid, const char *mode_id,
		    long long gen);
json_t		*queue_msg_set_model(const char *rid, const char *model_id,
		    const json_t *response, long long gen);
json_t		*queue_msg_set_config(const char *rid, const json_t *response,
		    long long gen);
/*
 * An error the queue itself raises (bad request, overload, shutdown...):
 * fields in the owner's order (type, requestId, ownerGeneration, code,
 * detailCode, origin, retryable, message). retryable -1 omits it.
 */
json_t		*queue_msg_queue_error(const char *rid, long long gen,
		    const char *detail, int retryable, const char *message);
/*
 * An error of a turn or a control, from a normalised error: type,
 * requestId, code, detailCode, origin, message, retryable, acp,
 * outputAlreadyEmitted (-1 omits it), ownerGeneration.
 */
json_t		*queue_msg_error(const char *rid, const struct acpx_error *,
		    int already_emitted, long long gen);

/* A validated owner message (owner → client); fields borrow from root. */
struct queue_msg {
	enum queue_msg_type	 type;
	json_t			*root;		/* owned */
	const char		*request_id;
	long long		 owner_generation;	/* 0: absent */
	int			 direction;		/* event: 1 outbound, 0 inbound, -1 absent */
	const json_t		*message;		/* event: the ACP message */
	const json_t		*event;			/* permission_escalation */
	const json_t		*result;		/* result */
	int			 flag;			/* cancelled / closed;
							   result: no record */
	const char		*id;			/* modeId / modelId */
	const json_t		*response;		/* set_model / set_config_option */
	/* error */
	const char		*code;
	const char		*detail_code;
	const char		*origin;
	const char		*text;
	int			 retryable;		/* -1 absent */
	const json_t		*acp;
	int			 already_emitted;	/* -1 absent */
};

/* Client-side failures reading a response line. */
#define QUEUE_PROTO_INVALID_JSON	"QUEUE_PROTOCOL_INVALID_JSON"
#define QUEUE_PROTO_MALFORMED		"QUEUE_PROTOCOL_MALFORMED_MESSAGE"

/*
 * Parse and validate one owner line as parseQueueOwnerMessage does. NULL
 * with *detail = QUEUE_PROTO_INVALID_JSON or QUEUE_PROTO_MALFORMED.
 * Caller owns the result (queue_msg_free).
 */
struct queue_msg *queue_msg_parse(const char *line, size_t len,
		    const char **detail);
void		 queue_msg_free(struct queue_msg *);

/* The normalised error an owner "error" message carries. Caller owns. */
struct acpx_error *queue_msg_to_error(const struct queue_msg *);

/* "RUNTIME" → ACPX_CODE_RUNTIME ...; -1 if unknown. */
int		 queue_proto_code(const char *);

#endif
