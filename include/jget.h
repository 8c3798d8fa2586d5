/*
 * Typed, borrowed reads of a JSON object's members (jansson's
 * json_object_get() with the type checked): the member, or NULL when it is
 * absent or of another type. Nothing is allocated; the results are
 * borrowed from obj.
 */
#ifndef ACPX_JGET_H
#define ACPX_JGET_H

#include <jansson.h>

/* Borrowed string member or NULL if absent / not a string. */
const char	*jget_str(const json_t *obj, const char *key);

/* Borrowed object member or NULL if absent / not an object. */
json_t		*jget_obj(const json_t *obj, const char *key);

#endif
