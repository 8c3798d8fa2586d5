/*
 * Warp secrets (spec warp-routing.md §2): the one per-machine secrets file
 * (default ~/.openclaw/.env, config warp.envFile, environment
 * ACPX_WARP_ENV_FILE), loaded explicitly by acpx and never through a shell.
 * This module owns locating the file, the ownership/permission check (a
 * regular file of ours, not a symlink, no group/other bits), the KEY=value
 * parser, lookups (file values win over the process environment) and
 * redaction. Secret values never appear in any message it builds: errors
 * name the file, the line and the variable, never a value.
 */
#ifndef ACPX_SECRETS_H
#define ACPX_SECRETS_H

#include <stddef.h>

/* The default secrets file, relative to $HOME. */
#define SECRETS_DEFAULT_FILE	"~/.openclaw/.env"

/* Environment variable that overrides the file's location. */
#define SECRETS_ENV_FILE_VAR	"ACPX_WARP_ENV_FILE"

/* The largest secrets file we read. */
#define SECRETS_MAX_FILE	(1024 * 1024)

/* Why secrets_load() failed. */
enum secrets_status {
	SECRETS_OK = 0,
	SECRETS_MISSING,	/* no such file */
	SECRETS_INSECURE,	/* symlink, not regular, not ours, group/other bits */
	SECRETS_UNREADABLE,	/* open/read failed (EACCES, EIO, ...) */
	SECRETS_INVALID		/* parse error (file:line), too big, NUL byte */
};

struct secrets;

/*
 * The secrets file to use: $ACPX_WARP_ENV_FILE if set and non-empty, else
 * configured (warp.envFile from the global config) if non-NULL, else
 * SECRETS_DEFAULT_FILE. "~" and "~/..." expand to home; other relative
 * paths are taken relative to home for the config value and to the
 * current directory for the environment value. Caller owns.
 */
char		*secrets_path(const char *home, const char *configured);

/*
 * Check and read the secrets file at path. Returns NULL with *status and
 * *cause (caller frees; names the file and, for INSECURE, the fix
 * "chmod 600 <file>") on failure. Caller owns the result.
 */
struct secrets	*secrets_load(const char *path, enum secrets_status *status,
		    char **cause);

/*
 * Parse secrets file text (len bytes). path is only used in messages
 * ("<path>:<line>: ..."). Returns NULL with *cause on a parse error; the
 * message never contains a value. Caller owns the result.
 */
struct secrets	*secrets_parse(const char *text, size_t len, const char *path,
		    char **cause);

/* An empty set (no file values; lookups fall back to the environment). */
struct secrets	*secrets_empty(void);

/* Free, overwriting every value first. Accepts NULL. */
void		 secrets_free(struct secrets *);

/*
 * A variable's value: the file's if it has a non-empty one, else the
 * environment's if non-empty, else NULL. Borrowed (valid until free).
 */
const char	*secrets_get(const struct secrets *, const char *name);

/* Where secrets_get() finds name: "file", "environment" or NULL. */
const char	*secrets_source(const struct secrets *, const char *name);

/* Number of KEY=value entries read from the file. */
size_t		 secrets_count(const struct secrets *);

/* The file's name (as loaded) or NULL for secrets_empty(). Borrowed. */
const char	*secrets_file(const struct secrets *);

/*
 * A copy of text with every secret value replaced by "[redacted]": the
 * file's values and the environment's WARP_* values, except names ending
 * in _URL and values shorter than 4 bytes. Caller owns.
 */
char		*secrets_redact(const struct secrets *, const char *text);

/* Non-zero if text contains any value secrets_redact() would hide. */
int		 secrets_leaks(const struct secrets *, const char *text);

/* Overwrite len bytes so the compiler cannot drop it. */
void		 secrets_wipe(void *, size_t len);

/*
 * A copy of text with every value of values (NULL-terminated; values
 * shorter than 4 bytes are skipped) replaced by "[redacted]"; values may
 * be NULL. Caller owns. Used for agent stderr and provider failure text
 * shown in errors, notices and summaries.
 */
char		*secrets_redact_values(const char *text, char *const *values);

/* A status as a detail code: WARP_ENV_MISSING, WARP_ENV_INSECURE, ... */
const char	*secrets_status_code(enum secrets_status);

#endif
