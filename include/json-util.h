/*
 * JSON helpers over jansson.
 *
 * Ownership (as jansson's own rules): constructors and json_pack return a
 * new reference the caller owns; json_object_get and friends borrow;
 * *_set_new / "o" in json_pack steal; "O" increments. Functions below say
 * "borrowed" or "caller owns".
 *
 * json_dumps_js() is the one serializer for bytes a user or peer sees: it
 * writes exactly what JavaScript's JSON.stringify writes (shortest
 * round-trip numbers, 1.0 as 1, lower-case \u escapes, insertion order), so
 * our output matches the reference byte for byte.
 */
#ifndef ACPX_JSON_UTIL_H
#define ACPX_JSON_UTIL_H

#include <stddef.h>

#include <jansson.h>

/* Compact (indent 0) or pretty (indent > 0 spaces) JSON.stringify text. Caller owns. */
char		*json_dumps_js(const json_t *, int indent);

/*
 * v as JavaScript's String(number) writes it ("0.1", "1", "1e+21", "NaN")
 * into buf (NUL-terminated, truncated to size). Returns the length.
 */
size_t		 json_js_number(double v, char *buf, size_t size);

/* Borrowed string member or NULL if absent / not a string. */
const char	*json_str(const json_t *obj, const char *key);

/* Borrowed object member or NULL if absent / not an object. */
json_t		*json_obj(const json_t *obj, const char *key);

#endif
