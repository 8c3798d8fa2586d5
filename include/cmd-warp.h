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

#include "cli.h"
#include "cmd.h"
#include "error.h"
#include "secrets.h"

struct output;
struct warp_config;
struct warp_probe;
struct warp_probe_result;
struct warp_provider;

struct warp_cmd {
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
struct warp_cmd_probe_row {
	const struct warp_provider	*prov;
	char				*url;	/* display form, NULL if skipped */
	char				*skip;	/* why not probed, or NULL */
	size_t				 index;
	const struct warp_probe_result	*res;	/* NULL if skipped */
};

/* Load config and secrets (a secrets failure is kept in ctx, not fatal). */
int		 warp_cmd_open(struct warp_cmd *, const struct invocation *,
		    struct output *, struct acpx_error **);
void		 warp_cmd_close(struct warp_cmd *);

/* The secrets file's problem as an error (caller owns), or NULL. */
struct acpx_error *warp_cmd_secrets_error(const struct warp_cmd *);

/* The first missing WARP_<P>_* variable of a provider, or NULL. Caller owns. */
char		*warp_cmd_missing_var(const struct warp_cmd *, const char *provider);

/* Probe providers concurrently (rows filled); free with warp_cmd_probe_free(). */
struct warp_probe *warp_cmd_probe(struct warp_cmd *,
		    const struct warp_provider **, size_t,
		    struct warp_cmd_probe_row *);
void		 warp_cmd_probe_free(struct warp_cmd *, struct warp_probe *,
		    struct warp_cmd_probe_row *, size_t);

/* A probe row as JSON / as text. Caller owns. */
json_t		*warp_cmd_probe_json(const struct warp_cmd_probe_row *);
char		*warp_cmd_probe_text(const struct warp_cmd_probe_row *);

/* Table rows: a NULL-terminated row of n copied cells; print; free. */
char		**warp_cmd_row(size_t n, ...);
void		 warp_cmd_table(struct output *, char ***rows, size_t nrows);
void		 warp_cmd_rows_free(char ***rows, size_t nrows);

/* acpx warp doctor (cmd-warp-doctor.c) and its row. */
int		 warp_cmd_doctor(const struct invocation *, struct output *);
extern const struct cmd_entry	 cmd_warp_doctor_entry;

#endif
