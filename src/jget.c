#include <config.h>

#include <jansson.h>

#include "jget.h"

/* Borrowed string member or NULL if absent / not a string. */
const char *
jget_str(const json_t *obj, const char *key)
{
	return (json_string_value(json_object_get(obj, key)));
}

/* Borrowed object member or NULL if absent / not an object. */
json_t *
jget_obj(const json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	return (json_is_object(v) ? v : NULL);
}
