#!/bin/sh
# Time from a provider failure to the fallback's first request (never part
# of the tests: it measures, it does not judge).
#   sh bench/fallback.sh [BUILD_DIR]      (default build/release)
# A Warp chain <harness>-warp-prim-kimi -> <harness>-warp-back-kimi runs
# one exec against tests/fake-provider, whose "prim" provider answers 429
# (Retry-After: 120) and whose "back" provider answers 200. The fake
# provider stamps each request (--record-times); the figure is the time
# from its first 429 to the first request the fallback's harness sends,
# which spans the harness's own retries, its error reaching acpx, the
# classification, the summary, and the fallback harness's start.
# Harnesses, each when installed (tests/conformance/npm-pins.sh: the
# same npm cache the conformance tests use, ACPX_NPM_CACHE):
#   claude    the real Claude ACP adapter (Claude Code inside)
#   opencode  the real opencode
#   mock      the mock agent playing opencode (always): acpx's own part
# Stock harness settings: nothing but what Warp's launch sets (with a next
# agent, CLAUDE_CODE_MAX_RETRIES=warp.harnessRetries, default 1, for
# claude; for opencode, which has no such setting, the provider tap: acpx
# relays its provider requests and ends the turn on the provider's own
# 429, acpx-warp(7)). BENCH_WARP='"harnessRetries": null,' shows both
# harnesses with their own retries (opencode: minutes).
# BENCH_RUNS (default 3) runs per harness; BENCH_HARNESSES (default
# "mock claude opencode"); BENCH_UNCAPPED=1 also runs claude with
# warp.harnessRetries null (the harness's own ten retries: minutes);
# BENCH_WARP='"stallSeconds": 5,' adds warp keys (members ending in ",");
# BENCH_FAIL_MODE=ratelimit-fast: the failing provider's 429 carries
# retry-after-ms: 1 instead of Retry-After: 120 (tests/fake-provider).
# Target: <= 15 s with stock harness settings.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build/release}" && pwd)
ACPX="$build/acpx"
MOCK="$build/tests/mock-agent/mock-agent"
FAKE="$build/tests/fake-provider/fake-provider"
(cd "$build" && make -s tests/mock-agent/mock-agent tests/fake-provider/fake-provider)
. "$top/tests/conformance/npm-pins.sh"	# ACPX_NPM_CACHE, versions (before HOME moves)
CA="$ACPX_NPM_CACHE/claude-agent-acp-$CLAUDE_ACP_VERSION/node_modules/.bin/claude-agent-acp"
OC="$ACPX_NPM_CACHE/opencode-ai-${OPENCODE_SPEC#*@}/node_modules/.bin/opencode"
RUNS=${BENCH_RUNS:-3}
MODE=${BENCH_FAIL_MODE:-ratelimit}
HARNESSES=${BENCH_HARNESSES:-mock claude opencode}

T_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/acpx-bench.XXXXXX")
FAKE_PID=""
cleanup() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true
	rm -rf "$T_ROOT" "/tmp/acpx-$(printf %s "$T_ROOT/home" | sha256sum | cut -c1-10)"
}
trap cleanup EXIT
export HOME="$T_ROOT/home"
mkdir -p "$HOME/.acpx" "$T_ROOT/work" "$T_ROOT/claude-config"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset ACPX_WARP_ENV_FILE ACPX_NODE ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN \
    ANTHROPIC_BASE_URL ANTHROPIC_MODEL CLAUDE_CODE_MAX_RETRIES \
    CLAUDE_CODE_USE_BEDROCK CLAUDE_CODE_USE_VERTEX CLAUDE_CODE_OAUTH_TOKEN
