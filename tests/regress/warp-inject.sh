#!/bin/sh
# The Warp provider given over ACP (the custom-LLM-endpoint proposal): a
# harness that advertises agentCapabilities.llmEndpoints gets
# setLlmEndpoints {endpoints: {openai: {url, headers}}} after initialize.
# The mock harness then calls the fake provider with the endpoint it was
# given. The first start of a harness command has the environment table
# too (that is how it is learnt); once it took the endpoint, later starts
# (exec, a persistent session's queue owner, warp serve) withhold the key
# from its environment. One that then refuses the call is started again,
# once, with the environment table, after a one-line notice; one that
# refuses it is not offered it again. The key never shows in any output
# or file under HOME (sentinel). Also --force-fail through a persistent
# session (a rehearsed hop inside its queue owner).
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
warp_env_clean
SENTINEL="sk-SENTINEL-inj1inj2inj3"
SENTINEL_B="sk-SENTINEL-injBinjBinjB"
FROM=opencode-warp-infini-kimi
TO=opencode-warp-backup-glm

# The harness: says whether a key is in its environment, then the mock.
cat >"$T_ROOT/harness.sh" <<'EOH'
#!/bin/sh
if env | grep -q '^WARP_[A-Z]*_API_KEY='; then echo env; else echo none; fi >>"$REC_DIR/keys"
exec "$MOCK" --scenario "$SCENARIOS/$SC" --record "$REC_DIR/rec"
EOH
chmod +x "$T_ROOT/harness.sh"
# The claude harness: its model and its retries cap, then a mock.
cat >"$T_ROOT/claude.sh" <<'EOH'
#!/bin/sh
echo "$ANTHROPIC_MODEL:${CLAUDE_CODE_MAX_RETRIES:-own}" >>"$REC_DIR/claude"
exec "$MOCK" --scenario "$SCENARIOS/hello.json"
EOH
chmod +x "$T_ROOT/claude.sh"
export REC_DIR="$T_ROOT/rec" MOCK SCENARIOS SC=inject-accepts.json
mkdir -p "$REC_DIR" "$T_ROOT/secrets" "$HOME/.acpx"
SECRETS="$T_ROOT/secrets/warp.env"
MEMO="$HOME/.acpx/warp/endpoints.json"

fake_provider_start "$T_ROOT/provider.rec" --lifetime 120
BASE="http://127.0.0.1:$PORT"
printf 'WARP_INFINI_API_KEY=%s\nWARP_INFINI_BASE_URL=%s/ok/v1\n' "$SENTINEL" "$BASE" >"$SECRETS"
printf 'WARP_BACKUP_API_KEY=%s\nWARP_BACKUP_BASE_URL=%s/ok/v1\n' "$SENTINEL_B" "$BASE" >>"$SECRETS"
chmod 600 "$SECRETS"
cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}, "claude": {"command": "$T_ROOT/claude.sh"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {"infini": {"models": {"kimi": "kimi-k2.5"}}, "backup": {"models": {"glm": "glm-5"}}},
    "fallback": {"$FROM": ["$TO"], "claude-warp-infini-kimi": ["claude-warp-backup-glm"],
                 "claude-warp-backup-glm": ["claude-warp-infini-kimi"]}
  }
}
EOC
ALL="$T_ROOT/all"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }
fresh() { rm -f "$REC_DIR"/* "$T_ROOT/provider.rec"; }
keys() { tr '\n' ' ' <"$REC_DIR/keys" 2>/dev/null; }
# The fake provider's last request was made with the primary's key.
provider_key() {
	if tail -n 1 "$T_ROOT/provider.rec" 2>/dev/null | grep -qF "\"authorization\":\"Bearer $SENTINEL\""; then
		ok "$1: the provider got the key"
	else not_ok "$1: the provider got the key" "$(sed "s/$SENTINEL/KEY/g" "$T_ROOT/provider.rec" 2>&1)"; fi
}

# ------------------------------------------- first start: learnt
fresh
run --format json --verbose --approve-all $FROM exec "go"
keep
expect_rc 0 "a harness that advertises llmEndpoints"
# With a next agent the harness's provider is the provider tap
# (warp-tap.sh): the endpoint is the tap's URL and token, not the key.
expect_out_has '"method":"setLlmEndpoints","params":{"endpoints":{"openai":{"url":"http://127.0.0.1:' "json output shows the call (the tap's URL)"
expect_out_has '"headers":{"Authorization":"[redacted]"}}}}' "json output shows the call with its key redacted"
expect_received "$REC_DIR/rec" '{"methods": ["initialize", "setLlmEndpoints", "session/new", "session/prompt"]}'
EP=$(grep -o '"method":"setLlmEndpoints","params":{"endpoints":{"openai":{"url":"[^"]*","headers":{"Authorization":"[^"]*"}}}}' "$REC_DIR/rec" | head -n 1)
TOK=$(printf '%s' "$EP" | sed -n 's|.*"url":"http://127\.0\.0\.1:[0-9]*/t/\([0-9a-f]*\)","headers":{"Authorization":"Bearer \([0-9a-f]*\)".*|\1 \2|p')
[ -n "$TOK" ] && [ "${TOK% *}" = "${TOK#* }" ] &&
    ok "setLlmEndpoints: the tap's URL and token as the bearer key, before session/new" ||
    not_ok "setLlmEndpoints: the tap's URL and token as the bearer key, before session/new" "got: $EP"
[ "$(keys)" = "env " ] && ok "first start: the environment table too (not known yet)" ||
    not_ok "first start: the environment table too" "$(keys)"
grep -q '"opencode '"$T_ROOT"'/harness.sh": true' "$MEMO" 2>/dev/null &&
    ok "the memo says this harness command takes endpoints over ACP" ||
    not_ok "the memo says this harness command takes endpoints over ACP" "$(cat "$MEMO" 2>&1)"

# ------------------------------------------- then: no key in its environment
fresh
run --format quiet --approve-all $FROM exec "go"
keep
expect_out "fake answer (answered)
" "exec: answered"
[ "$(keys)" = "none " ] && ok "exec: no key in the harness's environment" ||
    not_ok "exec: no key in the harness's environment" "$(keys)"
provider_key "exec"

# Through a persistent session: its queue owner starts the harness.
fresh
run --approve-all $FROM sessions new --name inj
keep
run --approve-all $FROM -s inj "go"
keep
expect_out_has "(answered)" "session: answered"
case "$(keys)" in none*) case "$(keys)" in *env*) false ;; esac ;; *) false ;; esac &&
    ok "session: no key in the harness's environment (sessions new, the owner)" ||
    not_ok "session: no key in the harness's environment" "$(keys)"
