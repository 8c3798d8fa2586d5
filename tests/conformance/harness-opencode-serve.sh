#!/bin/sh
# The real opencode (opencode-ai, its `opencode acp`) driven through
# `acpx warp serve <id>` (acpx as an ACP agent in front of the harness),
# with our own client as the ACP client, offline against the fake
# provider on 127.0.0.1: the first warp agent's provider refuses (the
# 400 "credit balance is too low"), the second answers. The paths users
# take: a one-shot exec (the proxy hops, the client sees one answer and
# the [fallback] thought line, the fallback's provider gets the summary
# with the refusal), and a persistent session (sessions new, two prompts
# through the queue owner's proxy, sessions close); afterwards no
# opencode, proxy or owner of the test is left, and no key is in any
# output. Five opencode starts in all (each costs ~10 CPU-s).
#
# Set-up, opencode's install (pin, cache, skip and CI rules,
# ACPX_TEST_OPENCODE): opencode-lib.sh; no network once installed.
. "$TESTS_SRCDIR/conformance/opencode-lib.sh"
oc_setup serve
SERVE="$ACPX warp serve $FROM"
ALL="$T_ROOT/all"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }
# Processes of this test (by its HOME) other than the fake provider: the
# proxy, its opencode, a queue owner. (This shell and its children read
# /proc too but are not acpx, opencode or node.)
leftovers() {
	for e in $(grep -l -a -F "HOME=$HOME" /proc/[0-9]*/environ 2>/dev/null); do
		d=${e%/environ}
		[ "${d#/proc/}" = "$FAKE_PID" ] && continue
		c=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
		case "$c" in
		*opencode*|*"warp serve"*|*__queue-owner*) echo "${d#/proc/}: $c" ;;
		esac
	done 2>/dev/null
}

# ------------------------------------------------ exec through the proxy
: >"$STARTS"
run --approve-all --agent "$SERVE" exec "say hi"
keep
expect_rc 0 "exec through warp serve: the billing refusal falls back, exit 0"
expect_out_has "[fallback] $FROM $ARROW $TO (billing)" "exec: the [fallback] thought line names opencode's real signal"
expect_out_has "fake answer" "exec: the fallback's answer reaches the client"
[ "$(hits billing "$KEY_A" kimi-k2.5)" -ge 1 ] &&
    ok "exec: the primary's opencode asked its provider with its key and model" ||
    not_ok "exec: the primary's opencode asked its provider" "$(cat "$REC")"
FB=$(grep "\"path\":\"/ok/v1/chat/completions\",\"authorization\":\"Bearer $KEY_B\",\"model\":\"glm-5\"" "$REC" | head -n 1)
case "$FB" in
*"[acpx fallback]"*"credit balance is too low"*"say hi"*)
	ok "exec: the fallback's provider got the summary with the refusal, and the prompt" ;;
*) not_ok "exec: the fallback's provider got the summary with the refusal, and the prompt" "$FB" ;;
esac
grep -q '"provider": *"fa"' "$STATE" 2>/dev/null && grep -q '"reason": *"billing"' "$STATE" &&
    ok "exec: the proxy recorded the primary's cooldown" ||
    not_ok "exec: the proxy recorded the primary's cooldown" "$(cat "$STATE" 2>&1)"
[ "$(nstarts primary)" = 1 ] && [ "$(nstarts fallback)" = 1 ] &&
    ok "exec: one opencode per agent" || not_ok "exec: one opencode per agent" "$(cat "$STARTS")"
poll '[ -z "$(leftovers)" ]' && ok "exec: no proxy or opencode left after the client ended" ||
    not_ok "exec: no proxy or opencode left after the client ended" "$(leftovers)"

# ------------------------------------------------ a persistent session
# The cooldown is cleared so that the hop happens inside the session: the
# first prompt, in the queue owner's proxy, is refused on the primary and
# answered by the fallback; the second goes to the fallback with the
# earlier conversation. (--ttl 3600: the owner must not retire on its own
# between the prompts however slow the machine; sessions close stops it.)
rm -f "$STATE"
: >"$STARTS"
run --approve-all --agent "$SERVE" sessions new --name rel
keep
expect_rc 0 "persistent: sessions new through warp serve"
run --approve-all --ttl 3600 --agent "$SERVE" prompt -s rel "write the release notes"
keep
expect_rc 0 "persistent: the first prompt falls back, exit 0"
expect_out_has "[fallback] $FROM $ARROW $TO (billing)" "persistent: the [fallback] thought line"
expect_out_has "fake answer" "persistent: the fallback answers the first prompt"
T=$(last_fb)
case "$T" in
*"[acpx fallback]"*"credit balance is too low"*"write the release notes"*) ok "persistent: the fallback's provider got the summary and the task" ;;
*) not_ok "persistent: the fallback's provider got the summary and the task" "$T" ;; esac
run --approve-all --ttl 3600 --agent "$SERVE" prompt -s rel "say pong"
keep
expect_rc 0 "persistent: the second prompt, exit 0"
expect_out_has "fake answer" "persistent: the fallback answers the second prompt"
case "$OUT" in *"[fallback]"*) not_ok "persistent: no new hop on the second prompt" "$OUT" ;;
*) ok "persistent: no new hop on the second prompt" ;; esac
T=$(last_fb)
case "$T" in
*"write the release notes"*"fake answer"*"say pong"*) ok "persistent: the second request carries the earlier conversation" ;;
*) not_ok "persistent: the second request carries the earlier conversation" "$T" ;; esac
[ "$(nstarts primary)" = 2 ] && [ "$(nstarts fallback)" = 1 ] &&
    ok "persistent: opencode starts: primary for sessions new and the owner, fallback once" ||
    not_ok "persistent: opencode starts (primary 2, fallback 1)" "$(cat "$STARTS")"
run --agent "$SERVE" sessions close rel
keep
expect_rc 0 "persistent: sessions close"
poll '[ -z "$(leftovers)" ]' && ok "persistent: no owner, proxy or opencode left after sessions close" ||
    not_ok "persistent: no owner, proxy or opencode left after sessions close" "$(leftovers)"

case "$(cat "$ALL" "$HOME"/.acpx/sessions/*.json "$HOME"/.acpx/warp/sessions/*.json 2>/dev/null)" in
*"$KEY_A"*|*"$KEY_B"*) not_ok "no key in any output, session record or session map" ;;
*) ok "no key in any output, session record or session map" ;; esac

done_testing
