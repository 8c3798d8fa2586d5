#!/bin/sh
# prefetch.sh: install the npm packages of the real-program conformance
# tests (npm-pins.sh) into the cache while the builds run, so that the
# tests find them there. scripts/test starts it in the background; a test
# that starts while an install is still running waits for it (the install
# scripts hold a lock per package), and a test whose install failed here
# tries again itself. Prints one line per package; exit 0 when all are in.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/npm-pins.sh"
command -v npm >/dev/null 2>&1 || { echo "prefetch: npm not installed"; exit 1; }
st=0
sh "$here/install-openclaw.sh" "$ACPX_NPM_CACHE/openclaw-$OPENCLAW_VERSION" \
    "$OPENCLAW_VERSION" >/dev/null 2>&1 &
p1=$!
sh "$here/install-npm.sh" "$ACPX_NPM_CACHE/opencode-ai-${OPENCODE_SPEC#*@}" \
    "$OPENCODE_SPEC" >/dev/null 2>&1 &
p2=$!
sh "$here/install-npm.sh" "$ACPX_NPM_CACHE/claude-agent-acp-$CLAUDE_ACP_VERSION" \
    "$CLAUDE_ACP_PKG@$CLAUDE_ACP_VERSION" >/dev/null 2>&1 &
p3=$!
for x in "openclaw@$OPENCLAW_VERSION $p1" "$OPENCODE_SPEC $p2" \
    "$CLAUDE_ACP_PKG@$CLAUDE_ACP_VERSION $p3"; do
	set -- $x
	if wait "$2"; then echo "prefetch: $1 ready"
	else echo "prefetch: $1 failed (its test installs it again)"; st=1; fi
done
exit $st
