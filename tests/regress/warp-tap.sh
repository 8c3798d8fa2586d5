#!/bin/sh
# The provider tap (acpx-warp(7), "Provider tap"): an opencode harness
# (the mock agent, whose provider step calls the model provider the way
# opencode does) with a next agent talks to a loopback relay that acpx
# runs, never to the provider; the relay forwards with the real key,
# streams the answer back, and ends the turn on the provider's own
# signal. Checked: the harness's environment (tap URL, token, no key);
# a forwarded answer, plain and streamed (SSE), intact, with the real key
# upstream; a request without the token (403, nothing forwarded); 429
# with Retry-After 120 (one request, then the fallback, the summary and
# the event carrying rate_limit/429/120); Retry-After 1 (one retry, the
# second failure ends the turn: two requests); 401 (auth); the same in a
# persistent session's queue owner (a warm harness keeps its tap) and in
# acpx warp serve; the last agent
# of a chain (no tap: the provider's own URL); the secret nowhere in
# output or under HOME; no relay port and no harness left.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
command -v curl >/dev/null || skip_all "curl not installed"
warp_env_clean
SENTINEL="sk-SENTINEL-tp1tp2tp3tp4"
SENTINEL_B="sk-SENTINEL-tpBtpBtpBtpB"
FROM=opencode-warp-infini-kimi
TO=opencode-warp-backup-glm
ARROW=$(printf '\342\206\222')

# The harness: its pid and environment, then the mock (scenario by model).
cat >"$T_ROOT/harness.sh" <<'EOH'
#!/bin/sh
case "$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-infini/kimi-k2.5"'*) m=kimi; sc=$SC_KIMI ;;
*) m=backup; sc=$SC_BACKUP ;;
esac
echo $$ >>"$REC_DIR/pids"
env >"$REC_DIR/$m.env"
exec "$MOCK" --scenario "$sc" --record "$REC_DIR/$m"
EOH
chmod +x "$T_ROOT/harness.sh"
cat >"$T_ROOT/provider.json" <<'EOF'
{"default_turn": [{"provider": "opencode"}, {"chunk": " (answered)"}]}
EOF
cat >"$T_ROOT/hold.json" <<EOF
{"default_turn": [{"provider": "opencode"}, {"wait_file": "$T_ROOT/release"}, {"chunk": " (released)"}]}
EOF
export REC_DIR="$T_ROOT/rec" MOCK SC_BACKUP="$T_ROOT/provider.json"
mkdir -p "$REC_DIR" "$T_ROOT/secrets" "$HOME/.acpx"
SECRETS="$T_ROOT/secrets/warp.env"
REC="$T_ROOT/provider.rec"

fake_provider_start "$REC" --lifetime 120
BASE="http://127.0.0.1:$PORT"

