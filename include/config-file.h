/*
 * Configuration files (spec acpx-cli.md §6): the global file
 * $HOME/.acpx/config.json, the project file <cwd>/.acpxrc.json and an
 * optional --mcp-config file. This module owns validating every key with
 * the reference's messages, merging them (project over global over
 * defaults) and `config init`; files are read through node-fs.h and
 * parsed through js-json.h, so errors read as Node's. A struct config is
 * read-only after config_load(). It also owns the small path helpers that
 * follow Node's path.resolve()/path.normalize().
 *
 * (Named config-file.h because <config.h> is autoconf's.)
 */
#ifndef ACPX_CONFIG_FILE_H
#define ACPX_CONFIG_FILE_H

#include <stddef.h>

#include <jansson.h>

#include "acpx.h"

/* One configured agent (agents.<name>), name normalised. */
struct config_agent {
	char		 *name;		/* trimmed, lower-cased key */
	char		 *command;	/* identity string (session scope, display) */
	char		**argv;		/* argv form or legacy command+args; NULL = split command */
};

/* One execution node (nodes.<name>), reached with ssh. */
struct config_node {
	char		 *name;		/* the key, as written */
	char		 *ssh;		/* destination: [user@]host or a Host alias */
	char		 *acpx;		/* the acpx command on the node ("acpx") */
	char		**ssh_options;	/* extra ssh arguments, before the destination */
	size_t		  nssh_options;
	int		  connect_timeout; /* seconds: nodeConnectTimeout */
};
#define CONFIG_NODE_NAME_MAX	48

/* An agent bound to execution nodes (agents.<id>.nodes), in order. */
struct config_bind {
	char		 *agent;	/* normalised agent id */
	char		**nodes;	/* configured node names, NULL-terminated */
	size_t		  nnodes;
};
#define CONFIG_NODE_CONNECT_TIMEOUT	10	/* nodeConnectTimeout default */

struct config {
	char			*default_agent;		/* normalised; "codex" */
	enum acpx_perm_mode	 default_permissions;	/* approve-reads */
	enum acpx_nonint	 nonint;		/* deny */
	enum acpx_auth_policy	 auth_policy;		/* skip */
	long long		 ttl_ms;		/* 300000 */
	long long		 timeout_ms;		/* -1: none */
	int			 queue_max_depth;	/* 16 */
	enum acpx_format	 format;		/* text */
	struct config_agent	*agents;		/* in JS key order */
	size_t			 nagents;
	json_t			*auth;			/* methodId -> credential */
	int			 disable_exec;
	json_t			*mcp_servers;		/* normalised array */
	struct config_node	*nodes;			/* global, then project's */
	size_t			 nnodes;
	struct config_bind	*binds;			/* agents.<id>.nodes */
	size_t			 nbinds;
	int			 node_connect_timeout;	/* seconds (10) */

	char			*global_path;
	char			*project_path;
	char			*mcp_path;		/* --mcp-config, absolute, or NULL */
	int			 has_global;		/* the file exists */
	int			 has_project;

	/* The parsed files (NULL if absent), for keys other modules own. */
	json_t			*global_json;
	json_t			*project_json;
};

/*
 * Load and merge the config files. home is $HOME (global file under it),
 * cwd the absolute directory of the project file, mcp_path the --mcp-config
 * value as given (resolved against cwd here) or NULL. Returns NULL with
 * *cause set to the reference's message (a RUNTIME error) on failure.
 */
struct config	*config_load(const char *home, const char *cwd,
		    const char *mcp_path, char **cause);
void		 config_free(struct config *);

/* A configured agent by normalised name, or NULL. */
const struct config_agent *config_find_agent(const struct config *,
		    const char *name);

/* A configured node by name, or NULL (config-nodes.c). */
const struct config_node *config_find_node(const struct config *,
		    const char *name);

/* The nodes agent (normalised) is bound to, or NULL (config-bind.c). */
const struct config_bind *config_find_bind(const struct config *,
		    const char *agent);

/*
 * The `config show` payload: display form of the resolved config plus
 * paths and loaded flags, keys in the reference's order. Caller owns.
 */
json_t		*config_display(const struct config *);

/*
 * `config init`: create $HOME/.acpx (0700) and, if absent, config.json
 * (0600, exclusive) with the reference's template. *path gets the file
 * path (caller frees), *created whether it was written. -1 with *cause.
 */
int		 config_init_file(const char *home, char **path, int *created,
		    char **cause);

/* $HOME/.acpx/config.json for a home directory. Caller owns. */
char		*config_global_path(const char *home);

/* path.resolve(base, p): absolute, normalised, no trailing slash. */
char		*config_path_resolve(const char *base, const char *p);

/* path.normalize(p) (keeps relative paths relative). */
char		*config_path_normalize(const char *p);

/* Node's os.homedir(): $HOME, else the password database. Caller owns. */
char		*config_home(void);

#endif
