#!/bin/sh
# Fault injection: SIGKILL of the agent mid-turn (exec and through the
# queue owner), SIGKILL of the client mid-stream, ENOSPC and EIO on record
# and journal writes and a read-only session directory (the LD_PRELOAD
# shim tests/faults/faultshim.so), a stdout pipe whose reader stops
# reading, and SIGPIPE. After each: no crash, a clear error, every record
# still parses, and the next command recovers.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
need_faultshim
STORE="$HOME/.acpx/sessions"

# Pids of mock agents whose command line holds a fixed string (not acpx,
# whose --agent value holds it too).
pid_of() {
	for f in $(grep -l -a -F "$1" /proc/[0-9]*/cmdline 2>/dev/null); do
		a0=$(tr '\0' '\n' <"$f" 2>/dev/null | head -n 1)
		case "$a0" in *mock-agent) p=${f#/proc/}; echo "${p%/cmdline}" ;; esac
	done 2>/dev/null
}
# No crash: not killed by a signal other than SIGPIPE/SIGKILL we sent, no
# sanitizer report.
expect_no_crash() {
	case "$ERR" in
	*AddressSanitizer*|*"runtime error"*|*LeakSanitizer*)
		not_ok "$1: no crash" "$ERR"; return ;;
	esac
	if [ "$RC" -ge 128 ] && [ "$RC" -ne "${2:-0}" ]; then
		not_ok "$1: no crash" "exit $RC" "$ERR"
	else
		ok "$1: no crash (exit $RC)"
	fi
}
# Every record file in the store parses: acpx lists each one for its agent.
expect_records_parse() {
	# A staging directory exists while a writer is between its write and
	# its rename: only what is left once every owner has ended (the TTLs
	# here are 0.2 s) is a leftover.
	wait_owners_gone
	bad=""
	for f in "$STORE"/*.json; do
		[ -f "$f" ] || continue
		id=$(basename "$f" .json)
		cmd=$(sed -n 's/^  "agent_command": "\(.*\)",$/\1/p' "$f")
		( cd "$T_WORK" && "$ACPX" --agent "$cmd" --format json sessions list \
		    2>/dev/null ) | grep -q "\"acpxRecordId\":\"$id\"" ||
		    bad="$bad $id"
	done
	leftovers=$(ls -d "$STORE"/acpx-write-* 2>/dev/null)
	[ -z "$bad$leftovers" ] && ok "$1: every record parses, no temp left" ||
	    not_ok "$1: every record parses, no temp left" "$bad" "$leftovers"
}
in_dir() { T_WORK="$T_ROOT/work-$1"; mkdir -p "$T_WORK"; }
wait_owners() {
	poll '! ls "$HOME"/.acpx/queues/*.lock >/dev/null 2>&1' || true
}

# ---------------------------------------------------------------- agent SIGKILL (exec)
in_dir exec
REC="$T_ROOT/exec-agent.rec"
( cd "$T_WORK" && "$ACPX" --agent "$MOCK --record $REC" exec "sleep 60000" \
    >"$T_ROOT/o1" 2>"$T_ROOT/e1" ) &
BG=$!
track_pid "$BG"
poll 'grep -q session/prompt "$REC" 2>/dev/null'
kill -9 $(pid_of "$REC") 2>/dev/null
wait "$BG"; RC=$?; ERR=$(cat "$T_ROOT/e1"); OUT=$(cat "$T_ROOT/o1")
expect_no_crash "exec, agent killed mid-turn"
[ "$RC" -ne 0 ] && [ -n "$ERR$OUT" ] && ok "exec, agent killed: fails with a message" ||
    not_ok "exec, agent killed: fails with a message" "exit $RC" "$ERR"
run --agent "$MOCK" exec "echo after the kill"
expect_rc 0 "exec recovers"
expect_out_has "after the kill" "exec recovers"

# ---------------------------------------------------------------- agent SIGKILL (owner)
in_dir owner
REC="$T_ROOT/owner-agent.rec"
AG="$MOCK --record $REC"
run --agent "$AG" sessions new
expect_rc 0 "sessions new"
( cd "$T_WORK" && "$ACPX" --agent "$AG" --ttl 0.2 "sleep 60000" \
    >"$T_ROOT/o2" 2>"$T_ROOT/e2" ) &
BG=$!
track_pid "$BG"
poll 'grep -q session/prompt "$REC" 2>/dev/null'
kill -9 $(pid_of "$REC") 2>/dev/null
wait "$BG"; RC=$?; ERR=$(cat "$T_ROOT/e2"); OUT=$(cat "$T_ROOT/o2")
expect_no_crash "prompt, agent killed mid-turn"
[ "$RC" -ne 0 ] && [ -n "$ERR$OUT" ] && ok "prompt, agent killed: fails with a message" ||
    not_ok "prompt, agent killed: fails with a message" "exit $RC" "$OUT" "$ERR"
expect_records_parse "agent killed under the owner"
run --agent "$AG" --ttl 0.2 "echo after the agent died"
expect_rc 0 "the next prompt recovers"
expect_out_has "after the agent died" "the next prompt recovers"

# ---------------------------------------------------------------- client SIGKILL
( cd "$T_WORK" && exec "$ACPX" --agent "$AG" --ttl 0.2 "chunks 50 streaming" \
    >"$T_ROOT/o3" 2>"$T_ROOT/e3" ) &
BG=$!
poll '[ -s "$T_ROOT/o3" ]'
kill -9 "$BG" 2>/dev/null
wait "$BG" 2>/dev/null
run --agent "$AG" --ttl 0.2 "echo after the client died"
expect_rc 0 "after the client was killed mid-stream, the next prompt works"
expect_out_has "after the client died" "the next prompt after a killed client"
expect_records_parse "client killed mid-stream"
wait_owners

# ---------------------------------------------------------------- ENOSPC on the record
in_dir enospc
before=$(ls "$STORE" | wc -l)
LD_PRELOAD="$SHIM" FAULTSHIM_PATTERN="$STORE/*" FAULTSHIM_ERRNO=ENOSPC \
    FAULTSHIM_OPS=write,rename run --agent "$MOCK" sessions new
expect_no_crash "sessions new on a full disk"
[ "$RC" -ne 0 ] && ok "sessions new on a full disk fails (exit $RC)" ||
    not_ok "sessions new on a full disk fails" "exit 0" "$OUT"
expect_err_has "No space left on device" "the error says why"
expect_records_parse "ENOSPC on the record"
run --agent "$MOCK" sessions new
expect_rc 0 "sessions new recovers once there is space"
expect_records_parse "after recovering from ENOSPC"

# ---------------------------------------------------------------- EIO on the journal
in_dir eio
run --agent "$MOCK" sessions new
expect_rc 0 "sessions new (for EIO)"
LD_PRELOAD="$SHIM" FAULTSHIM_PATTERN="$STORE/*.stream.ndjson" \
    FAULTSHIM_ERRNO=EIO FAULTSHIM_OPS=write,fsync \
    run --agent "$MOCK" --ttl 0.1 "echo journal eio"
expect_no_crash "a prompt whose journal writes fail with EIO"
case "$RC:$ERR$OUT" in
0:*) ok "EIO on the journal: the turn completes (exit 0)" ;;
*"nput/output error"*) ok "EIO on the journal: a clear error" ;;
*) not_ok "EIO on the journal: completes or says why" "exit $RC" "$OUT" "$ERR" ;;
esac
wait_owners
expect_records_parse "EIO on the journal"
LD_PRELOAD="$SHIM" FAULTSHIM_PATTERN="$STORE/*" FAULTSHIM_ERRNO=EIO \
    FAULTSHIM_OPS=write,rename,fsync run --agent "$MOCK" --ttl 0.1 "echo record eio"
expect_no_crash "a prompt whose record writes fail with EIO"
wait_owners
expect_records_parse "EIO on the record"
run --agent "$MOCK" --ttl 0.1 "echo after eio"
expect_rc 0 "the next prompt recovers from EIO"
expect_out_has "after eio" "the next prompt recovers from EIO"
wait_owners
run --agent "$MOCK" --format json sessions history
expect_rc 0 "history reads after EIO"

# ---------------------------------------------------------------- read-only store
in_dir readonly
if [ "$(id -u)" -ne 0 ]; then
	chmod 500 "$STORE"
	run --agent "$MOCK" sessions new
	chmod 700 "$STORE"
	why="ermission denied"
else
	# root ignores modes: the shim makes the directory read-only.
	LD_PRELOAD="$SHIM" FAULTSHIM_PATTERN="$STORE/*" FAULTSHIM_ERRNO=EROFS \
	    FAULTSHIM_OPS=open,write,rename run --agent "$MOCK" sessions new
	why="ead-only file system"
fi
expect_no_crash "sessions new in a read-only store"
[ "$RC" -ne 0 ] && ok "a read-only store fails sessions new (exit $RC)" ||
    not_ok "a read-only store fails sessions new" "exit 0"
expect_err_has "$why" "the read-only error says why"
expect_records_parse "read-only store"
run --agent "$MOCK" sessions new
expect_rc 0 "sessions new recovers once writable"

# ---------------------------------------------------------------- a stalled stdout reader
in_dir pipe
( cd "$T_WORK" && "$ACPX" --agent "$MOCK" --format json exec \
    "chunks 3000 a-chunk-of-text-to-fill-the-pipe-quickly" 2>"$T_ROOT/e4";
    echo $? >"$T_ROOT/rc4" ) | { sleep 1; cat; } >"$T_ROOT/o4"
RC=$(cat "$T_ROOT/rc4"); ERR=$(cat "$T_ROOT/e4")
expect_no_crash "stdout reader stalls"
n=$(grep -c agent_message_chunk "$T_ROOT/o4")
[ "$RC" -eq 0 ] && [ "$n" -eq 3000 ] && ok "a stalled reader gets all 3000 chunks" ||
    not_ok "a stalled reader gets all 3000 chunks" "exit $RC, $n chunks" "$ERR"

# ---------------------------------------------------------------- SIGPIPE
REC="$T_ROOT/pipe-agent.rec"
( cd "$T_WORK" && timeout 300 "$ACPX" --agent "$MOCK --record $REC" --format json \
    exec "chunks 20000 a-chunk-of-text-to-fill-the-pipe-quickly" \
    2>"$T_ROOT/e5"; echo $? >"$T_ROOT/rc5" ) | head -c 100 >/dev/null
RC=$(cat "$T_ROOT/rc5"); ERR=$(cat "$T_ROOT/e5")
[ "$RC" -ne 124 ] && ok "a closed stdout ends acpx (exit $RC)" ||
    not_ok "a closed stdout ends acpx" "timed out"
expect_no_crash "SIGPIPE" 141
poll '[ -z "$(pid_of "$REC")" ]'
[ -z "$(pid_of "$REC")" ] && ok "the agent is gone after SIGPIPE" ||
    not_ok "the agent is gone after SIGPIPE" "$(pid_of "$REC")"
run --agent "$MOCK" exec "echo after sigpipe"
expect_rc 0 "exec after SIGPIPE"

# ---------------------------------------------------------------- a full stdout
# ENOSPC on every write to stdout is not a closed pipe: the turn runs to
# its end as it did before stdout was written in large writes (exit 0,
# nothing on stderr), text and json alike.
if [ -w /dev/full ]; then
	for f in json text; do
		( cd "$T_WORK" && "$ACPX" --agent "$MOCK" --format $f exec \
		    "chunks 2000 a-chunk-of-text" >/dev/full 2>"$T_ROOT/e6";
		    echo $? >"$T_ROOT/rc6" )
		RC=$(cat "$T_ROOT/rc6"); ERR=$(cat "$T_ROOT/e6")
		expect_no_crash "ENOSPC on stdout ($f)"
		[ "$RC" -eq 0 ] && [ -z "$ERR" ] &&
		    ok "ENOSPC on stdout ($f): exit 0, stderr empty" ||
		    not_ok "ENOSPC on stdout ($f): exit 0, stderr empty" \
		    "exit $RC" "$ERR"
	done
fi

# ---------------------------------------------------------------- every owner ended itself
# Each queue owner above met a fault in its turn (a killed agent or
# client, a failing disk) and must still end by itself: logged as
# owner.stopped with its own reason, its lease gone. An owner that died
# (an abort, a sanitizer report) leaves owner.started alone, and its lease.
wait_owners_gone
EV="$HOME/.acpx/events.ndjson"
started=$(grep -c '"event":"owner.started"' "$EV" 2>/dev/null)
stopped=$(grep '"event":"owner.stopped"' "$EV" 2>/dev/null | grep -v -c '"reason":"crash"')
[ "${started:-0}" -ge 4 ] && [ "$started" = "$stopped" ] &&
    ok "each of the $started owners stopped by itself" ||
    not_ok "each owner stopped by itself" "started ${started:-0}, stopped ${stopped:-0}" \
    "$(grep '"event":"owner\.' "$EV" 2>/dev/null)"
leases=$(ls "$HOME"/.acpx/queues/*.lock 2>/dev/null)
[ -z "$leases" ] && ok "no owner's lease is left" ||
    not_ok "no owner's lease is left" "$leases"

done_testing