primary_mode() {	# the fake provider's mode for infini; backup is ok
	printf 'WARP_INFINI_API_KEY=%s\nWARP_INFINI_BASE_URL=%s/%s/v1\n' "$SENTINEL" "$BASE" "$1" >"$SECRETS"
	printf 'WARP_BACKUP_API_KEY=%s\nWARP_BACKUP_BASE_URL=%s/ok/v1\n' "$SENTINEL_B" "$BASE" >>"$SECRETS"
	chmod 600 "$SECRETS"
}
cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {
      "infini": {"models": {"kimi": "kimi-k2.5"}},
      "backup": {"models": {"glm": "glm-5"}}
    },
    "fallback": {"$FROM": ["$TO"], "$TO": []},
    "cooldownSeconds": 600
  }
}
EOC
ALL="$T_ROOT/all"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }
reset() { rm -rf "$HOME/.acpx/warp/state.json" "$REC_DIR"/* "$T_ROOT/release"; : >"$REC"; }
# requests PATH-PREFIX: requests the fake provider saw under it.
requests() { grep -c "\"path\":\"$1" "$REC" 2>/dev/null || true; }
# tap_url M: the base URL harness M was given (its opencode config).
tap_url() { sed -n 's/^OPENCODE_CONFIG_CONTENT=.*"baseURL":"\([^"]*\)".*/\1/p' "$REC_DIR/$1.env"; }
# gone: no harness of this script runs, and URL's port takes no connection.
gone() {
	for p in $(cat "$REC_DIR/pids" 2>/dev/null); do
		kill -0 "$p" 2>/dev/null && return 1
	done
	curl -s --max-time 30 -o /dev/null "$1/models" && return 1
	return 0
}
wait_for() {	# FILE: wait until it exists (60 s only bounds a hang)
	i=0
	while [ ! -e "$1" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
}

# ---------------------------------------------- forwarding, held open
reset
primary_mode ok
export SC_KIMI="$T_ROOT/hold.json"
( cd "$T_WORK" && "$ACPX" --approve-all $FROM exec "say hi" \
    >"$T_ROOT/held.out" 2>"$T_ROOT/held.err" ) &
HELD=$!
# The mock's provider request has gone through the tap.
i=0
while ! grep -q '"path":"/ok/v1/chat/completions"' "$REC" 2>/dev/null && [ $i -lt 1200 ]; do
	sleep 0.05; i=$((i + 1))
done
URL=$(tap_url kimi)
TOKEN=${URL##*/t/}
case "$URL" in
"http://127.0.0.1:$PORT"*|"") not_ok "the harness's base URL is the tap's" "got: $URL" ;;
http://127.0.0.1:*/t/?*) ok "the harness's base URL is the tap's (loopback, token in the path)" ;;
*) not_ok "the harness's base URL is the tap's" "got: $URL" ;; esac
KEYLINE=$(grep '^WARP_INFINI_API_KEY=' "$REC_DIR/kimi.env")
[ "$KEYLINE" = "WARP_INFINI_API_KEY=$TOKEN" ] && ok "the harness's key is the tap's token" ||
    not_ok "the harness's key is the tap's token" "got: $KEYLINE"
grep -q -- "$SENTINEL" "$REC_DIR/kimi.env" && not_ok "the key is not in the harness's environment" ||
    ok "the key is not in the harness's environment"
# The mock's own request went through with the real key.
grep '"path":"/ok/v1/chat/completions"' "$REC" | grep -q "\"authorization\":\"Bearer $SENTINEL\"" &&
    ok "forwarded: the provider got the real key" ||
    not_ok "forwarded: the provider got the real key" "$(cat "$REC")"
# A streamed answer (SSE) through the tap, intact.
curl -s --max-time 60 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"model":"kimi-k2.5","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    "$URL/chat/completions" >"$T_ROOT/sse.tap"
curl -s --max-time 60 -H "Authorization: Bearer $SENTINEL" -H 'Content-Type: application/json' \
    -d '{"model":"kimi-k2.5","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    "$BASE/ok/v1/chat/completions" >"$T_ROOT/sse.direct"
if grep -q '^data: \[DONE\]' "$T_ROOT/sse.tap" && cmp -s "$T_ROOT/sse.tap" "$T_ROOT/sse.direct"; then
	ok "streamed: the SSE answer arrives intact through the tap"
else not_ok "streamed: the SSE answer arrives intact through the tap" "$(head -c 400 "$T_ROOT/sse.tap")"; fi
# Without the token (or with another): 403, nothing forwarded.
N0=$(wc -l <"$REC")
C1=$(curl -s --max-time 60 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -d '{}' "${URL%/t/*}/chat/completions")
C2=$(curl -s --max-time 60 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -d '{}' "${URL%/t/*}/t/0000$TOKEN/chat/completions")
N1=$(wc -l <"$REC")
[ "$C1" = 403 ] && [ "$C2" = 403 ] && [ "$N0" = "$N1" ] &&
    ok "a request without the token: 403, nothing forwarded" ||
    not_ok "a request without the token: 403, nothing forwarded" "codes $C1 $C2, records $N0 -> $N1"
: >"$T_ROOT/release"
wait $HELD
HRC=$?
OUT=$(cat "$T_ROOT/held.out"); ERR=$(cat "$T_ROOT/held.err"); keep
[ "$HRC" = 0 ] && [ "${OUT#*fake answer (released)}" != "$OUT" ] &&
    [ "${OUT#*fallback}" = "$OUT" ] && ok "the held turn finishes on the first agent" ||
    not_ok "the held turn finishes on the first agent" "rc $HRC" "$OUT" "$ERR"
gone "$URL" && ok "no harness and no tap port left" || not_ok "no harness and no tap port left" "$(cat "$REC_DIR/pids")"

# --------------------------------------- 429, Retry-After 120: at once
reset
primary_mode ratelimit
export SC_KIMI="$T_ROOT/provider.json"
run --approve-all $FROM exec "do it"
keep
if [ "$RC" = 0 ] && [ "${OUT#*"[fallback] $FROM $ARROW $TO (rate-limited)"}" != "$OUT" ]; then
	ok "429 Retry-After 120: falls back"
else not_ok "429 Retry-After 120: falls back" "rc $RC" "$OUT" "$ERR"; fi
N=$(requests /ratelimit/)
[ "$N" = 1 ] && ok "429 Retry-After 120: one request to the failing provider" ||
    not_ok "429 Retry-After 120: one request to the failing provider" "got $N"
P=$(grep '"method":"session/prompt"' "$REC_DIR/backup" 2>/dev/null | head -n 1)
case "$P" in
*'## Provider failure\nprovider answered HTTP 429 (rate_limit, Retry-After 120s): Rate limit reached'*)
	ok "429: the summary carries the provider's status, class and Retry-After" ;;
