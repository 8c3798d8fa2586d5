/*
 * The client side of fs/read_text_file and fs/write_text_file (spec
 * acpx-runtime.md §10.6): paths must be absolute and inside the session cwd
 * (lexically, then after following symlinks), the permission mode decides
 * writes, and results or JSON-RPC error objects are built for the agent.
 * Local file I/O is the one labelled blocking exception (DESIGN.md).
 */
#ifndef ACPX_CLIENT_FS_H
#define ACPX_CLIENT_FS_H

#include <jansson.h>

#include "acpx.h"

/* How a request touched the permission statistics. */
enum client_fs_perm {
	CLIENT_FS_PERM_NONE = 0,
	CLIENT_FS_PERM_DENIED,		/* counts as a denied permission */
	CLIENT_FS_PERM_UNAVAILABLE	/* prompt needed, --non-interactive-permissions fail */
};

struct client_fs_opts {
	const char		*cwd;		/* session cwd (absolute) */
	enum acpx_perm_mode	 mode;
	enum acpx_nonint	 nonint;
	int			 can_prompt;	/* stdin and stderr are TTYs */
	/* Ask the user (header, details, question); non-zero = allow. */
	int			(*ask)(const char *header, const char *details,
				    const char *question);
};

/*
 * Answer fs/read_text_file. Returns the result (caller owns), or NULL with
 * *error set to a JSON-RPC error object (caller owns).
 */
json_t		*client_fs_read(const struct client_fs_opts *, const json_t *params,
		    json_t **error, enum client_fs_perm *perm);

/* Answer fs/write_text_file; as client_fs_read. */
json_t		*client_fs_write(const struct client_fs_opts *, const json_t *params,
		    json_t **error, enum client_fs_perm *perm);

/* Lexically resolve an absolute path (., .., duplicate and trailing /). Caller owns. */
char		*client_fs_normalize(const char *path);

#endif
