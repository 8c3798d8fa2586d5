#!/bin/sh
# First failures, reconnects and resumability of persistent sessions: the
# session record keeps the first permission denial and the first agent
# crash (time, turn, detail; the first stall and provider failure are
# checked in fallback-session.sh, where the Warp agents are), and how a
# turn after an owner restart took the session up again (load, resume or
# a new session); `status` and `sessions show` print them in text and
# JSON, and `sessions show --verbose` says whether and how the session
# could be resumed after a restart. A record without them is printed as
# before, and the keys are ones the reference's parser ignores.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
REC() { cat "$HOME"/.acpx/sessions/*.json 2>/dev/null; }
has() {	# has TEXT NEEDLE NAME
	case "$1" in *"$2"*) ok "$3" ;; *) not_ok "$3" "$1" ;; esac
}
hasnt() {
	case "$1" in *"$2"*) not_ok "$3" "$1" ;; *) ok "$3" ;; esac
}

# ------------------------------------------------------------ permission denial
AG=$(mock_cmd permission-write.json --supports-load-session)
run --agent "$AG" sessions new
expect_rc 0 "sessions new"
run --agent "$AG" status
hasnt "$OUT" "first" "status: nothing before a failure"
R=$(REC)
hasnt "$R" "first_failures" "record: no first_failures key before a failure"
hasnt "$R" "last_reconnect" "record: no last_reconnect key after the first turn"
run --agent "$AG" --deny-all --ttl 300 "write it"
expect_rc 5 "a denied permission (exit 5)"
run --agent "$AG" --approve-all --ttl 300 "again"
run --agent "$AG" --deny-all --ttl 300 "and again"
run --agent "$AG" status
has "$OUT" "firstPermissionDenial: " "status: the first denial"
has "$OUT" ", turn 1: edit: Write a.txt" "status: its turn and what was asked"
N=$(printf '%s\n' "$OUT" | grep -c '^firstPermissionDenial: ')
[ "$N" = 1 ] && ok "status: only the first denial" || not_ok "status: only the first denial" "$OUT"
run --format json --agent "$AG" status
has "$OUT" '"firstFailures":{"permissionDenial":{"at":"' "status json: firstFailures"
has "$OUT" '"turn":1,"detail":"edit: Write a.txt"}}' "status json: turn and detail"
run --agent "$AG" sessions show
has "$OUT" "firstPermissionDenial: " "sessions show: the first denial"
hasnt "$OUT" "resumable:" "sessions show: resumability only with --verbose"
run --format json --agent "$AG" sessions show
has "$OUT" '"firstFailures":{"permissionDenial":' "sessions show json: firstFailures"
R=$(REC)
has "$R" '"first_failures": {' "record: the key on disk"
has "$R" '"permission_denial": {' "record: the kind on disk"

# A record with the key is still a record (sessions list reads it), and
# one whose key is not of the expected shape is shown without it.
run --agent "$AG" sessions list
has "$OUT" "mock-session-1" "sessions list reads a record with first_failures"
F=$(ls "$HOME"/.acpx/sessions/*.json)
stop_owner
sed 's/"permission_denial": {/"permission_denial": 7, "x": {/' "$F" >"$T_ROOT/r.json" && cat "$T_ROOT/r.json" >"$F"
run --agent "$AG" status
expect_rc 0 "status of a record with a malformed first_failures"
hasnt "$OUT" "firstPermissionDenial" "a malformed entry is not shown"

# ------------------------------------------------------------ resumability
run --verbose --agent "$AG" sessions show
has "$OUT" "resumable: yes (session/load of mock-session-1)" "resumability: load"
has "$OUT" "resumeReason: the agent advertises loadSession" "resumability: why"
run --verbose --format json --agent "$AG" sessions show
has "$OUT" '"resumability":{"sessionId":"mock-session-1","reason":"the agent advertises loadSession","resumable":true,"method":"load"}' \
    "resumability json: load"

# The owner restarted: the next turn loads the session, and status says so.
stop_owner
run --agent "$AG" --approve-all --ttl 300 "after restart"
expect_rc 0 "a prompt after the owner restarted"
run --agent "$AG" status
has "$OUT" "lastReconnect: load, " "status: the restart's reconnect (load)"
has "$OUT" ", turn 4" "status: the reconnect's turn"
run --format json --agent "$AG" status
has "$OUT" '"lastReconnect":{"at":"' "status json: lastReconnect"
has "$OUT" '"turn":4,"method":"load"}' "status json: the method"
stop_owner

# An agent that resumes.
rm -rf "$HOME/.acpx"
AG=$(mock_cmd session-resume.json)
run --agent "$AG" sessions new
run --agent "$AG" --ttl 300 "one"
stop_owner
run --agent "$AG" --ttl 300 "two"
expect_rc 0 "resume: the second turn"
run --agent "$AG" status
has "$OUT" "lastReconnect: resume, " "status: the restart's reconnect (resume)"
run --verbose --agent "$AG" sessions show
has "$OUT" "resumable: yes (session/resume of mock-session-1)" "resumability: resume"
stop_owner

# An agent that can neither: a new session after a restart.
rm -rf "$HOME/.acpx"
AG=$(mock_cmd hello.json)
run --agent "$AG" sessions new
run --agent "$AG" --ttl 300 "one"
run --verbose --agent "$AG" sessions show
has "$OUT" "resumable: no (a new ACP session; the history stays in the record)" "resumability: a new session"
stop_owner
run --agent "$AG" --ttl 300 "two"
run --agent "$AG" status
has "$OUT" "lastReconnect: new, " "status: the restart's reconnect (new session)"
run --agent "$AG" sessions close
run --verbose --format json --agent "$AG" sessions show
has "$OUT" '"resumable":false,"method":null' "resumability json: a closed session"

# ------------------------------------------------------------ agent crash
rm -rf "$HOME/.acpx"
AG=$(mock_cmd crash-mid-turn.json)
run --agent "$AG" sessions new
run --agent "$AG" --ttl 300 "go"
[ "$RC" -ne 0 ] && ok "a crash mid-turn fails the prompt" || not_ok "a crash mid-turn fails the prompt" "$OUT$ERR"
run --agent "$AG" status
has "$OUT" "firstAgentCrash: " "status: the first crash"
has "$OUT" ", turn 1: " "status: the crash's turn"
has "$OUT" " (pid " "status: the crashed agent's pid"
run --format json --agent "$AG" sessions show
has "$OUT" '"agentCrash":{"at":"' "sessions show json: agentCrash"
stop_owner

# A timed-out turn's agent is stopped by us: not a crash.
rm -rf "$HOME/.acpx"
AG=$(mock_cmd ignore-cancel.json)
run --agent "$AG" sessions new
run --agent "$AG" --ttl 300 --timeout 0.2 "go"
expect_rc 3 "a timed-out turn"
run --agent "$AG" status
hasnt "$OUT" "firstAgentCrash" "a timeout's kill is not a crash"
hasnt "$(REC)" "first_failures" "nothing recorded for a timeout"
stop_owner
wait_owners_gone
done_testing