for v in $(env | sed -n 's/^\(WARP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
# Offline: no updates, telemetry or model lists (not retry settings).
export CLAUDE_CONFIG_DIR="$T_ROOT/claude-config" IS_SANDBOX=1 \
    DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 \
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
    OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1 \
    OPENCODE_DISABLE_LSP_DOWNLOAD=1 \
    ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS=600000

REC="$T_ROOT/provider.rec"
"$FAKE" --record "$REC" --record-times --lifetime 3600 >"$T_ROOT/port" &
FAKE_PID=$!
i=0
while [ ! -s "$T_ROOT/port" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(head -n 1 "$T_ROOT/port")
BASE="http://127.0.0.1:$PORT"
SECRETS="$T_ROOT/warp.env"
{
	printf 'WARP_PRIM_API_KEY=sk-bench-prim-1111\nWARP_PRIM_BASE_URL=%s/%s/v1\n' "$BASE" "$MODE"
	printf 'WARP_BACK_API_KEY=sk-bench-back-2222\nWARP_BACK_BASE_URL=%s/ok/v1\n' "$BASE"
	# Claude Code needs Anthropic's Messages API: the "tools" mode.
	printf 'WARP_BACK_CLAUDE_BASE_URL=%s/tools\n' "$BASE"
} >"$SECRETS"
chmod 600 "$SECRETS"
printf '{"default_turn": [{"provider": "opencode"}]}\n' >"$T_ROOT/mock.json"

# config HARNESS-COMMAND [EXTRA-WARP-KEYS]: opencode and claude rows.
config() {
	cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$1"}, "claude": {"command": "$CA"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {"prim": {"models": {"kimi": "kimi-k2.5"}}, "back": {"models": {"kimi": "kimi-k2.5"}}},
    "fallback": {"opencode-warp-prim-kimi": ["opencode-warp-back-kimi"], "claude-warp-prim-kimi": ["claude-warp-back-kimi"]},
    $2 ${BENCH_WARP:-}
    "cooldownSeconds": 600
  }
}
EOC
}

# ms ERE: the "ms" of the first recorded request whose line matches.
ms() { grep -m 1 -E "$1" "$REC" | sed -n 's/.*"ms":\([0-9]*\).*/\1/p'; }

# one HARNESS LABEL: one exec; prints the gap (s) or why there is none.
one() {
	rm -f "$HOME/.acpx/warp/state.json"
	: >"$REC"
	t0=$(date +%s%N)
	( cd "$T_ROOT/work" && timeout 900 "$ACPX" --approve-all --format quiet \
	    "$1-warp-prim-kimi" exec "say hi" ) >"$T_ROOT/out" 2>"$T_ROOT/err" || true
	t1=$(date +%s%N)
	a=$(ms "\"path\":\"/$MODE/")
	b=$(ms '"path":"/(ok|tools)/')
	n=$(grep -c "\"path\":\"/$MODE/" "$REC" || true)
	if [ -n "$a" ] && [ -n "$b" ]; then
		printf '%-10s %8.2f s  (%s requests to the failing provider; the whole exec %.1f s)\n' \
		    "$2" "$(echo "($b - $a) / 1000" | bc -l)" "$n" \
		    "$(echo "($t1 - $t0) / 1000000000" | bc -l)"
		echo "$b - $a" | bc >>"$T_ROOT/gaps.$2"
	else
		printf '%-10s no fallback request (%s to the failing provider): %s\n' \
		    "$2" "$n" "$(tail -n 2 "$T_ROOT/err" | tr '\n' ' ')"
	fi
}

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f s", v[int((NR + 1) / 2)] / 1000; else printf "-" }'; }

echo "# bench/fallback.sh: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs each"
echo "# from the first 429 of provider prim (fake provider mode $MODE) to the first request to provider back"
for h in $HARNESSES; do
	case $h in
	mock)	config "$MOCK --scenario $T_ROOT/mock.json" ""
		harness=opencode ;;
	opencode)
		[ -x "$OC" ] || { echo "opencode   not installed ($OC)"; continue; }
		config "$OC acp --pure" ""
		harness=opencode ;;
	claude)	[ -x "$CA" ] || { echo "claude     not installed ($CA)"; continue; }
		command -v node >/dev/null || { echo "claude     needs node"; continue; }
		config "$OC" ""
		harness=claude ;;
	*)	echo "unknown harness $h"; continue ;;
	esac
	r=0
	while [ $r -lt "$RUNS" ]; do one $harness $h; r=$((r + 1)); done
	[ -s "$T_ROOT/gaps.$h" ] && echo "$h median: $(median "$T_ROOT/gaps.$h")"
	if [ "$h" = claude ] && [ "${BENCH_UNCAPPED:-0}" = 1 ]; then
		config "$OC" '"harnessRetries": null,'
		one claude claude-uncapped
	fi
done
