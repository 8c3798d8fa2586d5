#!/bin/sh
# A control the agent rejects (set model, set-mode, set <key>), in the three
# formats, directly and through a queue owner: the messages, JSON error
# objects and hints the reference acpx 0.19.1 prints for the same mock
# agent (captured from it; the agent is named claude-agent-acp so an
# unadvertised model is forwarded to the agent, as with the real adapter).
# One deliberate difference (docs/compatibility.md): where the agent's
# error has data.details, a rejected set-mode/set prints that reason in
# text where the reference prints the bare "Internal error".
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

BIN="$T_ROOT/bin"
mkdir -p "$BIN"
ln -s "$MOCK" "$BIN/claude-agent-acp"


# case SCENARIO WANT_TEXT WANT_JSON WANT_QUIET ARGS...: a fresh session on
# the scenario, the control in each format without an owner, then the same
# with a queue owner running (JSON and quiet gain the owner's detail code).
case_() {
	sc=$1 text=$2 json=$3 quiet=$4; shift 4
	rm -rf "$HOME" && mkdir -p "$HOME"
	AG="$BIN/claude-agent-acp --supports-load-session --scenario $SCENARIOS/$sc"
	run --agent "$AG" sessions new
	for via in direct owner; do
		if [ $via = owner ]; then
			run --ttl 0 --agent "$AG" prompt hi
			[ "$RC" = 0 ] || not_ok "$sc: owner started" "$ERR"
			json=$(printf '%s' "$json" | sed 's/"acpxCode":"RUNTIME","origin":"cli"/"acpxCode":"RUNTIME","detailCode":"QUEUE_CONTROL_REQUEST_FAILED","origin":"queue"/')
			quiet=$(printf '%s' "$quiet" | sed 's/^\[acpx\] error: RUNTIME /&QUEUE_CONTROL_REQUEST_FAILED /')
		fi
		run --format text --agent "$AG" "$@"
		expect_rc 1 "$sc $* ($via, text)"
		expect_err "$text
" "$sc $* ($via, text)"
		run --format json --agent "$AG" "$@"
		expect_out "$json
" "$sc $* ($via, json)"
		run --format quiet --agent "$AG" "$@"
		expect_err "$quiet
" "$sc $* ($via, quiet)"
	done
	stop_owner
}

HINT='hint: rerun with `--verbose` to capture the ACP method/error details before retrying.'

case_ set-errors-details.json \
    "Failed session/set_config_option for model \"no-such-model\": Invalid value for config option model: no-such-model (ACP -32603, adapter reported \"Internal error\")
$HINT" \
    '{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"acpxCode":"RUNTIME","origin":"cli","sessionId":"unknown","details":"Invalid value for config option model: no-such-model"}}}' \
    '[acpx] error: RUNTIME Invalid value for config option model: no-such-model' \
    set model no-such-model

case_ set-errors-details.json "Invalid mode: zzz" \
    '{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"acpxCode":"RUNTIME","origin":"cli","sessionId":"unknown","details":"Invalid mode: zzz"}}}' \
    '[acpx] error: RUNTIME Invalid mode: zzz' \
    set-mode zzz

case_ set-errors-plain.json \
    "Failed session/set_config_option for model \"m9\": Internal error: boom (ACP -32603)
$HINT" \
    '{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error: boom","data":{"acpxCode":"RUNTIME","origin":"cli","sessionId":"unknown"}}}' \
    '[acpx] error: RUNTIME Failed session/set_config_option for model "m9": Internal error: boom (ACP -32603)' \
    set model m9

case_ set-errors-plain.json "Internal error: boom" \
    '{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error: boom","data":{"acpxCode":"RUNTIME","origin":"cli","sessionId":"unknown"}}}' \
    '[acpx] error: RUNTIME Internal error: boom' \
    set effort high

case_ set-errors-plain.json \
    "Agent rejected session/set_mode for mode \"x\": bad mode (ACP -32602, adapter reported \"Invalid params\"). The adapter may not implement session/set_mode, or the requested value is not supported.
$HINT" \
    '{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Invalid params","data":{"acpxCode":"RUNTIME","origin":"cli","sessionId":"unknown","details":"bad mode"}}}' \
    '[acpx] error: RUNTIME bad mode' \
    set-mode x

case_ set-errors-legacy.json \
    "Failed session/set_model for model \"zz\": nope (ACP -32603, adapter reported \"Internal error\")
$HINT" \
    '{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error","data":{"acpxCode":"RUNTIME","origin":"cli","sessionId":"unknown","details":"nope"}}}' \
    '[acpx] error: RUNTIME nope' \
    set model zz

done_testing
