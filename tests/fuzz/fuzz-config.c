/*
 * libFuzzer harness: config files. The bytes go through js_json_parse
 * (Node's JSON.parse and its messages), then are written as the global
 * config file of a private HOME and loaded with config_load (validation
 * of every key) and displayed.
 */
#include <config.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config-file.h"
#include "js-json.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static char	*fz_home;
static char	*fz_file;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 tmpl[] = "/tmp/fuzz-config.XXXXXX", *dir;

	(void)argc; (void)argv;
	xmalloc_init();
	if (mkdtemp(tmpl) == NULL)
		abort();
	fz_home = xstrdup(tmpl);
	xasprintf(&dir, "%s/.acpx", fz_home);
	mkdir(dir, 0700);
	free(dir);
	fz_file = config_global_path(fz_home);
	setenv("HOME", fz_home, 1);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg;
	json_t		*v;
	char		*cause = NULL;
	int		 fd;

	if ((v = js_json_parse((const char *)data, size, &cause)) != NULL)
		json_decref(v);
	else {
		if (cause == NULL)
			abort();
		free(cause);
		cause = NULL;
	}

	if ((fd = open(fz_file, O_WRONLY|O_CREAT|O_TRUNC, 0600)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if ((cfg = config_load(fz_home, fz_home, NULL, &cause)) != NULL) {
		v = config_display(cfg);
		json_decref(v);
		config_free(cfg);
	} else {
		if (cause == NULL)
			abort();
		free(cause);
	}
	return (0);
}
