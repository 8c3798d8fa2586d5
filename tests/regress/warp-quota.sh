#!/bin/sh
# Warp routing by the protocol's quota signals: ACP's quota_update
# snapshot and Claude's usage_update _meta["_claude/rateLimit"] are kept
# per provider/model in the Warp state and shown by warp list, warp route
# and ps; an exhausted quota, or one under warp.quotaReserve, sends new
# turns to the next agent before the provider fails them; a quotaExceeded
# error cools the provider down until its reported reset; bad values are
# ignored or clamped by one rule. warp route shows every skip state:
# cooling, quota, secrets missing, node down, chosen. The harness is the
# mock agent behind a script that picks its scenario by the pinned model;
# the scenarios (tests/mock-agent/scenarios/quota-*.json) get their reset
# times here: absolute times ten days ahead, never waited for.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
warp_env_clean
FROM=opencode-warp-infini-kimi
TO=opencode-warp-backup-glm
NOKEY=opencode-warp-nokey-glm
REMOTE=opencode-warp-remote-glm
ARROW=$(printf '\342\206\222')
# A reset ten days ahead, at midnight: believed (at most 31 days ahead).
RESET_EPOCH=$(( ($(date -u +%s) / 86400 + 10) * 86400 ))
RESET=$(date -u -d "@$RESET_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
RESET_ISO=$(date -u -d "@$RESET_EPOCH" +%Y-%m-%dT%H:%M:%S.000Z)
for s in acp claude exceeded bad hold; do
	sed "s/\"@RESET_EPOCH@\"/$RESET_EPOCH/; s/@RESET@/$RESET/g" \
	    "$SCENARIOS/quota-$s.json" >"$T_ROOT/$s.json"
done

cat >"$T_ROOT/harness.sh" <<'EOH'
#!/bin/sh
case "$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-infini/kimi-k2.5"'*) m=kimi; sc=$SC_KIMI ;;
*) m=backup; sc=$SCENARIOS/hello.json ;;
esac
echo "$m" >>"$REC_DIR/starts"
exec "$MOCK" --scenario "$sc"
EOH
chmod +x "$T_ROOT/harness.sh"
export REC_DIR="$T_ROOT/rec" MOCK SCENARIOS SC_KIMI="$T_ROOT/acp.json"
mkdir -p "$REC_DIR" "$T_ROOT/secrets" "$HOME/.acpx"
SECRETS="$T_ROOT/secrets/warp.env"
STATE="$HOME/.acpx/warp/state.json"
for p in INFINI BACKUP; do
	printf 'WARP_%s_API_KEY=sk-quota-test\nWARP_%s_BASE_URL=http://127.0.0.1:9/v1\n' $p $p
done >"$SECRETS"
chmod 600 "$SECRETS"
# Node n1 is marked down until the year 3000: REMOTE, bound to it, is skipped.
printf '{"n1": {"until": 32503680000000, "cause": "test"}}' >"$HOME/.acpx/nodes-down.json"
write_config() {	# EXTRA-WARP-KEYS (JSON members, each ending with ",")
	cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}, "$REMOTE": {"nodes": ["n1"]}},
  "nodes": {"n1": {"ssh": "n1"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {
      "infini": {"models": {"kimi": "kimi-k2.5"}},
      "backup": {"models": {"glm": "glm-5"}},
      "nokey": {"models": {"glm": "glm-5"}},
      "remote": {"models": {"glm": "glm-5"}}
    },
    "fallback": {"$FROM": ["$TO", "$NOKEY", "$REMOTE"]},
    $1
    "cooldownSeconds": 600
  }
}
EOC
}
starts() { tr '\n' ' ' <"$REC_DIR/starts" 2>/dev/null; : >"$REC_DIR/starts"; }
# route_row ID: that candidate's line of `warp route` text.
route_row() { printf '%s\n' "$OUT" | grep "^[0-9]  *$1 "; }

# ------------------------------------------------ ACP quota_update snapshot
write_config ""
run --approve-all $FROM exec "go"
expect_rc 0 "quota_update: the turn ends normally"
[ "$(starts)" = "kimi " ] && ok "quota_update: the primary served the turn" ||
    not_ok "quota_update: the primary served the turn" "$ERR"
case "$(tr -d ' \n' <"$STATE" 2>/dev/null)" in
*'"quotas":[{"provider":"infini","model":"kimi-k2.5",'*'"source":"acp","updatedAt":"2026-10-06T13:10:00Z","meters":[{"id":"plan/five_hour","usedPercent":42,"exhausted":false,"resetsAt":"'"$RESET_ISO"'"'*'{"id":"plan/seven_day","usedPercent":97,'*)
	case "$(cat "$STATE")" in *extra_usage*) not_ok "quota_update: a pool not enabled is left out" ;;
	*) ok "quota_update: the state keeps each meter of the pools that apply" ;; esac ;;