*) not_ok "429: the summary carries the provider's status, class and Retry-After" "got: $P" ;; esac
EV=$(grep '"provider.failed"' "$HOME/.acpx/events.ndjson" | tail -n 1)
case "$EV" in
*'"reason":"rate-limited"'*'"class":"rate_limit"'*'"status":429'*'"retryAfter":120'*)
	ok "429: the event carries class, status and Retry-After" ;;
*) not_ok "429: the event carries class, status and Retry-After" "got: $EV" ;; esac
URL=$(tap_url kimi)
gone "$URL" && ok "429: no harness and no tap port left" || not_ok "429: no harness and no tap port left"
[ -z "$(tap_url backup | grep "/t/")" ] && ok "the last agent of the chain has no tap" ||
    not_ok "the last agent of the chain has no tap" "$(tap_url backup)"

# ------------------------ 429, Retry-After 1: one retry, then the end
# The test plays the harness's retries through the tap while the mock
# holds the turn: the second failure ends the turn (cancelled by acpx).
reset
primary_mode ratelimit-1
cat >"$T_ROOT/wait.json" <<EOF
{"default_turn": [{"wait_file": "$T_ROOT/release"}, {"chunk": " (released)"}]}
EOF
export SC_KIMI="$T_ROOT/wait.json"
( cd "$T_WORK" && "$ACPX" --approve-all $FROM exec "do it" \
    >"$T_ROOT/held.out" 2>"$T_ROOT/held.err" ) &
HELD=$!
wait_for "$REC_DIR/kimi.env"
i=0
while ! grep -q '"session/prompt"' "$REC_DIR/kimi" 2>/dev/null && [ $i -lt 1200 ]; do
	sleep 0.05; i=$((i + 1))
