/*
 * bench/run.sh's JSON helper (jansson, as everywhere in acpx-native; no
 * python or jq needed):
 *   table mean HYPERFINE_JSON INDEX
 *	prints the mean (seconds) of command INDEX of a hyperfine export;
 *   table print RESULTS BASELINE [LOAD]
 *	prints the markdown table of RESULTS (lines of key, label, unit,
 *	floor, ours, reference, tab-separated, "-" for none) with ours /
 *	floor, ours / reference and ours / the baseline's figure; with LOAD
 *	(the load average), writes RESULTS as the new BASELINE too.
 * Units: s (seconds), us (microseconds), kB.
 * Build: cc -O2 -o table bench/table.c $(pkg-config --cflags --libs jansson)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

static void
cell(char *out, size_t len, const char *unit, const char *v)
{
	double	x;

	if (strcmp(v, "-") == 0) {
		snprintf(out, len, "—");
		return;
	}
	x = strtod(v, NULL);
	if (strcmp(unit, "kB") == 0)
		snprintf(out, len, "%.1f MiB", x / 1024);
	else if (strcmp(unit, "us") == 0)
		snprintf(out, len, "%.1f µs", x);
	else if (x >= 1)
		snprintf(out, len, "%.3f s", x);
	else if (x >= 1e-3)
		snprintf(out, len, "%.1f ms", x * 1e3);
	else
		snprintf(out, len, "%.1f µs", x * 1e6);
}

static void
ratio(char *out, size_t len, const char *a, const char *b)
{
	if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0 || strtod(b, NULL) == 0)
		snprintf(out, len, "—");
	else
		snprintf(out, len, strtod(a, NULL) / strtod(b, NULL) < 0.1 ?
		    "%.3f×" : "%.2f×", strtod(a, NULL) / strtod(b, NULL));
}

static int
print(const char *results, const char *path, const char *load)
{
	FILE		*f;
	json_t		*base, *scen, *b, *out = NULL, *rows = NULL;
	char		 line[4096], *fld[6], *p, c[6][64], bs[32];
	const char	*since = NULL;
	int		 i;
	time_t		 now;

	base = json_load_file(path, 0, NULL);
	scen = json_object_get(base, "scenarios");
	since = json_string_value(json_object_get(base, "recorded_at"));
	if (load != NULL) {
		rows = json_object();
		time(&now);
		strftime(bs, sizeof bs, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
		out = json_pack("{s:s,s:s,s:s,s:o}", "recorded_at", bs,
		    "load_average", load, "note", "written by bench/run.sh "
		    "--record-baseline; the figures are acpx-native's",
		    "scenarios", rows);
	}
	if ((f = fopen(results, "r")) == NULL) {
		perror(results);
		return (1);
	}
	printf("| scenario | floor | ours | ours / floor | reference | "
	    "ours / reference | ours / baseline |\n");
	printf("| --- | --- | --- | --- | --- | --- | --- |\n");
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		for (i = 0, p = line; i < 6; i++) {
			fld[i] = p;
			if ((p = strchr(p, '\t')) == NULL)
				break;
			*p++ = '\0';
		}
		if (i < 5)
			continue;
		cell(c[0], sizeof c[0], fld[2], fld[3]);
		cell(c[1], sizeof c[1], fld[2], fld[4]);
		ratio(c[2], sizeof c[2], fld[4], fld[3]);
		cell(c[3], sizeof c[3], fld[2], fld[5]);
		ratio(c[4], sizeof c[4], fld[4], fld[5]);
		b = json_object_get(json_object_get(scen, fld[0]), "ours");
		if (json_is_number(b) && strcmp(fld[4], "-") != 0 &&
		    json_number_value(b) > 0)
			snprintf(c[5], sizeof c[5], "%.2f×",
			    strtod(fld[4], NULL) / json_number_value(b));
		else
			snprintf(c[5], sizeof c[5], "— (none recorded)");
		printf("| %s | %s | %s | %s | %s | %s | %s |\n", fld[1], c[0],
		    c[1], c[2], c[3], c[4], c[5]);
		if (rows != NULL && strcmp(fld[4], "-") != 0)
			json_object_set_new(rows, fld[0], json_pack(
			    "{s:s,s:s,s:f}", "label", fld[1], "unit", fld[2],
			    "ours", strtod(fld[4], NULL)));
	}
	fclose(f);
	if (since != NULL && load == NULL)
		printf("\nbaseline: %s, recorded %s (load average %s)\n", path,
		    since, json_string_value(json_object_get(base,
		    "load_average")) != NULL ? json_string_value(
		    json_object_get(base, "load_average")) : "?");
	if (out != NULL) {
		if (json_dump_file(out, path, JSON_INDENT(2) | JSON_REAL_PRECISION(6) |
		    JSON_SORT_KEYS) == -1) {
			fprintf(stderr, "cannot write %s\n", path);
			return (1);
		}
		printf("\nbaseline written to %s (load average %s)\n", path,
		    load);
	}
	json_decref(out);
	json_decref(base);
	return (0);
}

int
main(int argc, char **argv)
{
	json_t	*j, *r;

	if (argc == 4 && strcmp(argv[1], "mean") == 0) {
		j = json_load_file(argv[2], 0, NULL);
		r = json_array_get(json_object_get(j, "results"),
		    (size_t)atoi(argv[3]));
		if (!json_is_number(json_object_get(r, "mean"))) {
			fprintf(stderr, "%s: no mean for command %s\n",
			    argv[2], argv[3]);
			return (1);
		}
		printf("%.9g\n", json_number_value(json_object_get(r, "mean")));
		json_decref(j);
		return (0);
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "print") == 0)
		return (print(argv[2], argv[3], argc == 5 ? argv[4] : NULL));
	fprintf(stderr, "usage: table mean JSON INDEX | "
	    "table print RESULTS BASELINE [LOAD]\n");
	return (2);
}
