#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cmdline.h"
#include "config-file.h"
#include "jget.h"
#include "js-json.h"
#include "js.h"
#include "node-fs.h"
#include "prompt-input.h"
#include "xmalloc.h"

/*
 * Prompt input, as the reference's cli/prompt-input.ts and
 * prompt-content.ts: the same sources in the same order, the same
 * structured-prompt validation and the same messages.
 */

/* A string whose trimmed value is non-empty. */
static int
prompt_nonempty(const json_t *v)
{
	return (json_is_string(v) && !js_blank(json_string_value(v)));
}

/* /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/ */
static int
prompt_base64(const char *s, size_t len)
{
	size_t	pad = 0, i;

	if (len == 0 || len % 4 != 0)
		return (0);
	while (pad < len && s[len - 1 - pad] == '=')
		pad++;
	if (pad > 2)
		return (0);
	for (i = 0; i < len - pad; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '+' || s[i] == '/'))
			return (0);
	}
	return (1);
}

/* /^<kind>\/[A-Za-z0-9.+-]+$/i */
static int
prompt_mime(const char *s, const char *kind)
{
	size_t	n = strlen(kind);

	if (strncasecmp(s, kind, n) != 0 || s[n] != '/' || s[n + 1] == '\0')
		return (0);
	for (s += n + 1; *s != '\0'; s++) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '+' ||
		    *s == '-'))
			return (0);
	}
	return (1);
}

static int
prompt_data(const json_t *v)
{
	return (json_is_string(v) && prompt_base64(json_string_value(v),
	    json_string_length(v)));
}

/* isResourcePayload(). */
static int
prompt_resource_payload(const json_t *r)
{
	return (json_is_object(r) && prompt_nonempty(json_object_get(r, "uri")) &&
	    (json_is_string(json_object_get(r, "text")) ||
	    json_is_string(json_object_get(r, "blob"))));
}

/* isContentBlock(): one of the five validators accepts it. */
static int
prompt_is_block(const json_t *b)
{
	const char	*type = jget_str(b, "type");
	const json_t	*mime, *title;

	if (!json_is_object(b) || type == NULL)
		return (0);
	if (strcmp(type, "text") == 0)
		return (json_is_string(json_object_get(b, "text")));
	if (strcmp(type, "image") == 0 || strcmp(type, "audio") == 0) {
		mime = json_object_get(b, "mimeType");
		return (prompt_nonempty(mime) &&
		    prompt_mime(json_string_value(mime), type) &&
		    prompt_data(json_object_get(b, "data")));
	}
	if (strcmp(type, "resource_link") == 0) {
		title = json_object_get(b, "title");
		return (prompt_nonempty(json_object_get(b, "uri")) &&
		    (title == NULL || json_is_null(title) ||
		    json_is_string(title)) &&
		    json_is_string(json_object_get(b, "name")));
	}
	if (strcmp(type, "resource") == 0)
		return (prompt_resource_payload(json_object_get(b, "resource")));
	return (0);
}

