#!/bin/sh
# A real warp fallback with the real opencode (opencode-ai, its `opencode
# acp`) against the fake provider on 127.0.0.1: the first
# warp agent's provider refuses with Anthropic's 400 "credit balance is too
# low" (opencode passes that on at once, without retrying), the second
# answers; acpx must classify the real signal, hop, stream the fallback's
# answer, hand it a summary with the refusal, record the cooldown and
# start the next prompt on the fallback directly; --no-fallback must not hop; a provider that retries silently
# is caught by warp.stallSeconds. Then a persistent named session: a 429
# on the first prompt hops to the fallback, and two more prompts (the
# second after its queue owner was stopped) are answered by the fallback
# with its context, the record and `sessions show` list the hop, and the
# cooling primary is never started again.
#
# opencode-ai@1.18.33 is installed from the npm registry into a cache
# outside the build tree (ACPX_NATIVE_CACHE, default ~/.cache/acpx-native)
# by install-npm.sh when it is not there yet; ACPX_TEST_OPENCODE=/path/to/
# opencode uses that binary instead. Without npm or the registry the test
# is skipped, except under CI (CI set), where that is a failure. No
# network once installed: the provider is the fake one; opencode is told
# not to fetch its model list or update itself.
. "$TESTS_SRCDIR/conformance/npm-pins.sh"
OC_SPEC=$OPENCODE_SPEC
: "${ACPX_NATIVE_CACHE:=$ACPX_NPM_CACHE}"
. "$TESTS_SRCDIR/regress/lib.sh"
in_ci() { case "${CI:-}" in ""|false|0) return 1 ;; *) return 0 ;; esac; }
# unavailable WHY: skip, or under CI fail.
unavailable() {
	if in_ci; then
		not_ok "opencode is available under CI" "$1"
		done_testing
	fi
	skip_all "$1"
}
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
if [ -n "${ACPX_TEST_OPENCODE:-}" ]; then
	OC=$ACPX_TEST_OPENCODE
	[ -x "$OC" ] || unavailable "ACPX_TEST_OPENCODE=$OC is not an executable"
else
	OC_DIR=$ACPX_NATIVE_CACHE/opencode-ai-${OC_SPEC#*@}
	OC=$OC_DIR/node_modules/.bin/opencode
	if [ ! -x "$OC" ]; then
		echo "# installing $OC_SPEC from the npm registry into $OC_DIR"
		if ! sh "$TESTS_SRCDIR/conformance/install-npm.sh" "$OC_DIR" \
		    "$OC_SPEC" >"$T_ROOT/npm.log" 2>&1 || [ ! -x "$OC" ]; then
			sed 's/^/# /' "$T_ROOT/npm.log" | tail -n 15
			unavailable "could not install $OC_SPEC (npm missing or the registry unreachable; see above)"
		fi
	fi
fi
"$OC" --version >/dev/null 2>&1 || unavailable "$OC --version fails"
unset ACPX_WARP_ENV_FILE ACPX_NODE
for v in $(env | sed -n 's/^\(WARP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1 \
    OPENCODE_DISABLE_LSP_DOWNLOAD=1

REC="$T_ROOT/rec"
"$FAKE" --record "$REC" --record-text --lifetime 1800 >"$T_ROOT/port" &
track_pid $!
i=0
while [ ! -s "$T_ROOT/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(head -n 1 "$T_ROOT/port")
[ -n "$PORT" ] || skip_all "fake provider did not start"

# The harness command: opencode, behind a wrapper that logs which warp
# agent each start is (by the model acpx pinned), so a test can tell that
# a harness was never started.
STARTS="$T_ROOT/starts"
export OC STARTS
cat >"$T_ROOT/oc-wrap.sh" <<'EOW'
#!/bin/sh
case "$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-fa/kimi-k2.5"'*) echo primary >>"$STARTS" ;;
*'"model":"warp-fb/glm-5"'*) echo fallback >>"$STARTS" ;;
*) echo other >>"$STARTS" ;;
esac
exec "$OC" "$@"
EOW
chmod +x "$T_ROOT/oc-wrap.sh"

KEY_A="sk-fake-harness-aaaa1111"
KEY_B="sk-fake-harness-bbbb2222"
FROM=opencode-warp-fa-kimi
TO=opencode-warp-fb-glm
ARROW=$(printf '\342\206\222')
mkdir -p "$T_ROOT/secrets" "$HOME/.acpx"
SECRETS="$T_ROOT/secrets/warp.env"
printf 'WARP_FA_API_KEY=%s\nWARP_FA_BASE_URL=http://127.0.0.1:%s/billing/v1\nWARP_FB_API_KEY=%s\nWARP_FB_BASE_URL=http://127.0.0.1:%s/ok/v1\n' \
    "$KEY_A" "$PORT" "$KEY_B" "$PORT" >"$SECRETS"
chmod 600 "$SECRETS"
cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/oc-wrap.sh acp --pure"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {"fa": {"models": {"kimi": "kimi-k2.5"}},
                  "fb": {"models": {"glm": "glm-5"}}},
    "fallback": {"$FROM": ["$TO"]},
    "maxHops": 2,
    "cooldownSeconds": 600
  }
}
EOC
STATE="$HOME/.acpx/warp/state.json"
# hits PROVIDER-PATH KEY MODEL: requests the fake provider saw like that.
hits() {
	grep -c "\"path\":\"/$1/v1/chat/completions\",\"authorization\":\"Bearer $2\",\"model\":\"$3\"" \
	    "$REC" 2>/dev/null || true
}

