#!/bin/sh
# The real Claude ACP adapter (@agentclientprotocol/claude-agent-acp 0.76.0
# from the npm registry) offline against the fake provider (its "tools"
# mode: Anthropic's Messages API answering with a tool_use of Write), with a
# user's own Claude settings ($CLAUDE_CONFIG_DIR/settings.json) that allow
# Write. acpx must keep user settings out (the adapter's settingSources, as
# the reference sends them), so the permission mode acpx was given decides:
#   --deny-all exec            exit 5, nothing written
#   --approve-all exec         exit 0, the file written
#   ACPX_CLAUDE_INCLUDE_USER_SETTINGS=1 --deny-all exec
#                              exit 0, written: the user's allow-list is
#                              honoured when asked for (so the first case
#                              can fail)
#   --deny-all in a persistent session the queue owner reloads in a fresh
#   adapter process            exit 5, nothing written (beyond the
#                              reference, which writes the file there)
# Where the reference acpx is installed, its exec outcomes (exit code, file)
# must be the same.
#
# The package is installed into ACPX_NPM_CACHE (default
# ~/.cache/acpx-native) by install-npm.sh when it is not there. Skipped only
# when npm, node or the registry cannot be reached and CI is unset; under
# CI a failed install is a failure.
. "$TESTS_SRCDIR/conformance/npm-pins.sh"
VERSION=$CLAUDE_ACP_VERSION
PKG=$CLAUDE_ACP_PKG
. "$TESTS_SRCDIR/regress/lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset ACPX_CLAUDE_INCLUDE_USER_SETTINGS ANTHROPIC_AUTH_TOKEN ANTHROPIC_MODEL \
    CLAUDE_CODE_USE_BEDROCK CLAUDE_CODE_USE_VERTEX CLAUDE_CODE_OAUTH_TOKEN

# unavailable REASON: skip outside CI, fail under CI.
unavailable() {
	if [ -n "${CI:-}" ] && [ "${CI:-}" != false ]; then
		not_ok "the Claude ACP adapter is available under CI" "$1"
		done_testing
	fi
	skip_all "$1"
}

FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || unavailable "fake provider not built"
command -v node >/dev/null 2>&1 ||
    unavailable "node not installed (the Claude ACP adapter is a Node.js program)"
DIR=$ACPX_NPM_CACHE/claude-agent-acp-$VERSION
CA=$DIR/node_modules/.bin/claude-agent-acp
if [ ! -x "$CA" ]; then
	echo "# installing $PKG@$VERSION from the npm registry into $DIR"
	if ! sh "$TESTS_SRCDIR/conformance/install-npm.sh" "$DIR" "$PKG@$VERSION" \
	    >"$T_ROOT/npm.log" 2>&1 || [ ! -x "$CA" ]; then
		sed 's/^/# /' "$T_ROOT/npm.log" | tail -n 15
		unavailable "could not install $PKG@$VERSION from the npm registry (see above)"
	fi
fi

REC="$T_ROOT/provider.rec"
OUTF="$T_WORK/out.txt"
fake_provider_start "$REC" --lifetime 900 --tool-file "$OUTF" ||
    unavailable "fake provider did not start"

# The user's own Claude settings: Write always allowed.
export CLAUDE_CONFIG_DIR="$T_ROOT/claude-config"
mkdir -p "$CLAUDE_CONFIG_DIR"
printf '{"permissions":{"allow":["Write"]}}\n' >"$CLAUDE_CONFIG_DIR/settings.json"
# Offline: the fake provider, no retries, updates, telemetry or other traffic.
export ANTHROPIC_BASE_URL="http://127.0.0.1:$PORT/tools" \
    ANTHROPIC_API_KEY=sk-ant-fake-claude IS_SANDBOX=1 \
    CLAUDE_CODE_MAX_RETRIES=0 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
    DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
# The adapter's session/new limit (60 s in acpx and the reference) is not
# what this test is about, and a loaded machine can take longer to start
# the adapter and Claude Code: a ceiling that only bounds a hang (the limit
# itself is tested against the mock agent in regress/adapter-meta.sh).
export ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS=600000
PROMPT="write the file out.txt"

