#!/bin/sh
# Persistent prompts and controls side by side with the reference (same
# mock agent, separate homes, outputs diffed), then both directions of IPC
# compatibility on one home: our client with a reference queue owner, and
# the reference client with our queue owner.
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/compat/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

# A fresh home with one session; runs in a subshell-safe way.
fresh() {
	rm -rf "$HOME" "$T_WORK"
	mkdir -p "$HOME" "$T_WORK"
	( cd "$T_WORK" && git init -q . ) 2>/dev/null
	REC="$T_ROOT/agent.ndjson"
	: >"$REC"
	AGENT="${FRESH_MOCK:-$MOCK} --supports-load-session --record $REC $*"
	( cd "$T_WORK" && "$ACPX" --agent "$AGENT" sessions new ) >/dev/null 2>&1
}
owner_pid() {
	sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$HOME"/.acpx/queues/*.lock 2>/dev/null
}
stop_owner() {
	p=$(owner_pid)
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
}
# steps BIN SNIPPET: run the snippet (using $B and $AGENT) in the work dir,
# transcript of stdout+stderr with run-specific values normalised; the
# Claude adapter's settingSources on session/load, which only ours sends
# (docs/compatibility.md), is left out.
steps() {
	B=$1
	( cd "$T_WORK" && eval "$2" ) >"$T_ROOT/raw" 2>&1
	normalize "$T_ROOT/raw" | sed -E -e 's/pid: [0-9]+/pid: <pid>/' \
	    -e 's/"pid":[0-9]+/"pid":<pid>/' \
	    -e 's/uptime: [0-9:]+/uptime: <t>/' -e 's/"uptime":"[0-9:]+"/"uptime":"<t>"/' \
	    -e "s#$REC#<rec>#g" \
	    -e '/"method":"session\/load"/s/,"_meta":\{"claudeCode":\{"options":\{"settingSources":\["project","local"\]\}\}\}//' \
	    >"$T_ROOT/$3"
	stop_owner
}
# side_by_side NAME SCENARIO SNIPPET [claude]: the snippet's transcript
# with the reference and with ours (claude: the mock as the Claude adapter).
# The reference's transcript is kept in compat/queue-expected/ (written by
# make compat-restamp); a case whose inputs and transcript are listed in
# compat/reference-verified (see compat/lib.sh) compares ours with it
# instead of running the reference again.
QEXP="$TESTS_SRCDIR/compat/queue-expected"
sbs_text=$(sed -n -e '/^fresh()/,/^}/p' -e '/^steps()/,/^}/p' "$0")
side_by_side() {
	name=$1 scen=$2 snippet=$3
	FRESH_MOCK=
	[ "${4:-}" = claude ] && FRESH_MOCK=$(claude_mock)
	gold=$(printf '%s' "$name" | tr -cs 'A-Za-z0-9' '-')
	gold=${gold#-}; gold="$QEXP/${gold%-}.t"
	ck_goldens=$gold
	# (the scenario without this tree's path: the key is the same in any clone)
	kscen=${scen#"$S/"}
	key=$(compat_key side_by_side "$name" "$kscen" "$snippet" "${4:-}" "$sbs_text")
	if compat_verified "$key" "$name" && [ -f "$gold" ]; then
		cp "$gold" "$T_ROOT/ref.t"
	else
		fresh $scen
		steps "$REF" "$snippet" ref.t
		if [ -n "${ACPX_COMPAT_STAMP:-}" ] && [ -s "$T_ROOT/ref.t" ]; then
			mkdir -p "$QEXP"
			cp "$T_ROOT/ref.t" "$gold"
			echo "$(compat_key side_by_side "$name" "$kscen" "$snippet" "${4:-}" "$sbs_text") side_by_side $name" >>"$ACPX_COMPAT_STAMP"
		fi
	fi
	ck_goldens=
	fresh $scen
	steps "$ACPX" "$snippet" ours.t
	# Every snippet prints something (at least an rc= line): an empty
	# transcript is a broken step, never a match.
	if [ ! -s "$T_ROOT/ref.t" ] || [ ! -s "$T_ROOT/ours.t" ]; then
		not_ok "$name" "empty transcript (ref $(wc -c <"$T_ROOT/ref.t") bytes, ours $(wc -c <"$T_ROOT/ours.t") bytes)"
	elif cmp -s "$T_ROOT/ref.t" "$T_ROOT/ours.t"; then ok "$name"
	else not_ok "$name" "$(diff "$T_ROOT/ref.t" "$T_ROOT/ours.t" | head -n 30)"; fi
	FRESH_MOCK=
}
S="--scenario $SCENARIOS"

# ---------------------------------------------------------------- side by side
# The cases are independent (each on a fresh home): three workers run them
# side by side (in_parallel), most of their time being the reference's
# Node start-up and the owners' turns.
sbs_cases() {
	sbs=$1
	for f in text json quiet; do
		$sbs "prompt ($f)" "" \
		    '$B --agent "$AGENT" --format '$f' --ttl 300 "echo hello"; echo rc=$?'
		$sbs "agent error in a persistent prompt ($f)" "$S/error-internal.json" \
		    '$B --agent "$AGENT" --format '$f' --ttl 300 "x"; echo rc=$?'
		$sbs "agent crash in a persistent prompt ($f)" "$S/crash-mid-turn.json" \
		    '$B --agent "$AGENT" --format '$f' --ttl 300 "x"; echo rc=$?'
		$sbs "permission denied in a persistent prompt ($f)" "$S/permission-write.json" \
		    '$B --agent "$AGENT" --format '$f' --ttl 300 "x"; echo rc=$?'
		$sbs "--timeout in a persistent prompt ($f)" "$S/never-answers.json" \
		    '$B --agent "$AGENT" --format '$f' --ttl 300 --timeout 20 "x"; echo rc=$?'
		# The agent answers the timeout's session/cancel: the cancelled answer
		# is rendered before the TIMEOUT error (with and without a chunk).
		$sbs "--timeout, the agent honours the cancel ($f)" "$S/wait-cancel.json" \
		    '$B --agent "$AGENT" --format '$f' --ttl 300 --timeout 20 "x"; echo rc=$?'
		$sbs "--timeout, a silent agent honours the cancel ($f)" "$S/wait-cancel-silent.json" \
		    '$B --agent "$AGENT" --format '$f' --ttl 300 --timeout 20 "x"; echo rc=$?'
		$sbs "--prompt-retries in a persistent prompt ($f)" "$S/error-internal.json" \
		    '$B --agent "$AGENT" --format '$f' --ttl 300 --prompt-retries 1 "x"; echo rc=$?'
		# The Claude adapter talks after its answer (the session title): its
		# late updates are relayed before the turn ends, as the reference does.
		$sbs "late updates after the answer ($f)" "$S/late-update.json" \
		    '$B --agent "$AGENT" --format '$f' --ttl 300 "x"; echo rc=$?' claude
		$sbs "status, cancel without an owner ($f)" "" \
		    '$B --agent "$AGENT" --format '$f' status; echo rc=$?;
		     $B --agent "$AGENT" --format '$f' cancel; echo rc=$?'
		$sbs "status, cancel, set with an owner ($f)" "" \
		    '$B --agent "$AGENT" --ttl 300 "echo hi" >/dev/null 2>&1;
		     $B --agent "$AGENT" --format '$f' status; echo rc=$?;
		     $B --agent "$AGENT" --format '$f' cancel; echo rc=$?;
		     $B --agent "$AGENT" --format '$f' set-mode plan; echo rc=$?;
		     $B --agent "$AGENT" --format '$f' set effort high; echo rc=$?;
		     $B --agent "$AGENT" --format '$f' set model m2; echo rc=$?'
		$sbs "set-mode and set without an owner ($f)" "" \
		    '$B --agent "$AGENT" --format '$f' set-mode plan; echo rc=$?;
		     $B --agent "$AGENT" --format '$f' set effort high; echo rc=$?;
		     $B --agent "$AGENT" --format '$f' status; echo rc=$?'
	done
	$sbs "the record after a turn and TTL expiry" "" \
	    '$B --agent "$AGENT" --ttl 0.3 "echo hi" >/dev/null 2>&1;
	     i=0; while ls "$HOME"/.acpx/queues/*.lock >/dev/null 2>&1 && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done;
	     sed -E "/_at\"|\"id\"/d" "$HOME/.acpx/sessions/mock-session-1.json"'

	$sbs "--prompt-retries with --json-strict" "$S/error-internal.json" \
	    '$B --agent "$AGENT" --format json --json-strict --ttl 300 --prompt-retries 1 "x"; echo rc=$?'
	# An agent's error answer ends the turn but not the agent (pid kept, no exit
	# recorded); the journal keeps the agent's own message and the queue's
	# detail code (an auth error's AUTH_REQUIRED gives way to it).
	for scen in error-internal error-auth; do
		$sbs "the record and journal after an agent error ($scen)" "$S/$scen.json" \
		    '$B --agent "$AGENT" --format quiet --ttl 300 "x"; echo rc=$?;
		     sed -E "/_at\"|\"id\"|request_id|\"pid\"/d" "$HOME/.acpx/sessions/mock-session-1.json";
		     grep -c "\"pid\"" "$HOME/.acpx/sessions/mock-session-1.json";
		     sed -E "s/\"request_id\":\"[^\"]*\"//" "$HOME/.acpx/sessions/mock-session-1.stream.ndjson"'
	done
	# A close is not an agent exit: nothing of the owner's stop is recorded.
	# The agent-exit fields are left out: whether the reference records a
	# connection_close on close depends on timing (seen under load, not
	# on a quiet machine); to be settled against the reference.
	$sbs "the record after sessions close" "" \
	    '$B --agent "$AGENT" --ttl 300 "echo hi" >/dev/null 2>&1;
	     $B --agent "$AGENT" sessions close; echo rc=$?;
	     $B --agent "$AGENT" sessions show | sed -E "/^(created|lastActivity|lastPrompt|closedAt|agentStartedAt|lastExitAt|disconnectReason):/d";
	     sed -E "/_at\"|\"id\"|request_id|last_agent_/d" "$HOME/.acpx/sessions/mock-session-1.json"'
	# ... but an exit recorded before the close stays.
	$sbs "the record after a timed-out turn and sessions close" "$S/wait-cancel.json" \
	    '$B --agent "$AGENT" --ttl 300 --timeout 20 "x" >/dev/null 2>&1;
	     $B --agent "$AGENT" sessions close; echo rc=$?;
	     $B --agent "$AGENT" --format json sessions show | sed -E "s/\"[a-zA-Z]*At\":\"[^\"]*\"//g; s/\"lastRequestId\":\"[^\"]*\"//; s/\"id\":\"[^\"]*\"//g"'
}
in_parallel 3 sbs_cases side_by_side

# ---------------------------------------------------------------- our client, reference owner
fresh
( cd "$T_WORK" && "$REF" --agent "$AGENT" --ttl 300 "echo ref owner" ) >/dev/null 2>&1
P=$(owner_pid)
case "$(tr '\0' ' ' <"/proc/$P/cmdline" 2>/dev/null)" in
*node*) ok "the reference started a node owner" ;;
*) not_ok "the reference started a node owner" "pid $P" ;;
esac
run --agent "$AGENT" "echo ours on ref"
expect_out "ours on ref

[done] end_turn
" "our prompt through a reference owner"
expect_err "[acpx] session cwd (mock-session-1) · $T_WORK · agent connected
" "our banner sees the reference owner"
run --agent "$AGENT" --format quiet status
expect_out "running
" "our status of a reference owner"
run --agent "$AGENT" --format json set-mode plan
expect_out '{"action":"mode_set","modeId":"plan","resumed":false,"acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
' "our set-mode through a reference owner"
run --agent "$AGENT" --format json set effort high
expect_out '{"action":"config_set","configId":"effort","value":"high","resumed":false,"configOptions":[],"acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
' "our set through a reference owner"
( cd "$T_WORK" && "$ACPX" --agent "$AGENT" "sleep 30000" >"$T_ROOT/slow" 2>&1 ) &
track_pid $!
i=0; while ! grep -q 'sleep 30000' "$REC" && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
run --agent "$AGENT" cancel
expect_out "cancel requested
" "our cancel through a reference owner"
wait
case "$(cat "$T_ROOT/slow")" in *"[done] cancelled"*) ok "the reference owner cancelled our turn" ;;
*) not_ok "the reference owner cancelled our turn" "$(cat "$T_ROOT/slow")" ;; esac
[ "$(owner_pid)" = "$P" ] && ok "the reference owner served every request" ||
    not_ok "the reference owner served every request" "owner now $(owner_pid), was $P"
[ "$(grep -c '"method":"initialize"' "$REC")" = 2 ] && ok "one agent behind the reference owner" ||
    not_ok "one agent behind the reference owner" "$(grep -c initialize "$REC") initialize"
stop_owner

# ---------------------------------------------------------------- reference client, our owner
fresh
( cd "$T_WORK" && "$ACPX" --agent "$AGENT" --ttl 300 "echo our owner" ) >/dev/null 2>&1
P=$(owner_pid)
cmd=$(tr '\0' ' ' <"/proc/$P/cmdline" 2>/dev/null)
case "$cmd" in
*node*) not_ok "we started a native owner" "$cmd" ;;
*__queue-owner*) ok "we started a native owner" ;;
*) not_ok "we started a native owner" "pid $P: $cmd" ;;
esac
run_ref() {
	( cd "$T_WORK" && "$REF" "$@" </dev/null >"$T_ROOT/out" 2>"$T_ROOT/err" )
	RC=$?
	OUT=$(cat "$T_ROOT/out"; printf x); OUT=${OUT%x}
	ERR=$(cat "$T_ROOT/err"; printf x); ERR=${ERR%x}
}
run_ref --agent "$AGENT" "echo ref on ours"
expect_out "ref on ours

[done] end_turn
" "the reference prompt through our owner"
expect_err "[acpx] session cwd (mock-session-1) · $T_WORK · agent connected
" "the reference banner sees our owner"
run_ref --agent "$AGENT" --format quiet status
expect_out "running
" "the reference status of our owner"
run_ref --agent "$AGENT" --format json set-mode plan
expect_out '{"action":"mode_set","modeId":"plan","resumed":false,"acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
' "the reference set-mode through our owner"
run_ref --agent "$AGENT" --format json set effort high
expect_out '{"action":"config_set","configId":"effort","value":"high","resumed":false,"configOptions":[],"acpxRecordId":"mock-session-1","acpxSessionId":"mock-session-1"}
' "the reference set through our owner"
run_ref --agent "$AGENT" --format json prompt --no-wait "echo queued by ref"
expect_out_has '{"action":"prompt_queued","acpxRecordId":"mock-session-1","requestId":"' \
    "the reference --no-wait through our owner"
( cd "$T_WORK" && "$REF" --agent "$AGENT" "sleep 30000" >"$T_ROOT/slow" 2>&1 ) &
track_pid $!
i=0; while ! grep -q 'sleep 30000' "$REC" && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
run_ref --agent "$AGENT" cancel
expect_out "cancel requested
" "the reference cancel through our owner"
wait
case "$(cat "$T_ROOT/slow")" in *"[done] cancelled"*) ok "our owner cancelled the reference turn" ;;
*) not_ok "our owner cancelled the reference turn" "$(cat "$T_ROOT/slow")" ;; esac
[ "$(owner_pid)" = "$P" ] && ok "our owner served every reference request" ||
    not_ok "our owner served every reference request" "owner now $(owner_pid), was $P"
[ "$(grep -c '"method":"initialize"' "$REC")" = 2 ] && ok "one agent behind our owner" ||
    not_ok "one agent behind our owner" "$(grep -c initialize "$REC") initialize"
stop_owner
rm -rf "/tmp/acpx-$(printf '%s' "$HOME" | sha256sum | cut -c1-10)"
done_testing