# ------------------------------------------------ text: the hop happens
run --approve-all $FROM exec "say hi"
expect_rc 0 "a billing refusal falls back and the fallback answers"
expect_out_has "[fallback] $FROM $ARROW $TO (billing)" "text: the [fallback] line names opencode's real signal"
expect_out_has "fake answer" "text: the fallback's answer is streamed"
[ "$(hits billing "$KEY_A" kimi-k2.5)" -ge 1 ] &&
    ok "the first agent asked its provider with its key and model" ||
    not_ok "the first agent asked its provider" "$(cat "$REC")"
[ "$(hits ok "$KEY_B" glm-5)" -ge 1 ] &&
    ok "the fallback asked its provider with its key and model" ||
    not_ok "the fallback asked its provider" "$(cat "$REC")"
grep -q '"provider": *"fa"' "$STATE" 2>/dev/null &&
    grep -q '"reason": *"billing"' "$STATE" &&
    ok "the cooldown of the failed provider is recorded" ||
    not_ok "cooldown recorded" "$(cat "$STATE" 2>&1)"
case "$OUT$ERR" in
*"$KEY_A"*|*"$KEY_B"*) not_ok "no key in the output" ;;
*) ok "no key in the output" ;; esac
# What the fallback's opencode sent its provider: the continuation summary
# with the primary's refusal in the provider's words, and the prompt. (The
# json rendering of a hop, _acpx/fallback, is the same code for any
# harness: fallback.sh and warp.sh check it with the mock agent.)
FB=$(grep "\"path\":\"/ok/v1/chat/completions\",\"authorization\":\"Bearer $KEY_B\"" "$REC" | head -n 1)
case "$FB" in
*"credit balance is too low"*"say hi"*|*"say hi"*"credit balance is too low"*)
	ok "the summary reaching the fallback's provider carries the refusal in the provider's words" ;;
*) not_ok "the summary reaching the fallback's provider carries the refusal in the provider's words" "$FB" ;;
esac

# ------------------------------------ the next prompt starts on the fallback
BEFORE=$(hits billing "$KEY_A" kimi-k2.5)
run --approve-all $FROM exec "say hi again"
expect_rc 0 "while cooling down, the prompt goes to the fallback"
expect_out_has "fake answer" "cooldown: the fallback answers"
[ "$(hits billing "$KEY_A" kimi-k2.5)" = "$BEFORE" ] &&
    ok "cooldown: the failed provider was not asked again" ||
    not_ok "cooldown: the failed provider was not asked again" "$(cat "$REC")"


