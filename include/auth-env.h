/*
 * ACP authentication credentials (spec acpx-cli.md §6.4, acpx-runtime.md
 * §10.1, §10.3): which auth method has a credential (ACPX_AUTH_<TOKEN> in
 * the environment, else config auth[id] or auth[TOKEN]), and the agent's
 * environment, where credentials travel (they are never sent over ACP).
 * Owns the method-id → env-token rule. Credential values are never
 * logged or returned in messages: callers only learn the source.
 */
#ifndef ACPX_AUTH_ENV_H
#define ACPX_AUTH_ENV_H

#include <jansson.h>

/* "api-key" → "API_KEY": trim, non-alnum runs → '_', strip '_', upper. Caller owns. */
char		*auth_env_token(const char *method_id);

/*
 * Does method_id have a credential? Returns "env" or "config" (static
 * strings) or NULL. auth = config's auth object (borrowed, may be NULL).
 */
const char	*auth_env_source(const char *method_id, const json_t *auth);

/*
 * The agent's environment: ours less the names in unset and in add, plus
 * add ("NAME=VALUE" entries of the agent's launch; both lists may be
 * NULL), plus for every non-blank ACPX_AUTH_<X> of ours its <TOKEN(X)> (if
 * unset), plus for every config credential its method id (if a valid name
 * and unset), ACPX_AUTH_<TOKEN> and <TOKEN> (if unset). NULL-terminated;
 * free with auth_env_free() (it wipes the values).
 */
char		**auth_env_build(const json_t *auth, char *const *unset,
		    char *const *add);
void		 auth_env_free(char **);

#endif