provider_key "session"
# --force-fail through the session's queue owner: a rehearsed hop to the
# backup (started without its key too), no cooldown recorded.
fresh
run --approve-all $FROM -s inj --force-fail infini "rehearse"
keep
expect_rc 0 "session --force-fail: the prompt completes"
expect_out_has "[fallback] $FROM $(printf '\342\206\222') $TO (forced)" "session --force-fail: the [fallback] line says forced"
expect_out_has "(answered)" "session --force-fail: the backup answers"
[ "$(keys)" = "none " ] && ok "session --force-fail: the backup has no key in its environment either" ||
    not_ok "session --force-fail: the backup has no key in its environment either" "$(keys)"
grep -q '"provider"' "$HOME/.acpx/warp/state.json" 2>/dev/null &&
    not_ok "session --force-fail: no cooldown recorded" "$(cat "$HOME/.acpx/warp/state.json")" ||
    ok "session --force-fail: no cooldown recorded"
run $FROM -s inj --force-fail nowhere "x"
keep
expect_rc 2 "session --force-fail with an unknown provider"
expect_err_has "--force-fail: 'nowhere' is not a configured warp provider" "session --force-fail: the provider is named"
run $FROM sessions close inj
keep
wait_owners_gone

# Through acpx warp serve: the proxy gives its harness the endpoint, and
# does not advertise llmEndpoints to its own client.
fresh
run --format json --approve-all --agent "$ACPX warp serve $FROM" exec "go"
keep
expect_rc 0 "warp serve: the prompt succeeds"
expect_out_has " (answered)" "warp serve: answered"
case "$OUT" in *llmEndpoints*) not_ok "warp serve keeps llmEndpoints from its client" "$OUT" ;;
*) ok "warp serve keeps llmEndpoints from its client" ;; esac
[ "$(keys)" = "none " ] && ok "warp serve: no key in the harness's environment" ||
    not_ok "warp serve: no key in the harness's environment" "$(keys)"
# (Its harness has a next agent: the endpoint is its provider tap's.)
EP=$(grep -o '"method":"setLlmEndpoints","params":{"endpoints":{"openai":{"url":"[^"]*","headers":{"Authorization":"[^"]*"}}}}' "$REC_DIR/rec" | head -n 1)
TOK=$(printf '%s' "$EP" | sed -n 's|.*"url":"http://127\.0\.0\.1:[0-9]*/t/\([0-9a-f]*\)","headers":{"Authorization":"Bearer \([0-9a-f]*\)".*|\1 \2|p')
[ -n "$TOK" ] && [ "${TOK% *}" = "${TOK#* }" ] &&
    ok "warp serve: setLlmEndpoints with the tap's URL and token" ||
    not_ok "warp serve: setLlmEndpoints with the tap's URL and token" "got: $EP"
