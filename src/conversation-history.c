#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "conversation.h"
#include "jget.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * The history previews `sessions history` and `read` print: one entry
 * per User or Agent message, its parts joined by spaces, trimmed.
 */


static void
conv_join(char **acc, const char *part)
{
	char	*t;

	if (*acc == NULL) {
		*acc = xstrdup(part);
		return;
	}
	xasprintf(&t, "%s %s", *acc, part);
	free(*acc);
	*acc = t;
}

/* History entries of the record's messages. */
struct conversation_entry *
conversation_entries(const struct session_record *r, size_t *np)
{
	struct conversation_entry	*v = NULL;
	const json_t			*m, *body, *c, *in;
	char				*acc, *text, *tmp;
	const char			*role, *s;
	size_t				 i, j, n = 0;

	json_array_foreach(r->messages, i, m) {
		acc = NULL;
		if ((body = json_object_get(m, "User")) != NULL) {
			role = "user";
			json_array_foreach(json_object_get(body, "content"), j, c) {
				tmp = NULL;
				if ((s = jget_str(c, "Text")) != NULL)
					;
				else if ((in = json_object_get(c, "Mention")) !=
				    NULL)
					s = jget_str(in, "content");
				else if ((in = json_object_get(c, "Image")) != NULL)
					s = jget_str(in, "source") != NULL &&
					    *jget_str(in, "source") != '\0' ?
					    jget_str(in, "source") : "[image]";
				else if ((in = json_object_get(c, "Audio")) != NULL) {
					s = jget_str(in, "mime_type");
					xasprintf(&tmp, "[audio] %s", s != NULL &&
					    *s != '\0' ? s : "audio");
					s = tmp;
				}
				conv_join(&acc, s != NULL ? s : "");
				free(tmp);
			}
		} else if ((body = json_object_get(m, "Agent")) != NULL) {
			role = "assistant";
			json_array_foreach(json_object_get(body, "content"), j, c) {
				tmp = NULL;
				if ((s = jget_str(c, "Text")) != NULL)
					;
				else if ((in = json_object_get(c, "Thinking")) !=
				    NULL)
					s = jget_str(in, "text");
				else if (json_object_get(c, "RedactedThinking") !=
				    NULL)
					s = "[redacted_thinking]";
				else if ((in = json_object_get(c, "ToolUse")) !=
				    NULL) {
					xasprintf(&tmp, "[tool:%s]",
					    jget_str(in, "name") != NULL ?
					    jget_str(in, "name") : "undefined");
					s = tmp;
				}
				conv_join(&acc, s != NULL ? s : "");
				free(tmp);
			}
		} else
			continue;
		text = session_record_trim(acc);
		free(acc);
		if (text == NULL)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n].role = role;
		v[n].text = text;
		n++;
	}
	*np = n;
	return (v);
}

void
conversation_entries_free(struct conversation_entry *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

