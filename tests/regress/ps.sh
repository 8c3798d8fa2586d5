#!/bin/sh
# acpx ps: queue owners in every state (running with a prompt queued
# behind, idle), an exec beside them whose agent is still starting and a
# warp serve, in text and json: kind, session name and id, agent, cwd, owner and
# agent pids (checked against /proc), state, uptime, the agent tree's
# resident memory, the last event. A SIGKILLed owner disappears from ps,
# its registration is removed and logged as owner.stopped (crash); a
# registration whose pid now belongs to another process is removed; an
# owner without a registration is still listed from its lease;
# registrations go away with their processes.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
RUN="$HOME/.acpx/run"
AG1=$(mock_cmd hold-turn.json --session-id ps-1)
AG2=$(mock_cmd hello.json --session-id ps-2)

# psj: `acpx ps --format json` into $OUT. row PID: that row's JSON.
psj() { run --format json ps; }
row() {
	printf '%s' "$OUT" | sed 's/},{/}\n{/g; s/^\[//; s/\]$//' |
	    grep -F "\"pid\":$1,"
}
# lease_pid ID: the owner pid in the lease of session ID.
lease_pid() {
	sed -n 's/^  "pid": \([0-9]*\),$/\1/p' $(grep -l "\"sessionId\": \"$1\"" \
	    "$HOME"/.acpx/queues/*.lock)
}
# wait_ps TEXT...: until one `ps --format json` output holds every TEXT
# (120 s only bounds a hang).
wait_ps() {
	i=0
	while [ $i -lt 1200 ]; do
		psj
		w_all=1
		for w in "$@"; do
			case "$OUT" in *"$w"*) ;; *) w_all=0 ;; esac
		done
		[ $w_all -eq 1 ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

run ps
expect_rc 0 "ps with nothing running"
expect_out "PID  KIND  SESSION  AGENT  STATE  UPTIME  RSS  AGENT-PID  LAST EVENT  CWD
" "ps with nothing running: the header only"
psj
expect_out "[]
" "ps --format json with nothing running: []"

# ------------------------------------------------------------ the states
run --agent "$AG1" sessions new --name held
expect_rc 0 "sessions new held"
run --agent "$AG2" sessions new --name quiet
expect_rc 0 "sessions new quiet"
run --agent "$AG2" --ttl 0 prompt -s quiet "hi"
expect_rc 0 "a prompt on quiet (its owner stays, idle)"
run --agent "$AG1" --ttl 0 prompt -s held --no-wait "first"
expect_rc 0 "a prompt on held (held open by the agent)"
wait_ps '"name":"held"' '"state":"running"' ||
    not_ok "held's owner shows running" "$OUT"
run --agent "$AG1" prompt -s held --no-wait "second"
expect_rc 0 "a second prompt on held waits behind the first"
( cd "$T_WORK" && exec "$ACPX" --agent "$(mock_cmd init-hangs.json)" exec "x" \
    >/dev/null 2>&1 ) &
XPID=$!
track_pid $XPID
wait_ps '"queued":1' "\"pid\":$XPID," '"state":"starting"' ||
    not_ok "ps sees the queued prompt and the starting exec" "$OUT"

run ps
expect_rc 0 "ps (text)"
H=$(printf '%s\n' "$OUT" | grep ' held ')
Q=$(printf '%s\n' "$OUT" | grep ' quiet ')
X=$(printf '%s\n' "$OUT" | grep "^$XPID ")
case "$H" in *" owner "*" mock-agent "*" queued 1 "*"turn.started "*" ago "*" $T_WORK"*) ok "text: held, an owner running with one queued" ;;
*) not_ok "text: held, an owner running with one queued" "$OUT" ;; esac
case "$Q" in *" owner "*" idle "*"turn.ended "*) ok "text: quiet, an idle owner" ;;
*) not_ok "text: quiet, an idle owner" "$OUT" ;; esac
case "$X" in *" exec "*" - "*" mock-agent "*" starting "*"agent.spawned "*) ok "text: the exec, its agent starting" ;;
*) not_ok "text: the exec, its agent starting" "$OUT" ;; esac
[ "$(printf '%s' "$OUT" | grep -c .)" -eq 4 ] && ok "text: a header and three rows" ||
    not_ok "text: a header and three rows" "$OUT"

psj
expect_rc 0 "ps --format json"
HP=$(lease_pid ps-1)
R=$(row "$HP")
case "$R" in *'"proc":"owner","session":"ps-1","name":"held"'*'"cwd":"'"$T_WORK"'"'*'"state":"running","queued":1'*)
	ok "json: held by its lease's owner pid, session id, name, cwd, state" ;;
*) not_ok "json: held by its lease's owner pid, session id, name, cwd, state" "pid $HP" "$OUT" ;; esac
AP=$(printf '%s' "$R" | sed -n 's/.*"agentPid":\([0-9]*\).*/\1/p')
[ -n "$AP" ] && tr '\0' ' ' <"/proc/$AP/cmdline" 2>/dev/null | grep -q 'mock-agent.*ps-1' &&
    ok "json: agentPid is held's mock agent (/proc)" ||
    not_ok "json: agentPid is held's mock agent (/proc)" "agentPid $AP" "$R"
RSS=$(printf '%s' "$R" | sed -n 's/.*"rssBytes":\([0-9]*\).*/\1/p')
KB=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$AP/status" 2>/dev/null)
[ -n "$RSS" ] && [ -n "$KB" ] && [ "$RSS" -ge $((KB * 1024 / 2)) ] &&
    [ "$RSS" -le $((KB * 1024 * 2 + 1048576)) ] &&
    ok "json: rssBytes is the agent's resident memory" ||
    not_ok "json: rssBytes is the agent's resident memory" "rss $RSS, VmRSS $KB kB"
case "$R" in *'"uptimeMs":'[0-9]*'"lastEvent":"turn.started","lastEventAt":"'*|*'"lastEvent":"turn.started","lastEventAt":"'*'"uptimeMs":'[0-9]*)
	ok "json: uptime and the last event" ;;
*) not_ok "json: uptime and the last event" "$R" ;; esac
R=$(row "$XPID")
case "$R" in *'"proc":"exec","session":null,"name":null'*'"harness":"mock-agent"'*'"state":"starting"'*)
	ok "json: the exec row" ;;
