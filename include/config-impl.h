/*
 * Private to the config module: config.c (load, merge, display, init)
 * shares these with config-agents.c ("agents", "auth") and config-mcp.c
 * ("mcpServers"). Nothing else includes this.
 */
#ifndef ACPX_CONFIG_IMPL_H
#define ACPX_CONFIG_IMPL_H

#include <jansson.h>

#include "config-file.h"

/* config.c: value == null in JavaScript (absent or null). */
int		 config_nullish(const json_t *);
/* config.c: a plain object. */
int		 config_is_object(const json_t *);
/* config.c: normalizeAgentName(): trimmed, ASCII lower-case. Caller frees. */
char		*config_normalize_name(const char *);

/* config-agents.c */
void		 config_agent_clear(struct config_agent *);
int		 config_agents(struct config *, const json_t *file,
		    const char *path, char **cause);
void		 config_agents_order(struct config *);
int		 config_auth(struct config *, const json_t *file,
		    const char *path, char **cause);

/* config-nodes.c */
void		 config_node_clear(struct config_node *);
int		 config_nodes(struct config *, const json_t *file,
		    const char *path, char **cause);
json_t		*config_nodes_display(const struct config *);

/* config-bind.c: agents.<id>.nodes and nodeConnectTimeout (after nodes). */
int		 config_binds(struct config *, const json_t *global,
		    const char *gpath, const json_t *project, const char *ppath,
		    char **cause);
void		 config_binds_free(struct config *);
void		 config_binds_display(const struct config *, json_t *agents,
		    json_t *top);
/* config-agents.c: an agents entry that sets only a cap or nodes. */
int		 config_agent_only_extras(const json_t *entry);

/* config-caps.c: maxConcurrentAgents, agents.<id>.maxConcurrent. */
int		 config_caps_check(const json_t *global, const char *gpath,
		    const json_t *project, const char *ppath, char **cause);

/* config-mcp.c: the normalised array, or NULL with *cause. Caller owns. */
json_t		*config_mcp_servers(const json_t *v, const char *path,
		    char **cause);

#endif
