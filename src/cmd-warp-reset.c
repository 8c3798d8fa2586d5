#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cmd-warp.h"
#include "cmd.h"
#include "complete.h"
#include "config-file.h"
#include "output.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * acpx warp reset <provider|agent-id>...: the operator clears cooldowns
 * by hand (an auth or billing failure cools a provider down until this
 * is run). A provider name clears every cooldown and counted failure of
 * that provider; an agent id those of its provider/model and the
 * provider-wide ones. Under the state lock, like every writer.
 */

struct reset_target {
	const char	*word;
	char		*provider;
	char		*model;		/* NULL: the whole provider */
};

/* Resolve one operand. -1 with *err. */
static int
cmd_warp_reset_target(const struct warp_config *wc, const char *word,
    struct reset_target *rt, struct acpx_error **err)
{
	struct warp_target	 t;
	char			*norm = xstrdup(word), *s;

	for (s = norm; *s != '\0'; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	}
	rt->word = word;
	if (warp_config_provider(wc, norm) != NULL) {
		rt->provider = norm;
		return (0);
	}
	if (warp_id_looks(norm) && warp_target_resolve(wc, norm, &t,
	    err) == 0) {
		rt->provider = xstrdup(t.provider->name);
		rt->model = xstrdup(t.model->model);
		warp_target_clear(&t);
		free(norm);
		return (0);
	}
	if (*err == NULL)
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_PROVIDER_UNKNOWN",
		    "cli", "'%s' is neither a configured warp provider nor a "
		    "warp agent id (see acpx warp list)", word);
	free(norm);
	return (-1);
}

static int
cmd_warp_reset(const struct invocation *inv, struct output *out)
{
	struct warp_config	*wc;
	struct acpx_error	*err = NULL;
	struct reset_target	*rts;
	struct warp_state	*st;
	char			*cause = NULL, *home, *warning = NULL;
	json_t			*all, *cleared, *row;
	size_t			 i, n, k;
	time_t			 now = time(NULL);
	int			 lock, rc = ACPX_EXIT_SUCCESS;

	if (inv->nwords < 1)
		return (output_fail(out, acpx_error_new(ACPX_CODE_USAGE, NULL,
		    "cli", "warp reset needs a provider name or a warp agent id")));
	if ((wc = warp_config_load(inv->config, &cause)) == NULL) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_CONFIG_INVALID",
		    "cli", "%s", cause);
		free(cause);
		return (output_fail(out, err));
	}
	n = (size_t)inv->nwords;
	rts = xcalloc(n, sizeof *rts);
	for (i = 0; i < n; i++) {
		if (cmd_warp_reset_target(wc, inv->words[i], &rts[i],
		    &err) == -1) {
			rc = output_fail(out, err);
			goto out;
		}
	}
	home = config_home();
	lock = warp_state_lock(home);
	st = warp_state_load(home, &warning);
	if (warning != NULL)
		output_notice(out, "warning: %s", warning);
	free(warning);
	all = json_array();
	for (i = 0; i < n; i++) {
		cleared = json_array();
		k = warp_state_reset(st, rts[i].provider, rts[i].model, cleared);
		if (inv->format == ACPX_FORMAT_TEXT && k == 0)
			output_result_text(out, "%s: not cooling down",
			    rts[i].word);
		else if (inv->format == ACPX_FORMAT_TEXT)
			output_result_text(out, "%s: cleared %zu cooldown%s",
			    rts[i].word, k, k == 1 ? "" : "s");
		else if (inv->format == ACPX_FORMAT_QUIET && k > 0)
			output_result_text(out, "%s", rts[i].word);
		row = json_pack("{s:s, s:s, s:s?, s:o}", "target", rts[i].word,
		    "provider", rts[i].provider, "model", rts[i].model,
		    "cleared", cleared);
		json_array_append_new(all, row);
	}
	if (warp_state_save(st, home, now, &cause) == -1) {
		rc = output_fail(out, acpx_error_new(ACPX_CODE_RUNTIME,
		    "WARP_STATE_WRITE", "cli", "%s", cause));
		free(cause);
	} else if (inv->format == ACPX_FORMAT_JSON) {
		row = json_pack("{s:o}", "reset", json_incref(all));
		output_result_json(out, row);
		json_decref(row);
	}
	json_decref(all);
	warp_state_unlock(lock);
	warp_state_free(st);
	free(home);
out:
	for (i = 0; i < n; i++) {
		free(rts[i].provider);
		free(rts[i].model);
	}
	free(rts);
	warp_config_free(wc);
	return (rc);
}

static const struct cmd_arg reset_args[] = { { "<targets...>",
    "Warp provider names or agent ids", NULL } };

/* reset's targets: the Warp agent ids and the provider names. */
static int
cmd_warp_reset_complete(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o != NULL)
		return (0);
	complete_warp(c, 1);
	return (1);
}

const struct cmd_entry cmd_warp_reset_entry = {
	.name = "reset",
	.desc = "Clear the cooldowns of providers or agents",
	.args = reset_args,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cli_prepare_operands,
	.run = cmd_warp_reset,
	.complete = cmd_warp_reset_complete
};
