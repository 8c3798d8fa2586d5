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

# summary JSON [N]: mean and σ per command (and chunks/s when N is given).
summary() {
	python3 - "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 0
for x in r:
    extra = "  %9.0f chunks/s" % (n / x["mean"]) if n else ""
    print("  %8.2f ms ± %6.2f   %s%s" % (x["mean"] * 1e3, x["stddev"] * 1e3, x["command"][:70], extra))
PY
}

echo "== 1. --version"
set -- "$ACPX --version"
[ $have_ref = 1 ] && set -- "$@" "$REF --version"
hyperfine -N -w 20 -r 200 --export-json "$work/v.json" "$@" >/dev/null 2>&1
summary "$work/v.json"
echo "peak RSS (KiB): acpx-native $(rss "$ACPX" --version)$( [ $have_ref = 1 ] && echo ", reference $(rss "$REF" --version)")"

echo "== 2. exec, one-chunk reply (floor: bench/drive.c, the thinnest client)"
cc -O2 -o "$work/drive" "$top/bench/drive.c"
set -- "$work/drive $MOCK --scenario $S/hello.json" \
    "$ACPX --format quiet --agent '$MOCK --scenario $S/hello.json' exec hi"
[ $have_ref = 1 ] && set -- "$@" "$REF --format quiet --agent '$MOCK --scenario $S/hello.json' exec hi"
hyperfine -N -w 5 -r 50 --export-json "$work/e.json" "$@" >/dev/null 2>&1
summary "$work/e.json"
echo "peak RSS (KiB): acpx-native $(rss "$ACPX" --format quiet --agent "$MOCK --scenario $S/hello.json" exec hi)$( [ $have_ref = 1 ] && echo ", reference $(rss "$REF" --format quiet --agent "$MOCK --scenario $S/hello.json" exec hi)")"

echo "== 3. quiet streaming of $N x 64-byte chunks"
set -- "env DRIVE_PROMPT='chunks $N $CHUNK' $work/drive $MOCK" \
    "$ACPX --format quiet --agent $MOCK exec chunks $N $CHUNK"
[ $have_ref = 1 ] && [ "${BENCH_REF_STREAM:-1}" = 1 ] && set -- "$@" "$REF --format quiet --agent $MOCK exec chunks $N $CHUNK"
hyperfine -N -w 1 -r 5 --export-json "$work/s.json" "$@" >/dev/null 2>&1
summary "$work/s.json" "$N"
echo "peak RSS (KiB): acpx-native $(rss "$ACPX" --format quiet --agent "$MOCK" exec chunks "$N" "$CHUNK")"
/usr/bin/time -f "acpx-native CPU for the stream: user %U s, sys %S s" "$ACPX" --format quiet --agent "$MOCK" exec chunks "$N" "$CHUNK" >/dev/null
