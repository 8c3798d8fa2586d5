/*
 * The one JSON.parse front end: V8's (Node 20) parser with its error
 * messages, for the files users give us (config, --mcp-config, policies),
 * prompt input and the agent lines that are not JSON-RPC.
 *
 * Ownership: the value is a new reference the caller owns; *cause is a new
 * string the caller frees.
 */
#ifndef ACPX_JS_JSON_H
#define ACPX_JS_JSON_H

#include <stddef.h>

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

#endif
