#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "cli-validate.h"
#include "js.h"
#include "xmalloc.h"

/*
 * The option-argument and argument validators of the command line, with
 * the reference's messages (its parse* functions): enumerations, numbers
 * of seconds and counts (JavaScript Number() and Math.round() semantics),
 * non-empty strings, --config-option pairs and --before dates.
 */

#define CLI_MAX_TIMER_MS	2147483647.0

/* ------------------------------------------------------------ numbers */

static int
cli_is_integer(double d)
{
	return (isfinite(d) && js_floor(d) == d);
}

/* --------------------------------------------------------- validators */

/* parseOutputFormat(). */
int
cli_validate_format(const char *v, const json_t *prev, json_t **out, char **msg)
{
	if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0 &&
	    strcmp(v, "quiet") != 0) {
		xasprintf(msg, "Invalid format \"%s\". Expected one of: text, "
		    "json, quiet", v);
		return (-1);
	}
	*out = json_string(v);
	return (0);
}

int
cli_validate_auth(const char *v, const json_t *prev, json_t **out, char **msg)
{
	if (strcmp(v, "skip") != 0 && strcmp(v, "fail") != 0) {
		xasprintf(msg, "Invalid auth policy \"%s\". Expected one of: "
		    "skip, fail", v);
		return (-1);
	}
	*out = json_string(v);
	return (0);
}

int
cli_validate_nonint(const char *v, const json_t *prev, json_t **out, char **msg)
{
	if (strcmp(v, "deny") != 0 && strcmp(v, "fail") != 0) {
		xasprintf(msg, "Invalid non-interactive permission policy \"%s\". "
		    "Expected one of: deny, fail", v);
		return (-1);
	}
	*out = json_string(v);
	return (0);
}

/* parseTimeoutSeconds(): milliseconds. */
int
cli_validate_timeout(const char *v, const json_t *prev, json_t **out, char **msg)
{
	double	d, ms;

	if (js_number(v, &d) == -1 || !isfinite(d) || d <= 0) {
		*msg = xstrdup("Timeout must be a positive number of seconds");
		return (-1);
	}
	ms = js_round(d * 1000);
	if (ms < 1)
		ms = 1;
	if (ms > CLI_MAX_TIMER_MS) {
		*msg = xstrdup("Timeout exceeds the maximum supported timer "
		    "delay");
		return (-1);
	}
	*out = json_integer((json_int_t)ms);
	return (0);
}

/* parseTtlSeconds(): milliseconds. */
int
cli_validate_ttl(const char *v, const json_t *prev, json_t **out, char **msg)
{
	double	d, ms;

	if (js_number(v, &d) == -1 || !isfinite(d) || d < 0) {
		*msg = xstrdup("TTL must be a non-negative number of seconds");
		return (-1);
	}
	if (d == 0)
		ms = 0;
	else {
		ms = js_round(d * 1000);
		if (ms < 1)
			ms = 1;
	}
	if (ms > CLI_MAX_TIMER_MS) {
		*msg = xstrdup("TTL exceeds the maximum supported timer delay");
		return (-1);
	}
	*out = json_integer((json_int_t)ms);
	return (0);
}

static int
cli_positive(const char *v, json_t **out, char **msg, const char *what)
{
	double	d;

	if (js_number(v, &d) == -1 || !cli_is_integer(d) || d <= 0) {
		*msg = xstrdup(what);
		return (-1);
	}
	*out = json_integer((json_int_t)d);
	return (0);
}

int
cli_validate_max_turns(const char *v, const json_t *prev, json_t **out,
    char **msg)
{
	return (cli_positive(v, out, msg,
	    "Max turns must be a positive integer"));
}

int
cli_validate_limit(const char *v, const json_t *prev, json_t **out, char **msg)
{
	return (cli_positive(v, out, msg,
	    "Limit must be a positive integer"));
}

int
cli_validate_days(const char *v, const json_t *prev, json_t **out, char **msg)
{
	return (cli_positive(v, out, msg,
	    "--older-than must be a positive integer number of days"));
}

