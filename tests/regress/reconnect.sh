#!/bin/sh
# Reconnecting a saved session (ours, beyond the reference): when
# session/resume of the saved id fails and the agent advertises loadSession,
# session/load of the same id is tried before a fresh session/new; the
# failed resume is not rendered, and a load that fails too leaves the output
# of the reference's fallback (a fresh session, loadError from the resume).
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

REC="$T_ROOT/agent.ndjson"
( cd "$T_WORK" && git init -q . ) 2>/dev/null

# session SCENARIO: a fresh home with one saved session for that scenario.
session() {
	stop_owner
	rm -rf "$HOME/.acpx"
	: >"$REC"
	AGENT="$MOCK --scenario $1 --record $REC"
	run --agent "$AGENT" sessions new
	expect_rc 0 "sessions new ($(basename "$1"))"
}
count() { printf '%s' "$OUT" | grep -c "$1"; }

S=$SCENARIOS/resume-fails-load-works.json
session "$S"
run --agent "$AGENT" --format json --ttl 30 "echo after restart"
expect_rc 0 "resume fails, load works"
# The owner (the record's second agent process): resume, then load of the
# saved id, no session/new (the scenario's "verify").
verify_record "$S" "$REC"
[ "$(count '"method":"session/load"')" = 1 ] && [ "$(count '"method":"session/resume"')" = 0 ] &&
    [ "$(count '"method":"session/new"')" = 0 ] &&
    ok "json shows the load, not the failed resume" ||
    not_ok "json shows the load, not the failed resume" "$OUT"
expect_out_has '"id":2,"result":{}}' "the load's answer is rendered"
expect_out_has '"text":"after restart"' "the turn ran on the loaded session"
run --agent "$AGENT" --format json sessions show
expect_out_has '"acpSessionId":"mock-session-1"' "the record keeps the saved id"
case "$OUT" in *'"loadError"'*) not_ok "no loadError after a working load" "$OUT" ;;
*) ok "no loadError after a working load" ;; esac
case "$OUT" in *'"Text":"replayed history"'*) not_ok "the replayed history is not recorded again" "$OUT" ;;
*) ok "the replayed history is not recorded again" ;; esac

session "$S"
run --agent "$AGENT" --ttl 30 "echo text"
expect_rc 0 "resume fails, load works (text)"
expect_out "[client] initialize (running)

[client] session/load (running)
text

[done] end_turn
" "text shows the load"

session "$SCENARIOS/resume-fails-load-fails.json"
run --agent "$AGENT" --format json --ttl 30 "echo fresh"
expect_rc 0 "resume and load fail: a fresh session"
verify_record "$SCENARIOS/resume-fails-load-fails.json" "$REC"	# resume, load, then session/new
[ "$(count '"method":"session/load"')" = 0 ] && [ "$(count '"method":"session/resume"')" = 0 ] &&
    [ "$(count '"error"')" = 0 ] && [ "$(count '"method":"session/new"')" = 1 ] &&
    ok "json shows neither failed attempt" || not_ok "json shows neither failed attempt" "$OUT"
run --agent "$AGENT" --format json sessions show
expect_out_has '"lastRequestId"' "the record was saved"

# Without loadSession a failed resume goes straight to session/new.
cat >"$T_ROOT/resume-only.json" <<'SCEN'
{"initialize": {"result": {"agentCapabilities": {"loadSession": false, "sessionCapabilities": {"resume": {}}}}},
 "session_resume": {"error": {"code": -32002, "message": "Resource not found: mock-session-1"}},
 "verify": {"process": 2, "methods": ["initialize", "session/resume", "session/new", "session/prompt"]}}
SCEN
session "$T_ROOT/resume-only.json"
run --agent "$AGENT" --format quiet --ttl 30 "echo no load"
expect_rc 0 "resume fails, no loadSession"
expect_out "no load
" "the turn ran on a fresh session"
verify_record "$T_ROOT/resume-only.json" "$REC"	# no session/load without loadSession

# An owner with --ttl 30 stays; stop it so nothing outlives the test.
for l in "$HOME"/.acpx/queues/*.lock; do
	[ -f "$l" ] || continue
	p=$(sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$l")
	[ -n "$p" ] && kill "$p" 2>/dev/null
done
done_testing
