/*
 * JSON as JavaScript reads and writes it. The one JSON.parse front end:
 * V8's (Node 20) parser with its error messages, for the files users give
 * us (config, --mcp-config, policies), prompt input and the agent lines
 * that are not JSON-RPC (js-json.c). And js_json_dumps(), the one
 * serializer for bytes a user or peer sees (js-json-dump.c): exactly what
 * JSON.stringify writes (shortest round-trip numbers, 1.0 as 1, lower-case
 * \u escapes, array-index keys first, then insertion order), so our output
 * matches the reference byte for byte.
 *
 * Ownership: a parsed value is a new reference the caller owns; *cause and
 * the serialized text are new strings the caller frees.
 */
#ifndef ACPX_JS_JSON_H
#define ACPX_JS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * JSON.parse(text) over len bytes of UTF-8: the value, or NULL with the
 * message V8 throws (without "SyntaxError: ") in *cause. Integers beyond
 * 2^53 become reals, Infinity the largest double, as jansson cannot hold
 * what JavaScript holds.
 */
json_t	*js_json_parse(const char *text, size_t len, char **cause);

/*
 * What JSON.parse throws for text, as "SyntaxError: <message>"; NULL if it
 * parses. Caller frees.
 */
char	*js_json_syntax_error(const char *text, size_t len);

/*
 * A canonical array index ("0", "17"; below 2^32 - 1): 1 and *out, else
 * 0. Such keys come first, ascending, in a JavaScript object.
 */
int	 js_json_array_index(const char *key, uint32_t *out);

/*
 * Object.keys(obj): array-index keys ascending, then the rest in insertion
 * order. The array (NULL-terminated, *n entries) is the caller's to free;
 * the strings are borrowed from obj.
 */
const char **js_json_keys(const json_t *obj, size_t *n);

/*
 * JSON.stringify(v) (indent 0) or JSON.stringify(v, null, indent) text
 * (indent clamped to 0..10; NULL is "null"). Caller frees.
 */
char	*js_json_dumps(const json_t *v, int indent);

/*
 * Compact JSON.stringify(v) with one value, slot (held by v, found by
 * identity), left out: *at is the offset where its text belongs ((size_t)-1
 * if v does not hold it). Splicing JSON.stringify(value) in there gives
 * JSON.stringify(v with that value) byte for byte: a message serialised
 * once can be embedded in several envelopes. Caller frees.
 */
char	*js_json_dumps_split(const json_t *v, const json_t *slot, size_t *at);

/*
 * js_json_dumps(v, indent) as written depth levels deep (the lines after
 * the first indented by indent * depth more: v's text inside a bigger
 * value), with slot (NULL: none) left out as js_json_dumps_split() does.
 * Caller frees.
 */
char	*js_json_dumps_at(const json_t *v, int indent, int depth,
	    const json_t *slot, size_t *at);

/*
 * Compact JSON.stringify(v), except that an integer is written exactly at
 * any size (jansson's json_int_t) rather than through a double: the text
 * of a message passed on to a peer, which keeps the values the sender
 * wrote. Caller frees.
 */
char	*js_json_dumps_exact(const json_t *v);

#endif