# written: the Write tool ran.
written() { [ -f "$OUTF" ] && [ "$(cat "$OUTF")" = "written by the fake provider" ]; }
# asked: the adapter reached the provider (so the tool call was offered).
asked() { grep -q '"path":"/tools/v1/messages' "$REC" 2>/dev/null; }
expect_file() {
	if [ "$1" = yes ]; then
		written && ok "$2: the file is written" ||
		    not_ok "$2: the file is written" "stdout: $OUT" "stderr: $ERR"
	else
		[ ! -e "$OUTF" ] && ok "$2: nothing written" ||
		    not_ok "$2: nothing written" "$(cat "$OUTF" 2>&1)" "stdout: $OUT"
	fi
}
fresh() { rm -f "$OUTF" "$REC"; }

fresh; run --timeout 180 --deny-all --agent "$CA" exec "$PROMPT"
expect_rc 5 "--deny-all exec with a user allow-list for Write"
expect_file no "--deny-all exec"
asked && ok "the adapter asked the fake provider" ||
    not_ok "the adapter asked the fake provider" "stderr: $ERR"
expect_out_has "User refused permission to run tool" "--deny-all: the adapter reports the refusal"
OURS_DENY="$RC"

fresh; run --timeout 180 --approve-all --agent "$CA" exec "$PROMPT"
expect_rc 0 "--approve-all exec"
expect_file yes "--approve-all exec"
OURS_APPROVE="$RC"

fresh; export ACPX_CLAUDE_INCLUDE_USER_SETTINGS=1
run --timeout 180 --deny-all --agent "$CA" exec "$PROMPT"
unset ACPX_CLAUDE_INCLUDE_USER_SETTINGS
expect_rc 0 "ACPX_CLAUDE_INCLUDE_USER_SETTINGS=1: the user's allow-list applies"
expect_file yes "ACPX_CLAUDE_INCLUDE_USER_SETTINGS=1 --deny-all exec"

# A persistent session with one harmless turn (so the adapter has saved the
# conversation), its queue owner gone; the next --deny-all prompt's owner
# reloads it (session/load) in a fresh adapter process, and the reload must
# keep user settings out too. (The reference sends no _meta on load: it
# exits 0 here and the file is written.)
fresh; run --agent "$CA" sessions new --name perm
expect_rc 0 "sessions new with the adapter"
run --timeout 180 --ttl 0 --deny-all --agent "$CA" prompt -s perm "say hello"
expect_rc 0 "a first, harmless prompt in the session"
stop_owner
fresh; run --timeout 180 --ttl 0 --deny-all --agent "$CA" prompt -s perm "$PROMPT"
expect_rc 5 "--deny-all prompt in a session the queue owner reloaded"
expect_file no "--deny-all prompt in a reloaded session"
asked && ok "the reloaded session asked the fake provider" ||
    not_ok "the reloaded session asked the fake provider" "stderr: $ERR"
run --agent "$CA" sessions close perm

if [ -x "${ACPX_REFERENCE:-/tmp/ref/node_modules/.bin/acpx}" ] &&
    [ "${ACPX_REFERENCE:-}" != none ]; then
	REF=${ACPX_REFERENCE:-/tmp/ref/node_modules/.bin/acpx}
	fresh
	( cd "$T_WORK" && "$REF" --timeout 180 --deny-all --agent "$CA" exec \
	    "$PROMPT" </dev/null >/dev/null 2>&1 )
	rc=$?
	[ "$rc" = "$OURS_DENY" ] && [ ! -e "$OUTF" ] &&
	    ok "reference --deny-all: the same exit ($rc) and nothing written" ||
	    not_ok "reference --deny-all: the same outcome" "reference exit $rc, ours $OURS_DENY; file: $(ls "$OUTF" 2>&1)"
	fresh
	( cd "$T_WORK" && "$REF" --timeout 180 --approve-all --agent "$CA" exec \
	    "$PROMPT" </dev/null >/dev/null 2>&1 )
	rc=$?
	[ "$rc" = "$OURS_APPROVE" ] && written &&
	    ok "reference --approve-all: the same exit ($rc) and the file written" ||
	    not_ok "reference --approve-all: the same outcome" "reference exit $rc, ours $OURS_APPROVE"
fi

done_testing
