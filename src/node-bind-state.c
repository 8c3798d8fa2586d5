#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsutil.h"
#include "js.h"
#include "node-bind.h"
#include "node-fs.h"
#include "xmalloc.h"

/*
 * The down marks of the nodes (node-bind.h): ~/.acpx/nodes-down.json,
 *
 *	{"<node>": {"until": <epoch ms>, "cause": "<ssh's last line>"}}
 *
 * read on every choice and rewritten atomically (fsutil_write) when a mark
 * changes. A missing or unreadable file marks nothing. Two processes
 * racing on it may lose a mark, which only costs one more try.
 */

static char *
node_bind_state_path(const char *home)
{
	char	*p;

	xasprintf(&p, "%s/.acpx/%s", home, NODE_BIND_STATE_FILE);
	return (p);
}

static json_t *
node_bind_state_load(const char *home)
{
	char		*path, *text = NULL, *cause = NULL;
	size_t		 len;
	int		 err_no;
	json_t		*root = NULL;

	path = node_bind_state_path(home);
	if (node_fs_read_file(path, &text, &len, &err_no, &cause) == 0)
		root = json_loadb(text, len, 0, NULL);
	free(cause);
	free(text);
	free(path);
	if (!json_is_object(root)) {
		json_decref(root);
		root = json_object();
	}
	return (root);
}

/* Is node marked down now? */
int
node_bind_state_down(const char *home, const char *node)
{
	json_t	*root, *e;
	int	 down;

	if (home == NULL)
		return (0);
	root = node_bind_state_load(home);
	e = json_object_get(json_object_get(root, node), "until");
	down = json_is_integer(e) && json_integer_value(e) > js_now_ms();
	json_decref(root);
	return (down);
}

/* The end of node's down mark (ms since the epoch), 0 when unmarked. */
long long
node_bind_state_until(const char *home, const char *node)
{
	json_t		*root, *e;
	long long	 until;

	if (home == NULL)
		return (0);
	root = node_bind_state_load(home);
	e = json_object_get(json_object_get(root, node), "until");
	until = json_is_integer(e) ? (long long)json_integer_value(e) : 0;
	json_decref(root);
	return (until);
}

/* Mark node down for the cooldown (down), or clear its mark. */
void
node_bind_state_mark(const char *home, const char *node, int down,
    const char *cause)
{
	json_t	*root;
	char	*path, *text, *dir;

	if (home == NULL)
		return;
	root = node_bind_state_load(home);
	if (!down && json_object_get(root, node) == NULL) {
		json_decref(root);
		return;
	}
	if (down)
		json_object_set_new(root, node, json_pack("{s:I, s:s}", "until",
		    (json_int_t)(js_now_ms() + NODE_BIND_COOLDOWN_S * 1000LL),
		    "cause", cause != NULL ? cause : "unreachable"));
	else
		json_object_del(root, node);
	text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	xasprintf(&dir, "%s/.acpx", home);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		free(dir);
		free(text);
		return;
	}
	free(dir);
	path = node_bind_state_path(home);
	/* A labelled blocking local write (fsutil.h). */
	if (text != NULL)
		(void)fsutil_write(path, text, strlen(text), 0, NULL);
	free(path);
	free(text);
}
