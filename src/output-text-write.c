#include <config.h>

#include <string.h>

#include <jansson.h>

#include "output.h"
#include "output-impl.h"
#include "output-text-impl.h"

/*
 * The text renderer's writer: whole lines built in t->line, sections
 * separated by one blank line, and ANSI colours when stdout is a TTY.
 */

void
output_text_write(struct output *o, struct output_text *t, const char *s,
    size_t n)
{
	if (n == 0)
		return;
	output_out(o, s, n);
	t->wrote_any = 1;
	t->at_line_start = s[n - 1] == '\n';
}

/* Write t->line plus '\n'. */
void
output_text_write_line(struct output *o, struct output_text *t)
{
	buf_addc(&t->line, '\n');
	output_text_write(o, t, t->line.p, t->line.len);
	buf_reset(&t->line);
}

void
output_text_write_section(struct output *o, struct output_text *t)
{
	if (!t->at_line_start)
		output_text_write(o, t, "\n", 1);
	if (t->wrote_any)
		output_text_write(o, t, "\n", 1);
}

void
output_text_write_ansi_open(struct output *o, struct buf *b, const char *code)
{
	if (o->opts.color)
		buf_printf(b, "\033[%sm", code);
}

void
output_text_write_ansi_close(struct output *o, struct buf *b)
{
	if (o->opts.color)
		buf_adds(b, "\033[0m");
}

/* Append tag in bold (colour) or plain. */
void
output_text_write_bold(struct output *o, struct buf *b, const char *tag)
{
	output_text_write_ansi_open(o, b, ANSI_BOLD);
	buf_adds(b, tag);
	output_text_write_ansi_close(o, b);
}

/* Append a status word coloured by the status it stands for. */
void
output_text_write_status(struct output *o, struct buf *b, const char *label,
    const char *status)
{
	const char	*code = ANSI_YELLOW;

	if (strcmp(status, "completed") == 0)
		code = ANSI_GREEN;
	else if (strcmp(status, "failed") == 0)
		code = ANSI_RED;
	output_text_write_ansi_open(o, b, code);
	buf_adds(b, label);
	output_text_write_ansi_close(o, b);
}

/* Write each line of s as prefix + line (indentBlock + writeLine). */
void
output_text_write_block(struct output *o, struct output_text *t, const char *s,
    size_t n, const char *prefix)
{
	const char	*nl;

	for (;;) {
		nl = memchr(s, '\n', n);
		buf_adds(&t->line, prefix);
		buf_add(&t->line, s, nl != NULL ? (size_t)(nl - s) : n);
		if (nl == NULL)
			break;
		buf_addc(&t->line, '\n');
		n -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	output_text_write_line(o, t);
}