provider_key "warp serve"

# ------------------------------------------- it refuses: once, with a notice
fresh
SC=inject-rejects.json
run --format quiet --approve-all $FROM exec "go"
keep
expect_rc 0 "a harness that refuses the endpoint"
expect_out "fake answer (answered)
" "refused: answered with the environment table"
expect_err "[acpx] warp: $FROM rejected its provider endpoint over ACP (setLlmEndpoints: Invalid params: endpoints are not supported here); starting it again with its provider in the environment
" "refused: one notice"
[ "$(keys)" = "none env " ] && ok "refused: started again once, with the key in its environment" ||
    not_ok "refused: started again once, with the key in its environment" "$(keys)"
fresh
run --approve-all $FROM exec "go"
keep
[ "$(keys)" = "env " ] && [ -z "$ERR" ] && ok "refused before: the environment table, not offered again, no notice" ||
    not_ok "refused before: the environment table, not offered again, no notice" "$(keys)" "$ERR"
grep -q '"setLlmEndpoints"' "$REC_DIR/rec" && not_ok "refused before: no setLlmEndpoints" ||
    ok "refused before: no setLlmEndpoints"

# ------------------------------------------- it took it before, then not
memo_accepts() {
	printf '{"version": 1, "accepts": {"opencode %s": true}}\n' "$T_ROOT/harness.sh" >"$MEMO"
}
# warp serve: refused, started again with the environment table.
fresh
memo_accepts
run --format quiet --approve-all --agent "$ACPX warp serve $FROM" exec "go"
keep
expect_out "fake answer (answered)
" "warp serve, refused: answered"
[ "$(keys)" = "none env " ] && ok "warp serve, refused: started again once, with the key in its environment" ||
    not_ok "warp serve, refused: started again once, with the key in its environment" "$(keys)"
# An upgrade that stops advertising: started again, and forgotten.
fresh
memo_accepts
SC=fallback-provider-ok.json
run --format quiet --approve-all $FROM exec "go"
keep
expect_err "[acpx] warp: $FROM no longer advertises llmEndpoints; starting it again with its provider in the environment
" "no longer advertised: one notice"
[ "$(keys)" = "none env " ] && grep -q '"accepts": {}' "$MEMO" &&
    ok "no longer advertised: started again with its key, the memo forgets it" ||
    not_ok "no longer advertised: started again with its key, the memo forgets it" "$(keys)" "$(cat "$MEMO")"

# ------------------------------------------- the last agent's own retries
# A fallback hop with no agent after it keeps the harness's retries (its
# own chain names the agent that just failed); the one before is capped.
rm -f "$REC_DIR/claude"
run --format quiet --approve-all claude-warp-infini-kimi exec --force-fail infini "hi"
keep
[ "$(tr '\n' ' ' <"$REC_DIR/claude" 2>/dev/null)" = "kimi-k2.5:1 glm-5:own " ] &&
    ok "retries: capped with a next agent, the hop's last agent keeps its own" ||
    not_ok "retries: capped with a next agent, the hop's last agent keeps its own" "$(cat "$REC_DIR/claude" 2>&1)"
# A first start whose every next agent is cooling down is the last too.
mkdir -p "$HOME/.acpx/warp"
printf '{"version": 1, "cooldowns": [{"provider": "backup", "model": null, "until": "2099-01-01T00:00:00.000Z", "since": "2026-01-01T00:00:00.000Z", "reason": "rate-limited", "source": "fallback"}]}\n' >"$HOME/.acpx/warp/state.json"
rm -f "$REC_DIR/claude"
run --format quiet --approve-all claude-warp-infini-kimi exec "hi"
keep
[ "$(tr '\n' ' ' <"$REC_DIR/claude" 2>/dev/null)" = "kimi-k2.5:own " ] &&
    ok "retries: its only next agent cooling down, the first keeps its own" ||
    not_ok "retries: its only next agent cooling down, the first keeps its own" "$(cat "$REC_DIR/claude" 2>&1)" "$ERR"
rm -f "$HOME/.acpx/warp/state.json"

# ------------------------------------------- the sentinel
if grep -qF -e "$SENTINEL" -e "$SENTINEL_B" "$ALL"; then
	not_ok "the key never printed (json, verbose, notices)" "$(grep -F -e "$SENTINEL" -e "$SENTINEL_B" "$ALL" | head -3)"
else ok "the key never printed (json, verbose, notices)"; fi
hits=$(grep -rlF -e "$SENTINEL" -e "$SENTINEL_B" "$HOME" 2>/dev/null)
[ -z "$hits" ] && ok "the key in no file under HOME (sessions, journal, events, memo)" ||
    not_ok "the key in no file under HOME" "$hits"
done_testing
