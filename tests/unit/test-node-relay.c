/*
 * node-relay.c: the quoting of every argument for the node's POSIX shell
 * (checked by handing the quoted text to /bin/sh and comparing the bytes
 * it gives back, for every shell metacharacter, quotes, newlines, control
 * bytes and non-ASCII), the remote command line, the ssh argv (our
 * options before the user's, the destination last before "--"), the
 * frames, and the version comparison.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config-file.h"
#include "node-relay.h"
#include "tap.h"
#include "xmalloc.h"

/* What /bin/sh makes of "printf %s <q>": the bytes, in a buffer. */
static char *
sh_roundtrip(const char *q, size_t *len)
{
	struct buf	 b = BUF_INITIALIZER;
	char		*cmd, chunk[4096];
	FILE		*f;
	size_t		 n;

	xasprintf(&cmd, "printf %%s %s", q);
	if ((f = popen(cmd, "r")) == NULL) {
		perror("popen");
		exit(99);
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	pclose(f);
	free(cmd);
	buf_addc(&b, '\0');
	*len = b.len - 1;
	return (buf_take(&b));
}

int
main(void)
{
	static const char *const words[] = {
		"", "plain", "two words", "it's", "'''", "\"double\"",
		"$HOME `id` $(id) ${x:-y} $((1+1))",
		"; | & && || > < >> << * ? [a] {b,c} ~ ~root # % ^ ! \\ \\\\",
		"line one\nline two\n", "\ttab\r\n", "héllo ✓ 日本 \xf0\x9f\x98\x80",
		"-n", "--", "-e \\n", "\x01\x02\x1b[31m\x7f", "\xff\xfe invalid",
		"'$(rm -rf /)'", "a'b\"c`d$e\\f", NULL
	};
	struct config_node	 n;
	struct buf		 b = BUF_INITIALIZER;
	char			*q, *out, *cmd, **argv;
	char			*args[] = { "exec", "it's", NULL };
	char			*opts[] = { "-F", "/x/cfg", "-o", "ConnectTimeout=3" };
	size_t			 i, len;

	TEST_START("quote: each word in single quotes, ' as '\\''");
	q = node_relay_quote("it's");
	ASSERT_STR_EQ(q, "'it'\\''s'");
	free(q);
	q = node_relay_quote("");
	ASSERT_STR_EQ(q, "''");
	free(q);
	q = node_relay_quote("$HOME");
	ASSERT_STR_EQ(q, "'$HOME'");
	free(q);
	TEST_DONE();

	TEST_START("quote: /bin/sh gives every word back byte for byte");
	for (i = 0; words[i] != NULL; i++) {
		q = node_relay_quote(words[i]);
		out = sh_roundtrip(q, &len);
		if (len != strlen(words[i]) || memcmp(out, words[i], len) != 0)
			TAP_FAIL("word %zu: sent %s, got back \"%s\"", i, q, out);
		free(out);
		free(q);
	}
	TEST_DONE();

	TEST_START("the remote command: exec, the acpx command, the words");
	cmd = node_relay_command("acpx", args);
	ASSERT_STR_EQ(cmd, "exec 'acpx' 'exec' 'it'\\''s'");
	free(cmd);
	cmd = node_relay_command("~/bin/acpx", args);
	ASSERT_STR_EQ(cmd, "exec \"$HOME\"/'bin/acpx' 'exec' 'it'\\''s'");
	free(cmd);
	TEST_DONE();

	TEST_START("the ssh argv: ours first, sshOptions, timeout, dest, --, cmd");
	memset(&n, 0, sizeof n);
	n.name = "mac-6";
	n.ssh = "me@mac-6";
	n.acpx = "acpx";
	n.ssh_options = opts;
	n.nssh_options = 4;
	argv = node_relay_ssh_argv(&n, "/tmp/acpx-x/n-mac-6", "exec 'acpx'");
	b.len = 0;
	for (i = 0; argv[i] != NULL; i++) {
		buf_adds(&b, argv[i]);
		buf_addc(&b, '|');
	}
	ASSERT_STR_EQ(b.p, "ssh|-T|-o|BatchMode=yes|-o|ControlMaster=auto|-o|"
	    "ControlPath=/tmp/acpx-x/n-mac-6|-o|ControlPersist=60|-F|/x/cfg|"
	    "-o|ConnectTimeout=3|-o|ConnectTimeout=20|me@mac-6|--|"
	    "exec 'acpx'|");
	node_relay_argv_free(argv);
	buf_free(&b);
	TEST_DONE();

	TEST_START("frames: type, 4-byte big-endian length, payload");
	node_relay_frame(&b, NODE_FRAME_DATA, "hi", 2);
	node_relay_frame(&b, NODE_FRAME_END, NULL, 0);
	node_relay_frame(&b, NODE_FRAME_SIGNAL, "INT", 3);
	ASSERT_INT_EQ(b.len, 7 + 5 + 8);
	ASSERT_TRUE(memcmp(b.p, "D\0\0\0\2hiE\0\0\0\0S\0\0\0\3INT", 20) == 0);
	buf_free(&b);
	TEST_DONE();

	TEST_START("versions compare part by part");
	ASSERT_INT_EQ(node_relay_vercmp("0.1.0", "0.1.0"), 0);
	ASSERT_TRUE(node_relay_vercmp("0.0.9", "0.1.0") < 0);
	ASSERT_TRUE(node_relay_vercmp("0.10.0", "0.9.9") > 0);
	ASSERT_INT_EQ(node_relay_vercmp("1", "1.0.0"), 0);
	ASSERT_TRUE(node_relay_vercmp("1.2", "1.10") < 0);
	ASSERT_TRUE(node_relay_vercmp("2.0.0", "10.0.0") < 0);
	TEST_DONE();

	return (tap_end());
}
