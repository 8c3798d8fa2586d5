#!/bin/sh
# OpenClaw's acpx plugin as a real client: OpenClaw 2026.4.2,
# the last release whose plugin spawns the command named by
# plugins.entries.acpx.config.command, drives our acpx through its own
# runtime (openclaw-plugin.mjs): probes, ensure, two turns back to back
# with OpenClaw's --ttl 0.1, ensure again, status, set mode, set, cancel of
# a long turn, a turn after the cancel, close, a turn after close. Where the
# reference is installed the same run (with --ttl 600, where the reference
# does not race: its owner must not retire between two steps however slow
# the machine; with 30 s it did at a load average of 20) must give the same
# transcript as ours.
#
# OpenClaw is installed from the npm registry into a cache outside the
# build tree (OPENCLAW_CACHE, default ~/.cache/acpx-native) when it is not
# there yet; without node >= 20, npm or the registry the test is skipped.
# OPENCLAW_DIR=<dir holding node_modules/openclaw> uses an existing copy.
. "$TESTS_SRCDIR/conformance/npm-pins.sh"
OC_VERSION=$OPENCLAW_VERSION
: "${OPENCLAW_CACHE:=$ACPX_NPM_CACHE}"
. "$TESTS_SRCDIR/conformance/lib.sh"

command -v node >/dev/null 2>&1 || skip_all "node not installed (OpenClaw's plugin needs Node.js >= 20)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 20 ] 2>/dev/null || skip_all "node $major is too old for OpenClaw $OC_VERSION (needs >= 20)"

OC_DIR=${OPENCLAW_DIR:-$OPENCLAW_CACHE/openclaw-$OC_VERSION}
if [ ! -f "$OC_DIR/node_modules/openclaw/dist/extensions/acpx/index.js" ]; then
	[ -n "${OPENCLAW_DIR:-}" ] && skip_all "OPENCLAW_DIR=$OPENCLAW_DIR holds no node_modules/openclaw"
	[ -n "${ACPX_TEST_OFFLINE:-}" ] && skip_all "ACPX_TEST_OFFLINE set: not installing OpenClaw $OC_VERSION"
	echo "# installing openclaw@$OC_VERSION from the npm registry into $OC_DIR"
	if ! sh "$TESTS_SRCDIR/conformance/install-openclaw.sh" "$OC_DIR" "$OC_VERSION" \
	    >"$T_ROOT/npm.log" 2>&1; then
		sed 's/^/# /' "$T_ROOT/npm.log" | tail -n 15
		skip_all "could not install openclaw@$OC_VERSION from the npm registry (see above)"
	fi
fi

DRIVER="$TESTS_SRCDIR/conformance/openclaw-plugin.mjs"
# run_plugin BIN TTL OUT: one whole plugin session in a fresh HOME.
run_plugin() {
	export HOME="$T_ROOT/home-$(basename "$3")"
	mkdir -p "$HOME/.acpx"
	printf '{"agents":{"mock":{"command":"%s --supports-load-session --record %s"}}}\n' \
	    "$MOCK" "$3.rec" >"$HOME/.acpx/config.json"
	( cd "$T_WORK" && timeout 900 node "$DRIVER" "$OC_DIR/node_modules/openclaw" \
	    "$1" "$T_WORK" "$2" "$3.rec" >"$3" 2>"$3.err" )
	PRC=$?
	# Retire what the run left (a long TTL keeps an owner idle).
	( cd "$T_WORK" && "$1" --cwd "$T_WORK" mock sessions close agent:mock:oc-plugin \
	    >/dev/null 2>&1 )
}

# have STEP JSON-FRAGMENT: the step's line contains the fragment.
have() {
	line=$(grep "^{\"step\":\"$1\"," "$OUTF")
	case "$line" in
	*"$2"*) ok "$LABEL: $1: $2" ;;
	*) not_ok "$LABEL: $1: $2" "got: $line" "stderr: $(tail -n 5 "$OUTF.err")" ;;
	esac
}

LABEL="ttl 0.1"
OUTF="$T_ROOT/ours-0.1"
run_plugin "$ACPX" 0.1 "$OUTF"
if [ "$PRC" -eq 0 ]; then ok "$LABEL: the plugin session ran to its end"
else not_ok "$LABEL: the plugin session ran to its end" "exit $PRC" "$(tail -n 20 "$OUTF.err")"; fi
have healthy '"ok":true'
have ensure '"ok":true,"backend":"acpx","hasRecordId":true,"hasBackendSessionId":true'
have turn-1 '"events":["text:first turn","done:{}"]'
# The back-to-back turn the reference fails with --ttl 0.1.
have turn-2 '"events":["text:second turn","done:{}"]'
have ensure-again '"sameRecord":true'
have status '"status":"'
have status '"sameRecord":true'
have set-mode '"ok":true'
have set-config '"ok":true'
have turn-long '"events":["done:{}"]'
have cancel '"ok":true,"error":null'
have turn-after-cancel '"events":["text:still here","done:{}"]'
have close '"ok":true'
have turn-after-close '"events":["error:{\"message\":\"acpx exited with code 4\"}"]'
have status-after-close '"status":"no-session"'
# Context kept: one ACP session for the whole plugin session; every
# prompt (across owner restarts with the short TTL) went to it.
news=$(grep -c '"method":"session/new"' "$OUTF.rec")
sids=$(grep '"method":"session/prompt"' "$OUTF.rec" | jq -r '.params.sessionId' | sort -u | wc -l)
prompts=$(grep -c '"method":"session/prompt"' "$OUTF.rec")
if [ "$news" -eq 1 ] && [ "$sids" -eq 1 ] && [ "$prompts" -eq 4 ]; then
	ok "$LABEL: one ACP session kept across the turns (4 prompts)"
else
	not_ok "$LABEL: one ACP session kept across the turns (4 prompts)" \
	    "session/new: $news, distinct prompt session ids: $sids, prompts: $prompts"
fi
grep -q '"method":"session/set_mode"' "$OUTF.rec" && ok "$LABEL: set mode reached the agent" ||
    not_ok "$LABEL: set mode reached the agent"
grep -q '"method":"session/cancel"' "$OUTF.rec" && ok "$LABEL: cancel reached the agent" ||
    not_ok "$LABEL: cancel reached the agent"

LABEL="ttl 600"
OUTF="$T_ROOT/ours-600"
run_plugin "$ACPX" 600 "$OUTF"
have turn-2 '"events":["text:second turn","done:{}"]'
have turn-after-close '"events":["error:{\"message\":\"acpx exited with code 4\"}"]'
LABEL="reference ttl 600"
ref_transcript openclaw-plugin "$T_ROOT/ours-600" \
    "the plugin's transcript matches the reference's" \
    "$T_ROOT/ref-600" run_plugin "$REF" 600 "$T_ROOT/ref-600"
done_testing
