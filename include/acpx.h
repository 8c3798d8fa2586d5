/*
 * Shared basics for every module: the reference contract version, exit codes
 * and the small enums that travel between the CLI, the client and renderers.
 * Module APIs live in their own headers.
 */
#ifndef ACPX_H
#define ACPX_H

#include <stdint.h>

#include "compat.h"

/* The reference acpx version whose contract we implement (--version prints it). */
#define ACPX_COMPAT_VERSION	"0.19.1"

/* Exit codes, as the reference's EXIT_CODES (spec acpx-cli.md §5.1). */
enum acpx_exit {
	ACPX_EXIT_SUCCESS = 0,
	ACPX_EXIT_ERROR = 1,
	ACPX_EXIT_USAGE = 2,
	ACPX_EXIT_TIMEOUT = 3,
	ACPX_EXIT_NO_SESSION = 4,
	ACPX_EXIT_PERMISSION_DENIED = 5,
	ACPX_EXIT_NODE_UNREACHABLE = 6,		/* ours: --node, ssh failed */
	ACPX_EXIT_HOST_AT_CAPACITY = 7,		/* ours: --no-wait at the agent cap */
	ACPX_EXIT_INTERRUPTED = 130
};

enum acpx_format {
	ACPX_FORMAT_TEXT = 0,
	ACPX_FORMAT_JSON,
	ACPX_FORMAT_QUIET
};

enum acpx_perm_mode {
	ACPX_PERM_APPROVE_READS = 0,	/* built-in default */
	ACPX_PERM_APPROVE_ALL,
	ACPX_PERM_DENY_ALL
};

enum acpx_nonint {
	ACPX_NONINT_DENY = 0,
	ACPX_NONINT_FAIL
};

enum acpx_auth_policy {
	ACPX_AUTH_SKIP = 0,
	ACPX_AUTH_FAIL
};

#ifndef nitems
#define nitems(a)	(sizeof (a) / sizeof ((a)[0]))
#endif

#endif