done
URL=$(tap_url kimi)
TOKEN=${URL##*/t/}
H1=$(curl -s --max-time 60 -D - -o /dev/null -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"model":"kimi-k2.5","messages":[]}' "$URL/chat/completions")
C2=$(curl -s --max-time 60 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"model":"kimi-k2.5","messages":[]}' "$URL/chat/completions")
wait $HELD
RC=$?
OUT=$(cat "$T_ROOT/held.out"); ERR=$(cat "$T_ROOT/held.err"); keep
case "$H1" in
'HTTP/1.1 429'*[Rr]etry-[Aa]fter:\ 1*) ok "Retry-After 1: the first failure reaches the harness (429, Retry-After)" ;;
*) not_ok "Retry-After 1: the first failure reaches the harness (429, Retry-After)" "$H1" ;; esac
if [ "$RC" = 0 ] && [ "$C2" = 429 ] && [ "${OUT#*"[fallback] $FROM $ARROW $TO (rate-limited)"}" != "$OUT" ] &&
    [ "${OUT#*(released)}" = "$OUT" ]; then
	ok "Retry-After 1: the second failure ends the turn, the fallback answers"
else not_ok "Retry-After 1: the second failure ends the turn, the fallback answers" "rc $RC, second $C2" "$OUT" "$ERR"; fi
N=$(requests /ratelimit-1/)
[ "$N" = 2 ] && ok "Retry-After 1: two requests to the failing provider" ||
    not_ok "Retry-After 1: two requests to the failing provider" "got $N"
gone "$URL" && ok "Retry-After 1: no harness and no tap port left" ||
    not_ok "Retry-After 1: no harness and no tap port left"

# ------------------------------------------------------------ 401: auth
reset
primary_mode auth
export SC_KIMI="$T_ROOT/provider.json"
run --approve-all $FROM exec "do it"
keep
if [ "$RC" = 0 ] && [ "${OUT#*"[fallback] $FROM $ARROW $TO (auth-failed)"}" != "$OUT" ]; then
	ok "401: falls back (auth-failed)"
else not_ok "401: falls back (auth-failed)" "rc $RC" "$OUT" "$ERR"; fi
P=$(grep '"method":"session/prompt"' "$REC_DIR/backup" 2>/dev/null | head -n 1)
case "$P" in
*'provider answered HTTP 401 (auth): Invalid API key provided'*) ok "401: the summary carries the status and class" ;;
*) not_ok "401: the summary carries the status and class" "got: $P" ;; esac

# ------------------------------------------- a failure that quotes the key
# The provider's 401 repeats the key the tap sent it: the harness (and so
# the ACP stream in JSON) gets it masked, never the key itself.
reset
primary_mode echokey
run --approve-all --format json $FROM exec "do it"
keep
case "$OUT$ERR" in
*"$SENTINEL"*) not_ok "a failure body quoting the key reaches the harness masked" "the key is in the output" ;;
*'Incorrect API key provided: **********'*) ok "a failure body quoting the key reaches the harness masked" ;;
*) not_ok "a failure body quoting the key reaches the harness masked" "rc $RC" "$OUT" "$ERR" ;; esac

# ------------------------------------------- a persistent session's owner
# The queue owner runs the tap of the harness it starts: a warm harness
# keeps its tap from prompt to prompt (one start, the real key upstream),
# and a 429 with Retry-After 120 ends the owner's turn and hops.
reset
primary_mode ok
run --approve-all $FROM sessions new --name tp
keep
P0=$(grep -c . "$REC_DIR/pids" 2>/dev/null)
run --approve-all $FROM -s tp "one"
keep
O1=$OUT
run --approve-all $FROM -s tp "two"
keep
N=$(grep -c "\"path\":\"/ok/v1/chat/completions\",\"authorization\":\"Bearer $SENTINEL\"" "$REC")
S=$(( $(grep -c . "$REC_DIR/pids") - P0 ))
case "$O1$OUT" in
*"fake answer (answered)"*"fake answer (answered)"*)
	[ "$N" = 2 ] && [ "$S" = 1 ] && tap_url kimi | grep -q /t/ &&
	    ok "session: a warm harness keeps its tap across prompts" ||
	    not_ok "session: a warm harness keeps its tap across prompts" "requests $N, starts $S" ;;
