#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "acp-update.h"
#include "js.h"
#include "output.h"
#include "output-impl.h"
#include "xmalloc.h"

/*
 * The quiet renderer: stdout gets only the agent's answer (the text of its
 * agent_message_chunk updates), written once when the first stopReason
 * result arrives; stderr gets one-line "[acpx] tokens:", "[acpx] cost:",
 * "[acpx] permission:" and "[acpx] error:" lines.
 */

struct output_quiet {
	struct buf	 text;		/* the answer so far */
	struct buf	 line;		/* scratch for stderr lines */
	int		 finished;	/* a stopReason arrived */
	int		 written;	/* the answer was printed */
	int		 metadata;	/* usage/cost were printed */
};

static void *
output_quiet_create(struct output *o)
{
	return (xcalloc(1, sizeof (struct output_quiet)));
}

static void
output_quiet_free(void *arg)
{
	struct output_quiet	*q = arg;

	if (q == NULL)
		return;
	buf_free(&q->text);
	buf_free(&q->line);
	free(q);
}

/* Append s with every \r\n, \r or \n replaced by one space. */
static void
output_quiet_oneline(struct buf *b, const char *s, size_t n)
{
	size_t	i, run = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '\r' && s[i] != '\n')
			continue;
		buf_add(b, s + run, i - run);
		buf_addc(b, ' ');
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			i++;
		run = i + 1;
	}
	buf_add(b, s + run, n - run);
}

/* Print the buffered answer (a lone "\n" for an empty one if allowed). */
static void
output_quiet_flush_text(struct output *o, struct output_quiet *q,
    int allow_empty)
{
	if (q->text.len == 0 && (!allow_empty || q->written))
		return;
	q->written = 1;
	output_out(o, q->text.p, q->text.len);
	if (q->text.len == 0 || q->text.p[q->text.len - 1] != '\n')
		output_out(o, "\n", 1);
	output_out_flush(o);
	buf_reset(&q->text);
}

/* formatMetadataNumber: integers plain, else Number(v.toFixed(8)). */
static void
output_quiet_number(struct buf *b, const json_t *v)
{
	char	 buf[1200], num[64], *dot;
	double	 d = json_number_value(v), a;
	size_t	 i;
	int	 neg;

	/* Integral values print plain (no libm: doubles >= 2^52 are integral). */
	if (json_is_integer(v) || fabs(d) >= 4503599627370496.0 ||
	    d == (double)(long long)d || fabs(d) >= 1e21) {
		js_string_of(b, v);
		return;
	}
	/*
	 * toFixed(8) rounds the exact decimal value half away from zero
	 * (ties pick the larger n); glibc prints the exact expansion.
	 */
	neg = d < 0;
	a = fabs(d);
	snprintf(buf, sizeof buf, "%.1100f", a);
	dot = strchr(buf, '.');
	if (dot[9] >= '5') {
		dot[9] = '\0';
		for (i = (size_t)(dot - buf) + 8; ; i--) {
			if (buf[i] == '.')
				continue;
			if (buf[i] != '9') {
				buf[i]++;
				break;
			}
			buf[i] = '0';
			if (i == 0) {
				memmove(buf + 1, buf, strlen(buf) + 1);
				buf[0] = '1';
				break;
			}
		}
	} else
		dot[9] = '\0';
	a = strtod(buf, NULL);
	js_number_string(neg ? -a : a, num, sizeof num);
	buf_adds(b, num);
}

/* readFirstFiniteNumber over keys. */
static const json_t *
output_quiet_first_number(const json_t *rec, const char *const *keys)
{
	const json_t	*v;

	for (; *keys != NULL; keys++) {
		v = json_object_get(rec, *keys);
		if (json_is_integer(v) || (json_is_real(v) &&
		    isfinite(json_real_value(v))))
			return (v);
	}
	return (NULL);
}

static void
output_quiet_usage(struct output *o, struct output_quiet *q,
    const json_t *usage)
{
	static const char *const input[] = { "inputTokens", "input_tokens",
	    NULL };
	static const char *const output[] = { "outputTokens", "output_tokens",
	    NULL };
	static const char *const cread[] = { "cachedReadTokens",
	    "cacheReadInputTokens", "cache_read_input_tokens", NULL };
	static const char *const cwrite[] = { "cachedWriteTokens",
	    "cacheCreationInputTokens", "cache_creation_input_tokens", NULL };
	static const char *const total[] = { "totalTokens", "total_tokens",
	    NULL };
	static const struct {
		const char		 *label;
		const char *const	 *keys;
	} fields[] = {
		{ "input", input }, { "output", output },
		{ "cache_read", cread }, { "cache_write", cwrite },
		{ "total", total }
	};
	const json_t	*v;
	size_t		 i;
	int		 any = 0;

	if (!json_is_object(usage))
		return;
	buf_reset(&q->line);
	buf_adds(&q->line, "[acpx] tokens:");
	for (i = 0; i < nitems(fields); i++) {
		if ((v = output_quiet_first_number(usage, fields[i].keys)) ==
		    NULL)
			continue;
		buf_printf(&q->line, " %s=", fields[i].label);
		output_quiet_number(&q->line, v);
		any = 1;
	}
	if (!any)
		return;
	buf_addc(&q->line, '\n');
	output_err(o, q->line.p, q->line.len);
}

