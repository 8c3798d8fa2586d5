/*
 * Internal interface between output.c and the three renderers
 * (output-text.c, output-json.c, output-quiet.c). output.c owns struct
 * output and the stdout/stderr writers (EPIPE handling); output-msg.c the
 * ACP message classifiers every renderer shares. The JavaScript string
 * semantics the reference's formatters rely on are in js.h.
 * Nothing outside output*.c includes this header.
 */
#ifndef ACPX_OUTPUT_IMPL_H
#define ACPX_OUTPUT_IMPL_H

#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include "acp-update.h"
#include "acpx-error.h"
#include "buf.h"
#include "js.h"
#include "output.h"

/* Renderers build their text in a struct buf (buf.h). */

/* One renderer: state is made by create and passed back to each hook. */
struct output_renderer {
	void	*(*create)(struct output *);
	void	 (*free)(void *);
	void	 (*message)(struct output *, void *, const json_t *,
		    enum output_dir);
	void	 (*turn_error)(struct output *, void *,
		    const struct acpx_error *);
	void	 (*turn_end)(struct output *, void *);
	void	 (*error)(struct output *, void *, const struct acpx_error *);
};

extern const struct output_renderer output_text_renderer;
extern const struct output_renderer output_json_renderer;
extern const struct output_renderer output_quiet_renderer;

struct output {
	struct output_opts		 opts;
	const struct output_renderer	*r;
	void				*state;
	int				 broken_pipe;
	struct ev_loop			*loop;	/* flushes deferred to it */
	ev_prepare			 flush_w;	/* started while pending */
};

/*
 * Write to stdout (nothing once the pipe broke). output_out_flush() ends a
 * message: it flushes now, or, with a loop attached, before the loop next
 * blocks. output_flush() flushes now.
 */
void	 output_out(struct output *, const char *, size_t);
void	 output_out_flush(struct output *);
void	 output_flush(struct output *);
/* Write to stderr and flush. */
void	 output_err(struct output *, const char *, size_t);

/*
 * output-msg.c: classifiers with the reference's exact tests. Each
 * returns a borrowed value or NULL.
 */
/* result._meta.acpx.permissionNotice of a response (a JSON string). */
const json_t	*output_msg_permission_notice(const json_t *);
/* result._meta.acpx.permissionEscalation of a response (an object). */
const json_t	*output_msg_permission_escalation(const json_t *);
/* result.stopReason of a response (a JSON string). */
const json_t	*output_msg_stop_reason(const json_t *);
/*
 * A session/update notification with a non-empty sessionId and a
 * well-formed update (acp_update_well_formed): 1 with *ev typed (borrowed
 * from msg), or 0.
 */
int		 output_msg_session_update(const json_t *,
		    struct acp_update *);
/* error.message of an error response (a JSON string). */
const json_t	*output_msg_error_message(const json_t *);
/* String(msg.method) into b when msg has a method; returns 0 if none. */
int		 output_msg_method(const json_t *, struct buf *);

/* isReadLikeTool over a tool's merged kind and title (either may be NULL). */
int		 output_tool_read_like(const json_t *kind, const json_t *title);


#endif
