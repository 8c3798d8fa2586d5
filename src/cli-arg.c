#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "acpx.h"
#include "cli-impl.h"
#include "xmalloc.h"

/*
 * Argument specs as Commander reads them ("<mode>" required, "[name]"
 * optional, "[prompt...]" variadic): the name, the flags, the form help
 * shows.
 */

/* Split an argument spec like Commander's Argument constructor. */
static char *
cli_arg_parse(const char *spec, int *required, int *variadic)
{
	size_t	n = strlen(spec);
	char	*name;

	if (spec[0] == '<' || spec[0] == '[')
		name = xstrndup(spec + 1, n >= 2 ? n - 2 : 0);
	else
		name = xstrdup(spec);
	*required = spec[0] != '[';
	n = strlen(name);
	*variadic = n >= 3 && strcmp(name + n - 3, "...") == 0;
	if (*variadic)
		name[n - 3] = '\0';
	return (name);
}

/* The argument name as shown: "<mode>" -> "mode", "[prompt...]" -> "prompt". */
char *
cli_arg_name(const char *spec)
{
	int	required, variadic;

	return (cli_arg_parse(spec, &required, &variadic));
}

/* Is the argument variadic / required? */
int
cli_arg_variadic(const char *spec)
{
	int	 required, variadic;
	char	*name = cli_arg_parse(spec, &required, &variadic);

	free(name);
	return (variadic);
}

int
cli_arg_required(const char *spec)
{
	int	 required, variadic;
	char	*name = cli_arg_parse(spec, &required, &variadic);

	free(name);
	return (required);
}

/* humanReadableArgName(): "<mode>", "[prompt...]". */
char *
cli_arg_human(const char *spec)
{
	int	 required, variadic;
	char	*name = cli_arg_parse(spec, &required, &variadic), *out;

	xasprintf(&out, required ? "<%s%s>" : "[%s%s]", name,
	    variadic ? "..." : "");
	free(name);
	return (out);
}
