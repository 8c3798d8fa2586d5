#!/bin/sh
# Ctrl-C during exec sends session/cancel; an agent that honours it ends the
# turn "[done] cancelled" and acpx exits 0; one that ignores it is killed
# after the 2.5 s grace and acpx exits 1 quietly (both as the reference).
# A watchdog kills acpx after 300 s so the test fails instead of hanging.
# Robust under load: the signal is sent only once the agent has streamed
# (a Ctrl-C before the prompt phase is a different case: exit 130), and
# only outcomes are asserted, never how long they took.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

# Pids of mock agents running a scenario of this test's HOME run.
pid_of_scenario() {
	for f in $(grep -l -a -F "$T_ROOT/rec.ndjson" /proc/[0-9]*/cmdline 2>/dev/null); do
		a0=$(tr '\0' '\n' <"$f" 2>/dev/null | head -n 1)
		case "$a0" in *mock-agent) p=${f#/proc/}; echo "${p%/cmdline}" ;; esac
	done 2>/dev/null
}

# start_exec SCENARIO MARK: run exec in the background with the mock
# recording; wait until its stdout shows MARK (the first chunk). The old
# output is removed first: a stale "working" from the previous case once
# let the signal go out before acpx had even started (and a background
# job starts with SIGINT ignored), so acpx never saw it.
start_exec() {
	rm -f "$T_ROOT/out" "$T_ROOT/err"
	( cd "$T_WORK" && exec "$ACPX" --format text --agent \
	    "$(mock_cmd "$1" --record "$T_ROOT/rec.ndjson")" exec x \
	    >"$T_ROOT/out" 2>"$T_ROOT/err" ) &
	PID=$!
	track_pid $PID
	# The watchdog must not hold the TAP pipe open (the driver would wait
	# for it), and its sleep ends with it.
	( trap 'kill $s 2>/dev/null; exit 0' TERM
	  sleep 300 & s=$!; wait $s; kill -KILL $PID 2>/dev/null ) >/dev/null 2>&1 &
	track_pid $!
	# Wait (bounded, ~60 s) until the agent has streamed its first chunk.
	i=0
	while [ $i -lt 1200 ] && ! grep -q "$2" "$T_ROOT/out" 2>/dev/null; do
		sleep 0.05; i=$((i + 1))
	done
	grep -q "$2" "$T_ROOT/out" 2>/dev/null &&
	    ok "$1: the turn streams" ||
	    not_ok "$1: the turn streams" "$(cat "$T_ROOT/out" "$T_ROOT/err")"
}

rm -f "$T_ROOT/rec.ndjson"
start_exec wait-cancel.json working
kill -INT $PID
wait $PID; RC=$?
OUT=$(cat "$T_ROOT/out")
expect_rc 0 "exec interrupted, agent honours cancel"
expect_out_has "[done] cancelled" "the turn ends cancelled"
# The scenario's "verify": initialize, session/new, the prompt, the cancel.
verify_record "$SCENARIOS/wait-cancel.json" "$T_ROOT/rec.ndjson"

rm -f "$T_ROOT/rec.ndjson"
start_exec ignore-cancel.json 'not listening'
kill -INT $PID
wait $PID; RC=$?
OUT=$(cat "$T_ROOT/out"); ERR=$(cat "$T_ROOT/err")
expect_rc 1 "exec interrupted, agent ignores cancel: killed, exit 1"
expect_err "" "nothing on stderr"
# The cancel was sent before the kill (the scenario's "verify").
verify_record "$SCENARIOS/ignore-cancel.json" "$T_ROOT/rec.ndjson"
# SIGKILLed before acpx exited; a loaded machine may take a moment to run
# the exit, so wait for it (the ceiling only bounds a survivor).
i=0
while [ -n "$(pid_of_scenario ignore-cancel.json)" ] && [ $i -lt 1200 ]; do
	sleep 0.1; i=$((i + 1))
done
a=$(pid_of_scenario ignore-cancel.json)
[ -z "$a" ] && ok "the agent is gone" || not_ok "the agent is gone" "pids $a"

done_testing