/* getContentBlockValidationError(): the message for block i, or NULL. */
static char *
prompt_block_error(const json_t *b, size_t i)
{
	const char	*type = jget_str(b, "type");
	const json_t	*mime, *data, *title, *v;
	char		*msg = NULL, *q;
	int		 media;

	if (!json_is_object(b) || type == NULL) {
		xasprintf(&msg, "prompt[%zu] must be an ACP content block "
		    "object", i);
		return (msg);
	}
	media = strcmp(type, "image") == 0 || strcmp(type, "audio") == 0;
	if (strcmp(type, "text") == 0) {
		if (!json_is_string(json_object_get(b, "text")))
			xasprintf(&msg, "prompt[%zu] text block must include a "
			    "string text field", i);
	} else if (media) {
		mime = json_object_get(b, "mimeType");
		data = json_object_get(b, "data");
		if (!prompt_nonempty(mime))
			xasprintf(&msg, "prompt[%zu] %s block must include a "
			    "non-empty mimeType", i, type);
		else if (!prompt_mime(json_string_value(mime), type))
			xasprintf(&msg, "prompt[%zu] %s block mimeType must "
			    "start with %s/", i, type, type);
		else if (!json_is_string(data) || json_string_length(data) == 0)
			xasprintf(&msg, "prompt[%zu] %s block must include "
			    "non-empty base64 data", i, type);
		else if (!prompt_data(data))
			xasprintf(&msg, "prompt[%zu] %s block data must be "
			    "valid base64", i, type);
	} else if (strcmp(type, "resource_link") == 0) {
		title = json_object_get(b, "title");
		if (!prompt_nonempty(json_object_get(b, "uri")))
			xasprintf(&msg, "prompt[%zu] resource_link block must "
			    "include a non-empty uri", i);
		else if (title != NULL && !json_is_null(title) &&
		    !json_is_string(title))
			xasprintf(&msg, "prompt[%zu] resource_link block title "
			    "must be a string or null when present", i);
		else if (!json_is_string(json_object_get(b, "name")))
			xasprintf(&msg, "prompt[%zu] resource_link block must "
			    "include a string name", i);
	} else if (strcmp(type, "resource") == 0) {
		v = json_object_get(b, "resource");
		if (!json_is_object(v))
			xasprintf(&msg, "prompt[%zu] resource block must include "
			    "a resource object", i);
		else if (!prompt_resource_payload(v))
			xasprintf(&msg, "prompt[%zu] resource block resource "
			    "must include a non-empty uri and a string text or "
			    "blob field", i);
	} else {
		v = json_object_get(b, "type");
		q = js_json_dumps(v, 0);
		xasprintf(&msg, "prompt[%zu] has unsupported content block type "
		    "%s", i, q);
		free(q);
	}
	return (msg);
}

static json_t *
prompt_text_block(const char *text)
{
	json_t	*b;
	char	*fixed;
	size_t	 n;

	/* Text read from a file or stdin is decoded as Node does. */
	fixed = js_utf8_fix(text, strlen(text), &n);
	b = json_pack("[{s:s, s:s}]", "type", "text", "text", fixed);
	free(fixed);
	return (b);
}

/* Parse a prompt source (parsePromptSource()). */
json_t *
prompt_input_parse(const char *text, size_t len, struct acpx_error **err)
{
	json_t	*parsed, *b, *out;
	char	*copy, *trimmed, *cause, *msg;
	size_t	 i;
	int	 ok;

	copy = xstrndup(text, len);
	trimmed = js_trim_dup(copy);
	free(copy);
	if (trimmed[0] == '[' &&
	    (parsed = js_json_parse(trimmed, strlen(trimmed),
	    &cause)) != NULL) {
		ok = 1;
		json_array_foreach(parsed, i, b) {
			if (!prompt_is_block(b))
				ok = 0;
		}
		if (ok) {
			free(trimmed);
			return (parsed);
		}
		msg = NULL;
		json_array_foreach(parsed, i, b) {
			if ((msg = prompt_block_error(b, i)) != NULL)
				break;
		}
		json_decref(parsed);
		free(trimmed);
		*err = acpx_error_new(ACPX_CODE_USAGE, NULL, "cli", "%s",
		    msg != NULL ? msg : "Structured prompt JSON must be an array "
		    "of valid ACP content blocks");
		free(msg);
		return (NULL);
	} else if (trimmed[0] == '[')
		free(cause);
	out = trimmed[0] == '\0' ? json_array() : prompt_text_block(trimmed);
	free(trimmed);
	return (out);
}

/* The positional words joined by single spaces. */
static char *
prompt_words(const struct prompt_input_src *inv)
{
	size_t	 len = 1, i;
	char	*s;

	for (i = 0; i < (size_t)inv->nwords; i++)
		len += strlen(inv->words[i]) + 1;
	s = xcalloc(1, len);
	for (i = 0; i < (size_t)inv->nwords; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, inv->words[i]);
	}
	return (s);
}