*) not_ok "session: a warm harness keeps its tap across prompts" "$O1" "$OUT" "$ERR" ;; esac
URL=$(tap_url kimi)
run $FROM sessions close tp
keep
wait_owners_gone
gone "$URL" && ok "session: no harness and no tap port left after close" ||
    not_ok "session: no harness and no tap port left after close"
rm -rf "$REC_DIR"/*; : >"$REC"
primary_mode ratelimit
run --approve-all $FROM sessions new --name tq
keep
run --approve-all $FROM -s tq "do it"
keep
N=$(requests /ratelimit/)
if [ "$RC" = 0 ] && [ "${OUT#*"[fallback] $FROM $ARROW $TO (rate-limited)"}" != "$OUT" ] &&
    [ "${OUT#*fake answer (answered)}" != "$OUT" ] && [ "$N" = 1 ]; then
	ok "session: a 429 with Retry-After 120 ends the owner's turn after one request and hops"
else not_ok "session: a 429 with Retry-After 120 ends the owner's turn after one request and hops" "rc $RC, requests $N" "$OUT" "$ERR"; fi
P=$(grep '"method":"session/prompt"' "$REC_DIR/backup" 2>/dev/null | head -n 1)
case "$P" in
*'provider answered HTTP 429 (rate_limit, Retry-After 120s)'*) ok "session: the hop's summary carries the tap's signal" ;;
*) not_ok "session: the hop's summary carries the tap's signal" "got: $P" ;; esac
run $FROM sessions close tq
keep
wait_owners_gone

# ------------------------------------------- warp serve
# acpx warp serve (a node-bound agent's proxy on its node too) runs the
# tap of each harness it starts: a 429 with Retry-After 120 ends its turn
# after one request and it hops to the backup.
reset
primary_mode ratelimit
run --approve-all --agent "$ACPX warp serve $FROM" exec "do it"
keep
N=$(requests /ratelimit/)
if [ "$RC" = 0 ] && [ "${OUT#*fake answer (answered)}" != "$OUT" ] && [ "$N" = 1 ] &&
    tap_url kimi | grep -q /t/; then
	ok "warp serve: a 429 with Retry-After 120 ends its turn after one request and hops"
else not_ok "warp serve: a 429 with Retry-After 120 ends its turn after one request and hops" "rc $RC, requests $N" "$OUT" "$ERR"; fi
P=$(grep '"method":"session/prompt"' "$REC_DIR/backup" 2>/dev/null | head -n 1)
case "$P" in
*'provider answered HTTP 429 (rate_limit, Retry-After 120s)'*) ok "warp serve: the hop's summary carries the tap's signal" ;;
*) not_ok "warp serve: the hop's summary carries the tap's signal" "got: $P" ;; esac
gone "$(tap_url kimi)" && ok "warp serve: no harness and no tap port left" ||
    not_ok "warp serve: no harness and no tap port left"

# ------------------------------------------- no next agent: no tap
reset
primary_mode ok
run --approve-all $TO exec "do it"
keep
U=$(tap_url backup)
[ "$RC" = 0 ] && [ "$U" = "$BASE/ok/v1" ] && grep -q "^WARP_BACKUP_API_KEY=$SENTINEL_B\$" "$REC_DIR/backup.env" &&
    ok "no next agent: no tap (the provider's URL and key, as before)" ||
    not_ok "no next agent: no tap (the provider's URL and key, as before)" "rc $RC, url $U" "$ERR"

# ------------------------------------------------------------ secrets
if grep -q -e "$SENTINEL" -e "$SENTINEL_B" "$ALL" "$T_ROOT/sse.tap" || grep -rq -e "$SENTINEL" -e "$SENTINEL_B" "$HOME"; then
	not_ok "the keys are nowhere in output or under HOME" "$(grep -rl -e "$SENTINEL" -e "$SENTINEL_B" "$ALL" "$HOME")"
else ok "the keys are nowhere in output or under HOME"; fi

done_testing
