/*
 * libFuzzer harness: the permission-policy JSON. The input is
 * "<policy>\n<request params>": the policy goes through cli_parse exactly
 * as --permission-policy (JSON text, shape check), then the params through
 * permission_decide with that policy and the response builders.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx-error.h"
#include "cli.h"
#include "config-file.h"
#include "js-json.h"
#include "output.h"
#include "permission.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 tmpl[] = "/tmp/fuzz-policy.XXXXXX";

	(void)argc; (void)argv;
	xmalloc_init();
	/* cli_parse loads the config files: an empty private HOME. */
	if (mkdtemp(tmpl) == NULL)
		abort();
	setenv("HOME", tmpl, 1);
	return (0);
}

static void
fz_decide(const json_t *policy, const json_t *params, int mode)
{
	struct perm_decision	 d;
	json_t			*r;

	permission_decide(params, (enum acpx_perm_mode)mode,
	    (enum acpx_nonint)(mode & 1), policy, mode == 2,
	    "2026-01-01T00:00:00.000Z", &d);
	r = permission_response(&d, mode & 1);
	(void)permission_infer_kind(params);
	(void)permission_classify(params, r);
	json_decref(r);
	permission_decision_clear(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct invocation	 inv;
	struct acpx_error	*err = NULL;
	enum acpx_format	 fmt;
	cmd_run_fn		 run = NULL;
	const char		*nl;
	char			*pol, *argv[6], *cause = NULL;
	json_t			*params = NULL, *policy = NULL;
	size_t			 plen;
	int			 m;

	nl = memchr(data, '\n', size);
	plen = nl != NULL ? (size_t)(nl - (const char *)data) : size;
	if (memchr(data, '\0', plen) != NULL)
		return (0);
	pol = xmalloc(plen + 1);
	memcpy(pol, data, plen);
	pol[plen] = '\0';
	if (nl != NULL)
		params = js_json_parse(nl + 1, size - plen - 1, &cause);
	free(cause);

	argv[0] = (char *)"acpx";
	argv[1] = (char *)"--permission-policy";
	argv[2] = pol;
	argv[3] = (char *)"exec";
	argv[4] = (char *)"hi";
	argv[5] = NULL;
	memset(&inv, 0, sizeof inv);
	if (cli_parse(5, argv, &inv, &run, &fmt, &err) == 0 &&
	    inv.permission_policy != NULL)
		policy = json_incref(inv.permission_policy);
	if (err != NULL)
		acpx_error_free(err);
	cli_invocation_free(&inv);
	if (params != NULL) {
		for (m = 0; m < 3; m++)
			fz_decide(policy, params, m);
		json_decref(params);
	}
	json_decref(policy);
	free(pol);
	return (0);
}
