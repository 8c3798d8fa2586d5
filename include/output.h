/*
 * Renderers: the only code that writes to stdout, and the only code that
 * shows errors. A prompt turn is rendered from the ACP JSON-RPC messages of
 * the turn in wire order, both directions (spec acpx-cli.md §4.2-4.4);
 * non-prompt commands print their result through output_result().
 * output.c selects the renderer; output-text.c, output-json.c and
 * output-quiet.c implement it.
 */
#ifndef ACPX_OUTPUT_H
#define ACPX_OUTPUT_H

#include <stdio.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"

struct output_opts {
	enum acpx_format format;
	int		 json_strict;	/* suppress banners/warnings; errors only as JSON */
	int		 suppress_reads;	/* --suppress-reads */
	int		 color;		/* ANSI colours (text): stdout is a TTY */
	int		 color_err;	/* and on stderr: stderr is a TTY */
	const char	*agent_name;	/* for hints: "acpx <agent> sessions new" */
	FILE		*out;		/* stdout unless a test says otherwise */
	FILE		*err;		/* stderr unless a test says otherwise */
};

struct output;
struct ev_loop;

/* Create a renderer. opts is copied (strings borrowed for its life). */
struct output	*output_create(const struct output_opts *);
void		 output_free(struct output *);

/*
 * One ACP JSON-RPC message of the turn, either direction, in wire order
 * (outbound requests, responses acpx sends, agent notifications/requests/
 * responses). Borrowed. json: printed as one compact line (JSON.stringify
 * bytes, suppress-reads applied); text: formatted; quiet: collects the
 * answer and prints it at the first stopReason result.
 */
void		 output_acp_message(struct output *, const json_t *msg);

/* Which way a message crossed the wire, seen from acpx. */
enum output_dir {
	OUTPUT_DIR_UNKNOWN = 0,	/* inferred from the method (output_acp_message) */
	OUTPUT_DIR_INBOUND,	/* agent → acpx */
	OUTPUT_DIR_OUTBOUND	/* acpx → agent */
};

/*
 * output_acp_message() with the direction known (jsonrpc's tap has it):
 * --suppress-reads pairs fs/read_text_file requests with their responses
 * by (direction, id) as the reference does; without it the direction is
 * inferred from the request method (fs/, terminal/, session/request_permission
 * and session/update come from the agent).
 */
void		 output_acp_message_dir(struct output *, const json_t *msg,
		    enum output_dir);

/*
 * An acpx-side error that happens during a turn and belongs in the stream
 * (queue path: "[error] CODE: msg" + hints in text, the JSON error line in
 * json, "[acpx] error: ..." on stderr in quiet). Marks err EMITTED.
 */
void		 output_turn_error(struct output *, struct acpx_error *err);

/* End of the turn: flush pending thinking/answer, final newline. */
void		 output_turn_end(struct output *);

/*
 * A top-level error (spec §5.3): text → stderr message + hints; quiet →
 * stderr "[acpx] error: CODE[ DETAIL] msg"; json → stdout error line.
 * Nothing if err is EMITTED. With json_strict nothing goes to stderr.
 */
void		 output_error(struct output *, const struct acpx_error *err);

/* output_error(), then free err; its exit status (1 for NULL). */
int		 output_fail(struct output *, struct acpx_error *err);

/* Result of a non-prompt command: json → one compact line of v. */
void		 output_result_json(struct output *, const json_t *v);

/* Result line(s) for text/quiet (printed verbatim plus '\n'). */
void		 output_result_text(struct output *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * Notice on stderr (banners, warnings, verbose lines): "[acpx] " + text +
 * '\n'; not with json_strict. The caller passes the text without the prefix.
 */
void		 output_notice(struct output *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * A warp fallback hop, given its _acpx/fallback notification:
 * text → "[fallback] <from> → <to> (<reason>)" on stdout; json → the
 * notification as one compact line on stdout; quiet → one "[acpx]
 * fallback: ..." line on stderr (not with json_strict).
 */
void		 output_fallback(struct output *, const json_t *notification);

/*
 * Forget what the renderer holds of the current turn (quiet: the partial
 * answer) without printing it: a turn a provider failure cut short.
 */
void		 output_turn_discard(struct output *);

/*
 * Buffer stdout across the messages of a loop iteration: while loop is
 * attached and stdout is not a terminal, a message's output is written
 * before the loop next blocks (an ev_prepare watcher) or when the buffer
 * fills, instead of once per message; turn ends, errors, results and
 * stderr lines still flush first. NULL detaches (flushing what is
 * pending). Detach before the loop is destroyed.
 */
void		 output_attach_loop(struct output *, struct ev_loop *);

/* The format this renderer was made for. */
enum acpx_format output_format(const struct output *);

/* Set when stdout reported EPIPE: the caller should exit 0 quietly. */
int		 output_broken_pipe(const struct output *);

#endif
