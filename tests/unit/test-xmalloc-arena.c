/*
 * xmalloc-arena: parsed values from blocks, values kept past their message,
 * blocks reused, and everything else (json_dumps text) from malloc.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xmalloc.h"
#include "tap.h"

static json_t *
parse(const char *text)
{
	json_t	*v;

	xmalloc_arena_begin();
	v = json_loads(text, 0, NULL);
	xmalloc_arena_end();
	return (v);
}

int
main(void)
{
	json_t	*v, *kept, *keep[200];
	char	 text[512], *s;
	int	 i;

	xmalloc_init();

	TEST_START("a parsed message is read, changed and freed");
	v = parse("{\"jsonrpc\":\"2.0\",\"params\":{\"text\":\"hello\"}}");
	ASSERT_PTR_NOT_NULL(v);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(v,
	    "params"), "text")), "hello");
	/* Growing a parsed object after the parse mixes both allocators. */
	for (i = 0; i < 40; i++) {
		snprintf(text, sizeof text, "k%d", i);
		json_object_set_new(v, text, json_integer(i));
	}
	ASSERT_INT_EQ(json_object_size(v), 42);
	s = json_dumps(v, JSON_COMPACT);	/* malloc'ed: free() is right */
	ASSERT_TRUE(strncmp(s, "{\"jsonrpc\":\"2.0\"", 16) == 0);
	free(s);
	json_decref(v);
	TEST_DONE();

	TEST_START("a value kept from a message outlives many blocks");
	v = parse("{\"a\":{\"b\":[1,2,\"three\"]},\"c\":\"kept\"}");
	kept = json_incref(json_object_get(v, "a"));
	json_decref(v);
	for (i = 0; i < 5000; i++) {
		snprintf(text, sizeof text, "{\"n\":%d,\"pad\":\"%0200d\"}", i, i);
		v = parse(text);
		ASSERT_INT_EQ(json_integer_value(json_object_get(v, "n")), i);
		json_decref(v);
	}
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(kept,
	    "b"), 2)), "three");
	json_decref(kept);
	TEST_DONE();

	TEST_START("many values kept at once, freed in any order");
	for (i = 0; i < 200; i++) {
		snprintf(text, sizeof text, "{\"i\":%d,\"pad\":\"%0400d\"}", i, i);
		keep[i] = parse(text);
	}
	for (i = 0; i < 200; i += 2)
		json_decref(keep[i]);
	for (i = 1; i < 200; i += 2) {
		ASSERT_INT_EQ(json_integer_value(json_object_get(keep[i], "i")),
		    i);
		json_decref(keep[i]);
	}
	v = parse("[\"after\"]");
	ASSERT_STR_EQ(json_string_value(json_array_get(v, 0)), "after");
	json_decref(v);
	TEST_DONE();

	TEST_START("large strings and values built outside a parse");
	s = xmalloc(100000);
	memset(s, 'x', 99999);
	s[99999] = '\0';
	v = json_pack("{s:s}", "big", s);
	ASSERT_INT_EQ(json_string_length(json_object_get(v, "big")), 99999);
	json_decref(v);
	free(s);
	TEST_DONE();

	return (tap_end());
}
