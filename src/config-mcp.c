#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "config-file.h"
#include "config-impl.h"
#include "js-json.h"
#include "js.h"
#include "xmalloc.h"

/*
 * The "mcpServers" key of the config files (and the --mcp-config file):
 * each server validated and normalised with the reference's messages.
 */

/* json_string of the trimmed value. */
static json_t *
config_mcp_trimmed(const json_t *v)
{
	char	*t = js_trim_dup(json_string_value(v));
	json_t	*s = json_string_nocheck(t);

	free(t);
	return (s);
}

/* parseNonEmptyString(): the trimmed string, or NULL and an error. */
static json_t *
config_mcp_nonempty(const json_t *v, const char *path, char **cause)
{
	if (!json_is_string(v) || js_blank(json_string_value(v))) {
		xasprintf(cause, "Invalid %s: expected non-empty string", path);
		return (NULL);
	}
	return (config_mcp_trimmed(v));
}

static int
config_mcp_string(const json_t *v, const char *path, char **cause)
{
	if (!json_is_string(v)) {
		xasprintf(cause, "Invalid %s: expected string", path);
		return (-1);
	}
	return (0);
}

static json_t *
config_mcp_pairs(const json_t *v, const char *path, char **cause)
{
	json_t	*out, *e;
	char	*sub;
	size_t	 i;

	out = json_array();
	if (config_nullish(v))
		return (out);
	if (!json_is_array(v)) {
		xasprintf(cause, "Invalid %s: expected array", path);
		goto fail;
	}
	json_array_foreach(v, i, e) {
		if (!config_is_object(e)) {
			xasprintf(cause, "Invalid %s[%zu]: expected object", path, i);
			goto fail;
		}
		xasprintf(&sub, "%s[%zu].name", path, i);
		if (!json_is_string(json_object_get(e, "name")) ||
		    js_blank(json_string_value(json_object_get(e, "name")))) {
			xasprintf(cause, "Invalid %s: expected non-empty string",
			    sub);
			free(sub);
			goto fail;
		}
		free(sub);
		xasprintf(&sub, "%s[%zu].value", path, i);
		if (config_mcp_string(json_object_get(e, "value"), sub,
		    cause) == -1) {
			free(sub);
			goto fail;
		}
		free(sub);
		json_array_append_new(out, json_pack("{s:o, s:O}", "name",
		    config_mcp_trimmed(json_object_get(e, "name")), "value",
		    json_object_get(e, "value")));
	}
	return (out);
fail:
	json_decref(out);
	return (NULL);
}

static json_t *
config_mcp_server(const json_t *raw, const char *path, char **cause)
{
	json_t		*srv = NULL, *name, *meta, *type, *t, *x, *args, *e;
	const char	*ts = "stdio";
	char		*sub;
	size_t		 i;

	if (!config_is_object(raw)) {
		xasprintf(cause, "Invalid %s: expected object", path);
		return (NULL);
	}
	xasprintf(&sub, "%s.name", path);
	name = config_mcp_nonempty(json_object_get(raw, "name"), sub, cause);
	free(sub);
	if (name == NULL)
		return (NULL);
	meta = json_object_get(raw, "_meta");
	if (meta != NULL && !json_is_null(meta) && !config_is_object(meta)) {
		xasprintf(cause, "Invalid %s._meta: expected object or null",
		    path);
		goto fail;
	}
	type = json_object_get(raw, "type");
	if (type != NULL) {
		xasprintf(&sub, "%s.type", path);
		if (!json_is_string(type) ||
		    js_blank(json_string_value(type))) {
			xasprintf(cause, "Invalid %s: expected non-empty string",
			    sub);
			free(sub);
			goto fail;
		}
		free(sub);
		t = config_mcp_trimmed(type);
		ts = json_string_value(t);
		if (strcmp(ts, "http") != 0 && strcmp(ts, "sse") != 0 &&
		    strcmp(ts, "stdio") != 0) {
			json_decref(t);
			xasprintf(cause, "Invalid %s.type: expected http, sse, "
			    "or stdio", path);
			goto fail;
		}
		ts = strcmp(ts, "http") == 0 ? "http" :
		    strcmp(ts, "sse") == 0 ? "sse" : "stdio";
		json_decref(t);
	}
	if (strcmp(ts, "stdio") != 0) {
		srv = json_pack("{s:s, s:O}", "type", ts, "name", name);
		xasprintf(&sub, "%s.url", path);
		t = config_mcp_nonempty(json_object_get(raw, "url"), sub, cause);
		free(sub);
		if (t == NULL)
			goto fail;
		json_object_set_new(srv, "url", t);
		xasprintf(&sub, "%s.headers", path);
		x = config_mcp_pairs(json_object_get(raw, "headers"), sub, cause);
		free(sub);
		if (x == NULL)
			goto fail;
		json_object_set_new(srv, "headers", x);
	} else {
		srv = json_pack("{s:O}", "name", name);
		xasprintf(&sub, "%s.command", path);
		t = config_mcp_nonempty(json_object_get(raw, "command"), sub,
		    cause);
		free(sub);
		if (t == NULL)
			goto fail;
		json_object_set_new(srv, "command", t);
		args = json_object_get(raw, "args");
		x = json_array();
		json_object_set_new(srv, "args", x);
		if (!config_nullish(args)) {
			xasprintf(&sub, "%s.args", path);
			if (!json_is_array(args)) {
				xasprintf(cause, "Invalid %s: expected array", sub);
				free(sub);
				goto fail;
			}
			json_array_foreach(args, i, e) {
				char *item;

				xasprintf(&item, "%s[%zu]", sub, i);
				if (config_mcp_string(e, item, cause) == -1) {
					free(item);
					free(sub);
					goto fail;
				}
				free(item);
				json_array_append(x, e);
			}
			free(sub);
		}
		xasprintf(&sub, "%s.env", path);
		x = config_mcp_pairs(json_object_get(raw, "env"), sub, cause);
		free(sub);
		if (x == NULL)
			goto fail;
		json_object_set_new(srv, "env", x);
	}
	if (meta != NULL)
		json_object_set(srv, "_meta", meta);
	json_decref(name);
	return (srv);
fail:
	json_decref(srv);
	json_decref(name);
	return (NULL);
}

/* parseMcpServers(value, sourcePath). */
json_t *
config_mcp_servers(const json_t *v, const char *path, char **cause)
{
	json_t	*out, *srv, *e;
	char	*sub;
	size_t	 i;

	if (!json_is_array(v)) {
		xasprintf(cause, "Invalid mcpServers in %s: expected array", path);
		return (NULL);
	}
	out = json_array();
	json_array_foreach(v, i, e) {
		xasprintf(&sub, "mcpServers[%zu] in %s", i, path);
		srv = config_mcp_server(e, sub, cause);
		free(sub);
		if (srv == NULL) {
			json_decref(out);
			return (NULL);
		}
		json_array_append_new(out, srv);
	}
	return (out);
}

