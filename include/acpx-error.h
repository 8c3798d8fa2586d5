/*
 * The normalised error model (spec acpx-cli.md §5.2, acpx-runtime.md §11).
 * Deep code returns a struct acpx_error as a value; the command layer hands
 * it to output_error() (output.h), the only code that shows errors.
 * This module owns classification (NO_SESSION upgrade, AUTH_REQUIRED
 * inference), exit-code and JSON-RPC code mapping, the JSON error line and
 * the text-mode remediation hints. It does no I/O.
 */
#ifndef ACPX_ERROR_H
#define ACPX_ERROR_H

#include <jansson.h>

enum acpx_code {
	ACPX_CODE_RUNTIME = 0,
	ACPX_CODE_USAGE,
	ACPX_CODE_TIMEOUT,
	ACPX_CODE_NO_SESSION,
	ACPX_CODE_PERMISSION_DENIED,
	ACPX_CODE_PERMISSION_PROMPT_UNAVAILABLE,
	ACPX_CODE_EXEC_DISABLED,
	ACPX_CODE_NODE_UNREACHABLE,	/* --node: ssh could not reach the node */
	ACPX_CODE_HOST_AT_CAPACITY	/* no free agent slot and --no-wait */
};

struct acpx_error {
	enum acpx_code	 code;
	char		*message;	/* normalised, human text */
	char		*detail_code;	/* AGENT_SPAWN_ENOENT, ...; NULL if none */
	char		*origin;	/* "cli", "runtime", "queue", "acp"; NULL if none */
	int		 retryable;	/* -1 absent, else 0/1 */
	char		*timestamp;	/* ISO time or NULL */
	char		*session_id;	/* NULL prints "unknown" */
	json_t		*acp;		/* ACP error {code,message,data?}; owned; NULL if none */
	int		 flags;
#define ACPX_ERROR_EMITTED	0x1	/* already visible in the stream: no top-level render */
#define ACPX_ERROR_PARSE	0x2	/* root parse error: message keeps "error: " */
#define ACPX_ERROR_SUBCOMMAND	0x4	/* sub-command parse error: exit 1, stderr text only */
};

/* New error with a printf message. detail/origin may be NULL. Caller owns. */
struct acpx_error *acpx_error_new(enum acpx_code, const char *detail,
		    const char *origin, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/*
 * New error from an ACP JSON-RPC error object (borrowed) as an agent sent it:
 * message = data.details (non-empty string) else message; code RUNTIME
 * upgraded to NO_SESSION for resource-not-found; detail AUTH_REQUIRED
 * inferred; else detail_default. Caller owns.
 */
struct acpx_error *acpx_error_from_acp(const json_t *acp_error,
		    const char *detail_default, const char *origin);

void		 acpx_error_free(struct acpx_error *);

/* Setters that replace a field (copying the string). */
void		 acpx_error_set_session(struct acpx_error *, const char *);
void		 acpx_error_set_detail(struct acpx_error *, const char *);

/* True if text or code marks an ACP "resource not found" (→ NO_SESSION). */
int		 acpx_error_is_not_found(int rpc_code, const char *text);

/* Exit status for an error (§5.1). */
int		 acpx_error_exit(const struct acpx_error *);

/* "RUNTIME", "NO_SESSION", ... */
const char	*acpx_error_code_name(enum acpx_code);

/* JSON-RPC error code used for acpxCode (-32603, -32002, ...). */
int		 acpx_error_code_rpc(enum acpx_code);

/*
 * The JSON error line object {"jsonrpc":"2.0","id":null,"error":{...}} with
 * data keys in the reference's order (acpxCode, detailCode, origin,
 * retryable, timestamp, sessionId). Caller owns.
 */
json_t		*acpx_error_json(const struct acpx_error *);

/*
 * Text-mode remediation hint lines (§5.6) for this error, or NULL.
 * agent_name is used in "acpx <agent> sessions new". Caller owns the
 * returned string (lines separated by '\n', no trailing newline).
 */
char		*acpx_error_hints(const struct acpx_error *, const char *agent_name);

#endif
