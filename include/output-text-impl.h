/*
 * Internal interface of the text renderer, split by concern:
 *   output-text.c          the renderer hooks, message dispatch, thinking,
 *                          plans, errors;
 *   output-text-write.c    the line/section writer and its colours;
 *   output-text-tool.c     tool calls merged per toolCallId, and the
 *                          permission escalation section;
 *   output-text-summary.c  one-line summaries of a tool's input and files,
 *                          and the string builders the others share;
 *   output-text-extract.c  the text of a tool's output (rawOutput and
 *                          content), limited as the reference limits it.
 * struct output_text is made and freed by output-text.c; every string
 * builder here is the caller's to free (output_text_summary_str_free).
 * Nothing outside output-text*.c includes this header.
 */
#ifndef ACPX_OUTPUT_TEXT_IMPL_H
#define ACPX_OUTPUT_TEXT_IMPL_H

#include <stddef.h>

#include <jansson.h>

#include "acp-update.h"
#include "output.h"
#include "output-impl.h"

#define ANSI_BOLD	"1"
#define ANSI_DIM	"2"
#define ANSI_RED	"31"
#define ANSI_GREEN	"32"
#define ANSI_YELLOW	"33"

/* One tool call, its fields merged over tool_call/tool_call_update. */
struct text_tool {
	json_t	*id;		/* toolCallId as sent; NULL if absent */
	json_t	*title;		/* last non-blank title string */
	json_t	*status;	/* the fields below: NULL = never sent */
	json_t	*kind;
	json_t	*locations;
	json_t	*raw_input;
	json_t	*raw_output;
	json_t	*content;
	int	 started;	/* the non-final line was printed */
	char	*signature;	/* last printed final payload */
};

/* The renderer's state for one turn. */
struct output_text {
	json_t			 *index;	/* tool key → position in tools */
	struct text_tool	**tools;
	size_t			  ntools;
	size_t			  anon;		/* ids that never match */

	struct buf		  thought;
	struct buf		  line;
	struct buf		  key;
	int			  wrote_any;
	int			  at_line_start;
};

/* A string under construction with "is it defined" (JS undefined). */
struct text_str {
	struct buf	b;
	int		defined;
};

/* Joins distinct strings with a separator (dedupeStrings + join). */
struct text_join {
	json_t		*seen;
	struct buf	 out;
	size_t		 count;
	const char	*sep;
};

/* output-text.c: print the buffered thinking as a [thinking] section. */
void	output_text_flush_thought(struct output *, struct output_text *);

/* output-text-write.c */
void	output_text_write(struct output *, struct output_text *,
	    const char *, size_t);
/* Write t->line plus '\n' and empty it. */
void	output_text_write_line(struct output *, struct output_text *);
/* Start a section: a fresh line, one blank line after earlier output. */
void	output_text_write_section(struct output *, struct output_text *);
void	output_text_write_ansi_open(struct output *, struct buf *,
	    const char *);
void	output_text_write_ansi_close(struct output *, struct buf *);
void	output_text_write_bold(struct output *, struct buf *, const char *);
void	output_text_write_status(struct output *, struct buf *,
	    const char *, const char *);
/* Write each line of s as prefix + line. */
void	output_text_write_block(struct output *, struct output_text *,
	    const char *, size_t, const char *);

/* output-text-summary.c */
void	output_text_summary_str_free(struct text_str *);
void	output_text_summary_join_init(struct text_join *, const char *);
void	output_text_summary_join_add(struct text_join *, const char *, size_t);
/* Move the joined text into out (defined only if anything was added). */
void	output_text_summary_join_done(struct text_join *, struct text_str *);
/* summarizeToolInput of v (NULL = undefined). */
void	output_text_summary_input(const json_t *, struct text_str *);
/* formatLocations of a locations array. */
void	output_text_summary_files(const json_t *, struct text_str *);

/* output-text-extract.c */
/* extractOutputText of v (NULL = undefined). */
void	output_text_extract(const json_t *, struct text_str *);
/* summarizeToolContent of a content array. */
void	output_text_extract_content(const json_t *, struct text_str *);
/* limitOutputBlock: CRLF → LF, trim, 28 lines, 2000 units, into out. */
void	output_text_extract_limit(struct buf *, const char *, size_t);

/* output-text-tool.c */
/* A tool_call or tool_call_update (borrowed). */
void	output_text_tool_update(struct output *, struct output_text *,
	    const struct acp_update *);
void	output_text_tool_free(struct text_tool *);
/* The permission escalation section (its event object, borrowed). */
void	output_text_tool_escalation(struct output *, struct output_text *,
	    const json_t *);

#endif
