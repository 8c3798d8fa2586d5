#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "cli-impl.h"
#include "cli.h"
#include "cmd.h"
#include "xmalloc.h"

/*
 * What a command's prepare function reads from the parse (the leaf
 * command's arguments and option values, the config, the process cwd)
 * and writes into the invocation (words, verb options), and the prepares
 * several rows share.
 */

/* A string value copied (caller owns), or NULL. */
char *
cli_prepare_dup(const json_t *v)
{
	return (json_is_string(v) ? xstrdup(json_string_value(v)) : NULL);
}


/* Set inv->words from a JSON array of strings. */
void
cli_prepare_words(struct invocation *inv, const json_t *list)
{
	const json_t	*e;
	size_t		 i, n = json_array_size(list);

	inv->words = xcalloc(n + 1, sizeof *inv->words);
	inv->nwords = 0;
	json_array_foreach(list, i, e) {
		if (json_is_string(e))
			inv->words[inv->nwords++] = xstrdup(json_string_value(e));
	}
}

/* The i-th processed argument (borrowed) or NULL. */
const json_t *
cli_prepare_arg(const struct cli_cmd *leaf, size_t i)
{
	const json_t	*v = json_array_get(leaf->processed, i);

	return (v == NULL || json_is_null(v) ? NULL : v);
}

/* resolveSessionNameFromFlags(): the command's own value, else inherited. */
char *
cli_prepare_session(const struct cli_cmd *leaf, const char *own_key)
{
	const json_t	*v = cli_opt_value(leaf, own_key);

	if (v == NULL)
		v = cli_opt_global(leaf, "session");
	return (cli_prepare_dup(v));
}

void
cli_prepare_verb_opt(struct invocation *inv, const char *key, const json_t *v)
{
	char	buf[32];

	if (v == NULL)
		return;
	if (json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%lld",
		    (long long)json_integer_value(v));
		json_object_set_new(inv->verb_opts, key, json_string(buf));
	} else
		json_object_set(inv->verb_opts, key, (json_t *)v);
}

const char *
cli_prepare_agent_override(const struct cli_run *run)
{
	return (run->gf.agent);
}

const struct config *
cli_prepare_config(const struct cli_run *run)
{
	return (run->config);
}

const char *
cli_prepare_process_cwd(const struct cli_run *run)
{
	return (run->process_cwd);
}

char **
cli_prepare_root_args(const struct cli_run *run, size_t *n)
{
	*n = run->nroot_args;
	return (run->root_args);
}

size_t
cli_prepare_nargs(const struct cli_cmd *leaf)
{
	return (leaf->nargs);
}

const char *
cli_prepare_leaf_agent(const struct cli_cmd *leaf)
{
	return (leaf->agent);
}

const json_t *
cli_prepare_own(const struct cli_cmd *leaf, const char *key)
{
	return (cli_opt_value(leaf, key));
}

const json_t *
cli_prepare_cli(const struct cli_cmd *leaf, const char *key)
{
	return (cli_opt_from_cli(leaf, key));
}

const json_t *
cli_prepare_global(const struct cli_cmd *leaf, const char *key)
{
	return (cli_opt_global(leaf, key));
}

const json_t *
cli_prepare_cli_own(const struct cli_cmd *leaf, const char *key)
{
	const json_t	*v;

	if ((v = cli_opt_from_cli(leaf, key)) == NULL)
		v = cli_opt_value(leaf, key);
	return (v);
}

/* inv->words from every processed argument that is a string. */
void
cli_prepare_args_words(struct invocation *inv, const struct cli_cmd *leaf)
{
	const json_t	*e;
	size_t		 i;

	inv->words = xcalloc(leaf->nargs + 1, sizeof *inv->words);
	for (i = 0; i < leaf->nargs; i++) {
		if ((e = cli_prepare_arg(leaf, i)) != NULL &&
		    json_is_string(e))
			inv->words[inv->nwords++] = xstrdup(json_string_value(e));
	}
}

/* ------------------------------------------------------ common prepares */

/* Global flags and the agent (cancel, set-mode, set, status, sessions). */
int
cli_prepare_agent_verb(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	if (cli_prepare_globals(run, leaf, inv) == -1 ||
	    cli_prepare_agent(run, leaf, inv) == -1)
		return (-1);
	return (0);
}

/* Global flags and the default agent (config). */
int
cli_prepare_plain(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	if (cli_prepare_globals(run, leaf, inv) == -1)
		return (-1);
	cli_prepare_default_agent(run, inv);
	return (0);
}

/*
 * Words from the first argument (variadic or single) and the global flags
 * with the default agent (warp, completion).
 */
int
cli_prepare_operands(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	const json_t	*a = cli_prepare_arg(leaf, 0);

	if (json_is_array(a))
		cli_prepare_words(inv, a);
	else {
		inv->words = xcalloc(2, sizeof *inv->words);
		if (a != NULL)
			inv->words[inv->nwords++] = xstrdup(json_string_value(a));
	}
	return (cli_prepare_plain(run, leaf, inv));
}
