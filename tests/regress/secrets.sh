#!/bin/sh
# Sentinel secrets: a credential planted in ACPX_AUTH_*, in the config's
# auth object and in the warp secrets file must never appear in ~/.acpx
# (records, journals, locks, logs), in the queue socket directory, on
# stderr or in JSON output, whatever the command (exec, sessions, the
# queue owner, --verbose, errors, warp doctor). A sentinel in the prompt
# is user content: it may be stored, but must not leak into stderr.
# Also checks the documented modes of the store and the socket directory.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
unset ACPX_WARP_ENV_FILE

S_ENV="sk-SENTINEL-env-7f3a9c"
S_CFG="sk-SENTINEL-cfg-2b8e1d"
S_WARP="sk-SENTINEL-warp-5c4f0a"
S_PROMPT="SENTINEL-prompt-9d1e6b"
LOGS="$T_ROOT/logs"
mkdir -p "$LOGS" "$HOME/.acpx" "$HOME/.openclaw"
AREC="$T_ROOT/agent-received.ndjson"	# what the agent got (outside HOME)
AGENT="$MOCK --scenario $SCENARIOS/auth-methods.json --supports-load-session --record $AREC"

cat >"$HOME/.acpx/config.json" <<EOT
{"auth":{"other-method":"$S_CFG"}}
EOT
chmod 600 "$HOME/.acpx/config.json"
printf 'WARP_API_KEY=%s\nOPENAI_API_KEY=%s\n' "$S_WARP" "$S_WARP" \
    >"$HOME/.openclaw/.env"
chmod 600 "$HOME/.openclaw/.env"
export ACPX_AUTH_API_KEY="$S_ENV"

n=0
keep() {
	n=$((n + 1))
	printf '%s' "$OUT" >"$LOGS/$n.out"
	printf '%s' "$ERR" >"$LOGS/$n.err"
}

run --agent "$AGENT" --format json exec "say $S_PROMPT"
expect_rc 0 "exec with credentials in env and config"; keep
run --agent "$AGENT" --verbose exec "say $S_PROMPT"
expect_rc 0 "exec --verbose"; keep
run --agent "$AGENT" --format json sessions new
expect_rc 0 "sessions new"; keep
run --agent "$AGENT" --verbose --ttl 0.3 --format json "say $S_PROMPT"
expect_rc 0 "a prompt through the queue owner"; keep
run --agent "$MOCK --scenario $SCENARIOS/error-internal.json" --format json \
    exec "fail $S_PROMPT"
keep
[ "$RC" -ne 0 ] && ok "a failing turn fails (exit $RC)" || not_ok "a failing turn fails" "exit 0"
run --agent "$AGENT" --format json sessions show
expect_rc 0 "sessions show"; keep
run --agent "$AGENT" --format json sessions history
keep
run --agent "$AGENT" --format json status
keep
run --agent "$AGENT" --format json config show
expect_rc 0 "config show"; keep
run --agent "$MOCK --scenario $SCENARIOS/exit-before-init.json" exec hi
keep
run --verbose warp doctor
keep
run --format json warp list
keep
run --agent "$AGENT" sessions close
keep
# Let owners exit (TTL 0.3 s) before looking at their files.
i=0
while ls "$HOME"/.acpx/queues/*.lock >/dev/null 2>&1 && [ $i -lt 1200 ]; do
	sleep 0.1; i=$((i + 1))
done

# The agent itself must have received the env credential (proves the
# plant works: a test that cannot fail is no test). config.json is where
# the config sentinel was planted, so it is not searched.
expect_received "$AREC" '{"received": [{"method": "authenticate",
    "params": {"methodId": "api-key"},
    "name": "the agent was asked to authenticate with the planted method"}]}'
[ -n "$(ls "$HOME/.acpx/sessions" 2>/dev/null)" ] &&
    ok "the store has files to search" || not_ok "the store has files to search"
grep -rq "$S_PROMPT" "$HOME/.acpx/sessions" &&
    ok "the prompt (user content) is in the session files" ||
    not_ok "the prompt (user content) is in the session files" \
	"$(ls -la "$HOME/.acpx/sessions")"

# The event log is searched below with the rest of ~/.acpx; it must hold
# the runs above (an owner's and the agents' events), or the search of it
# proves nothing.
EVLOG="$HOME/.acpx/events.ndjson"
grep -q '"event":"owner.started"' "$EVLOG" 2>/dev/null &&
    grep -q '"event":"agent.spawned"' "$EVLOG" &&
    ok "the event log has the runs' events to search" ||
    not_ok "the event log has the runs' events to search" "$(cat "$EVLOG" 2>&1)"
for s in "$S_ENV" "$S_CFG" "$S_WARP" "$S_PROMPT"; do
	grep -q -F "$s" "$EVLOG" 2>/dev/null &&
	    not_ok "sentinel ${s%-*} is not in events.ndjson" ||
	    ok "sentinel ${s%-*} is not in events.ndjson"
done

SOCKDIR=/tmp/acpx-$(printf '%s' "$HOME" | sha256sum | cut -c1-10)
for s in "$S_ENV" "$S_CFG" "$S_WARP"; do
	hits=$(grep -rl -a -F "$s" "$HOME/.acpx" "$LOGS" $SOCKDIR 2>/dev/null |
	    sed "s,^$T_ROOT/,," | grep -vx 'home/.acpx/config.json')
	[ -z "$hits" ] && ok "secret ${s%-*} appears in no file, log or output" ||
	    not_ok "secret ${s%-*} appears in no file, log or output" "$hits"
done
hits=$(grep -l -F "$S_PROMPT" "$LOGS"/*.err 2>/dev/null | sed "s,^$T_ROOT/,,")
[ -z "$hits" ] && ok "the prompt never reaches stderr" ||
    not_ok "the prompt never reaches stderr" "$hits"

# ---------------------------------------------------------------- modes
mode() { stat -c %a "$1" 2>/dev/null; }
[ "$(mode "$HOME/.acpx/sessions")" = 700 ] && ok "sessions directory is 0700" ||
    not_ok "sessions directory is 0700" "$(mode "$HOME/.acpx/sessions")"
bad=""
for f in "$HOME"/.acpx/sessions/*; do
	m=$(mode "$f"); case "$m" in 600) ;; *) bad="$bad $(basename "$f"):$m" ;; esac
done
[ -z "$bad" ] && ok "session files are 0600" || not_ok "session files are 0600" "$bad"
[ -d "$SOCKDIR" ] && [ "$(mode "$SOCKDIR")" = 700 ] && ok "queue socket directory is 0700" ||
    not_ok "queue socket directory is 0700" "$SOCKDIR: $(mode "$SOCKDIR" || echo absent)"
if [ "$(id -u)" -ne 0 ]; then
	echo "# a peer of another uid: needs root to switch uid (skipped)"
elif command -v setpriv >/dev/null 2>&1 && [ -d "$SOCKDIR" ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups ls "$SOCKDIR" \
	    >/dev/null 2>&1 && not_ok "another uid cannot enter the socket directory" ||
	    ok "another uid cannot enter the socket directory"
fi
done_testing