*) not_ok "quota_update: the state keeps each meter of the pools that apply" "$(cat "$STATE" 2>&1)" ;; esac

# Every skip state but one in a single route: chosen (the quota is under
# no reserve), standby, secrets missing, node down.
run --format json warp route $FROM
case "$OUT" in
*'"chosen":"'$FROM'"'*'"status":"chosen"'*'"quota":{"usedPercent":97,"remainingPercent":3,"exhausted":false,"meter":"plan/seven_day","resetsAt":"'"$RESET_ISO"'"'*'"id":"'$TO'"'*'"status":"standby"'*'"id":"'$NOKEY'"'*'"skip":"secrets-missing"'*'"id":"'$REMOTE'"'*'"skip":"node-down","why":"node down (n1 until 3000-01-01T00:00:00.000Z)"'*)
	ok "route (json): chosen with its quota, standby, secrets missing, node down" ;;
*) not_ok "route (json): chosen with its quota, standby, secrets missing, node down" "$OUT" "$ERR" ;; esac

# Under warp.quotaReserve: the primary is skipped before it fails.
write_config '"quotaReserve": 5,'
run warp route $FROM
R=$(route_row $FROM)
case "$R" in *"skipped  quota at 97% (plan/seven_day, under the 5% reserve), resets $RESET_ISO") ok "route: under the reserve, skipped with the quota and its reset" ;;
*) not_ok "route: under the reserve, skipped with the quota and its reset" "$OUT" "$ERR" ;; esac
case "$(route_row $TO)" in *" chosen "*) ok "route: the next agent is chosen" ;;
*) not_ok "route: the next agent is chosen" "$OUT" ;; esac
run --approve-all $FROM exec "go"
expect_rc 0 "reserve: the turn runs"
[ "$(starts)" = "backup " ] && ok "reserve: the next agent takes the turn, the primary is not started" ||
    not_ok "reserve: the next agent takes the turn" "$ERR"
expect_err_has "warp: $FROM: quota at 97% (plan/seven_day, under the 5% reserve)" "reserve: a notice says why"
run warp list
R=$(printf '%s\n' "$OUT" | grep "^$FROM ")
case "$R" in *" ready "*"97% used (plan/seven_day), resets $RESET_ISO  $TO"*) ok "list: the QUOTA column" ;;
*) not_ok "list: the QUOTA column" "$OUT" ;; esac
run warp reset infini
run --format json warp list
case "$OUT" in *'"id":"'$FROM'",'*'"quota":null}'*) ok "warp reset forgets the quota reading" ;;
*) not_ok "warp reset forgets the quota reading" "$OUT" ;; esac

# With its node up again, the node-bound candidate is a standby: its
# secrets are the node's, not this machine's.
mv "$HOME/.acpx/nodes-down.json" "$T_ROOT/nodes-down.json"
run --format json warp route $FROM
case "$OUT" in *'"id":"'$REMOTE'"'*'"status":"standby","skip":null'*) ok "route: a node-bound candidate needs no secrets here" ;;
*) not_ok "route: a node-bound candidate needs no secrets here" "$OUT" ;; esac
mv "$T_ROOT/nodes-down.json" "$HOME/.acpx/nodes-down.json"

# ------------------------------------------------ Claude's rate limit window
SC_KIMI="$T_ROOT/claude.json"
run --approve-all $FROM exec "go"
expect_rc 0 "claude window: the turn ends normally"
starts >/dev/null
run warp route $FROM
case "$(route_row $FROM)" in *"skipped  quota at 100% (five_hour, exhausted), resets $RESET_ISO") ok "route: Claude's rejected window, exhausted until its reset" ;;
*) not_ok "route: Claude's rejected window, exhausted until its reset" "$OUT" "$ERR" ;; esac

# ------------------------------------------------ quotaExceeded
run warp reset infini
SC_KIMI="$T_ROOT/exceeded.json"
run --approve-all $FROM exec "go"
if [ "$RC" = 0 ] && [ "${OUT#*"[fallback] $FROM $ARROW $TO (quota-exhausted)"}" != "$OUT" ]; then
	ok "quotaExceeded: a provider failure, the next agent finishes"
