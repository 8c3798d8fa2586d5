#!/bin/sh
# A persistent named session on a warp agent with the real opencode
# (opencode-ai, its `opencode acp`) against the fake provider on
# 127.0.0.1: a 429 on the first prompt hops to the fallback, and two more
# prompts (the second after its queue owner was stopped) are answered by
# the fallback with its context, the record and `sessions show` list the
# hop, and the cooling primary is never started again. (Set-up, install
# and CI rule: opencode-lib.sh; exec: harness-opencode.sh.)
. "$TESTS_SRCDIR/conformance/opencode-lib.sh"
oc_setup session

# ------------------------------------------------ a persistent session
# The primary's provider answers 429 (with retry-after-ms: 1, so opencode's
# own five retries take no time), the fallback's answers. The hop happens
# on the session's first prompt; the next prompt goes to the warm owner's
# fallback agent, the one after that to a new owner, which must start the
# fallback again and load its session, not the cooling primary. (--ttl
# 3600: the owner must not retire on its own between the prompts, however
# slow the machine; the test stops it itself.)
set_primary_path ratelimit-fast
lease() { ls "$HOME"/.acpx/queues/*.lock 2>/dev/null | head -n 1; }
record() { cat "$HOME"/.acpx/sessions/*.json 2>/dev/null; }
run --approve-all $FROM sessions new --name rel
expect_rc 0 "sessions new on the warp agent"
[ "$(nstarts primary)" = 1 ] && ok "sessions new started the primary's harness" ||
    not_ok "sessions new started the primary's harness" "$(cat "$STARTS")"

run --approve-all --ttl 3600 $FROM prompt -s rel "write a file with the release notes"
expect_rc 0 "persistent: the 429 falls back, exit 0"
expect_out_has "[fallback] $FROM $ARROW $TO (rate-limited)" "persistent: the [fallback] line"
expect_out_has "fake answer" "persistent: the fallback's answer"
PRIMARY_CALLS=$(hits ratelimit-fast "$KEY_A" kimi-k2.5)
[ "$PRIMARY_CALLS" -ge 1 ] && ok "persistent: the primary asked its provider" ||
    not_ok "persistent: the primary asked its provider" "$(cat "$REC")"
T=$(last_fb)
case "$T" in
*"[acpx fallback]"*"write a file with the release notes"*) ok "persistent: the fallback's provider got the summary and the task" ;;
*) not_ok "persistent: the fallback's provider got the summary and the task" "$T" ;; esac
grep -q '"provider": *"fa"' "$STATE" 2>/dev/null && ok "persistent: the primary cools down" ||
    not_ok "persistent: the primary cools down" "$(cat "$STATE" 2>&1)"
case "$(record)" in
*"\"serving_agent\": \"$TO\""*'"routing_history"'*'"type": "fallback"'*) ok "the record has the serving agent and the routing history" ;;
*) not_ok "the record has the serving agent and the routing history" "$(record)" ;; esac

run --approve-all --ttl 3600 $FROM prompt -s rel "say pong"
expect_rc 0 "the next prompt, warm owner"
expect_out_has "fake answer" "next prompt: answered by the fallback"
case "$OUT" in *"[fallback]"*) not_ok "next prompt: no new hop" "$OUT" ;; *) ok "next prompt: no new hop" ;; esac
T=$(last_fb)
case "$T" in
*"[acpx fallback]"*"say pong"*) ok "next prompt: the fallback's provider got it with the earlier conversation" ;;
*) not_ok "next prompt: the fallback's provider got it with the earlier conversation" "$T" ;; esac

# Stop the owner (by its lease's pid), and wait until it and its agent are gone.
L=$(lease)
OWNER=$(sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$L" 2>/dev/null)
AGENT=$(record | sed -n 's/^  "pid": \([0-9]*\),$/\1/p' | head -n 1)
if [ -n "$OWNER" ] && kill "$OWNER" 2>/dev/null &&
    poll '[ -z "$(lease)" ] && ! kill -0 "$OWNER" 2>/dev/null' &&
    { [ -z "$AGENT" ] || poll '! kill -0 "$AGENT" 2>/dev/null'; }; then
	ok "the queue owner (and its agent) stopped"
else
	not_ok "the queue owner (and its agent) stopped" "lease: $L owner: $OWNER agent: $AGENT"
fi

run --approve-all --ttl 3600 $FROM prompt -s rel "say pong again"
expect_rc 0 "a prompt after the owner was stopped"
expect_out_has "fake answer" "restarted owner: answered by the fallback"
case "$OUT" in *"[fallback]"*) not_ok "restarted owner: no new hop" "$OUT" ;; *) ok "restarted owner: no new hop" ;; esac
T=$(last_fb)
case "$T" in
*"[acpx fallback]"*"write a file with the release notes"*"say pong"*"say pong again"*) ok "restarted owner: the fallback kept its context (session loaded)" ;;
*) not_ok "restarted owner: the fallback kept its context (session loaded)" "$T" ;; esac
[ "$(hits ratelimit-fast "$KEY_A" kimi-k2.5)" = "$PRIMARY_CALLS" ] &&
    ok "the cooling primary's provider was not asked again" ||
    not_ok "the cooling primary's provider was not asked again" "$(cat "$REC")"
[ "$(nstarts primary)" = 2 ] && [ "$(nstarts fallback)" = 2 ] &&
    ok "the primary's harness never started again; the fallback's once per owner" ||
    not_ok "harness starts: primary 2 (sessions new, first prompt), fallback 2" "$(cat "$STARTS")"

run $FROM sessions show rel
expect_rc 0 "sessions show"
expect_out_has "servingAgent: $TO" "show: the serving agent"
expect_out_has "fallback $FROM $ARROW $TO (rate-limited), hop 1" "show: the hop"
expect_out_has "[acpx fallback]" "show: the summary"
run --format json $FROM sessions show rel
expect_out_has "\"serving_agent\":\"$TO\"" "show json: the serving agent"
L=$(lease)
OWNER=$(sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$L" 2>/dev/null)
[ -n "$OWNER" ] && kill "$OWNER" 2>/dev/null && poll '[ -z "$(lease)" ]'
case "$(cat "$T_ROOT/out" "$T_ROOT/err"; record)" in
*"$KEY_A"*|*"$KEY_B"*) not_ok "no key in the output or the record" ;;
*) ok "no key in the output or the record" ;; esac

done_testing
