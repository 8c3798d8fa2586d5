#!/bin/sh
# compare: rows, json/quiet/text table, exit codes, usage errors, prompt
# sources, interrupts. Goldens in expected/compare/ were captured from the
# reference acpx 0.19.1 by running this script with CAPTURE=1 and
# ACPX=<reference>. wall_ms is the only run-specific value; it is masked.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

GOLD="$TESTS_SRCDIR/regress/expected/compare"
S=$SCENARIOS
mkdir -p "$HOME/.acpx"
cat >"$HOME/.acpx/config.json" <<JSON
{"agents":{
 "m1":{"command":"$MOCK --scenario $S/hello.json"},
 "m2":{"command":"$MOCK --scenario $S/usage-cost.json"},
 "txt":{"command":"$MOCK"},
 "perm":{"command":"$MOCK --scenario $S/permission-write.json"},
 "bad":{"command":"/nonexistent/acpx-compare-agent"},
 "err":{"command":"$MOCK --scenario $S/error-internal.json"},
 "nf":{"command":"$MOCK --scenario $S/error-not-found.json"},
 "crash":{"command":"$MOCK --scenario $S/crash-mid-turn.json"},
 "um":{"command":"$MOCK --scenario $S/compare-usage-meta.json"},
 "ut":{"command":"$MOCK --scenario $S/compare-usage-top.json"},
 "cc":{"command":"$MOCK --scenario $S/compare-cancelled.json"},
 "long":{"command":"$MOCK --scenario $S/compare-long.json"}
}}
JSON
printf 'echo from a file\n' >"$T_WORK/prompt.txt"

# Mask wall_ms: the JSON field, and the table's wall_ms column.
mask() {
	normalize "$1" | sed 's/"wall_ms":[0-9]*/"wall_ms":<ms>/g' | awk '
	/^agent  status/ { p = index($0, "wall_ms"); print; hdr = NR; next }
	p > 0 && NR > hdr + 1 && length($0) >= p {
		$0 = substr($0, 1, p - 1) "<ms>   " substr($0, p + 7)
	}
	{ print }'
}

# case NAME ARGS...: run, mask, compare with (or capture) the golden.
case_() {
	name=$1; shift
	run "$@"
	printf '%s' "$OUT" >"$T_ROOT/o"; printf '%s' "$ERR" >"$T_ROOT/e"
	mask "$T_ROOT/o" >"$T_ROOT/case.out"
	mask "$T_ROOT/e" >"$T_ROOT/case.err"
	echo "$RC" >"$T_ROOT/case.rc"
	if [ -n "${CAPTURE:-}" ]; then
		for x in out err rc; do cp "$T_ROOT/case.$x" "$GOLD/$name.$x"; done
		ok "$name captured"
		return
	fi
	for x in rc out err; do
		if cmp -s "$GOLD/$name.$x" "$T_ROOT/case.$x"; then ok "$name ($x)"
		else not_ok "$name ($x)" "$(diff "$GOLD/$name.$x" "$T_ROOT/case.$x" | head -20)"; fi
	done
}

case_ mixed-text compare m1 m2 perm bad err 'hi there'
case_ mixed-json --format json compare m1 m2 perm bad err 'hi there'
case_ mixed-quiet --format quiet compare m1 m2 perm bad err 'hi there'
case_ all-ok compare m1 m2 'hi'
case_ all-ok-json compare --json m1 txt 'echo  spaced   out '
case_ perm-denied compare perm m1 'hi'
case_ perm-approve-all compare --approve-all perm m1 'hi'
case_ perm-deny-all --format json compare --deny-all perm 'hi'
case_ stop-cancelled compare cc m1 'hi'
case_ timeout compare --timeout 20 txt m1 'sleep 600000'
case_ errors-json --format json compare nf crash txt 'fail boom  x'
case_ usage-tokens compare um ut m1 'x'
case_ usage-tokens-json --format json compare um ut 'x'
case_ long-text compare long m1 'x'
case_ long-json --format json compare long 'x'
case_ dashdash --format json compare txt m1 -- echo two words
case_ file --format json compare --file prompt.txt txt m1
case_ prompt-file --format quiet compare --prompt-file prompt.txt txt
case_ file-no-agent compare --file prompt.txt
case_ dashdash-no-agent compare -- echo x
case_ one-arg compare m1
case_ two-files compare --file prompt.txt --prompt-file other.txt txt
case_ with-agent --agent "$MOCK" compare m1 'hi'
case_ missing-file compare --file nope.txt txt
case_ global-format-wins --format json compare --format quiet txt 'echo g'
case_ json-strict --json-strict compare txt 'echo s'
case_ local-cwd compare --cwd "$T_WORK" --format quiet txt 'echo c'
case_ unknown-agent --format json compare no-such-agent-xyz 'hi'

cat >"$HOME/.acpx/config.json" <<JSON
{"disableExec":true,"agents":{"txt":{"command":"$MOCK"}}}
JSON
case_ disabled compare txt 'hi'
case_ disabled-json --format json compare txt 'hi'

[ -n "${CAPTURE:-}" ] && done_testing

# ---------------------------------------------------------------- interrupts
# A signal during an agent's turn: that row is cancelled/Interrupted, the
# remaining agents do not run, the rows are printed, exit 130.
REC="$T_ROOT/rec.ndjson"
cat >"$HOME/.acpx/config.json" <<JSON
{"agents":{"a":{"command":"$MOCK --record $REC"},"b":{"command":"$MOCK --record $REC.b"}}}
JSON
for sig in INT TERM HUP; do
	rm -f "$REC" "$REC.b"
	( cd "$T_WORK" && exec "$ACPX" --format json compare a b 'sleep 600000' \
	    >"$T_ROOT/out" 2>"$T_ROOT/err" ) &
	pid=$!; track_pid $pid
	i=0
	while ! grep -q '"session/prompt"' "$REC" 2>/dev/null && [ $i -lt 1200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -$sig $pid
	wait $pid; RC=$?
	OUT=$(cat "$T_ROOT/out")
	expect_rc 130 "SIG$sig during the first agent"
	case "$OUT" in
	'[{"agent":"a","status":"cancelled","stop_reason":"cancelled","wall_ms":'*',"error":"Interrupted","permission_requests":0,"permission_denied":0}]')
		ok "SIG$sig: one row, cancelled, Interrupted" ;;
	*) not_ok "SIG$sig: one row, cancelled, Interrupted" "$OUT" ;;
	esac
	if [ -e "$REC.b" ]; then not_ok "SIG$sig: the second agent never starts"
	else ok "SIG$sig: the second agent never starts"; fi
	expect_received "$REC" '{"received": [{"method": "session/cancel",
	    "params": {"sessionId": "mock-session-1"}, "count": 1,
	    "name": "SIG'$sig': the turn was cancelled"}]}'
done

done_testing
