#!/bin/sh
# The adapter-specific _meta acpx sends, asserted on what the agent receives
# (the mock agent's record): for Claude's ACP adapter (recognised as the
# reference does: an argv[0] named claude-agent-acp, or an argument
# containing it, e.g. the built-in `npx -y @agentclientprotocol/claude-agent-
# acp@...`) session/new, session/load and session/resume carry
# _meta.claudeCode.options.settingSources ["project","local"] (user settings
# only with ACPX_CLAUDE_INCLUDE_USER_SETTINGS=1), merged with --model,
# --allowed-tools, --max-turns and the system prompt flags; other agents get
# only the flags' _meta. Every path: exec, sessions new/ensure, prompts
# through the queue owner (load and resume), compare, a warp claude agent.
# Also the ceiling on the Claude adapter's session/new, Cursor's model
# aliases, Devin's initialize and Qoder's spawn arguments. The session/new
# params were checked identical with the reference acpx 0.19.1 (it sends no
# _meta on load/resume; that part goes beyond it on purpose).
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
unset ACPX_CLAUDE_INCLUDE_USER_SETTINGS ACPX_DEVIN_WINDSURF_VERSION \
    ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS
for v in $(env | sed -n 's/^\(WARP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

# A bin directory: the mock under the adapter's names, and an npx that runs
# the mock (so the built-in `claude` command works offline).
BIN="$T_ROOT/bin"
mkdir -p "$BIN" "$HOME/.acpx"
ln -s "$MOCK" "$BIN/claude-agent-acp"
cat >"$BIN/npx" <<'EOF'
#!/bin/sh
exec "$MOCK" $MOCK_ARGS
EOF
cat >"$BIN/qodercli" <<'EOF'
#!/bin/sh
{ printf 'ARGV:'; for a in "$@"; do printf ' %s' "$a"; done; echo; } >>"$QODER_ARGV"
[ -n "${NOISE:-}" ] && printf '%s\n' "$NOISE"
exec "$MOCK"
EOF
printf '#!/bin/sh\nexec "$MOCK"\n' >"$BIN/devin"
chmod +x "$BIN/npx" "$BIN/qodercli" "$BIN/devin"
PATH="$BIN:$PATH"
export PATH MOCK
export QODER_ARGV="$T_ROOT/qoder.argv"
REC="$T_ROOT/rec"
export MOCK_RECORD="$REC"

CLAUDE_META='"_meta":{"claudeCode":{"options":{"settingSources":["project","local"]}}}'
CLAUDE_USER_META='"_meta":{"claudeCode":{"options":{"settingSources":["user","project","local"]}}}'
OPTS_META='"_meta":{"claudeCode":{"options":{"settingSources":["project","local"],"model":"m1","allowedTools":["Read","Write"],"maxTurns":3}},"systemPrompt":"be brief"}'

# expect_sent METHOD PARAMS NAME: the first METHOD request in the record
# has exactly these params (a "verify" the mock agent checks).
expect_sent() {
	printf '{"verify": {"received": [{"method": "%s", "params": %s, "name": "%s"}]}}\n' \
	    "$1" "$2" "$(printf %s "$3" | sed 's/["\\]/\\&/g')" >"$T_ROOT/verify.json"
	verify_record "$T_ROOT/verify.json" "$REC"
}
fresh() { rm -f "$REC"; }
W=$T_WORK

# ---------------------------------------------------------------- exec
fresh; run claude exec "echo hi"
expect_rc 0 "built-in claude (npx ...claude-agent-acp) exec"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_META}" "exec: session/new isolates user settings"

fresh; run --model m1 --allowed-tools Read,Write --max-turns 3 --system-prompt "be brief" claude exec "echo hi"
expect_rc 0 "claude exec with --model/--allowed-tools/--max-turns/--system-prompt"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],$OPTS_META}" "exec: the flags merge into claudeCode.options"

