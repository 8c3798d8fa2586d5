/*
 * The client side of the ACP terminal methods (spec acpx-runtime.md §10.7):
 * terminal/create, output, wait_for_exit, kill and release. Owns the
 * terminal processes of one agent connection (each in its own process
 * group, output of stdout and stderr in one capped buffer that keeps the
 * last bytes on a UTF-8 boundary) and releases them all when freed.
 * Replies may come later (wait_for_exit, kill, release), through the
 * reply callback; nothing here blocks.
 */
#ifndef ACPX_CLIENT_TERM_H
#define ACPX_CLIENT_TERM_H

#include <ev.h>
#include <jansson.h>

#include "client-fs.h"

struct client_term;

/*
 * Answer for request id (borrowed; copied if kept): result or error
 * (a JSON-RPC error object); both stolen.
 */
typedef void	(*client_term_reply_cb)(void *arg, const json_t *id,
		    json_t *result, json_t *error);

/* A manager for one connection; cwd is the session cwd (borrowed). */
struct client_term *client_term_create(struct ev_loop *, const char *cwd,
		    client_term_reply_cb, void *arg);

/* Kill and reap every terminal (process groups), free everything. */
void		 client_term_free(struct client_term *);

/* Is method one of ours ("terminal/...")? */
int		 client_term_handles(const char *method);

/*
 * Handle one terminal request. perm carries the permission mode and the
 * TTY question callback (as for fs); *perm_out says whether it counted as
 * a denied permission or an unavailable prompt.
 */
void		 client_term_request(struct client_term *, const char *method,
		    const json_t *id, const json_t *params,
		    const struct client_fs_opts *perm, enum client_fs_perm *perm_out);

/*
 * Parse ACPX_TERMINAL_MAX_OUTPUT_BYTES: 0 with *ceiling = 0 (none) or the
 * value; -1 with *cause when it is not a non-negative integer.
 */
int		 client_term_ceiling(unsigned long long *ceiling, char **cause);

#endif
