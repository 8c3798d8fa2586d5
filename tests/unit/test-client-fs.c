/* Unit tests for the client fs methods: confinement, windows, writes. */
#include <config.h>

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "acpx.h"
#include "client-fs.h"
#include "xmalloc.h"
#include "tap.h"

static char root[PATH_MAX];

static json_t *
req(const char *rel, const char *extra)
{
	char	buf[PATH_MAX * 2];

	snprintf(buf, sizeof buf, "{\"sessionId\":\"s\",\"path\":\"%s%s\"%s%s}",
	    rel[0] == '/' ? "" : root, rel[0] == '/' || rel[0] == '\0' ? rel : rel,
	    extra ? "," : "", extra ? extra : "");
	return (json_loads(buf, 0, NULL));
}

static const char *
read_as(struct client_fs_opts *o, const char *rel, const char *extra,
    char *out, size_t outsz, int *perm)
{
	json_t			*p = req(rel, extra), *res, *err = NULL;
	enum client_fs_perm	 pm;

	res = client_fs_read(o, p, &err, &pm);
	*perm = (int)pm;
	if (res != NULL)
		snprintf(out, outsz, "%s", json_string_value(json_object_get(res,
		    "content")));
	else {
		const char *d = json_string_value(json_object_get(json_object_get(err,
		    "data"), "details"));

		snprintf(out, outsz, "E%lld:%s", json_integer_value(json_object_get(err,
		    "code")), d != NULL ? d : json_string_value(json_object_get(err,
		    "message")));
	}
	json_decref(res);
	json_decref(err);
	json_decref(p);
	return (out);
}

int
main(void)
{
	struct client_fs_opts	 o;
	char			 tmpl[] = "/tmp/acpx-fs-XXXXXX", out[4096], *n;
	char			 path[PATH_MAX + 32];
	int			 perm;
	FILE			*f;
	json_t			*p, *res, *err;
	enum client_fs_perm	 pm;

	xmalloc_init();
	if (mkdtemp(tmpl) == NULL)
		return (1);
	snprintf(root, sizeof root, "%s/", tmpl);
	snprintf(path, sizeof path, "%sa.txt", root);
	f = fopen(path, "w");
	fputs("one\ntwo\nthree\nfour", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/outside.txt", "/tmp");
	mkdir(strcat(strcpy(path, root), "sub"), 0700);
	snprintf(path, sizeof path, "%slink", root);
	symlink("/etc/hostname", path);
	snprintf(path, sizeof path, "%sinlink", root);
	symlink("a.txt", path);

	memset(&o, 0, sizeof o);
	o.cwd = tmpl;
	o.mode = ACPX_PERM_APPROVE_READS;

	TEST_START("normalize");
	n = client_fs_normalize("/a/./b/../c//d/");
	ASSERT_STR_EQ(n, "/a/c/d");
	free(n);
	n = client_fs_normalize("/../..");
	ASSERT_STR_EQ(n, "/");
	free(n);
	TEST_DONE();

	TEST_START("read whole file and windows");
	ASSERT_STR_EQ(read_as(&o, "a.txt", NULL, out, sizeof out, &perm), "one\ntwo\nthree\nfour");
	ASSERT_STR_EQ(read_as(&o, "a.txt", "\"line\":2,\"limit\":2", out, sizeof out, &perm), "two\nthree");
	ASSERT_STR_EQ(read_as(&o, "a.txt", "\"line\":3", out, sizeof out, &perm), "three\nfour");
	ASSERT_STR_EQ(read_as(&o, "a.txt", "\"limit\":0", out, sizeof out, &perm), "");
	ASSERT_STR_EQ(read_as(&o, "a.txt", "\"line\":0,\"limit\":1", out, sizeof out, &perm), "one");
	ASSERT_STR_EQ(read_as(&o, "a.txt", "\"line\":9", out, sizeof out, &perm), "");
	ASSERT_STR_EQ(read_as(&o, "inlink", NULL, out, sizeof out, &perm), "one\ntwo\nthree\nfour");
	TEST_DONE();

	TEST_START("confinement errors");
	p = json_pack("{s:s}", "path", "rel.txt");
	res = client_fs_read(&o, p, &err, &pm);
	ASSERT_PTR_NULL(res);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(err, "data"), "details")),
	    "Path must be absolute: rel.txt");
	json_decref(err);
	json_decref(p);
	snprintf(path, sizeof path, "%s/../x", tmpl);
	p = json_pack("{s:s}", "path", path);
	res = client_fs_read(&o, p, &err, &pm);
	ASSERT_PTR_NULL(res);
	ASSERT_TRUE(strstr(json_string_value(json_object_get(json_object_get(err, "data"),
	    "details")), "Path is outside allowed cwd subtree: /tmp/x") != NULL);
	json_decref(err);
	json_decref(p);
	ASSERT_STR_EQ(read_as(&o, "link", NULL, out, sizeof out, &perm), "E-32603:file is outside workspace root");
	ASSERT_STR_EQ(read_as(&o, "sub", NULL, out, sizeof out, &perm), "E-32603:file is outside workspace root");
	read_as(&o, "missing.txt", NULL, out, sizeof out, &perm);
	ASSERT_TRUE(strncmp(out, "E-32002:Resource not found: file:///tmp/acpx-fs-", 48) == 0);
	o.mode = ACPX_PERM_DENY_ALL;
	ASSERT_STR_EQ(read_as(&o, "a.txt", NULL, out, sizeof out, &perm),
	    "E-32603:Permission denied for fs/read_text_file (--deny-all)");
	ASSERT_INT_EQ(perm, CLIENT_FS_PERM_DENIED);
	TEST_DONE();

	TEST_START("writes follow the mode and create parents");
	snprintf(path, sizeof path, "%snew/dir/w.txt", root);
	p = json_pack("{s:s, s:s}", "path", path, "content", "hello");
	o.mode = ACPX_PERM_APPROVE_READS;
	res = client_fs_write(&o, p, &err, &pm);
	ASSERT_PTR_NULL(res);
	ASSERT_INT_EQ(pm, CLIENT_FS_PERM_DENIED);
	json_decref(err);
	o.nonint = ACPX_NONINT_FAIL;
	res = client_fs_write(&o, p, &err, &pm);
	ASSERT_INT_EQ(pm, CLIENT_FS_PERM_UNAVAILABLE);
	json_decref(err);
	o.mode = ACPX_PERM_APPROVE_ALL;
	res = client_fs_write(&o, p, &err, &pm);
	ASSERT_PTR_NOT_NULL(res);
	json_decref(res);
	f = fopen(path, "r");
	ASSERT_TRUE(f != NULL && fgets(out, sizeof out, f) != NULL && strcmp(out, "hello") == 0);
	if (f != NULL)
		fclose(f);
	json_decref(p);
	snprintf(path, sizeof path, "%slink", root);
	p = json_pack("{s:s, s:s}", "path", path, "content", "x");
	res = client_fs_write(&o, p, &err, &pm);
	ASSERT_PTR_NULL(res);
	json_decref(err);
	json_decref(p);
	TEST_DONE();

	snprintf(out, sizeof out, "rm -rf '%s'", tmpl);
	if (system(out) != 0)
		return (1);
	return (tap_end());
}