fresh; run --append-system-prompt "more" --agent "$BIN/claude-agent-acp" exec "echo hi"
expect_rc 0 "--agent named claude-agent-acp"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],\"_meta\":{\"claudeCode\":{\"options\":{\"settingSources\":[\"project\",\"local\"]}},\"systemPrompt\":{\"append\":\"more\"}}}" "exec: recognised by command name; append system prompt"

fresh; export ACPX_CLAUDE_INCLUDE_USER_SETTINGS=1; run claude exec "echo hi"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_USER_META}" "ACPX_CLAUDE_INCLUDE_USER_SETTINGS=1 adds user first"
fresh; export ACPX_CLAUDE_INCLUDE_USER_SETTINGS=" 1 "; run claude exec "echo hi"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_USER_META}" "ACPX_CLAUDE_INCLUDE_USER_SETTINGS is trimmed"
fresh; export ACPX_CLAUDE_INCLUDE_USER_SETTINGS=true; run claude exec "echo hi"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_META}" "ACPX_CLAUDE_INCLUDE_USER_SETTINGS other than 1: isolated"
unset ACPX_CLAUDE_INCLUDE_USER_SETTINGS

fresh; ln -s "$MOCK" "$BIN/claude-agent-acp-wrapper"
run --agent "$BIN/claude-agent-acp-wrapper" exec "echo hi"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[]}" "another command name: no _meta (as the reference)"

fresh; run --agent "$MOCK" exec "echo hi"
expect_rc 0 "a non-Claude agent"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[]}" "non-Claude agent: no _meta"
fresh; run --allowed-tools Read --agent "$MOCK" exec "echo hi"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],\"_meta\":{\"claudeCode\":{\"options\":{\"allowedTools\":[\"Read\"]}}}}" "non-Claude agent: the flags' _meta only"

# ---------------------------------------------------------------- sessions
export MOCK_ARGS=--supports-load-session
fresh; run claude sessions new
expect_rc 0 "claude sessions new"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_META}" "sessions new: session/new"

fresh; run --ttl 0 claude prompt "echo hi"
expect_rc 0 "prompt through the queue owner (session/load)"
expect_sent session/load "{\"sessionId\":\"mock-session-1\",\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_META}" "queue owner: session/load keeps user settings isolated"
run claude sessions close

fresh; run --model m1 --allowed-tools Read,Write --max-turns 3 --system-prompt "be brief" claude sessions ensure --name opts
expect_rc 0 "claude sessions ensure with the flags"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],$OPTS_META}" "sessions ensure: session/new with the flags"
fresh; run --ttl 0 claude -s opts prompt "echo hi"
expect_rc 0 "prompt in the ensured session"
expect_sent session/load "{\"sessionId\":\"mock-session-1\",\"cwd\":\"$W\",\"mcpServers\":[],$OPTS_META}" "queue owner: session/load with the saved session options"
run claude sessions close opts

export MOCK_ARGS="--scenario $SCENARIOS/session-resume.json"
fresh; run claude sessions new --name r
fresh; export ACPX_CLAUDE_INCLUDE_USER_SETTINGS=1; run --ttl 0 claude -s r prompt "hi"
unset ACPX_CLAUDE_INCLUDE_USER_SETTINGS
expect_rc 0 "prompt through the queue owner (session/resume)"
expect_sent session/resume "{\"sessionId\":\"mock-session-1\",\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_USER_META}" "queue owner: session/resume carries the _meta"
stop_owner
fresh; run claude -s r set-mode plan
expect_rc 0 "set-mode without an owner"
expect_sent session/resume "{\"sessionId\":\"mock-session-1\",\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_META}" "a direct control's session/resume carries the _meta"
run claude sessions close r
unset MOCK_ARGS

