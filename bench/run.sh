#!/bin/sh
# Benchmarks, side by side with the reference acpx (never part of the tests).
#   sh bench/run.sh [BUILD_DIR]      (default build/release, built by scripts/quickstart)
# Needs hyperfine and GNU time (apt-get install hyperfine time) and, for the
# reference column, /tmp/ref/node_modules/.bin/acpx (or ACPX_REFERENCE).
# Reports:
#   1. acpx --version: mean wall time and peak RSS
#   2. exec of a one-chunk reply vs the mock agent alone answering the same
#      three requests (the floor: agent start + answer)
#   3. quiet-mode streaming of 100,000 64-byte chunks: client throughput vs
#      the agent alone writing the same stream to /dev/null
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
ACPX="$build/acpx"
MOCK="$build/tests/mock-agent/mock-agent"
REF=${ACPX_REFERENCE:-/tmp/ref/node_modules/.bin/acpx}
[ -x "$MOCK" ] || (cd "$build" && make -s tests/mock-agent/mock-agent)
command -v hyperfine >/dev/null || { echo "need hyperfine (apt-get install hyperfine)"; exit 1; }
[ -x /usr/bin/time ] || { echo "need GNU time (apt-get install time)"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export HOME="$work/home"; mkdir -p "$HOME"
cd "$work"
have_ref=0; [ -x "$REF" ] && have_ref=1
S="$top/tests/mock-agent/scenarios"
N=${BENCH_CHUNKS:-100000}
CHUNK=$(printf '%064d' 0 | tr 0 x)   # 64 bytes

rss() { /usr/bin/time -f %M "$@" >/dev/null 2>"$work/rss" </dev/null || true; tail -n 1 "$work/rss"; }

echo "== 1. --version"
hyperfine -N -w 20 -r 200 --export-json "$work/v.json" "$ACPX --version" \
    $( [ $have_ref = 1 ] && echo "$REF --version" ) 2>/dev/null | grep -E 'Time|±|acpx' || true
echo "peak RSS (KiB): acpx-native $(rss "$ACPX" --version)$( [ $have_ref = 1 ] && echo ", reference $(rss "$REF" --version)")"

echo "== 2. exec, one-chunk reply"
# The floor: the agent alone, fed the three requests exec sends.
cat >"$work/reqs" <<REQ
{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":true,"writeTextFile":true},"terminal":true},"clientInfo":{"name":"acpx","version":"0.19.1"}}}
{"jsonrpc":"2.0","id":1,"method":"session/new","params":{"cwd":"$work","mcpServers":[]}}
{"jsonrpc":"2.0","id":2,"method":"session/prompt","params":{"sessionId":"mock-session-1","prompt":[{"type":"text","text":"hi"}]}}
REQ
hyperfine -N -w 5 -r 50 \
    "sh -c '$MOCK --scenario $S/hello.json <$work/reqs >/dev/null'" \
    "$ACPX --format quiet --agent '$MOCK --scenario $S/hello.json' exec hi" \
    $( [ $have_ref = 1 ] && echo "$REF --format quiet --agent '$MOCK --scenario $S/hello.json' exec hi" ) \
    2>/dev/null | grep -E 'Time|±|Benchmark' || true
echo "peak RSS (KiB): acpx-native $(rss "$ACPX" --format quiet --agent "$MOCK --scenario $S/hello.json" exec hi)$( [ $have_ref = 1 ] && echo ", reference $(rss "$REF" --format quiet --agent "$MOCK --scenario $S/hello.json" exec hi)")"

echo "== 3. quiet streaming of $N x 64-byte chunks"
sed "s/\"text\":\"hi\"/\"text\":\"chunks $N $CHUNK\"/" "$work/reqs" >"$work/reqs-stream"
hyperfine -N -w 1 -r 5 \
    "sh -c '$MOCK <$work/reqs-stream >/dev/null'" \
    "$ACPX --format quiet --agent $MOCK exec chunks $N $CHUNK" \
    $( [ $have_ref = 1 ] && [ "${BENCH_REF_STREAM:-1}" = 1 ] && echo "$REF --format quiet --agent $MOCK exec chunks $N $CHUNK" ) \
    --export-json "$work/s.json" 2>/dev/null | grep -E 'Time|±|Benchmark' || true
python3 - "$work/s.json" "$N" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]; n = int(sys.argv[2])
for x in r:
    print("  %-60.60s %8.0f chunks/s" % (x["command"], n / x["mean"]))
PY
echo "peak RSS (KiB): acpx-native $(rss "$ACPX" --format quiet --agent "$MOCK" exec chunks "$N" "$CHUNK")"