/* Read stdin or a file relative to cwd; RUNTIME error with Node's message. */
static int
prompt_read_source(const struct prompt_input_src *inv, const char *file,
    char **text, size_t *len, struct acpx_error **err)
{
	char	*path, *cause;
	int	 err_no, r;

	if (file == NULL || strcmp(file, "-") == 0)
		r = node_fs_read_fd(STDIN_FILENO, text, len, &cause);
	else {
		path = config_path_resolve(inv->cwd, file);
		r = node_fs_read_file(path, text, len, &err_no, &cause);
		free(path);
	}
	if (r == -1) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    cause);
		free(cause);
	}
	return (r);
}

/* The prompt of a command as content blocks. */
json_t *
prompt_input_read(const struct prompt_input_src *inv, struct acpx_error **err)
{
	json_t	*blocks;
	char	*words, *joined, *text;
	size_t	 len;

	words = prompt_words(inv);
	if (inv->file != NULL && *inv->file != '\0') {
		if (prompt_read_source(inv, inv->file, &text, &len, err) == -1) {
			free(words);
			return (NULL);
		}
		blocks = prompt_input_parse(text, len, err);
		free(text);
		if (blocks == NULL) {
			free(words);
			return (NULL);
		}
		joined = js_trim_dup(words);
		if (*joined != '\0') {
			json_t *extra = prompt_text_block(joined);

			json_array_extend(blocks, extra);
			json_decref(extra);
		}
		free(joined);
		free(words);
		if (json_array_size(blocks) == 0) {
			json_decref(blocks);
			*err = acpx_error_new(ACPX_CODE_USAGE, NULL, "cli",
			    "Prompt from --file is empty");
			return (NULL);
		}
		return (blocks);
	}
	joined = js_trim_dup(words);
	free(words);
	if (*joined != '\0') {
		blocks = prompt_text_block(joined);
		free(joined);
		return (blocks);
	}
	free(joined);
	if (isatty(STDIN_FILENO)) {
		*err = acpx_error_new(ACPX_CODE_USAGE, NULL, "cli", "Prompt is "
		    "required (pass as %s, --file, or pipe via stdin)",
		    inv->final_argument ? "final argument" : "argument");
		return (NULL);
	}
	if (prompt_read_source(inv, NULL, &text, &len, err) == -1)
		return (NULL);
	blocks = prompt_input_parse(text, len, err);
	free(text);
	if (blocks == NULL)
		return (NULL);
	if (json_array_size(blocks) == 0) {
		json_decref(blocks);
		*err = acpx_error_new(ACPX_CODE_USAGE, NULL, "cli",
		    "Prompt from stdin is empty");
		return (NULL);
	}
	return (blocks);
}

/* Check block types against the agent's promptCapabilities. */
int
prompt_input_check_caps(const json_t *blocks, const json_t *caps,
    struct acpx_error **err)
{
	const json_t	*pc, *b;
	const char	*type, *cap, *kind;
	size_t		 i;

	pc = caps != NULL ? json_object_get(caps, "promptCapabilities") : NULL;
	json_array_foreach(blocks, i, b) {
		if ((type = jget_str(b, "type")) == NULL)
			continue;
		if (strcmp(type, "image") == 0)
			kind = "image", cap = "image";
		else if (strcmp(type, "audio") == 0)
			kind = "audio", cap = "audio";
		else if (strcmp(type, "resource") == 0)
			kind = "resource", cap = "embeddedContext";
		else
			continue;
		if (json_is_true(json_object_get(pc, cap)))
			continue;
		*err = acpx_error_new(ACPX_CODE_USAGE,
		    "UNSUPPORTED_PROMPT_CONTENT", "acp", "prompt[%zu] %s content "
		    "requires agentCapabilities.promptCapabilities.%s", i, kind,
		    cap);
		return (-1);
	}
	return (0);
}