else not_ok "quotaExceeded: a provider failure, the next agent finishes" "rc $RC" "$OUT" "$ERR"; fi
case "$(tr -d ' \n' <"$STATE")" in *'{"provider":"infini","model":"kimi-k2.5","until":"'"$RESET_ISO"'",'*'"reason":"quota-exhausted"'*)
	ok "quotaExceeded: the cooldown ends at the reported reset" ;;
*) not_ok "quotaExceeded: the cooldown ends at the reported reset" "$(cat "$STATE")" ;; esac
run warp route $FROM
case "$(route_row $FROM)" in *"skipped  cooling down until $RESET_ISO for quota (quota-exhausted)") ok "route: cooling until the reset, for quota" ;;
*) not_ok "route: cooling until the reset, for quota" "$OUT" ;; esac

# ------------------------------------------------ bad values
run warp reset infini
SC_KIMI="$T_ROOT/bad.json"
run --approve-all $FROM exec "go"
expect_rc 0 "bad values: the turn ends normally"
expect_out_has "still fine" "bad values: the answer is printed"
run --format json warp list
AT=$(printf '%s' "$OUT" | sed -n 's/.*"id":"'$FROM'",.*"receivedAt":"\([^"]*\)".*/\1/p')
HELD=$(date -u -d "@$(( $(date -u -d "$AT" +%s) + 600 ))" +%Y-%m-%dT%H:%M:%S.000Z 2>/dev/null)
case "$OUT" in *'"quota":{"usedPercent":100,"remainingPercent":0,"exhausted":true,"meter":"p/huge","resetsAt":null,"until":"'"$HELD"'",'*) ok "bad values: over 100% is exhausted; an unbelievable reset is none (held cooldownSeconds)" ;;
*) not_ok "bad values: over 100% is exhausted; an unbelievable reset is none" "held $HELD" "$OUT" ;; esac
M=$(tr -d ' \n' <"$STATE" | sed 's/.*"quotas"://')
case "$M" in *'"meters":[{"id":"p/past","usedPercent":10,"exhausted":false,"until":'*'{"id":"p/far","usedPercent":20,"exhausted":false,"until":'*'{"id":"p/junk","usedPercent":30,"exhausted":false,"until":'*'{"id":"p/huge","usedPercent":100,"exhausted":true,"until":'*)
	case "$M" in *neg*|*str*|*'"p/none"'*|*qty*|*resetsAt*) not_ok "bad values: negative, non-number and empty meters dropped, no reset kept" "$M" ;;
	*) ok "bad values: negative, non-number and empty meters dropped, no reset kept" ;; esac ;;
*) not_ok "bad values: the meters that remain" "$M" ;; esac

# ------------------------------------------------ acpx ps
run warp reset infini
SC_KIMI="$T_ROOT/hold.json"
( cd "$T_WORK" && exec "$ACPX" --approve-all $FROM exec "go" >"$T_ROOT/held.out" 2>&1 ) &
XPID=$!
track_pid $XPID
i=0
until grep -q '"plan/five_hour"' "$STATE" 2>/dev/null && [ -s "$T_ROOT/held.out" ] ||
    [ $i -ge 1200 ]; do sleep 0.05; i=$((i + 1)); done
# The registration is rewritten from a timer: ask until the row has it.
i=0
while :; do
	run --format json ps
	R=$(printf '%s' "$OUT" | sed 's/},{"pid"/}\n{"pid"/g' | grep "\"pid\":$XPID,")
	case "$R" in *'"quota":{'*) break ;; esac
	[ $i -ge 600 ] && break
	sleep 0.1; i=$((i + 1))
done
case "$R" in *'"warpAgent":"'$FROM'"'*'"quota":{"usedPercent":61.5,"remainingPercent":38.5,"exhausted":false,"meter":"plan/five_hour","resetsAt":"'"$RESET_ISO"'"'*) ok "ps (json): the exec's quota" ;;
*) not_ok "ps (json): the exec's quota" "$OUT" ;; esac
run ps
case "$(printf '%s\n' "$OUT" | head -n 1)" in *"LAST EVENT"*"  QUOTA  "*"  CWD") ok "ps: a QUOTA column when a row has a reading" ;;
*) not_ok "ps: a QUOTA column when a row has a reading" "$OUT" ;; esac
case "$(printf '%s\n' "$OUT" | grep "^$XPID ")" in *"61% used (plan/five_hour), resets $RESET_ISO"*) ok "ps: the row's quota" ;;
*) not_ok "ps: the row's quota" "$OUT" ;; esac
: >"$T_WORK/release"
i=0
while kill -0 $XPID 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
grep -q released "$T_ROOT/held.out" && ok "ps: the held turn finishes" ||
    not_ok "ps: the held turn finishes" "$(cat "$T_ROOT/held.out")"
done_testing
