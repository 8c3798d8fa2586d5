#include <config.h>

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "config-file.h"
#include "xmalloc.h"

/*
 * The path helpers config needs, as Node's path module and os.homedir()
 * compute them: path.resolve(), path.normalize(), the home directory and
 * the global config file's place.
 */

/* Node's normalizeString(): resolve "." and ".." in a slash path. */
static char *
config_path_segments(const char *p, int allow_above)
{
	char		**segs = NULL, *copy, *tok, *save, *out;
	size_t		  n = 0, i, len = 0;

	copy = xstrdup(p);
	for (tok = strtok_r(copy, "/", &save); tok != NULL;
	    tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			if (n > 0 && strcmp(segs[n - 1], "..") != 0) {
				n--;
				continue;
			}
			if (!allow_above)
				continue;
		}
		segs = xreallocarray(segs, n + 1, sizeof *segs);
		segs[n++] = tok;
	}
	for (i = 0; i < n; i++)
		len += strlen(segs[i]) + 1;
	out = xcalloc(1, len + 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, "/");
		strcat(out, segs[i]);
	}
	free(segs);
	free(copy);
	return (out);
}

/* path.normalize(p). */
char *
config_path_normalize(const char *p)
{
	char	*body, *out;
	int	 absolute, trailing;
	size_t	 len = strlen(p);

	if (len == 0)
		return (xstrdup("."));
	absolute = p[0] == '/';
	trailing = p[len - 1] == '/';
	body = config_path_segments(p, !absolute);
	if (*body == '\0' && !absolute) {
		free(body);
		body = xstrdup(".");
	} else if (*body != '\0' && trailing) {
		xasprintf(&out, "%s/", body);
		free(body);
		body = out;
	}
	if (absolute) {
		xasprintf(&out, "/%s", body);
		free(body);
		return (out);
	}
	return (body);
}

/* path.resolve(base, p). */
char *
config_path_resolve(const char *base, const char *p)
{
	char	*joined, *body, *out, cwd[8192];

	if (p != NULL && p[0] == '/')
		joined = xstrdup(p);
	else if (base != NULL && base[0] == '/')
		xasprintf(&joined, "%s/%s", base, p != NULL ? p : "");
	else {
		if (getcwd(cwd, sizeof cwd) == NULL)
			strcpy(cwd, "/");
		xasprintf(&joined, "%s/%s/%s", cwd, base != NULL ? base : "",
		    p != NULL ? p : "");
	}
	body = config_path_segments(joined, 0);
	xasprintf(&out, "/%s", body);
	free(body);
	free(joined);
	return (out);
}

/* Node's os.homedir(). */
char *
config_home(void)
{
	const char	*h;
	struct passwd	*pw;

	if ((h = getenv("HOME")) != NULL)
		return (xstrdup(h));
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		return (xstrdup(pw->pw_dir));
	return (xstrdup(""));
}

/* $HOME/.acpx/config.json (path.join). */
char *
config_global_path(const char *home)
{
	char	*joined, *out;

	xasprintf(&joined, "%s/.acpx/config.json", home);
	out = config_path_normalize(joined);
	free(joined);
	return (out);
}

