#!/bin/sh
# Warp routing by the provider's signal: cooldown by cause. A mock harness
# really calls the fake provider (opencode's way), so each failure class
# comes from an HTTP answer (429, 503, 401; quota, billing and the other
# classes in tests/unit/test-warp-cooldown.c):
# the primary fails, the backup finishes, and the state file holds the
# cooldown its class calls for (rate_limit: the Retry-After the provider
# tap saw, server_error as
# configured, auth until cleared, provider-wide). Also: a failure counted
# under warp.allowedFails, acpx warp reset, a state file edited into
# garbage, a bad warp.cooldown; acpx warp route in each
# state (chosen, cooling, secrets missing, standby); --force-fail through
# exec and warp serve; the harness-retries cap in Claude Code's launch
# environment. The Retry-After cap and a count that reaches
# warp.allowedFails are checked in tests/unit/test-warp-cooldown.c.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
warp_env_clean
SENTINEL="sk-SENTINEL-sg1sg2sg3sg4"
SENTINEL_B="sk-SENTINEL-sgBsgBsgBsgB"
FROM=opencode-warp-infini-kimi
TO=opencode-warp-backup-glm
NOKEY=opencode-warp-nokey-glm
ARROW=$(printf '\342\206\222')

cat >"$T_ROOT/harness.sh" <<'EOH'
#!/bin/sh
case "$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-infini/kimi-k2.5"'*) m=kimi; sc=$SC_KIMI ;;
*) m=backup; sc=$SC_BACKUP ;;
esac
echo "$m" >>"$REC_DIR/starts"
exec "$MOCK" --scenario "$sc" --record "$REC_DIR/$m"
EOH
chmod +x "$T_ROOT/harness.sh"
# The claude harness: its environment, then a mock that says hello.
cat >"$T_ROOT/dump.sh" <<'EOH'
#!/bin/sh
env >"$REC_DIR/claude.env"
exec "$MOCK" --scenario "$SCENARIOS/hello.json"
EOH
chmod +x "$T_ROOT/dump.sh"
cat >"$T_ROOT/provider.json" <<'EOF'
{"default_turn": [{"provider": "opencode"}, {"chunk": " (answered)"}]}
EOF
cat >"$T_ROOT/retry-after.json" <<'EOF'
{"default_turn": [{"error": {"code": -32603, "message": "Internal error: Rate limit reached for requests, retry after 7200 seconds", "data": {"errorName": "APIError", "statusCode": 429}}}]}
EOF
export REC_DIR="$T_ROOT/rec" MOCK SC_KIMI="$T_ROOT/provider.json" SC_BACKUP="$T_ROOT/provider.json"
mkdir -p "$REC_DIR" "$T_ROOT/secrets" "$HOME/.acpx"
SECRETS="$T_ROOT/secrets/warp.env"
STATE="$HOME/.acpx/warp/state.json"

fake_provider_start "$T_ROOT/provider.rec" --lifetime 120
BASE="http://127.0.0.1:$PORT"

