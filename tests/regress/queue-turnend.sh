#!/bin/sh
# queue-turnend: the order of a warm turn's end in the queue owner. The
# journal's turn_result is written, the record saved in place (its data
# fsync'ed, then renamed) and the turn lock released before the answer;
# the journal's fsync and the directory's (which makes the rename durable)
# come right after the answer, on the owner's background thread. The
# owner runs under the fault shim, which stops it (SIGSTOP) at one fsync
# of the warm turn; the test looks at what the client got and what is on disk at that moment, then kills the owner.
# (The cold turn makes one fsync of each kind; they run on the owner's
# background thread, so the shim counts them, FAULTSHIM_AFTER=1: the
# warm turn's is the second, whenever the first one ran.)
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
SHIM=${FAULTSHIM:-$(dirname "$ACPX")/tests/faults/faultshim.so}
[ -f "$SHIM" ] || skip_all "fault shim not built (make check builds it)"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

owner_pid() {
	sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$HOME"/.acpx/queues/*.lock 2>/dev/null
}
stopped() { grep -q '^State:.*(stopped)' "/proc/$1/status" 2>/dev/null; }

# cold_owner NAME PATTERN: a session NAME (in a HOME of its own) whose owner
# runs under the shim, which stops it at its second fsync of a file
# matching PATTERN (the first is the cold turn's). Sets STORE, REC, JOURNAL.
cold_owner() {
	export HOME="$T_ROOT/home-$1"
	mkdir -p "$HOME"
	STORE="$HOME/.acpx/sessions"
	run --agent "$MOCK" sessions new --name "$1"
	REC=$(grep -l "\"name\": \"$1\"" "$STORE"/*.json)
	JOURNAL=${REC%.json}.stream.ndjson
	LD_PRELOAD="$SHIM" FAULTSHIM_PATTERN="$2" FAULTSHIM_OPS=fsync \
	    FAULTSHIM_ACTION=stop FAULTSHIM_AFTER=1 \
	    run --agent "$MOCK" --ttl 60 --format quiet prompt -s "$1" "echo one"
}

# warm NAME TEXT: a warm prompt in the background; sets CPID.
warm() {
	( cd "$T_WORK" && "$ACPX" --agent "$MOCK" --format quiet \
	    prompt -s "$1" "echo $2" >"$T_ROOT/warm.out" 2>&1
	    echo $? >"$T_ROOT/warm.rc" ) &
	CPID=$!
	track_pid $CPID
}

# ---------------------------------------------------------------- the journal's fsync
cold_owner jnl '*.stream.ndjson'
expect_out "one
" "a first turn starts the owner under the shim"
rm -f "$T_ROOT/warm.rc"
warm jnl two
o=$(owner_pid)
poll "stopped $o" || not_ok "the owner reaches the journal's fsync"
poll "[ -f '$T_ROOT/warm.rc' ]" &&
    [ "$(cat "$T_ROOT/warm.rc")" = 0 ] && [ "$(cat "$T_ROOT/warm.out")" = two ] &&
    ok "the answer does not wait for the journal's fsync" ||
    not_ok "the answer does not wait for the journal's fsync" \
    "$(cat "$T_ROOT/warm.out" 2>&1)"
[ "$(grep -c '"type":"turn_result"' "$JOURNAL")" = 2 ] &&
    ok "the turn's result is in the journal before the answer" ||
    not_ok "the turn's result is in the journal before the answer" \
    "$(cat "$JOURNAL")"
grep -q '"Text": "two"' "$REC" &&
    ok "the record is saved with the answer before it" ||
    not_ok "the record is saved with the answer before it" "$(cat "$REC")"
[ ! -e "$STORE/$(basename "${REC%.json}").stream.lock" ] &&
    ok "the turn lock is released before the answer" ||
    not_ok "the turn lock is released before the answer" "$(ls "$STORE")"
kill -9 "$o"
wait_owners_gone
run --agent "$MOCK" --ttl 0.1 --format quiet prompt -s jnl "echo three"
expect_out "three
" "a killed owner's session goes on"
wait_owners_gone

# ---------------------------------------------------------------- the directory's fsync
cold_owner dir '*/.acpx/sessions'
expect_out "one
" "a first turn (directory fsync stops)"
rm -f "$T_ROOT/warm.rc"
warm dir two
o=$(owner_pid)
poll "stopped $o" || not_ok "the owner reaches the directory's fsync"
poll "[ -f '$T_ROOT/warm.rc' ]" &&
    [ "$(cat "$T_ROOT/warm.rc")" = 0 ] && [ "$(cat "$T_ROOT/warm.out")" = two ] &&
    ok "the answer does not wait for the directory's fsync" ||
    not_ok "the answer does not wait for the directory's fsync" \
    "$(cat "$T_ROOT/warm.out" 2>&1)"
grep -q '"Text": "two"' "$REC" &&
    ok "the record is renamed in place before the answer" ||
    not_ok "the record is renamed in place before the answer" "$(cat "$REC")"
kill -9 "$o"
wait_owners_gone

# ---------------------------------------------------------------- the record's fsync
cold_owner rec '*/sessions/acpx-write-*/record.json'
expect_out "one
" "a first turn (record fsync stops)"
cp "$REC" "$T_ROOT/before.json"
rm -f "$T_ROOT/warm.rc"
warm rec two
o=$(owner_pid)
poll "stopped $o" &&
    ok "the owner reaches the record's fsync" ||
    not_ok "the owner reaches the record's fsync"
grep -q '"echo two"' "$REC" && ! grep -q '"Text": "two"' "$REC" &&
    ok "the record is not replaced before its fsync" ||
    not_ok "the record is not replaced before its fsync" "$(cat "$REC")"
kill -9 "$o"
poll "[ -f '$T_ROOT/warm.rc' ]"
[ "$(cat "$T_ROOT/warm.out")" != two ] &&
    ok "no answer went out before the record's fsync" ||
    not_ok "no answer went out before the record's fsync" \
    "rc $(cat "$T_ROOT/warm.rc")" "$(cat "$T_ROOT/warm.out")"
wait_owners_gone
done_testing
