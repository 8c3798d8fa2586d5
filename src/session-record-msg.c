#include <config.h>

#include <sys/types.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "session-record-impl.h"

/*
 * Validation of a record's messages as the reference's parse.ts does: user
 * and agent content blocks, tool results, one message.
 */

/* ---------------------------------------------------------- conversation */

static int
record_valid_image(const json_t *v)
{
	const json_t	*size;

	if (!json_is_object(v) || !json_is_string(json_object_get(v, "source")))
		return (0);
	size = json_object_get(v, "size");
	if (size == NULL || json_is_null(size))
		return (1);
	return (json_is_object(size) &&
	    json_is_number(json_object_get(size, "width")) &&
	    isfinite(json_number_value(json_object_get(size, "width"))) &&
	    json_is_number(json_object_get(size, "height")) &&
	    isfinite(json_number_value(json_object_get(size, "height"))));
}

static int
record_opt_string_ok(const json_t *v)
{
	return (v == NULL || json_is_null(v) || json_is_string(v));
}

static int
record_valid_user_content(const json_t *v)
{
	const json_t	*m;

	if (!json_is_object(v))
		return (0);
	if (json_is_string(json_object_get(v, "Text")))
		return (1);
	if ((m = json_object_get(v, "Mention")) != NULL)
		return (json_is_object(m) && json_is_string(json_object_get(m,
		    "uri")) && json_is_string(json_object_get(m, "content")));
	if ((m = json_object_get(v, "Image")) != NULL)
		return (record_valid_image(m));
	if ((m = json_object_get(v, "Audio")) != NULL)
		return (json_is_object(m) && json_is_string(json_object_get(m,
		    "source")) && json_is_string(json_object_get(m, "mime_type")));
	return (0);
}

static int
record_valid_agent_content(const json_t *v)
{
	const json_t	*m;

	if (!json_is_object(v))
		return (0);
	if (json_is_string(json_object_get(v, "Text")))
		return (1);
	if ((m = json_object_get(v, "Thinking")) != NULL)
		return (json_is_object(m) && json_is_string(json_object_get(m,
		    "text")) && record_opt_string_ok(json_object_get(m,
		    "signature")));
	if (json_is_string(json_object_get(v, "RedactedThinking")))
		return (1);
	if ((m = json_object_get(v, "ToolUse")) != NULL)
		return (json_is_object(m) &&
		    json_is_string(json_object_get(m, "id")) &&
		    json_is_string(json_object_get(m, "name")) &&
		    json_is_string(json_object_get(m, "raw_input")) &&
		    json_object_get(m, "input") != NULL &&
		    json_is_boolean(json_object_get(m, "is_input_complete")) &&
		    record_opt_string_ok(json_object_get(m,
		    "thought_signature")));
	return (0);
}

static int
record_valid_tool_result(const json_t *v)
{
	const json_t	*c;

	if (!json_is_object(v) ||
	    !json_is_string(json_object_get(v, "tool_use_id")) ||
	    !json_is_string(json_object_get(v, "tool_name")) ||
	    !json_is_boolean(json_object_get(v, "is_error")))
		return (0);
	c = json_object_get(v, "content");
	if (!json_is_object(c))
		return (0);
	if (json_is_string(json_object_get(c, "Text")))
		return (1);
	if (json_object_get(c, "Image") != NULL)
		return (record_valid_image(json_object_get(c, "Image")));
	return (0);
}

int
session_record_valid_message(const json_t *m)
{
	const json_t	*u, *e, *tr;
	const char	*k;
	size_t		 i;

	if (json_is_string(m))
		return (strcmp(json_string_value(m), "Resume") == 0);
	if (!json_is_object(m))
		return (0);
	if ((u = json_object_get(m, "User")) != NULL) {
		if (!json_is_object(u) || !json_is_string(json_object_get(u,
		    "id")) || !json_is_array(json_object_get(u, "content")))
			return (0);
		json_array_foreach(json_object_get(u, "content"), i, e) {
			if (!record_valid_user_content(e))
				return (0);
		}
		return (1);
	}
	if ((u = json_object_get(m, "Agent")) != NULL) {
		if (!json_is_object(u) || !json_is_array(json_object_get(u,
		    "content")))
			return (0);
		json_array_foreach(json_object_get(u, "content"), i, e) {
			if (!record_valid_agent_content(e))
				return (0);
		}
		tr = json_object_get(u, "tool_results");
		if (!json_is_object(tr))
			return (0);
		json_object_foreach((json_t *)tr, k, e) {
			if (!record_valid_tool_result(e))
				return (0);
		}
		return (1);
	}
	return (0);
}
