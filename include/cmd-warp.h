/*
 * The `acpx warp` command's shared parts (cmd-warp.c: list, probe and the
 * helpers; cmd-warp-doctor.c: doctor): the loaded warp config and secrets
 * of one run, probe rows, and the small table printer. Internal to the
 * command; its rows in the command table (cmd.h) are its entry points.
 */
#ifndef ACPX_CMD_WARP_H
#define ACPX_CMD_WARP_H

#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "cli-invocation.h"
#include "cmd.h"
#include "secrets.h"

struct output;
struct warp_config;
struct warp_probe;
struct warp_probe_result;
struct warp_provider;

struct cmd_warp {
	const struct invocation	*inv;
	struct output		*out;
	struct warp_config	*wc;
	char			*home;
	char			*env_path;	/* the secrets file in use */
	struct secrets		*secrets;	/* NULL if it did not load */
	enum secrets_status	 sst;
	char			*scause;	/* why it did not load */
	struct proc		*proc;		/* the probes' loop */
};

/* One provider of a probe run. */
struct cmd_warp_probe_row {
	const struct warp_provider	*prov;
	char				*url;	/* display form, NULL if skipped */
	char				*skip;	/* why not probed, or NULL */
	size_t				 index;
	const struct warp_probe_result	*res;	/* NULL if skipped */
};

/* Load config and secrets (a secrets failure is kept in ctx, not fatal). */
int		 cmd_warp_open(struct cmd_warp *, const struct invocation *,
		    struct output *, struct acpx_error **);
void		 cmd_warp_close(struct cmd_warp *);

/* The secrets file's problem as an error (caller owns), or NULL. */
struct acpx_error *cmd_warp_secrets_error(const struct cmd_warp *);

/* The first missing WARP_<P>_* variable of a provider, or NULL. Caller owns. */
char		*cmd_warp_missing_var(const struct cmd_warp *, const char *provider);

/* Probe providers concurrently (rows filled); free with cmd_warp_probe_free(). */
struct warp_probe *cmd_warp_probe(struct cmd_warp *,
		    const struct warp_provider **, size_t,
		    struct cmd_warp_probe_row *);
void		 cmd_warp_probe_free(struct cmd_warp *, struct warp_probe *,
		    struct cmd_warp_probe_row *, size_t);

/* A probe row as JSON / as text. Caller owns. */
json_t		*cmd_warp_probe_json(const struct cmd_warp_probe_row *);
char		*cmd_warp_probe_text(const struct cmd_warp_probe_row *);

/* Table rows: a NULL-terminated row of n copied cells; print; free. */
char		**cmd_warp_row(size_t n, ...);
void		 cmd_warp_table(struct output *, char ***rows, size_t nrows);
void		 cmd_warp_rows_free(char ***rows, size_t nrows);

/* acpx warp doctor (cmd-warp-doctor.c) and its row. */
int		 cmd_warp_doctor(const struct invocation *, struct output *);
/*
 * Its report (also a section of acpx doctor): *json and the text *lines
 * (NULL-terminated, cmdline_free()), caller owns both. Returns the number
 * of problems, or -1 with *err when the warp config does not load.
 */
int		 cmd_warp_doctor_report(const struct invocation *,
		    struct output *, json_t **json, char ***lines,
		    struct acpx_error **err);
extern const struct cmd_entry	 cmd_warp_doctor_entry;

/* acpx warp reset (cmd-warp-reset.c): clear cooldowns by hand. */
extern const struct cmd_entry	 cmd_warp_reset_entry;

/* acpx warp route (cmd-warp-route.c): the chain as it would be walked now. */
extern const struct cmd_entry	 cmd_warp_route_entry;

/* acpx warp serve (cmd-warp-serve.c): the ACP proxy (warp-serve.h). */
extern const struct cmd_entry	 cmd_warp_serve_entry;

#endif