primary_mode() {	# the fake provider's mode for infini; backup is ok
	printf 'WARP_INFINI_API_KEY=%s\nWARP_INFINI_BASE_URL=%s/%s/v1\n' "$SENTINEL" "$BASE" "$1" >"$SECRETS"
	printf 'WARP_BACKUP_API_KEY=%s\nWARP_BACKUP_BASE_URL=%s/ok/v1\n' "$SENTINEL_B" "$BASE" >>"$SECRETS"
	chmod 600 "$SECRETS"
}
write_config() {	# EXTRA-WARP-KEYS (JSON members, each ending with ",")
	cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}, "claude": {"command": "$T_ROOT/dump.sh"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {
      "infini": {"models": {"kimi": "kimi-k2.5"}},
      "backup": {"models": {"glm": "glm-5"}},
      "nokey": {"models": {"glm": "glm-5"}}
    },
    "fallback": {"$FROM": ["$TO", "$NOKEY"], "claude-warp-infini-kimi": ["claude-warp-backup-glm"], "claude-warp-backup-glm": []},
    $1
    "cooldownSeconds": 600
  }
}
EOC
}
ALL="$T_ROOT/all"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }
# entry PROVIDER: the state's cooldown entry of PROVIDER, compact.
entry() {
	tr -d ' \n' <"$STATE" 2>/dev/null | sed 's/"failures".*//; s/},{/}\n{/g' |
	    grep -o "{\"provider\":\"$1\",[^}]*}" | head -n 1
}
field() { printf '%s' "$1" | sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p"; }
# lasts PROVIDER: seconds from since to until of its cooldown.
lasts() {
	E=$(entry "$1")
	[ -n "$E" ] || { echo none; return; }
	echo $(( $(date -u -d "$(field "$E" until)" +%s) - $(date -u -d "$(field "$E" since)" +%s) ))
}

# fail_case MODE REASON SECONDS|manual NAME: the primary's provider answers
# MODE; the backup finishes; the cooldown is as its class says.
fail_case() {
	rm -rf "$STATE" "$REC_DIR"/*
	primary_mode "$1"
	run --approve-all $FROM exec "do it"
	keep
	if [ "$RC" = 0 ] && [ "${OUT#*"[fallback] $FROM $ARROW $TO ($2)"}" != "$OUT" ]; then
		ok "$4: falls back ($2)"
	else not_ok "$4: falls back ($2)" "rc $RC" "$OUT" "$ERR"; fi
	E=$(entry infini)
	if [ "$3" = manual ]; then
		case "$E" in
		*'"model":null,"until":"9999-12-31T23:59:59.000Z"'*"\"reason\":\"$2\""*)
			ok "$4: provider-wide, until cleared" ;;
		*) not_ok "$4: provider-wide, until cleared" "$(cat "$STATE" 2>&1)" ;; esac
	else
		L=$(lasts infini)
		case "$E" in *"\"model\":\"kimi-k2.5\""*"\"reason\":\"$2\""*) m=1 ;; *) m=0 ;; esac
		[ "$m" = 1 ] && [ "$L" = "$3" ] && ok "$4: cooldown of $3 s" ||
		    not_ok "$4: cooldown of $3 s" "lasts $L" "$(cat "$STATE" 2>&1)"
	fi
}

# --------------------------------------------------------- by cause
write_config '"cooldown": {"server_error": 45},'
# The harness has a next agent, so its provider tap sees the answer's own
# Retry-After (120 s): the cooldown lasts that long (acpx-warp(7)).
fail_case ratelimit rate-limited 120 "rate limit (the provider's Retry-After)"
fail_case server overloaded 45 "server error (warp.cooldown.server_error)"
fail_case auth auth-failed manual "auth (default: until cleared)"

# The auth cooldown holds: list says so.
run warp list
keep
expect_out_has "cooling until cleared by acpx warp reset (auth-failed)" "list: until cleared"

# ------------------------------------------------------- warp route
run warp route $FROM
keep
expect_rc 0 "route: an agent is chosen"
expect_out_has "0  $FROM  infini    kimi-k2.5  skipped  cooling down until cleared by acpx warp reset for auth (auth-failed)" "route: the cooling primary is skipped, with its cause"
expect_out_has "1  $TO   backup    glm-5      chosen   -" "route: the backup is chosen"
expect_out_has "2  $NOKEY    nokey     glm-5      skipped  secrets missing (WARP_NOKEY_API_KEY)" "route: an agent without secrets is skipped"
run --format json warp route $FROM
keep
expect_out_has '"chosen":"'"$TO"'","candidates":[{"id":"'"$FROM"'","position":0,"harness":"opencode","provider":"infini","model":"kimi-k2.5","status":"skipped","skip":"cooling","why":"cooling down until cleared by acpx warp reset for auth (auth-failed)","cooldown":{"provider":"infini","model":null,"until":"9999-12-31T23:59:59.000Z"' "route json: the skip and its cooldown"
expect_out_has '"status":"skipped","skip":"secrets-missing","why":"secrets missing (WARP_NOKEY_API_KEY)","cooldown":null,"missing":"WARP_NOKEY_API_KEY",' "route json: the missing variable"

# ------------------------------------------------------- warp reset
run --format json warp reset infini
keep
expect_rc 0 "warp reset (json)"
expect_out_has '{"reset":[{"target":"infini","provider":"infini","model":null,"cleared":[{"provider":"infini","model":null,"until":"9999-12-31T23:59:59.000Z"' "warp reset json names what it cleared"
entry infini | grep -q . && not_ok "reset removed the cooldown" "$(cat "$STATE")" || ok "reset removed the cooldown"
run warp reset $FROM
expect_out "$FROM: not cooling down
" "warp reset of a free agent"
run --format quiet warp route $FROM
expect_out "$FROM
" "route after the reset: the primary is chosen again"
run warp route $FROM
expect_out_has "1  $TO   backup    glm-5      standby  -" "route: the backup stands by"

# ------------------------------------------------------ --force-fail
rm -rf "$STATE" "$REC_DIR"/*
primary_mode ok
run --approve-all $FROM exec --force-fail infini "rehearse"
keep
expect_rc 0 "exec --force-fail: falls back"
expect_out_has "[fallback] $FROM $ARROW $TO (forced)" "exec --force-fail: the [fallback] line says forced"
expect_out_has " (answered)" "exec --force-fail: the backup answers"
[ "$(cat "$REC_DIR/starts" | tr '\n' ' ')" = "kimi backup " ] && ok "exec --force-fail: the primary ran, then the backup" ||
    not_ok "exec --force-fail: the primary ran, then the backup" "$(cat "$REC_DIR/starts")"
[ -z "$(entry infini)" ] && ok "exec --force-fail: a rehearsal records no cooldown" ||
    not_ok "exec --force-fail: no cooldown" "$(cat "$STATE")"
run $FROM exec --force-fail nowhere "x"
keep
expect_rc 2 "exec --force-fail with an unknown provider"
expect_err_has "--force-fail: 'nowhere' is not a configured warp provider" "the unknown provider is named"
rm -rf "$REC_DIR"/*
run --approve-all --agent "$ACPX warp serve --force-fail infini $FROM" exec "rehearse"
keep
expect_rc 0 "warp serve --force-fail: the client's prompt succeeds"
expect_out_has " (answered)" "warp serve --force-fail: answered by the backup"
[ "$(cat "$REC_DIR/starts" | tr '\n' ' ')" = "kimi backup " ] && ok "warp serve --force-fail: the primary, then the backup" ||
    not_ok "warp serve --force-fail: the primary, then the backup" "$(cat "$REC_DIR/starts" 2>&1)"
run warp reset nowhere
keep
expect_rc 1 "warp reset of an unknown target"
expect_err_has "'nowhere' is neither a configured warp provider nor a warp agent id" "unknown target named"

# ------------------------------------------------------ allowedFails
rm -rf "$STATE" "$REC_DIR"/*
primary_mode server
write_config '"allowedFails": 1, "failWindowSeconds": 3600,'
run --approve-all $FROM exec "do it"
keep
expect_rc 0 "allowedFails: the first failure still falls back"
expect_err_has "1 of 1 failures allowed within 3600s (warp.allowedFails): not cooling down" "allowedFails: the failure is counted"
[ -z "$(entry infini)" ] && ok "allowedFails: no cooldown after one failure" ||
    not_ok "allowedFails: no cooldown after one failure" "$(cat "$STATE")"

# ------------------------------------------------- harness retries
# With a next agent, Claude Code's own provider retries are capped (it
# would retry for minutes and hide the failure); the last agent keeps them.
run --approve-all claude-warp-infini-kimi exec "hi"
keep
grep -qx "CLAUDE_CODE_MAX_RETRIES=1" "$REC_DIR/claude.env" 2>/dev/null && ok "claude with a next agent: CLAUDE_CODE_MAX_RETRIES=1" ||
    not_ok "claude with a next agent: CLAUDE_CODE_MAX_RETRIES=1" "rc $RC" "$(grep CLAUDE "$REC_DIR/claude.env" 2>&1)"
rm -f "$REC_DIR/claude.env"
run --approve-all claude-warp-backup-glm exec "hi"
keep
[ -s "$REC_DIR/claude.env" ] && ! grep -q "^CLAUDE_CODE_MAX_RETRIES=" "$REC_DIR/claude.env" &&
    ok "claude as the last agent keeps its own retries" ||
    not_ok "claude as the last agent keeps its own retries" "rc $RC" "$(grep CLAUDE "$REC_DIR/claude.env" 2>&1)"

# --------------------------------------------- a state file as garbage
printf '{"version": 1, "cooldowns": [{"provider": ' >"$STATE"
run warp list
keep
expect_rc 0 "garbage state: warp list still works"
expect_err_has "warning: warp state $STATE was not valid" "garbage state: one warning"
[ -e "$STATE.corrupt" ] && ok "garbage state: kept aside as state.json.corrupt" ||
    not_ok "garbage state: kept aside" "$(ls "$HOME/.acpx/warp")"
run warp list
[ -z "$ERR" ] && ok "garbage state: the warning is not repeated" || not_ok "garbage state: the warning is not repeated" "$ERR"

# ------------------------------------------------------ bad config
write_config '"cooldown": {"ratelimit": 5},'
run warp list
keep
expect_rc 1 "an unknown failure class"
expect_err_has "Invalid config warp.cooldown.ratelimit in $HOME/.acpx/config.json: unknown failure class" "the error names the key"
write_config '"cooldown": {"quota": -5},'
run warp list
expect_err_has "Invalid config warp.cooldown.quota" "a negative cooldown is refused"

if grep -q "$SENTINEL" "$ALL" || grep -rq "$SENTINEL" "$HOME"; then
	not_ok "the key never shows in output or under HOME"
else ok "the key never shows in output or under HOME"; fi
done_testing
