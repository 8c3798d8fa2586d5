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
# opencode is installed as in harness-opencode.sh (same pin, cache, skip
# and CI rules, ACPX_TEST_OPENCODE); no network once installed.
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
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset ACPX_WARP_ENV_FILE ACPX_NODE
for v in $(env | sed -n 's/^\(WARP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1 \
    OPENCODE_DISABLE_LSP_DOWNLOAD=1

# poll SHELL-CONDITION: wait for an event; the ceiling (5 min) only bounds a hang.
poll() {
	i=0
	while ! eval "$1" && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
	eval "$1"
}

REC="$T_ROOT/rec"
"$FAKE" --record "$REC" --record-text --lifetime 1800 >"$T_ROOT/port" &
FAKE_PID=$!
track_pid $FAKE_PID
poll '[ -s "$T_ROOT/port" ]'
PORT=$(head -n 1 "$T_ROOT/port")
[ -n "$PORT" ] || skip_all "fake provider did not start"

# The harness command: opencode, behind a wrapper that logs which warp
# agent each start is (by the model the proxy pinned).
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

KEY_A="sk-fake-serve-aaaa1111"
KEY_B="sk-fake-serve-bbbb2222"
FROM=opencode-warp-fa-kimi
TO=opencode-warp-fb-glm
ARROW=$(printf '\342\206\222')
SERVE="$ACPX warp serve $FROM"
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
ALL="$T_ROOT/all"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }
# hits PROVIDER-PATH KEY MODEL: requests the fake provider saw like that.
hits() {
	grep -c "\"path\":\"/$1/v1/chat/completions\",\"authorization\":\"Bearer $2\",\"model\":\"$3\"" \
	    "$REC" 2>/dev/null || true
}
# The fallback provider's last chat request (with its conversation text).
last_fb() {
	grep "\"path\":\"/ok/v1/chat/completions\",\"authorization\":\"Bearer $KEY_B\"" "$REC" |
	    tail -n 1
}
nstarts() { c=$(grep -c "^$1\$" "$STARTS" 2>/dev/null); echo "${c:-0}"; }
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