# ------------------------------------------------ --no-fallback
rm -f "$STATE"
BEFORE=$(hits ok "$KEY_B" glm-5)
run --no-fallback --approve-all $FROM exec "say hi"
[ "$RC" -ne 0 ] && ok "--no-fallback: the refusal fails the prompt" ||
    not_ok "--no-fallback: the refusal fails the prompt" "rc $RC" "$OUT"
case "$OUT" in *"[fallback]"*) not_ok "--no-fallback: no hop" "$OUT" ;;
*) ok "--no-fallback: no hop" ;; esac
[ "$(hits ok "$KEY_B" glm-5)" = "$BEFORE" ] &&
    ok "--no-fallback: the fallback's provider was not asked" ||
    not_ok "--no-fallback: the fallback's provider was not asked" "$(cat "$REC")"

# ------------------------------------------------ a silent retry: the stall rule
# A 429 with Retry-After: 120 makes opencode retry without a word (no
# update, no answer); only warp.stallSeconds catches it. opencode answers
# the session/cancel with end_turn (not cancelled): still a stall.
rm -f "$STATE"
sed -e "s#/billing/v1#/ratelimit/v1#" "$SECRETS" >"$SECRETS.new" &&
    mv "$SECRETS.new" "$SECRETS" && chmod 600 "$SECRETS"
sed -e 's#"maxHops": 2,#"maxHops": 2, "stallSeconds": 60,#' \
    "$HOME/.acpx/config.json" >"$T_ROOT/config.new" &&
    mv "$T_ROOT/config.new" "$HOME/.acpx/config.json"
run --approve-all $FROM exec "say hi"
expect_rc 0 "a provider that stalls is left for the fallback"
expect_out_has "[fallback] $FROM $ARROW $TO (stalled)" "stall: the [fallback] line"
expect_out_has "fake answer" "stall: the fallback's answer is streamed"
[ "$(hits ratelimit "$KEY_A" kimi-k2.5)" -ge 1 ] &&
    ok "stall: the first agent did ask its provider" ||
    not_ok "stall: the first agent did ask its provider" "$(cat "$REC")"

# ------------------------------------------------ a persistent session
# The primary's provider answers 429 (with retry-after-ms: 1, so opencode's
# own five retries take no time), the fallback's answers. The hop happens
# on the session's first prompt; the next prompt goes to the warm owner's
# fallback agent, the one after that to a new owner, which must start the
# fallback again and load its session, not the cooling primary. (--ttl
# 3600: the owner must not retire on its own between the prompts, however
# slow the machine; the test stops it itself.)
rm -f "$STATE"
sed -e "s#/ratelimit/v1#/ratelimit-fast/v1#" "$SECRETS" >"$SECRETS.new" &&
    mv "$SECRETS.new" "$SECRETS" && chmod 600 "$SECRETS"
sed -e 's#"maxHops": 2, "stallSeconds": 60,#"maxHops": 2,#' \
    "$HOME/.acpx/config.json" >"$T_ROOT/config.new" &&
    mv "$T_ROOT/config.new" "$HOME/.acpx/config.json"
# poll SHELL-CONDITION: wait for an event; the ceiling (5 min) only bounds a hang.
poll() {
	i=0
	while ! eval "$1" && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
	eval "$1"
}
lease() { ls "$HOME"/.acpx/queues/*.lock 2>/dev/null | head -n 1; }
record() { cat "$HOME"/.acpx/sessions/*.json 2>/dev/null; }
nstarts() { c=$(grep -c "^$1\$" "$STARTS" 2>/dev/null); echo "${c:-0}"; }
# The conversation text of the fallback provider's last chat request.
last_fb_text() {
	grep "\"path\":\"/ok/v1/chat/completions\",\"authorization\":\"Bearer $KEY_B\"" "$REC" |
	    tail -n 1
}
: >"$STARTS"
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
T=$(last_fb_text)
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
T=$(last_fb_text)
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
T=$(last_fb_text)
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