int
cli_validate_retries(const char *v, const json_t *prev, json_t **out, char **msg)
{
	double	d;

	if (js_number(v, &d) == -1 || !cli_is_integer(d) || d < 0) {
		*msg = xstrdup("Prompt retries must be a non-negative integer");
		return (-1);
	}
	*out = json_integer((json_int_t)d);
	return (0);
}

/* parseAllowedTools(). */
int
cli_validate_tools(const char *v, const json_t *prev, json_t **out, char **msg)
{
	char	*t, *p, *comma, *item;
	json_t	*list;

	t = js_trim_dup(v);
	list = json_array();
	if (*t == '\0') {
		free(t);
		*out = list;
		return (0);
	}
	for (p = t;; p = comma + 1) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma = '\0';
		item = js_trim_dup(p);
		if (*item == '\0') {
			free(item);
			free(t);
			json_decref(list);
			*msg = xstrdup("Allowed tools must be a comma-separated "
			    "list without empty entries");
			return (-1);
		}
		json_array_append_new(list, json_string(item));
		free(item);
		if (comma == NULL)
			break;
	}
	free(t);
	*out = list;
	return (0);
}

/* parseNonEmptyValue(label, value). */
static int
cli_nonempty(const char *v, json_t **out, char **msg, const char *label)
{
	char	*t = js_trim_dup(v);

	if (*t == '\0') {
		free(t);
		xasprintf(msg, "%s must not be empty", label);
		return (-1);
	}
	*out = json_string(t);
	free(t);
	return (0);
}

#define CLI_NONEMPTY(fn, label)						\
int								\
fn(const char *v, const json_t *prev, json_t **out, char **msg)	\
{									\
	return (cli_nonempty(v, out, msg, label));			\
}
CLI_NONEMPTY(cli_validate_session, "Session name")
CLI_NONEMPTY(cli_validate_system_prompt, "System prompt")
CLI_NONEMPTY(cli_validate_append_prompt, "Append system prompt")
CLI_NONEMPTY(cli_validate_cursor, "Cursor")
CLI_NONEMPTY(cli_validate_filter_cwd, "Filter cwd")
CLI_NONEMPTY(cli_validate_resume, "Resume session id")
CLI_NONEMPTY(cli_validate_output, "Output path")
CLI_NONEMPTY(cli_validate_source_cwd, "Session cwd")
CLI_NONEMPTY(cli_validate_archive, "Archive path")
CLI_NONEMPTY(cli_validate_dest_cwd, "Imported session cwd")
CLI_NONEMPTY(cli_validate_mode, "Mode")
CLI_NONEMPTY(cli_validate_config_key, "Config option key")
CLI_NONEMPTY(cli_validate_config_value, "Config option value")
CLI_NONEMPTY(cli_validate_default_agent, "Default agent")
CLI_NONEMPTY(cli_validate_prompt_file, "Prompt file")

/* --config-option key=value, collected into an array of "key=value". */
int
cli_validate_config_option(const char *v, const json_t *prev, json_t **out,
    char **msg)
{
	const char	*eq = strchr(v, '=');
	char		*k, *key, *val, *kv;
	size_t		 len = strlen(v);

	if (eq == NULL || eq == v || (size_t)(eq - v) == len - 1)
		goto bad;
	k = xstrndup(v, (size_t)(eq - v));
	key = js_trim_dup(k);
	val = js_trim_dup(eq + 1);
	free(k);
	if (*key == '\0' || *val == '\0') {
		free(key);
		free(val);
		goto bad;
	}
	*out = json_is_array(prev) ? json_copy((json_t *)prev) : json_array();
	xasprintf(&kv, "%s=%s", key, val);
	json_array_append_new(*out, json_string(kv));
	free(kv);
	free(key);
	free(val);
	return (0);
bad:
	*msg = xstrdup("Session config option must use \"<key>=<value>\" with "
	    "non-empty parts");
	return (-1);
}

int
cli_validate_shell(const char *v, const json_t *prev, json_t **out, char **msg)
{
	if (strcmp(v, "bash") != 0 && strcmp(v, "zsh") != 0 &&
	    strcmp(v, "fish") != 0) {
		*msg = xstrdup("Shell must be one of: bash, zsh, fish");
		return (-1);
	}
	*out = json_string(v);
	return (0);
}
