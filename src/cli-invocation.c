#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent-registry.h"
#include "cli-invocation.h"
#include "config-file.h"

/* Free what the parse put into inv (see cli-invocation.h). */
void
cli_invocation_free(struct invocation *inv)
{
	int	i;

	if (inv == NULL)
		return;
	json_decref(inv->permission_policy);
	free(inv->cwd);
	agent_registry_spec_clear(&inv->agent);
	free(inv->model);
	json_decref(inv->allowed_tools);
	free(inv->system_prompt);
	free(inv->append_system_prompt);
	json_decref(inv->mcp_servers);
	config_free((struct config *)inv->config);
	for (i = 0; i < inv->nwords; i++)
		free(inv->words[i]);
	free(inv->words);
	free(inv->file);
	free(inv->force_fail);
	free(inv->session);
	for (i = 0; i < inv->nconfig_options; i++)
		free(inv->config_options[i]);
	free(inv->config_options);
	json_decref(inv->verb_opts);
	free(inv->node);
	for (i = 0; inv->node_argv != NULL && inv->node_argv[i] != NULL; i++)
		free(inv->node_argv[i]);
	free(inv->node_argv);
	free(inv->node_file);
	memset(inv, 0, sizeof *inv);
}
