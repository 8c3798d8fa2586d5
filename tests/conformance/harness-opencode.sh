#!/bin/sh
# A real warp fallback with the real opencode (opencode-ai, its `opencode
# acp`) against the fake provider on 127.0.0.1 (issue 7): the first warp
# agent's provider refuses with Anthropic's 400 "credit balance is too low"
# (opencode passes that on at once, without retrying), the second answers;
# acpx must classify the real signal, hop, stream the fallback's answer,
# record the cooldown and start the next prompt on the fallback directly;
# --no-fallback must not hop; a provider that retries silently is caught
# by warp.stallSeconds.
#
# Needs opencode: ACPX_TEST_OPENCODE=/path/to/opencode, else `opencode` on
# PATH (e.g. npm install opencode-ai@1.18.33; node_modules/.bin/opencode).
# Skipped otherwise. No network: the provider is the fake one; opencode is
# told not to fetch its model list or update itself.
. "$TESTS_SRCDIR/regress/lib.sh"
OC=${ACPX_TEST_OPENCODE:-$(command -v opencode 2>/dev/null || true)}
[ -n "$OC" ] && [ -x "$OC" ] ||
    skip_all "opencode not installed (set ACPX_TEST_OPENCODE or put opencode on PATH)"
"$OC" --version >/dev/null 2>&1 || skip_all "$OC --version fails"
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
unset ACPX_WARP_ENV_FILE ACPX_NODE
for v in $(env | sed -n 's/^\(WARP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1 \
    OPENCODE_DISABLE_LSP_DOWNLOAD=1

REC="$T_ROOT/rec"
"$FAKE" --record "$REC" --lifetime 600 >"$T_ROOT/port" &
track_pid $!
i=0
while [ ! -s "$T_ROOT/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(head -n 1 "$T_ROOT/port")
[ -n "$PORT" ] || skip_all "fake provider did not start"

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
  "agents": {"opencode": {"command": "$OC acp --pure"}},
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

# ------------------------------------ the next prompt starts on the fallback
BEFORE=$(hits billing "$KEY_A" kimi-k2.5)
run --approve-all $FROM exec "say hi again"
expect_rc 0 "while cooling down, the prompt goes to the fallback"
expect_out_has "fake answer" "cooldown: the fallback answers"
[ "$(hits billing "$KEY_A" kimi-k2.5)" = "$BEFORE" ] &&
    ok "cooldown: the failed provider was not asked again" ||
    not_ok "cooldown: the failed provider was not asked again" "$(cat "$REC")"

# ------------------------------------------------ json: _acpx/fallback
rm -f "$STATE"
run --format json --approve-all $FROM exec "say hi"
expect_rc 0 "json: the hop succeeds"
expect_out_has "\"method\":\"_acpx/fallback\",\"params\":{\"from\":\"$FROM\",\"to\":\"$TO\",\"reason\":\"billing\"" \
    "json: the _acpx/fallback notification"
expect_out_has "credit balance is too low" "json: the summary carries the provider's words"

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
sed -e 's#"maxHops": 2,#"maxHops": 2, "stallSeconds": 10,#' \
    "$HOME/.acpx/config.json" >"$T_ROOT/config.new" &&
    mv "$T_ROOT/config.new" "$HOME/.acpx/config.json"
run --approve-all $FROM exec "say hi"
expect_rc 0 "a provider that stalls is left for the fallback"
expect_out_has "[fallback] $FROM $ARROW $TO (stalled)" "stall: the [fallback] line"
expect_out_has "fake answer" "stall: the fallback's answer is streamed"
[ "$(hits ratelimit "$KEY_A" kimi-k2.5)" -ge 1 ] &&
    ok "stall: the first agent did ask its provider" ||
    not_ok "stall: the first agent did ask its provider" "$(cat "$REC")"

done_testing
