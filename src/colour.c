#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "colour.h"

/*
 * When to write escapes to a stream (see colour.h): a terminal whose user
 * did not turn them off.
 */

int
colour_terminal(int fd)
{
	const char	*nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (nc != NULL && *nc != '\0')
		return (0);
	if (term != NULL && strcmp(term, "dumb") == 0)
		return (0);
	return (isatty(fd));
}

int
colour_wanted(int fd, int no_color)
{
	return (!no_color && colour_terminal(fd));
}

int
colour_argv_no_color(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--no-color") == 0)
			return (1);
	}
	return (0);
}
