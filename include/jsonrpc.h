/*
 * JSON-RPC 2.0 over NDJSON on a pair of file descriptors, on the event loop.
 * Owns framing (one compact JSON object per line, capped line size), request
 * ids (integers from 0, per connection), the pending-request table, and
 * dispatch of inbound messages to the callbacks. Writes are queued and
 * flushed by an ev_io watcher; nothing here blocks.
 *
 * Every message that crosses the wire, in either direction, is shown to the
 * tap callback in wire order (outbound at the moment it is queued), so a
 * renderer can show the whole conversation.
 */
#ifndef ACPX_JSONRPC_H
#define ACPX_JSONRPC_H

#include <stddef.h>

#include <ev.h>
#include <jansson.h>

struct jsonrpc;

enum jsonrpc_status {
	JSONRPC_RESULT = 0,	/* result is set */
	JSONRPC_ERROR,		/* error is the peer's error object */
	JSONRPC_CLOSED		/* connection closed before a response */
};

/* Completion of an outbound request. result/error are borrowed. */
typedef void	(*jsonrpc_done_cb)(struct jsonrpc *, enum jsonrpc_status,
		    const json_t *result, const json_t *error, void *arg);

enum jsonrpc_close_reason {
	JSONRPC_CLOSE_EOF = 0,		/* peer closed its output */
	JSONRPC_CLOSE_TOO_LARGE,	/* a line exceeded the cap */
	JSONRPC_CLOSE_IO,		/* read/write error */
	JSONRPC_CLOSE_LOCAL		/* jsonrpc_close() */
};

struct jsonrpc_callbacks {
	/*
	 * Inbound request: answer later (or now) with jsonrpc_reply*() using
	 * the borrowed id. params may be NULL.
	 */
	void	(*request)(struct jsonrpc *, const json_t *id, const char *method,
		    const json_t *params, void *arg);
	/* Inbound notification. */
	void	(*notify)(struct jsonrpc *, const char *method,
		    const json_t *params, void *arg);
	/* Every message in wire order; outbound != 0 for what we send. */
	void	(*tap)(struct jsonrpc *, const json_t *msg, int outbound,
		    void *arg);
	/*
	 * A line that is not JSON (agent noise). line is not NUL-terminated;
	 * it is trimmed, with invalid UTF-8 replaced by U+FFFD as Node's
	 * decoder does. why is what Node's JSON.parse throws, e.g.
	 * "SyntaxError: Unexpected token 'h', \"hello\" is not valid JSON",
	 * so the reference's stderr line is
	 * "Failed to parse JSON message: <line> <why>". A valid JSON value
	 * that is not an object comes here too with why ==
	 * JSONRPC_NOISE_NOT_OBJECT (compare with strcmp); the reference drops
	 * those silently.
	 */
	void	(*noise)(struct jsonrpc *, const char *line, size_t len,
		    const char *why, void *arg);
	/*
	 * The connection is closed (once). Pending requests have already been
	 * completed with JSONRPC_CLOSED.
	 */
	void	(*closed)(struct jsonrpc *, enum jsonrpc_close_reason, void *arg);
	/*
	 * Optional: a diagnostic the reference's SDK prints with
	 * console.error, e.g. "Got response to unknown request 7".
	 */
	void	(*diag)(struct jsonrpc *, const char *text, void *arg);
};

#define JSONRPC_NOISE_NOT_OBJECT	"not a JSON object"

/*
 * Take over rfd (peer's output, read) and wfd (peer's input, write); both
 * are set non-blocking and closed by jsonrpc_free(). max_line = largest
 * inbound line in bytes, 0 = unlimited. cb is copied.
 */
struct jsonrpc	*jsonrpc_create(struct ev_loop *, int rfd, int wfd,
		    size_t max_line, const struct jsonrpc_callbacks *cb, void *arg);

/*
 * Free the connection. Safe to call from any callback of this connection:
 * I/O stops at once and the memory is released once the callback returns.
 * No callback runs from here: pending requests are dropped without their
 * done callbacks (call jsonrpc_close() first to have them completed).
 */
void		 jsonrpc_free(struct jsonrpc *);

/*
 * Send a request; params is stolen (may be NULL). Returns the id used. On
 * a closed connection (or after jsonrpc_shutdown_write) nothing is sent
 * and the done callback runs with JSONRPC_CLOSED from the loop, never from
 * inside this call. Notifications and replies are then dropped.
 */
long long	 jsonrpc_request(struct jsonrpc *, const char *method,
		    json_t *params, jsonrpc_done_cb, void *arg);

/* Send a notification; params is stolen (may be NULL). */
void		 jsonrpc_notify(struct jsonrpc *, const char *method, json_t *params);

/* Answer an inbound request; id borrowed, result stolen. */
void		 jsonrpc_reply(struct jsonrpc *, const json_t *id, json_t *result);

/* Answer with an error; id borrowed, data stolen (may be NULL). */
void		 jsonrpc_reply_error(struct jsonrpc *, const json_t *id, int code,
		    const char *message, json_t *data);

/*
 * Stop reading, complete pending requests with JSONRPC_CLOSED, and close
 * the write side once queued output is flushed (or dropped if the peer is
 * gone). The closed callback runs with JSONRPC_CLOSE_LOCAL. The callbacks
 * run before this returns. A close for EOF or TOO_LARGE also flushes what
 * is queued before closing the write side; an I/O error drops it.
 */
void		 jsonrpc_close(struct jsonrpc *);

/* Close only our write side (stdin EOF to the agent) after flushing. */
void		 jsonrpc_shutdown_write(struct jsonrpc *);

/*
 * The error object the reference's SDK answers when a request handler
 * throws: {"code":-32603,"message":"Internal error","data":{"details":<msg>}}.
 * Caller owns.
 */
json_t		*jsonrpc_internal_error(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

/* Number of requests still waiting for a response. */
size_t		 jsonrpc_pending(const struct jsonrpc *);

/*
 * Non-zero once the connection is closed; *reason (may be NULL) says why.
 * Already true while pending requests are completed with JSONRPC_CLOSED.
 */
int		 jsonrpc_closed(const struct jsonrpc *,
		    enum jsonrpc_close_reason *reason);

/* Stop reading (on != 0) until called again with 0: the reader lags. */
void		 jsonrpc_pause(struct jsonrpc *, int on);

#endif
