#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "acpx.h"
#include "cli-impl.h"
#include "xmalloc.h"

/*
 * Commander's "(Did you mean ...?)" suggestions for an unknown command or
 * option: the candidates within an optimal string alignment distance.
 */

/* ------------------------------------------------------- suggestions */

/* Optimal string alignment distance (Commander's editDistance). */
static size_t
cli_edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, cost, v, *d;

	if ((la > lb ? la - lb : lb - la) > 3)
		return (la > lb ? la : lb);
	d = xcalloc((la + 1) * (lb + 1), sizeof *d);
#define D(x, y) d[(x) * (lb + 1) + (y)]
	for (i = 0; i <= la; i++)
		D(i, 0) = i;
	for (j = 0; j <= lb; j++)
		D(0, j) = j;
	for (j = 1; j <= lb; j++) {
		for (i = 1; i <= la; i++) {
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			v = D(i - 1, j) + 1;
			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	}
	v = D(la, lb);
#undef D
	free(d);
	return (v);
}

static int
cli_strcmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* suggestSimilar(): "\n(Did you mean ...?)" or "". Caller owns. */
char *
cli_suggest(const char *word, const char **cands, size_t n)
{
	const char	**similar, *w = word, *c;
	size_t		  ns = 0, best = 3, i, j, dist, len;
	int		  options = strncmp(word, "--", 2) == 0, dup;
	double		  sim;
	char		 *out, *list, *t;

	similar = xcalloc(n + 1, sizeof *similar);
	if (options)
		w = word + 2;
	for (i = 0; i < n; i++) {
		dup = 0;
		for (j = 0; j < i; j++) {
			if (strcmp(cands[j], cands[i]) == 0)
				dup = 1;
		}
		if (dup)
			continue;
		c = options && strncmp(cands[i], "--", 2) == 0 ? cands[i] + 2 :
		    options ? cands[i] + (strlen(cands[i]) >= 2 ? 2 : 0) :
		    cands[i];
		if (strlen(c) <= 1)
			continue;
		dist = cli_edit_distance(w, c);
		len = strlen(w) > strlen(c) ? strlen(w) : strlen(c);
		sim = ((double)len - (double)dist) / (double)len;
		if (sim > 0.4) {
			if (dist < best) {
				best = dist;
				ns = 0;
				similar[ns++] = cands[i];
			} else if (dist == best)
				similar[ns++] = cands[i];
		}
	}
	qsort(similar, ns, sizeof *similar, cli_strcmp);
	if (ns == 0) {
		free(similar);
		return (xstrdup(""));
	}
	list = xstrdup(similar[0]);
	for (i = 1; i < ns; i++) {
		xasprintf(&t, "%s, %s", list, similar[i]);
		free(list);
		list = t;
	}
	xasprintf(&out, ns > 1 ? "\n(Did you mean one of %s?)" :
	    "\n(Did you mean %s?)", list);
	free(list);
	free(similar);
	return (out);
}
