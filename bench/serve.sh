#!/bin/sh
# acpx warp serve against the harness driven directly (never part of the
# tests). The client is bench/drive.c, the thinnest ACP client; the harness
# is the mock agent, behind the proxy as the agent "plain".
#   sh bench/serve.sh [BUILD_DIR]      (default build/release)
# Reports:
#   1. the median round trip of 2,000 sequential requests, direct and
#      through the proxy: the added latency per forwarded message is half
#      the difference (a round trip is two forwarded messages);
#   2. 100,000 streamed 64-byte chunks (quiet client): wall time direct and
#      through the proxy (median of 5 runs), and their ratio;
#   3. the proxy's resident memory when idle after initialize and
#      session/new: the worker and its keeper (VmRSS, KiB).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build/release}" && pwd)
ACPX="$build/acpx"
MOCK="$build/tests/mock-agent/mock-agent"
[ -x "$MOCK" ] || (cd "$build" && make -s tests/mock-agent/mock-agent)
work=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$work"' EXIT
export HOME="$work/home"
mkdir -p "$HOME/.acpx"
cd "$work"
printf '{"agents": {"plain": {"command": "%s"}}}\n' "$MOCK" >"$HOME/.acpx/config.json"
cc -O2 -o "$work/drive" "$top/bench/drive.c"
N=${BENCH_CHUNKS:-100000}
PINGS=${BENCH_PINGS:-2000}
CHUNK=$(printf '%064d' 0 | tr 0 x)

now() { date +%s%N; }
# median_ms CMD...: median wall time of 5 runs in ms
median_ms() {
	for i in 1 2 3 4 5; do
		t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
		echo $(( (t1 - t0) / 1000 ))
	done | sort -n | sed -n 3p | awk '{printf "%.1f", $1 / 1000}'
}

echo "== 1. median round trip of $PINGS sequential requests"
d=$(DRIVE_PINGS=$PINGS "$work/drive" "$MOCK" 2>&1 >/dev/null | sed -n 's/median round trip: \(.*\) us/\1/p')
p=$(DRIVE_PINGS=$PINGS "$work/drive" "$ACPX" warp serve plain 2>&1 >/dev/null | sed -n 's/median round trip: \(.*\) us/\1/p')
echo "  direct: $d us   through the proxy: $p us"
awk -v d="$d" -v p="$p" 'BEGIN { printf "  added per forwarded message: %.1f us\n", (p - d) / 2 }'

echo "== 2. $N streamed 64-byte chunks (median of 5)"
export DRIVE_PROMPT="chunks $N $CHUNK"
d=$(median_ms "$work/drive" "$MOCK")
p=$(median_ms "$work/drive" "$ACPX" warp serve plain)
echo "  direct: $d ms   through the proxy: $p ms"
awk -v d="$d" -v p="$p" 'BEGIN { printf "  ratio: %.2f\n", p / d }'
unset DRIVE_PROMPT

echo "== 3. idle memory after initialize and session/new"
mkfifo "$work/in"
"$ACPX" warp serve plain <"$work/in" >"$work/out" 2>/dev/null &
keeper=$!
exec 3>"$work/in"
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}' >&3
printf '%s\n' '{"jsonrpc":"2.0","id":2,"method":"session/new","params":{"cwd":"'"$work"'","mcpServers":[]}}' >&3
i=0
while ! grep -q '"id":2,' "$work/out" && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
worker=$(pgrep -P "$keeper" | head -n 1)
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
echo "  worker (the proxy): $(rss "$worker") KiB   keeper: $(rss "$keeper") KiB"
exec 3>&-
wait "$keeper"
