#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cmd.h"
#include "config-file.h"
#include "js-json.h"
#include "output.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * config show | config init (spec acpx-cli.md §3.8). show prints the
 * resolved config: one compact JSON line with --format json, else the
 * same JSON pretty-printed with 2-space indent (text and quiet alike).
 * init writes the reference's template to $HOME/.acpx/config.json once.
 */

/* config [show]. */
int
cmd_config_run(const struct invocation *inv, struct output *out)
{
	json_t	*v = config_display(inv->config), *w;
	char	*text;

	/* Our warp section, only when a config file has one. */
	if ((json_object_get(inv->config->global_json, "warp") != NULL ||
	    json_object_get(inv->config->project_json, "warp") != NULL) &&
	    (w = warp_config_display(inv->config)) != NULL)
		json_object_set_new(v, "warp", w);

	if (inv->format == ACPX_FORMAT_JSON)
		output_result_json(out, v);
	else {
		text = js_json_dumps(v, 2);
		output_result_text(out, "%s", text);
		free(text);
	}
	json_decref(v);
	return (ACPX_EXIT_SUCCESS);
}

static int
cmd_config_init(const struct invocation *inv, struct output *out)
{
	struct acpx_error	*err;
	json_t			*v;
	char			*home, *path = NULL, *cause = NULL;
	int			 created, rc;

	home = config_home();
	rc = config_init_file(home, &path, &created, &cause);
	free(home);
	if (rc == -1) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s", cause);
		free(cause);
		free(path);
		return (output_fail(out, err));
	}
	if (inv->format == ACPX_FORMAT_JSON) {
		v = json_pack("{s:s, s:b}", "path", path, "created", created);
		output_result_json(out, v);
		json_decref(v);
	} else if (inv->format == ACPX_FORMAT_QUIET)
		output_result_text(out, "%s", path);
	else if (created)
		output_result_text(out, "Created %s", path);
	else
		output_result_text(out, "Config already exists: %s", path);
	free(path);
	return (ACPX_EXIT_SUCCESS);
}

/* ------------------------------------------------------ the command rows */

static const struct cmd_opt *const config_opts[] = { &cmd_opt_format, NULL };

static const struct cmd_entry cmd_config_show_entry = {
	.name = "show",
	.desc = "Show resolved config",
	.opts = config_opts,
	.flags = CMD_ACTION,
	.prepare = cli_prepare_plain,
	.run = cmd_config_run
};

static const struct cmd_entry cmd_config_init_entry = {
	.name = "init",
	.desc = "Create global config template",
	.opts = config_opts,
	.flags = CMD_ACTION,
	.prepare = cli_prepare_plain,
	.run = cmd_config_init
};

static const struct cmd_entry *const cmd_config_subs[] = {
	&cmd_config_show_entry,
	&cmd_config_init_entry,
	NULL
};

const struct cmd_entry cmd_config_entry = {
	.name = "config",
	.desc = "Inspect and initialize acpx configuration",
	.subs = cmd_config_subs,
	.implies = "show",
	.flags = CMD_ACTION,
	.prepare = cli_prepare_plain,
	.run = cmd_config_run
};