static void
output_quiet_cost(struct output *o, struct output_quiet *q, const json_t *cost)
{
	static const char *const amount_keys[] = { "amount", "value", "total",
	    NULL };
	const json_t	*amount, *cur;
	const char	*s;
	size_t		 n;

	buf_reset(&q->line);
	if (json_is_integer(cost) || (json_is_real(cost) &&
	    isfinite(json_real_value(cost)))) {
		buf_adds(&q->line, "[acpx] cost: ");
		output_quiet_number(&q->line, cost);
	} else if (json_is_string(cost)) {
		s = json_string_value(cost);
		n = json_string_length(cost);
		js_trim(&s, &n);
		if (n == 0)
			return;
		buf_adds(&q->line, "[acpx] cost: ");
		buf_add(&q->line, s, n);
	} else if (json_is_object(cost)) {
		amount = output_quiet_first_number(cost, amount_keys);
		if (amount == NULL)
			return;
		buf_adds(&q->line, "[acpx] cost: ");
		output_quiet_number(&q->line, amount);
		cur = json_object_get(cost, "currency");
		if (json_is_string(cur)) {
			s = json_string_value(cur);
			n = json_string_length(cur);
			js_trim(&s, &n);
			if (n > 0) {
				buf_addc(&q->line, ' ');
				buf_add(&q->line, s, n);
			}
		}
	} else
		return;
	buf_addc(&q->line, '\n');
	output_err(o, q->line.p, q->line.len);
}

static void
output_quiet_message(struct output *o, void *arg, const json_t *msg,
    enum output_dir dir)
{
	struct output_quiet	*q = arg;
	const json_t		*notice, *result;
	struct acp_update	 ev;

	if ((notice = output_msg_permission_notice(msg)) != NULL) {
		buf_reset(&q->line);
		buf_adds(&q->line, "[acpx] permission: ");
		output_quiet_oneline(&q->line, json_string_value(notice),
		    json_string_length(notice));
		buf_addc(&q->line, '\n');
		output_err(o, q->line.p, q->line.len);
		return;
	}
	if (output_msg_session_update(msg, &ev) &&
	    ev.kind == ACP_UPDATE_AGENT_MESSAGE_CHUNK && ev.text != NULL) {
		if (!q->finished)
			buf_add(&q->text, ev.text, ev.text_len);
		return;
	}
	if (output_msg_stop_reason(msg) != NULL) {
		if (!q->finished) {
			q->finished = 1;
			output_quiet_flush_text(o, q, 1);
		}
		if (q->metadata)
			return;
		q->metadata = 1;
		result = json_object_get(msg, "result");
		output_quiet_usage(o, q, json_object_get(result, "usage"));
		output_quiet_cost(o, q, json_object_get(result, "cost"));
	}
}

/* "[acpx] error: CODE[ DETAIL] message" (ACP data.details preferred). */
static void
output_quiet_error(struct output *o, void *arg, const struct acpx_error *err)
{
	struct output_quiet	*q = arg;
	const json_t		*data, *details;
	const char		*s = err->message;
	size_t			 n = strlen(err->message), dn;

	output_quiet_flush_text(o, q, 0);
	data = err->acp != NULL ? json_object_get(err->acp, "data") : NULL;
	details = json_is_object(data) ? json_object_get(data, "details") :
	    NULL;
	if (json_is_string(details)) {
		const char	*ds = json_string_value(details);

		dn = json_string_length(details);
		js_trim(&ds, &dn);
		if (dn > 0) {
			s = ds;
			n = dn;
		}
	}
	buf_reset(&q->line);
	buf_printf(&q->line, "[acpx] error: %s", acpx_error_code_name(err->code));
	if (err->detail_code != NULL)
		buf_printf(&q->line, " %s", err->detail_code);
	buf_addc(&q->line, ' ');
	output_quiet_oneline(&q->line, s, n);
	buf_addc(&q->line, '\n');
	output_err(o, q->line.p, q->line.len);
}

static void
output_quiet_turn_end(struct output *o, void *arg)
{
	output_quiet_flush_text(o, arg, 0);
}

const struct output_renderer output_quiet_renderer = {
	output_quiet_create,
	output_quiet_free,
	output_quiet_message,
	output_quiet_error,
	output_quiet_turn_end,
	output_quiet_error
};
