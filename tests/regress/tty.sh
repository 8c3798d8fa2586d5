#!/bin/sh
# On a terminal (script(1) gives acpx a pseudo-terminal; the bytes it wrote
# are read back): text output in colour, none with NO_COLOR, TERM=dumb,
# --no-color or on a pipe; an error in red on a terminal's stderr; the
# progress line while the agent starts (the mock agent holds initialize
# until a file exists), erased before the answer is written.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
command -v script >/dev/null 2>&1 || skip_all "script(1) not installed (util-linux)"
unset NO_COLOR
export TERM=xterm

ESC=$(printf '\033')
ERASE=$(printf '\r\033[K')
HELLO=$(mock_cmd hello.json)

# tty CMD: run CMD (a shell command line, in $T_WORK) on a pty; TS = bytes.
tty() {
	script -qec "cd '$T_WORK' && $1" /dev/null </dev/null >"$T_ROOT/ts" 2>&1
	TS=$(cat "$T_ROOT/ts")
}
# has_sgr: TS holds a colour escape (ESC [ ... m).
has_sgr() { printf '%s' "$TS" | grep -q "$ESC\[[0-9;]*m"; }

# ------------------------------------------------------------ colour
tty "'$ACPX' --agent '$HELLO' exec hi"
if has_sgr; then ok "colour on a terminal"
else not_ok "colour on a terminal" "$TS"; fi
case "$TS" in *"${ESC}[1m[client]${ESC}[0m initialize"*) ok "the [client] tag in bold" ;;
*) not_ok "the [client] tag in bold" "$TS" ;; esac

for how in "NO_COLOR=1 '$ACPX' --agent '$HELLO' exec hi:NO_COLOR" \
    "TERM=dumb '$ACPX' --agent '$HELLO' exec hi:TERM=dumb" \
    "'$ACPX' --no-color --agent '$HELLO' exec hi:--no-color" \
    "'$ACPX' --agent '$HELLO' exec hi | cat:a pipe"; do
	tty "${how%:*}"
	if has_sgr; then not_ok "no colour with ${how##*:}" "$TS"
	else
		case "$TS" in *"hello"*) ok "no colour with ${how##*:}" ;;
		*) not_ok "no colour with ${how##*:} (the answer is there)" "$TS" ;; esac
	fi
done

tty "'$ACPX' sessions show nope"
case "$TS" in *"${ESC}[31mNo named session"*) ok "an error in red on a terminal" ;;
*) not_ok "an error in red on a terminal" "$TS" ;; esac
tty "'$ACPX' --no-color sessions show nope"
if has_sgr; then not_ok "no red error with --no-color" "$TS"
else ok "no red error with --no-color"; fi

# ------------------------------------------------------------ progress
cat >"$T_ROOT/hold-init.json" <<'EOF'
{
  "initialize": {"steps": [{"wait_file": "{{cwd}}/release"}]},
  "default_turn": [{"chunk": "hello world"}, {"stop": "end_turn"}]
}
EOF
HOLD="$MOCK --scenario $T_ROOT/hold-init.json"
# bg NAME CMD: CMD on a pty in the background, its bytes in $T_ROOT/NAME.
bg() {
	script -qec "cd '$T_WORK' && $2" /dev/null </dev/null >"$T_ROOT/$1" 2>&1 &
	track_pid $!
	BG="$BG $!"
}
# wait_for FILE TEXT: until FILE holds TEXT (120 s only bounds a hang).
wait_for() {
	i=0
	until grep -q -F "$2" "$T_ROOT/$1" 2>/dev/null || [ $i -ge 1200 ]; do
		sleep 0.1; i=$((i + 1))
	done
}
BG=
# Held in initialize: json, a pipe, and stdout alone on a pipe (stderr
# still the terminal) first; once each sent initialize,
# a text run on the terminal, whose progress line (drawn a moment after
# its own initialize) says the others had that moment too.
bg json.ts "'$ACPX' --format json --agent '$HOLD' exec hi"
bg pipe.ts "'$ACPX' --agent '$HOLD' exec hi 2>&1 | cat"
bg stdout-pipe.ts "'$ACPX' --agent '$HOLD' exec hi | cat"
wait_for json.ts '"method":"initialize"'
wait_for pipe.ts "[client] initialize"
wait_for stdout-pipe.ts "[client] initialize"
bg text.ts "'$ACPX' --agent '$HOLD' exec hi"
wait_for text.ts "starting the agent... "
touch "$T_WORK/release"
wait $BG
TS=$(cat "$T_ROOT/text.ts")
case "$TS" in *"${ERASE}[acpx] starting the agent... "[0-9]*s*) ok "the progress line while the agent starts" ;;
*) not_ok "the progress line while the agent starts" "$TS" ;; esac
after=${TS##*starting the agent... }
case "$after" in *"$ERASE"*"hello world"*) ok "the line is erased before the answer" ;;
*) not_ok "the line is erased before the answer" "$TS" ;; esac
for f in json pipe stdout-pipe; do
	TS=$(cat "$T_ROOT/$f.ts")
	case "$TS" in *"[acpx] starting"*|*"$ERASE"*) not_ok "no progress line: $f" "$TS" ;;
	*"hello world"*) ok "no progress line: $f" ;;
	*) not_ok "no progress line: $f (the answer is there)" "$TS" ;; esac
