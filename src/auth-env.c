#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth-env.h"
#include "secrets.h"
#include "xmalloc.h"

/*
 * Credentials for ACP authentication: lookup by method id and the agent's
 * environment. Values are copied into the child's environment only.
 */

extern char	**environ;

#define AUTH_PREFIX	"ACPX_AUTH_"

static int
blank(const char *s)
{
	return (s == NULL || strspn(s, " \t\r\n\f\v") == strlen(s));
}

/* Method id → env token. Caller owns. */
char *
auth_env_token(const char *id)
{
	char	*t = xmalloc(strlen(id) + 1), *o = t;
	int	 sep = 0;

	while (isspace((unsigned char)*id))
		id++;
	for (; *id != '\0'; id++) {
		if (isalnum((unsigned char)*id)) {
			if (sep && o != t)
				*o++ = '_';
			sep = 0;
			*o++ = (char)toupper((unsigned char)*id);
		} else
			sep = 1;
	}
	*o = '\0';
	return (t);
}

/* "env", "config" or NULL: where method_id's credential comes from. */
const char *
auth_env_source(const char *method_id, const json_t *auth)
{
	char		*tok = auth_env_token(method_id), *var;
	const char	*v, *src = NULL;

	if (*tok != '\0') {
		xasprintf(&var, AUTH_PREFIX "%s", tok);
		v = getenv(var);
		free(var);
		if (!blank(v))
			src = "env";
	}
	if (src == NULL && json_is_object(auth)) {
		v = json_string_value(json_object_get(auth, method_id));
		if (v == NULL)
			v = json_string_value(json_object_get(auth, tok));
		if (!blank(v))
			src = "config";
	}
	free(tok);
	return (src);
}

/* Index of name in env (n entries), or -1. */
static int
env_find(char **env, size_t n, const char *name)
{
	size_t	len = strlen(name), i;

	for (i = 0; i < n; i++) {
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return ((int)i);
	}
	return (-1);
}

static void
env_set_missing(char ***env, size_t *n, size_t *cap, const char *name,
    const char *value)
{
	if (*name == '\0' || strchr(name, '=') != NULL ||
	    env_find(*env, *n, name) != -1)
		return;
	if (*n + 2 > *cap) {
		*cap = *cap * 2 + 8;
		*env = xreallocarray(*env, *cap, sizeof **env);
	}
	xasprintf(&(*env)[(*n)++], "%s=%s", name, value);
	(*env)[*n] = NULL;
}

/* Does entry ("NAME=VALUE") name one of names, or one of entries' names? */
static int
env_listed(const char *entry, char *const *names, int entries)
{
	size_t		 len;
	const char	*eq;

	if ((eq = strchr(entry, '=')) == NULL)
		return (0);
	len = (size_t)(eq - entry);
	for (; names != NULL && *names != NULL; names++) {
		if (strncmp(*names, entry, len) == 0 && (*names)[len] ==
		    (entries ? '=' : '\0'))
			return (1);
	}
	return (0);
}

/* The agent's environment with the launch's changes and credentials added. */
char **
auth_env_build(const json_t *auth, char *const *unset, char *const *add)
{
	char		**env, *tok, *name, *var;
	size_t		  n = 0, cap, i, base, nenv = 0;
	const char	 *key, *eq;
	json_t		 *v;

	while (environ[nenv] != NULL)
		nenv++;
	for (i = 0; add != NULL && add[i] != NULL; i++)
		;
	cap = nenv + i + 8;
	env = xcalloc(cap, sizeof *env);
	for (i = 0; i < nenv; i++) {
		if (env_listed(environ[i], unset, 0) ||
		    env_listed(environ[i], add, 1))
			continue;
		env[n++] = xstrdup(environ[i]);
	}
	for (i = 0; add != NULL && add[i] != NULL; i++) {
		if (strchr(add[i], '=') != NULL)
			env[n++] = xstrdup(add[i]);
	}
	base = n;
	for (i = 0; i < base; i++) {
		if (strncmp(env[i], AUTH_PREFIX, strlen(AUTH_PREFIX)) != 0 ||
		    (eq = strchr(env[i], '=')) == NULL || blank(eq + 1))
			continue;
		name = xstrndup(env[i] + strlen(AUTH_PREFIX),
		    (size_t)(eq - env[i]) - strlen(AUTH_PREFIX));
		tok = auth_env_token(name);
		var = xstrdup(eq + 1);
		env_set_missing(&env, &n, &cap, tok, var);
		free(var);
		free(tok);
		free(name);
	}
	if (json_is_object(auth)) {
		json_object_foreach((json_t *)auth, key, v) {
			const char *cred = json_string_value(v);

			if (blank(cred))
				continue;
			env_set_missing(&env, &n, &cap, key, cred);
			tok = auth_env_token(key);
			if (*tok != '\0') {
				xasprintf(&var, AUTH_PREFIX "%s", tok);
				env_set_missing(&env, &n, &cap, var, cred);
				env_set_missing(&env, &n, &cap, tok, cred);
				free(var);
			}
			free(tok);
		}
	}
	env[n] = NULL;
	return (env);
}

void
auth_env_free(char **env)
{
	size_t	i;

	for (i = 0; env != NULL && env[i] != NULL; i++) {
		secrets_wipe(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
}