# ---------------------------------------------------------------- compare
cat >"$HOME/.acpx/config.json" <<EOF
{"agents": {"plain": {"command": "$MOCK"}}}
EOF
fresh; run compare claude plain "echo hi"
expect_rc 0 "compare claude plain"
cat >"$T_ROOT/verify.json" <<EOF
{"verify": {"received": [
  {"method": "session/new", "params": {"cwd": "$W", "mcpServers": [], $CLAUDE_META}, "count": 1,
   "name": "compare: claude's session/new has the _meta"},
  {"method": "session/new", "params": {"cwd": "$W", "mcpServers": []}, "count": 1,
   "name": "compare: the other agent's session/new has none"}]}}
EOF
verify_record "$T_ROOT/verify.json" "$REC"

# ---------------------------------------------------------------- warp
cat >"$HOME/.acpx/config.json" <<EOF
{"warp": {"envFile": "$T_ROOT/warp.env", "providers": {"ckimi": {"models": {"k": "k-model"}}}}}
EOF
printf 'WARP_CKIMI_API_KEY=sk-fake\nWARP_CKIMI_BASE_URL=http://127.0.0.1:9/v1\n' >"$T_ROOT/warp.env"
chmod 600 "$T_ROOT/warp.env"
fresh; run claude-warp-ckimi-k exec "echo hi"
expect_rc 0 "warp claude agent exec"
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_META}" "warp claude harness: session/new"
export MOCK_ARGS=--supports-load-session
fresh; run claude-warp-ckimi-k sessions new
expect_sent session/new "{\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_META}" "warp claude harness: sessions new"
fresh; run --ttl 0 claude-warp-ckimi-k prompt "echo hi"
expect_rc 0 "warp claude agent prompt through the queue owner"
expect_sent session/load "{\"sessionId\":\"mock-session-1\",\"cwd\":\"$W\",\"mcpServers\":[],$CLAUDE_META}" "warp claude harness: the owner's session/load"
run claude-warp-ckimi-k sessions close
unset MOCK_ARGS
rm -f "$HOME/.acpx/config.json"

