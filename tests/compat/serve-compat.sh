#!/bin/sh
# acpx warp serve with the Node acpx 0.19.1 as the client: its CLI
# (--agent "<ours> warp serve <id>" exec, and a persistent session) and its
# runtime library (createAcpRuntime from acpx/runtime, the engine current
# OpenClaw embeds, with an agent registry that resolves the id to our
# command): ensure a session, a turn that falls back on a 429 midway, a
# second turn in the same session on the serving agent. The harness is the
# mock agent behind a fake harness script, calling the fake provider.
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/compat/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
RUNTIME=$(cd "$(dirname "$(readlink -f "$REF")")/.." 2>/dev/null && pwd)/dist/runtime.js
warp_env_clean
unset MOCK_SCENARIO MOCK_RECORD
SENTINEL="sk-SENTINEL-wc1wc2wc3wc4"
SENTINEL_B="sk-SENTINEL-wcBwcBwcBwcB"
FROM=opencode-warp-infini-kimi
BACKUP=opencode-warp-backup-glm
ARROW=$(printf '\342\206\222')

cat >"$T_ROOT/harness.sh" <<'EOH'
#!/bin/sh
case "${OPENCODE_CONFIG_CONTENT:-}" in
*'"model":"warp-infini/kimi-k2.5"'*) m=kimi; sc=$SC_KIMI ;;
*'"model":"warp-backup/glm-5"'*) m=backup; sc=$SC_BACKUP ;;
*) m=other; sc=$SC_KIMI ;;
esac
echo "$m" >>"$REC_DIR/starts"
exec "$MOCK" --scenario "$sc" --record "$REC_DIR/$m" --session-id "$m-session" --supports-load-session
EOH
chmod +x "$T_ROOT/harness.sh"
export REC_DIR="$T_ROOT/rec" MOCK
export SC_KIMI="$SCENARIOS/fallback-provider.json" SC_BACKUP="$SCENARIOS/fallback-provider-ok.json"
mkdir -p "$REC_DIR" "$T_ROOT/secrets" "$HOME/.acpx"
SECRETS="$T_ROOT/secrets/warp.env"
cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {
      "infini": {"models": {"kimi": "kimi-k2.5"}},
      "backup": {"models": {"glm": "glm-5"}}
    },
    "fallback": {"$FROM": ["$BACKUP"]},
    "maxHops": 3,
    "cooldownSeconds": 600
  }
}
EOC
ALL="$T_ROOT/all"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }
first_prompt() { grep '"method":"session/prompt"' "$REC_DIR/$1" 2>/dev/null | head -n 1; }
nprompts() { c=$(grep -c '"method":"session/prompt"' "$REC_DIR/$1" 2>/dev/null); echo "${c:-0}"; }
# fresh: a new fake provider (flaky for the first agent), no cooldown, no records.
fresh() {
	rm -rf "$REC_DIR"/* "$HOME/.acpx/warp"
	fake_provider_start "$T_ROOT/provider.rec" --lifetime 120
	printf 'WARP_INFINI_API_KEY=%s\nWARP_INFINI_BASE_URL=http://127.0.0.1:%s/flaky/v1\n' "$SENTINEL" "$PORT" >"$SECRETS"
	printf 'WARP_BACKUP_API_KEY=%s\nWARP_BACKUP_BASE_URL=http://127.0.0.1:%s/ok/v1\n' "$SENTINEL_B" "$PORT" >>"$SECRETS"
	chmod 600 "$SECRETS"
}
summary_reached() {	# NAME: the fallback's first prompt has the summary and the prompt
	case "$(first_prompt backup)" in
	*'## Completed steps\n- Write plan.md (edit)\n'*'Rate limit reached'*"$2"*) ok "$1: the summary and the prompt reach the next agent" ;;
	*) not_ok "$1: the summary reaches the next agent" "$(first_prompt backup)" ;; esac
}

# ------------------------------------------------------------ the Node CLI
fresh
( cd "$T_WORK" && "$REF" --approve-all --agent "$ACPX warp serve $FROM" exec "ask the model" \
    >"$T_ROOT/out" 2>"$T_ROOT/err" </dev/null ); RC=$?
OUT=$(cat "$T_ROOT/out") ERR=$(cat "$T_ROOT/err")
keep
expect_rc 0 "Node acpx exec through our proxy: a 429 midway falls back"
expect_out_has "fake answer from the fallback" "Node acpx exec: the fallback's answer"
expect_out_has "[fallback] $FROM $ARROW $BACKUP (rate-limited)" "Node acpx exec: the hop shows as a thought"
summary_reached "Node acpx exec" '"text":"ask the model"'

fresh
run_ref() { ( cd "$T_WORK" && "$REF" "$@" >"$T_ROOT/out" 2>"$T_ROOT/err" </dev/null ); RC=$?;
	OUT=$(cat "$T_ROOT/out") ERR=$(cat "$T_ROOT/err"); keep; }
run_ref --approve-all --agent "$ACPX warp serve $FROM" sessions new --name c1
expect_rc 0 "Node acpx sessions new through our proxy"
run_ref --approve-all --agent "$ACPX warp serve $FROM" prompt -s c1 "ask the model"
expect_rc 0 "Node acpx persistent prompt: falls back"
expect_out_has "fake answer from the fallback" "Node acpx persistent prompt: the fallback's answer"
run_ref --approve-all --agent "$ACPX warp serve $FROM" prompt -s c1 "and now"
expect_out_has "fake answer from the fallback" "Node acpx persistent: the next prompt goes to the serving agent"
[ "$(nprompts kimi)" = 1 ] && [ "$(nprompts backup)" = 2 ] &&
    ok "Node acpx persistent: the failed agent gets no more prompts" ||
    not_ok "Node acpx persistent: prompts per agent" "kimi $(nprompts kimi) backup $(nprompts backup)"
run_ref --agent "$ACPX warp serve $FROM" sessions close c1

# ------------------------------------------------------------ the runtime library
if [ ! -f "$RUNTIME" ]; then
	ok "acpx/runtime not found next to $REF # SKIP runtime library"
else
	fresh
	cat >"$T_ROOT/rt.mjs" <<'EOJ'
const [runtimePath, acpx, agentId, cwd, stateDir] = process.argv.slice(2);
const { createAcpRuntime, createFileSessionStore } = await import(runtimePath);
const registry = {
	resolve: (name) => name === "warp" ? [acpx, "warp", "serve", agentId] : name,
	list: () => ["warp"],
};
const runtime = createAcpRuntime({
	cwd, sessionStore: createFileSessionStore({ stateDir }),
	agentRegistry: registry, permissionMode: "approve-all",
});
const handle = await runtime.ensureSession({ sessionKey: "agent:warp:acp:1", agent: "warp", mode: "persistent", cwd });
console.log("ensured " + JSON.stringify(handle.sessionKey));
for (const [i, text] of [[1, "ask the model"], [2, "and now"]]) {
	let out = "", thought = "";
	for await (const ev of runtime.runTurn({ handle, text, mode: "prompt", requestId: "r" + i })) {
		if (ev.type === "text_delta" && ev.stream === "thought") thought += ev.text;
		else if (ev.type === "text_delta") out += ev.text;
		else if (ev.type === "done") out += " [done " + (ev.stopReason ?? "") + "]";
		else if (ev.type === "error") out += " [error " + ev.message + "]";
	}
	console.log("turn " + i + ": " + JSON.stringify(out) + " thought: " + JSON.stringify(thought));
}
await runtime.shutdown?.();
process.exit(0);
EOJ
	( cd "$T_WORK" && timeout 300 node "$T_ROOT/rt.mjs" "$RUNTIME" "$ACPX" "$FROM" "$T_WORK" "$T_ROOT/rt-state" \
	    >"$T_ROOT/out" 2>"$T_ROOT/err" </dev/null ); RC=$?
	OUT=$(cat "$T_ROOT/out") ERR=$(cat "$T_ROOT/err")
	keep
	expect_rc 0 "acpx/runtime: ensure a session and run two turns through our proxy"
	expect_out_has 'ensured "agent:warp:acp:1"' "acpx/runtime: the session is ensured"
	case "$OUT" in
	*'turn 1: '*'fake answer from the fallback'*'[done end_turn]'*"thought: \"[fallback] $FROM $ARROW $BACKUP (rate-limited)"*)
		ok "acpx/runtime: the first turn falls back; the hop is a thought" ;;
	*) not_ok "acpx/runtime: the first turn falls back" "$OUT" "$ERR" ;; esac
	case "$OUT" in
	*'turn 2: '*'fake answer from the fallback'*'[done end_turn]'*) ok "acpx/runtime: the second turn on the serving agent" ;;
	*) not_ok "acpx/runtime: the second turn" "$OUT" "$ERR" ;; esac
	summary_reached "acpx/runtime" '"text":"ask the model"'
	[ "$(nprompts kimi)" = 1 ] && [ "$(nprompts backup)" = 2 ] &&
	    ok "acpx/runtime: the failed agent gets no more prompts" ||
	    not_ok "acpx/runtime: prompts per agent" "kimi $(nprompts kimi) backup $(nprompts backup)"
fi

if grep -rqF -e "$SENTINEL" -e "$SENTINEL_B" "$ALL" "$HOME" "$T_ROOT/rt-state" 2>/dev/null; then
	not_ok "the keys never reach the clients or their files"
else ok "the keys never reach the clients or their files"; fi
done_testing
