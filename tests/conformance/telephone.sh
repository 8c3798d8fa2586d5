#!/bin/sh
# The operator skill's "telephone game" templates (spec consumers.md §2),
# exactly as OpenClaw's acp-router SKILL.md writes them, with ACPX_CMD
# pointing at our acpx. Global flags after the agent token (`codex -s K
# --cwd W --format quiet`, `codex exec --cwd W`) are accepted by acpx-native
# (a deliberate superset, docs/compatibility.md); the reference rejects them with
# "unknown option '--cwd'" (exit 1), which is checked when it is installed.
. "$TESTS_SRCDIR/conformance/lib.sh"

mkdir -p "$HOME/.acpx"
cat >"$HOME/.acpx/config.json" <<JSON
{"agents":{"codex":{"command":"$MOCK --supports-load-session"}}}
JSON
ACPX_CMD=$ACPX
workspacePath=$T_WORK
conversationId=7f3a
cd "$T_WORK" || exit 1

sh_run() {
	eval "$1" </dev/null >"$T_ROOT/out" 2>"$T_ROOT/err"
	RC=$?
	OUT=$(cat "$T_ROOT/out"); ERR=$(cat "$T_ROOT/err")
}

# version / repair policy
sh_run '${ACPX_CMD} --version'
expect_rc 0 "--version"
expect_out "0.19.1" "--version prints the pinned version first"

# persistent session (create if missing, then prompt)
sh_run '${ACPX_CMD} codex sessions show oc-codex-${conversationId}'
expect_rc 1 "sessions show of a missing session fails (so || new runs)"
expect_err "No named session \"oc-codex-$conversationId\" for cwd $T_WORK and agent codex" "sessions show: plain stderr"
sh_run '${ACPX_CMD} codex sessions show oc-codex-${conversationId} \
  || ${ACPX_CMD} codex sessions new --name oc-codex-${conversationId}'
expect_rc 0 "show || new creates the session"
expect_out "mock-session-1" "sessions new prints the record id"
sh_run '${ACPX_CMD} codex sessions show oc-codex-${conversationId} \
  || ${ACPX_CMD} codex sessions new --name oc-codex-${conversationId}'
expect_rc 0 "show || new: show succeeds the second time"
expect_out_has "oc-codex-$conversationId" "sessions show names the session"
sh_run '${ACPX_CMD} codex -s oc-codex-${conversationId} --cwd ${workspacePath} --format quiet "echo the answer"'
expect_rc 0 "prompt template (global flags after the agent)"
expect_out "the answer" "quiet prints only the answer"

# one-shot
sh_run '${ACPX_CMD} codex exec --cwd ${workspacePath} --format quiet "echo one shot"'
expect_rc 0 "one-shot template (--cwd after exec)"
expect_out "one shot" "exec quiet answer"

# cancel / close
sh_run '${ACPX_CMD} codex cancel -s oc-codex-${conversationId}'
expect_rc 0 "cancel template"
expect_out "nothing to cancel" "cancel with no turn running"
sh_run '${ACPX_CMD} codex sessions close oc-codex-${conversationId}'
expect_rc 0 "close template"
expect_out "mock-session-1" "close prints the record id"

# failure rule: NO_SESSION → sessions new --name, then retry
sh_run '${ACPX_CMD} codex -s oc-codex-${conversationId} --cwd ${workspacePath} --format quiet "echo retried"'
expect_rc 4 "prompt after close is NO_SESSION"
expect_err_has "[acpx] error: NO_SESSION" "quiet NO_SESSION: one stderr line"
sh_run '${ACPX_CMD} codex sessions new --name oc-codex-${conversationId} && ${ACPX_CMD} codex -s oc-codex-${conversationId} --cwd ${workspacePath} --format quiet "echo retried"'
expect_rc 0 "sessions new then retry"
expect_out "$(printf 'mock-session-1\nretried')" "the retry answers"

# queue busy → --no-wait queues and returns at once.
sh_run '${ACPX_CMD} codex -s oc-codex-${conversationId} --no-wait --format quiet "echo queued"'
expect_rc 0 "--no-wait"
sh_run '${ACPX_CMD} codex sessions close oc-codex-${conversationId}'

# The canonical global-flags-first forms behave the same.
sh_run '${ACPX_CMD} codex sessions new --name oc-codex-2'
sh_run '${ACPX_CMD} --cwd ${workspacePath} --format quiet codex -s oc-codex-2 "echo first"'
expect_rc 0 "global flags first"
expect_out "first" "global flags first: answer"
sh_run '${ACPX_CMD} codex sessions close oc-codex-2'

if have_ref; then
	ACPX_CMD=$REF
	sh_run '${ACPX_CMD} codex -s oc-codex-${conversationId} --cwd ${workspacePath} --format quiet "hi"'
	expect_rc 1 "reference: the prompt template fails as written"
	expect_err_has "error: unknown option '--cwd'" "reference: unknown option"
	sh_run '${ACPX_CMD} codex exec --cwd ${workspacePath} --format quiet "hi"'
	expect_rc 1 "reference: the one-shot template fails as written"
else
	ok "# SKIP reference acpx not installed"
fi
done_testing