# ---------------------------------------------------------------- claude session/new ceiling
TMO='Claude ACP session creation timed out before session/new completed. This matches the known persistent-session stall seen with some Claude Code and @agentclientprotocol/claude-agent-acp combinations. In harnessed or non-interactive runs, prefer --approve-all with nonInteractivePermissions=deny, upgrade Claude Code and the Claude ACP adapter, or use acpx claude exec as a one-shot fallback.'
export ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS=300
fresh; run --agent "$BIN/claude-agent-acp --scenario $SCENARIOS/session-new-hangs.json" exec "echo hi"
expect_rc 3 "claude adapter: session/new unanswered (ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS)"
expect_err "$TMO
hint: increase \`--timeout <seconds>\` for long-running prompts, or check whether the agent/provider is stalled.
" "the reference's session-create timeout message"
fresh; run --format json --agent "$BIN/claude-agent-acp --scenario $SCENARIOS/session-new-hangs.json" exec "echo hi"
expect_out_has "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32070,\"message\":\"$TMO\",\"data\":{\"acpxCode\":\"TIMEOUT\",\"detailCode\":\"CLAUDE_ACP_SESSION_CREATE_TIMEOUT\",\"origin\":\"acp\",\"retryable\":true,\"sessionId\":\"unknown\"}}}" "session-create timeout (json)"
fresh; run --agent "$BIN/claude-agent-acp --scenario $SCENARIOS/session-new-hangs.json" sessions new
expect_rc 3 "sessions new: the same ceiling"
unset ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS

# ---------------------------------------------------------------- cursor model aliases
ln -s "$MOCK" "$BIN/cursor-agent"
CUR="$BIN/cursor-agent --supports-load-session --scenario $SCENARIOS/cursor-models.json"
fresh; run --model sonnet-4 --agent "$CUR" exec "hi"
expect_rc 0 "cursor: --model sonnet-4 (one advertised sonnet-4[...])"
expect_err_has '[acpx] warning: Cursor ACP advertised "sonnet-4[thinking]" for requested model "sonnet-4"; using the advertised id.' "cursor: the reference's warning"
expect_sent session/set_config_option '{"sessionId":"mock-session-1","configId":"model","value":"sonnet-4[thinking]"}' "cursor: the advertised id is sent"
fresh; run --model gpt-5 --agent "$CUR" exec "hi"
expect_rc 1 "cursor: an ambiguous alias"
expect_err 'Cannot select model "gpt-5": multiple advertised Cursor models match (gpt-5[high], gpt-5[low]). Use an exact advertised model ID.
' "cursor: the reference's ambiguity error"
fresh; run --model sonnet-4 --agent "$MOCK --scenario $SCENARIOS/cursor-models.json" exec "hi"
expect_rc 1 "another agent: no aliases"
run --agent "$CUR" sessions new --name cur
fresh; run --agent "$CUR" set -s cur model sonnet-4
expect_out "model set: sonnet-4
" "cursor: set model with an alias (direct)"
expect_sent session/set_config_option '{"sessionId":"mock-session-1","configId":"model","value":"sonnet-4[thinking]"}' "cursor: set model sends the advertised id"
run --agent "$CUR" sessions close cur

# ---------------------------------------------------------------- devin, qoder
fresh; run --agent "$BIN/devin acp" exec "echo hi"
expect_rc 0 "devin acp"
expect_sent initialize '{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":true,"writeTextFile":true},"terminal":true,"_meta":{"cognition.ai/requestDiagnostics":true}},"clientInfo":{"name":"windsurf","version":"1.110.1"}}' "devin: initialize as Windsurf, with requestDiagnostics"
fresh; export ACPX_DEVIN_WINDSURF_VERSION=9.9.9; run --agent "$BIN/devin acp" exec "echo hi"
unset ACPX_DEVIN_WINDSURF_VERSION
expect_sent initialize '{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":true,"writeTextFile":true},"terminal":true,"_meta":{"cognition.ai/requestDiagnostics":true}},"clientInfo":{"name":"windsurf","version":"9.9.9"}}' "devin: ACPX_DEVIN_WINDSURF_VERSION"
export MOCK_SCENARIO="$SCENARIOS/devin-diagnostics.json"
fresh; run --format quiet --agent "$BIN/devin acp" exec "hi"
expect_out "{} / (none)
" "devin: _cognition.ai/request_diagnostics answered {}"
fresh; run --format quiet --agent "$MOCK" exec "hi"
expect_out "(none) / -32601
" "other agents: _cognition.ai/request_diagnostics is not found"
unset MOCK_SCENARIO
fresh; run --agent "$MOCK" exec "echo hi"
expect_sent initialize '{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":true,"writeTextFile":true},"terminal":true},"clientInfo":{"name":"acpx","version":"0.19.1"}}' "other agents: initialize as acpx"

: >"$QODER_ARGV"
run --max-turns 4 --allowed-tools " read ,Bash,custom" --agent "qodercli --acp" exec "echo hi"
expect_rc 0 "qodercli --acp with --max-turns/--allowed-tools"
run --agent "qodercli --acp --max-turns=9" --max-turns 4 exec "echo hi"
run --agent "qodercli --acp" exec "echo hi"
want='ARGV: --acp --max-turns=4 --allowed-tools=READ,BASH,custom
ARGV: --acp --max-turns=9
ARGV: --acp'
if [ "$(cat "$QODER_ARGV")" = "$want" ]; then ok "qoder: the flags become spawn arguments unless given"
else not_ok "qoder: the flags become spawn arguments unless given" "want: $want" "got: $(cat "$QODER_ARGV")"; fi
export NOISE="Cleanup completed. Exiting..."
run --agent "qodercli --acp" exec "echo hi"
expect_err "" "qoder: its shutdown line on stdout is not reported"
cp "$BIN/qodercli" "$BIN/other-agent"
run --agent "other-agent --acp" exec "echo hi"
expect_err_has "Failed to parse JSON message: Cleanup completed. Exiting..." "another agent: the same line is reported"
unset NOISE

done_testing
