#!/bin/sh
# A real warp fallback with the real opencode (opencode-ai, its `opencode
# acp`) against the fake provider on 127.0.0.1, through `acpx exec`: the
# first warp agent's provider refuses with Anthropic's 400 "credit balance
# is too low" (opencode passes that on at once, without retrying), the
# second answers; acpx must classify the real signal, hop, stream the
# fallback's answer, hand it a summary with the refusal and record the
# cooldown; --no-fallback must not hop; a 429 with a long Retry-After is
# seen by acpx's provider tap, which ends the turn at once; without the
# tap, a provider that retries silently is caught by warp.stallSeconds. (The persistent session, whose later
# prompts start on the fallback directly while the primary cools down, is
# harness-opencode-session.sh, warp serve harness-opencode-serve.sh; the
# set-up, opencode's install and the CI rule are opencode-lib.sh's.)
. "$TESTS_SRCDIR/conformance/opencode-lib.sh"
oc_setup harness

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

# ------------------------------------------------ 429 Retry-After 120: the tap
# With a next agent, opencode talks to its provider through acpx's provider
# tap, which sees the 429 with Retry-After: 120 and ends the turn at once
# (opencode itself would wait and retry without a word): one request to
# the failing provider (with its real key, which opencode never had), the
# fallback answers, and the summary carries the provider's own signal.
rm -f "$STATE"
set_primary_path ratelimit
run --approve-all $FROM exec "say hi"
expect_rc 0 "429 Retry-After 120: the tap ends the turn and the fallback answers"
expect_out_has "[fallback] $FROM $ARROW $TO (rate-limited)" "tap: the [fallback] line names the provider's class"
expect_out_has "fake answer" "tap: the fallback's answer is streamed"
N=$(hits ratelimit "$KEY_A" kimi-k2.5)
[ "$N" = 1 ] && ok "tap: the failing provider saw one request, with the real key" ||
    not_ok "tap: the failing provider saw one request, with the real key" "got $N" "$(cat "$REC")"
case "$(last_fb)" in
*"provider answered HTTP 429 (rate_limit, Retry-After 120s)"*)
	ok "tap: the summary reaching the fallback carries the status, class and Retry-After" ;;
*) not_ok "tap: the summary reaching the fallback carries the status, class and Retry-After" "$(last_fb)" ;;
esac
grep -q '"reason": *"rate-limited"' "$STATE" 2>/dev/null &&
    ok "tap: the rate limit's cooldown is recorded" ||
    not_ok "tap: the rate limit's cooldown is recorded" "$(cat "$STATE" 2>&1)"

# ------------------------------------------------ a silent retry: the stall rule
# Without the tap (warp.harnessRetries null: the harness keeps its own
# retries), a 429 with Retry-After: 120 makes opencode retry without a
# word (no update, no answer); only warp.stallSeconds catches it. opencode
# answers the session/cancel with end_turn (not cancelled): still a stall.
rm -f "$STATE"
set_primary_path ratelimit
sed -e 's#"maxHops": 2,#"maxHops": 2, "stallSeconds": 60, "harnessRetries": null,#' \
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
