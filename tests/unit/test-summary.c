/*
 * Unit tests for continuation summaries: each case under tests/unit/summary/
 * is NAME.json ({goal, messages, signal}) with the expected summary in
 * NAME.txt; plus the continuation prompt's shape and determinism. Set
 * SUMMARY_UPDATE=1 to rewrite the .txt files after a deliberate change.
 */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "summary.h"
#include "xmalloc.h"
#include "tap.h"

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	buf[fread(buf, 1, (size_t)n, f)] = '\0';
	fclose(f);
	return (buf);
}

static void
test_case(const char *dir, const char *name)
{
	json_t	*c;
	char	*path, *golden, *got, *again, *label;
	FILE	*f;
	size_t	 n = strlen(name) - 5;

	xasprintf(&label, "summary golden %.*s", (int)n, name);
	TEST_START(label);
	xasprintf(&path, "%s/%s", dir, name);
	c = json_load_file(path, 0, NULL);
	free(path);
	ASSERT_PTR_NOT_NULL(c);
	if (c == NULL) {
		TEST_DONE();
		free(label);
		return;
	}
	got = summary_build(json_object_get(c, "goal"),
	    json_object_get(c, "messages"),
	    json_string_value(json_object_get(c, "signal")));
	again = summary_build(json_object_get(c, "goal"),
	    json_object_get(c, "messages"),
	    json_string_value(json_object_get(c, "signal")));
	ASSERT_STR_EQ(got, again);
	xasprintf(&path, "%s/%.*s.txt", dir, (int)n, name);
	if (getenv("SUMMARY_UPDATE") != NULL &&
	    (f = fopen(path, "w")) != NULL) {
		fputs(got, f);
		fclose(f);
	}
	golden = slurp(path);
	ASSERT_PTR_NOT_NULL(golden);
	if (golden != NULL)
		ASSERT_STR_EQ(got, golden);
	free(golden);
	free(path);
	free(got);
	free(again);
	json_decref(c);
	TEST_DONE();
	free(label);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return (strcmp((*a)->d_name, (*b)->d_name));
}

int
main(void)
{
	struct dirent	**ents;
	const char	*src = getenv("TESTS_SRCDIR");
	char		*dir, *s;
	json_t		*goal, *blocks;
	int		 n, i, seen = 0;

	xasprintf(&dir, "%s/unit/summary", src != NULL ? src : "tests");
	n = scandir(dir, &ents, NULL, by_name);
	for (i = 0; i < n; i++) {
		const char *d = ents[i]->d_name;
		size_t l = strlen(d);

		if (l > 5 && strcmp(d + l - 5, ".json") == 0) {
			test_case(dir, d);
			seen++;
		}
		free(ents[i]);
	}
	if (n > 0)
		free(ents);
	TEST_START("golden cases were found");
	ASSERT_TRUE(seen >= 3);
	TEST_DONE();
	free(dir);

	TEST_START("continuation prompt: the summary block, then the original");
	goal = json_loads("[{\"type\":\"text\",\"text\":\"fix it\"},"
	    "{\"type\":\"resource_link\",\"uri\":\"file:///a\",\"name\":\"a\"}]",
	    0, NULL);
	s = summary_build(goal, NULL, "sig");
	blocks = summary_continuation(s, goal);
	ASSERT_INT_EQ(json_array_size(blocks), 3);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(blocks,
	    0), "text")), s);
	ASSERT_TRUE(json_equal(json_array_get(blocks, 1),
	    json_array_get(goal, 0)));
	ASSERT_TRUE(strstr(s, "fix it\n[resource_link: file:///a]") != NULL);
	ASSERT_TRUE(strstr(s, "- continue the original task from where it "
	    "stopped") != NULL);
	json_decref(blocks);
	json_decref(goal);
	free(s);
	TEST_DONE();
	return (tap_end());
}