done

# ------------------------------------------------------------ fallback
# A two-agent Warp chain of mock agents behind a fake harness (as in
# fallback.sh): the first fails with a quota error, the hop's [fallback]
# line is bold yellow on a terminal.
warp_env_clean
FROM=opencode-warp-infini-kimi
TO=opencode-warp-infini-glm
ARROW=$(printf '\342\206\222')
cat >"$T_ROOT/harness.sh" <<EOS
#!/bin/sh
case "\$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-infini/kimi-k2.5"'*) sc=fallback-quota.json ;;
*) sc=fallback-finish.json ;;
esac
exec "$MOCK" --scenario "$SCENARIOS/\$sc"
EOS
chmod +x "$T_ROOT/harness.sh"
mkdir -p "$HOME/.acpx"
printf 'WARP_INFINI_API_KEY=sk-tty-test\nWARP_INFINI_BASE_URL=http://127.0.0.1:9/v1\n' \
    >"$T_ROOT/warp.env"
chmod 600 "$T_ROOT/warp.env"
cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/harness.sh"}},
  "warp": {
    "envFile": "$T_ROOT/warp.env",
    "providers": {"infini": {"models": {"kimi": "kimi-k2.5", "glm": "glm-5"}}},
    "fallback": {"$FROM": ["$TO"]}
  }
}
EOC
tty "'$ACPX' --approve-all $FROM exec 'do the task'"
case "$TS" in *"${ESC}[1;33m[fallback]${ESC}[0m $FROM $ARROW $TO ("*"finished by the fallback"*)
	ok "the [fallback] tag in bold yellow on a terminal" ;;
*) not_ok "the [fallback] tag in bold yellow on a terminal" "$TS" ;; esac

# ------------------------------------------------------------ host slot
# With one host slot taken by a run held in initialize, a run on the
# terminal says it waits for the slot, and erases that before its answer.
cat >"$HOME/.acpx/config.json" <<'EOC'
{"maxConcurrentAgents": 1}
EOC
sed 's/release/release-slot/' "$T_ROOT/hold-init.json" >"$T_ROOT/hold-slot.json"
BG=
bg holder.ts "'$ACPX' --agent '$MOCK --scenario $T_ROOT/hold-slot.json' exec hi 2>&1 | cat"
wait_for holder.ts "[client] initialize"
bg slot.ts "'$ACPX' --agent '$HELLO' exec hi"
wait_for slot.ts "waiting for a host slot... "
touch "$T_WORK/release-slot"
wait $BG
TS=$(cat "$T_ROOT/slot.ts")
case "$TS" in *"${ERASE}[acpx] waiting for a host slot... "[0-9]*s*) ok "the progress line while waiting for a host slot" ;;
*) not_ok "the progress line while waiting for a host slot" "$TS" ;; esac
after=${TS##*waiting for a host slot... }
case "$after" in *"$ERASE"*"hello"*) ok "the slot line is erased before the answer" ;;
*) not_ok "the slot line is erased before the answer" "$TS" ;; esac

done_testing
