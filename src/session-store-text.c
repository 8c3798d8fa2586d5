#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "js-json.h"
#include "session-record.h"
#include "session-store-impl.h"
#include "xmalloc.h"

/*
 * The text of a record's save, its messages' part reused from the last
 * save of the same conversation (a warm queue owner saves the same record
 * twice a turn: after the prompt and at the end; a long conversation's
 * messages were most of each save's pretty dump and key check).
 *
 * A message's chunk is its text as an element of the record's messages
 * (JSON.stringify(record, null, 2) writes it two levels deep): "\n" + four
 * spaces + the element. The chunks of the messages at absolute indices
 * [first, first + n) are kept (an absolute index is the record's
 * conv_dropped + the index in messages), under the record's conversation
 * mark; the last message of a save is never kept: it may still change.
 */

static struct {
	unsigned long long	 epoch;		/* 0: nothing kept */
	long long		 first;
	size_t			 n;
	char			**chunk;
	size_t			*len;
} text_kept;

static void
text_forget(void)
{
	size_t	i;

	for (i = 0; i < text_kept.n; i++)
		free(text_kept.chunk[i]);
	free(text_kept.chunk);
	free(text_kept.len);
	memset(&text_kept, 0, sizeof text_kept);
}

/* The chunk of message abs if kept (borrowed), else NULL. */
static const char *
text_chunk(const struct session_record *r, long long abs, size_t *len)
{
	if (r->conv_epoch == 0 || r->conv_epoch != text_kept.epoch ||
	    abs < text_kept.first ||
	    abs >= text_kept.first + (long long)text_kept.n)
		return (NULL);
	*len = text_kept.len[abs - text_kept.first];
	return (text_kept.chunk[abs - text_kept.first]);
}

/* The key policy, the kept messages not checked again. 0 or -1. */
static int
text_check(const struct session_record *r, const json_t *known,
    char **cause)
{
	const json_t	*m;
	json_t		*rest;
	size_t		 i, n = json_array_size(r->messages), len;
	int		 rc = 0;

	if (json_object_get(known, "messages") != r->messages ||
	    text_chunk(r, r->conv_dropped, &len) == NULL)
		return (session_record_check_keys(known, cause));
	rest = json_copy((json_t *)known);	/* shallow */
	json_object_set_new(rest, "messages", json_array());
	if (session_record_check_keys(rest, cause) == -1)
		rc = -1;
	json_decref(rest);
	for (i = 0; rc == 0 && i < n; i++) {
		m = json_array_get(r->messages, i);
		if (text_chunk(r, r->conv_dropped + (long long)i, &len) ==
		    NULL && session_record_check_message_keys(m) == -1)
			rc = -1;
	}
	/* A violation: the whole check says which keys. */
	if (rc == -1 && session_record_check_keys(known, cause) == 0)
		rc = 0;
	return (rc);
}

char *
session_store_text(const struct session_record *r, const json_t *disk,
    const json_t *known, size_t *len, char **cause)
{
	struct buf	 b = BUF_INITIALIZER;
	char		*head, **chunk = NULL, *text;
	size_t		*clen = NULL, at, n, i, keep, l;
	const char	*c;
	long long	 abs;

	if (text_check(r, known, cause) == -1)
		return (NULL);
	head = js_json_dumps_at(disk, 2, 0, r->messages, &at);
	if (at == (size_t)-1) {
		/* No messages where expected: the plain dump, nothing kept. */
		free(head);
		text_forget();
		head = js_json_dumps(disk, 2);
		xasprintf(&text, "%s\n", head);
		free(head);
		*len = strlen(text);
		return (text);
	}
	n = json_array_size(r->messages);
	keep = n > 0 ? n - 1 : 0;
	if (keep > 0) {
		chunk = xreallocarray(NULL, keep, sizeof *chunk);
		clen = xreallocarray(NULL, keep, sizeof *clen);
	}
	(void)buf_reserve(&b, strlen(head) + 64 * n + 16);
	buf_add(&b, head, at);
	if (n == 0)
		buf_add(&b, "[]", 2);
	else
		buf_addc(&b, '[');
	for (i = 0; i < n; i++) {
		abs = r->conv_dropped + (long long)i;
		if (i > 0)
			buf_addc(&b, ',');
		if ((c = text_chunk(r, abs, &l)) != NULL) {
			buf_add(&b, c, l);
			if (i < keep) {
				chunk[i] = text_kept.chunk[abs -
				    text_kept.first];
				text_kept.chunk[abs - text_kept.first] = NULL;
				clen[i] = l;
			}
			continue;
		}
		text = js_json_dumps_at(json_array_get(r->messages, i), 2, 2,
		    NULL, NULL);
		buf_add(&b, "\n    ", 5);
		buf_add(&b, text, strlen(text));
		if (i < keep) {
			xasprintf(&chunk[i], "\n    %s", text);
			clen[i] = strlen(chunk[i]);
		}
		free(text);
	}
	if (n > 0)
		buf_add(&b, "\n  ]", 4);
	buf_add(&b, head + at, strlen(head + at));
	buf_addc(&b, '\n');
	free(head);
	text_forget();
	if (r->conv_epoch != 0 && keep > 0) {
		text_kept.epoch = r->conv_epoch;
		text_kept.first = r->conv_dropped;
		text_kept.n = keep;
		text_kept.chunk = chunk;
		text_kept.len = clen;
	} else {
		for (i = 0; i < keep; i++)
			free(chunk[i]);
		free(chunk);
		free(clen);
	}
	*len = b.len;
	return (buf_take(&b));
}