*) not_ok "json: the exec row" "$R" ;; esac

# ------------------------------------------------------------ warp serve
# A warp serve (the agent behind it spawned at the client's initialize)
# fed through a FIFO the test holds open.
printf '{"agents":{"mocky":{"command":"%s"}}}' "$(mock_cmd hello.json)" \
    >"$HOME/.acpx/config.json"
mkfifo "$T_ROOT/serve.in"
( cd "$T_WORK" && exec "$ACPX" warp serve mocky <"$T_ROOT/serve.in" \
    >"$T_ROOT/serve.out" 2>"$T_ROOT/serve.err" ) &
track_pid $!
exec 3>"$T_ROOT/serve.in"
printf '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}\n' >&3
wait_ps '"proc":"warp-serve"' '"lastEvent":"agent.initialized"' ||
    not_ok "ps sees the warp serve's agent" "$OUT"
SP=$(printf '%s' "$OUT" | sed 's/},{/}\n{/g' | grep '"proc":"warp-serve"' |
    sed 's/.*"pid":\([0-9]*\),.*/\1/')
R=$(row "$SP")
case "$R" in *'"agent":"mocky","harness":"mock-agent"'*'"state":"idle"'*) ok "json: the warp serve row" ;;
*) not_ok "json: the warp serve row" "$R" ;; esac
AP=$(printf '%s' "$R" | sed -n 's/.*"agentPid":\([0-9]*\).*/\1/p')
[ -n "$AP" ] && [ "$(awk '{print $4}' "/proc/$AP/stat" 2>/dev/null)" = "$SP" ] &&
    ok "json: the warp serve's agentPid is its child (/proc)" ||
    not_ok "json: the warp serve's agentPid is its child (/proc)" "agent $AP" "$R"
exec 3>&-
i=0
while kill -0 "$SP" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
rm -f "$HOME/.acpx/config.json"

# ------------------------------------------------------------ stale ones
QP=$(lease_pid ps-2)
kill -KILL "$QP"
i=0
while kill -0 "$QP" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
printf '{"pid":1,"proc":"exec","identity":{"kind":"linux-proc","bootId":"x","pidNamespace":"x","timeNamespace":"x","startTicks":"1"}}' >"$RUN/1.json"
run ps
case "$OUT" in *" quiet "*) not_ok "a SIGKILLed owner is not listed" "$OUT" ;;
*) ok "a SIGKILLed owner is not listed" ;; esac
[ ! -e "$RUN/$QP.json" ] && ok "its registration was removed" ||
    not_ok "its registration was removed" "$(ls "$RUN")"
[ ! -e "$RUN/1.json" ] && ok "a registration of another process's birth is removed" ||
    not_ok "a registration of another process's birth is removed" "$(ls "$RUN")"
run --format json events -s quiet
case "$OUT" in *'"event":"owner.stopped"'*'"reason":"crash","ownerPid":'"$QP"*)
	ok "the crash is logged once as owner.stopped (crash)" ;;
*) not_ok "the crash is logged once as owner.stopped (crash)" "$OUT" ;; esac
run ps
run --format json events -s quiet
[ "$(printf '%s' "$OUT" | grep -c '"reason":"crash"')" -eq 1 ] &&
    ok "a second ps does not log it again" ||
    not_ok "a second ps does not log it again" "$OUT"

# An owner whose registration is gone (another acpx's): from its lease.
mv "$RUN/$HP.json" "$T_ROOT/held.json"
psj
case "$(row "$HP")" in *'"proc":"owner","session":"ps-1","name":"held"'*'"state":"unknown","queued":1'*)
	ok "an unregistered owner is listed from its lease and record" ;;
*) not_ok "an unregistered owner is listed from its lease and record" "$OUT" ;; esac
mv "$T_ROOT/held.json" "$RUN/$HP.json"

# ------------------------------------------------------------ the end
kill -TERM "$XPID"
wait "$XPID" 2>/dev/null
: >"$T_WORK/release"
wait_ps '"queued":0' '"state":"idle"' ||
    not_ok "held's two prompts finish" "$OUT"
stop_owner
wait_owners_gone
run ps
expect_out "PID  KIND  SESSION  AGENT  STATE  UPTIME  RSS  AGENT-PID  LAST EVENT  CWD
" "ps once everything has stopped: the header only"
[ -z "$(ls "$RUN")" ] && ok "every registration went with its process" ||
    not_ok "every registration went with its process" "$(ls -la "$RUN")"
done_testing
