#!/bin/sh
# Ctrl-C during exec sends session/cancel; an agent that honours it ends the
# turn "[done] cancelled" and acpx exits 0; one that ignores it is killed
# after the 2.5 s grace and acpx exits 1 quietly (both as the reference).
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

# start_exec SCENARIO: run exec in the background with the mock recording.
start_exec() {
	( cd "$T_WORK" && exec "$ACPX" --format text --agent \
	    "$(mock_cmd "$1" --record "$T_ROOT/rec.ndjson")" exec x \
	    >"$T_ROOT/out" 2>"$T_ROOT/err" ) &
	PID=$!
	track_pid $PID
	# Wait (bounded) until the agent has streamed its first chunk.
	i=0
	while [ $i -lt 200 ] && ! grep -q "working\|not listening" "$T_ROOT/out" 2>/dev/null; do
		sleep 0.05; i=$((i + 1))
	done
}

rm -f "$T_ROOT/rec.ndjson"
start_exec wait-cancel.json
kill -INT $PID
wait $PID; RC=$?
OUT=$(cat "$T_ROOT/out")
expect_rc 0 "exec interrupted, agent honours cancel"
expect_out_has "[done] cancelled" "the turn ends cancelled"
if grep -q '"method":"session/cancel"' "$T_ROOT/rec.ndjson"; then ok "session/cancel was sent"
else not_ok "session/cancel was sent" "$(cat "$T_ROOT/rec.ndjson")"; fi

rm -f "$T_ROOT/rec.ndjson"
start_exec ignore-cancel.json
kill -INT $PID
wait $PID; RC=$?
OUT=$(cat "$T_ROOT/out"); ERR=$(cat "$T_ROOT/err")
expect_rc 1 "exec interrupted, agent ignores cancel: killed, exit 1"
expect_err "" "nothing on stderr"
done_testing
