#!/bin/sh
# Third-party CLI consumers (spec consumers.md §1.9): their argv shapes,
# global flags first, against our acpx and the mock agent; the exit codes
# and fields each one reads. Run again against the reference when it is
# installed; the transcripts must match.
. "$TESTS_SRCDIR/conformance/lib.sh"

suite() {
	BIN=$1 LABEL=$2 TRANSCRIPT=$3
	export HOME="$T_ROOT/home-$LABEL"
	mkdir -p "$HOME/.acpx"
	cat >"$HOME/.acpx/config.json" <<JSON
{"agents":{"codex":{"command":"$MOCK --supports-load-session"},
 "claude":{"command":"$MOCK --scenario $SCENARIOS/sessions-list.json --session-id sess-claude"},
 "gemini":{"command":"$MOCK --supports-load-session --session-id sess-gemini"}}}
JSON
	: >"$TRANSCRIPT"
	D=$T_WORK
	J="--format json --json-strict"
	IDS='[.[] | select((.acpxRecordId // "") != "")][0] | {action, acpxRecordId, name}'
	LAST='[.[] | select(.action != null)] | last | {action, cancelled, status: (.status | type)}'
	STOP='[.[] | .result.stopReason // empty] + [.[] | select(.method == "session/update") | .params.update.content.text // empty]'
	ERRC='[.[] | select(.error != null)][0].error.data.acpxCode'
	printf 'echo delegated' >"$T_ROOT/p"

	# ClawSpec: ensure, prompt --ttl 30 --file -, status, cancel, close.
	step clawspec-ensure 0 "$IDS" $J --cwd "$D" codex sessions ensure --name cs-1
	expect_sum clawspec-ensure '{"action":"session_ensured","acpxRecordId":"mock-session-1","name":"cs-1"}'
	step clawspec-prompt 0 "$STOP" STDIN="$T_ROOT/p" $J --cwd "$D" --approve-all --ttl 30 codex prompt --session cs-1 --file -
	expect_sum clawspec-prompt '["end_turn","delegated"]'
	step clawspec-status 0 "$LAST" $J --cwd "$D" codex status --session cs-1
	step clawspec-cancel 0 "$LAST" $J --cwd "$D" codex cancel --session cs-1
	expect_sum clawspec-cancel '{"action":"cancel_result","cancelled":false,"status":"null"}'
	step clawspec-close 0 "$IDS" $J --cwd "$D" codex sessions close cs-1
	expect_sum clawspec-close '{"action":"session_closed","acpxRecordId":"mock-session-1","name":null}'

	# Slack/Go bot: ensure, then -s with a positional prompt.
	step slack-ensure 0 "$IDS" $J --approve-all gemini sessions ensure --name slack-1700000000
	step slack-prompt 0 "$STOP" $J --approve-all gemini prompt -s slack-1700000000 "echo from slack"
	expect_sum slack-prompt '["end_turn","from slack"]'
	step slack-close 0 "$IDS" $J gemini sessions close slack-1700000000

	# Python delegation tool: --agent string, every verb it uses.
	A="$MOCK --supports-load-session --session-id sess-py"
	PY="--agent \"$A\""
	step py-ensure 0 "$IDS" --agent "$A" --cwd "$D" --timeout 60 $J --suppress-reads --approve-all --non-interactive-permissions fail --no-terminal sessions ensure --name py-1
	step py-prompt 0 "$STOP" STDIN="$T_ROOT/p" --agent "$A" --cwd "$D" --timeout 60 $J --suppress-reads --approve-all --non-interactive-permissions fail --no-terminal prompt --session py-1 --file -
	expect_sum py-prompt '["end_turn","delegated"]'
	step py-exec 0 "$STOP" STDIN="$T_ROOT/p" --agent "$A" --cwd "$D" --timeout 60 $J --suppress-reads --approve-all --non-interactive-permissions fail --no-terminal exec --file -
	expect_sum py-exec '["end_turn","delegated"]'
	step py-cancel 0 "$LAST" --agent "$A" --cwd "$D" --timeout 60 $J --suppress-reads --approve-all --non-interactive-permissions fail cancel --session py-1
	step py-close 0 "$IDS" --agent "$A" --cwd "$D" --timeout 60 $J --approve-all sessions close py-1

	# Rust dispatcher fixture: status/cancel -s with no session.
	step rust-status 0 "$LAST" --cwd "$D" $J --approve-reads codex status -s raven
	expect_sum rust-status '{"action":"status_snapshot","cancelled":null,"status":"string"}'
	step rust-cancel 0 "$LAST" --cwd "$D" $J --approve-reads codex cancel -s raven

	# cancel helper: --timeout --ttl 5, last JSON line with the action.
	step cancel-helper 0 "$LAST" --cwd "$D" $J --timeout 30 --ttl 5 codex cancel --session raven

	# capability probe: agent-side sessions list.
	step probe-list 0 '.[0] | {source, n: (.sessions | length)}' $J --cwd "$D" claude sessions list
	# AutoResearchClaw: --ttl 0 (never expire) turns.
	step arc-new 0 "$IDS" $J --cwd "$D" --ttl 0 codex sessions new --name arc
	step arc-prompt 0 "$STOP" $J --cwd "$D" --ttl 0 --approve-all codex prompt -s arc "echo research"
	expect_sum arc-prompt '["end_turn","research"]'
	step arc-close 0 "$IDS" $J --cwd "$D" codex sessions close arc
	# backpass: sessions new --name, status -s.
	step backpass-new 0 '.' codex sessions new --name bp
	step backpass-status 0 '.[0] | {action, status: (.status | type)}' --format json codex status -s bp
	step backpass-close 0 '.' codex sessions close bp
	# go exec runner: text format exec with -p (not an acpx option).
	step go-exec 1 '.' --cwd "$D" --approve-all --auth-policy fail --non-interactive-permissions fail --format text --timeout 600 codex exec -p "echo go"
	# A missing prompt file: the JSON error shape callers match on.
	step missing-file 1 "$ERRC" $J --cwd "$D" codex prompt --session cs-1 --file "$T_ROOT/nope"
	expect_sum missing-file '"RUNTIME"'
}

suite "$ACPX" ours "$T_ROOT/ours.txt"
[ -n "${SHOW_TRANSCRIPT:-}" ] && cat "$T_ROOT/ours.txt" >&2
ref_transcript thirdparty "$T_ROOT/ours.txt" "transcript matches the reference" \
    "$T_ROOT/ref.txt" suite "$REF" ref "$T_ROOT/ref.txt"
done_testing
