#!/bin/sh
# One source of truth: every command and option the binary knows (from its
# --help screens and `acpx __complete --list-*`) is in acpx(1) and is offered
# by the bash, zsh and fish completions; the man pages lint clean; the
# completions offer agents, verbs, option values and live session names
# scoped to the agent and directory; `acpx completion <shell>` prints the
# scripts shipped in completions/.
. "$TESTS_SRCDIR/regress/lib.sh"

TOP=$(cd "$TESTS_SRCDIR/.." && pwd)
COMPL="$TOP/completions"
MAN="$TOP/man"
BIN_DIR=$(cd "$(dirname "$ACPX")" && pwd)
have() { command -v "$1" >/dev/null 2>&1; }
check() {	# check NAME COND-EXIT-STATUS [DETAIL...]
	name=$1 st=$2; shift 2
	if [ "$st" -eq 0 ]; then ok "$name"; else not_ok "$name" "$@"; fi
}
# in_list FILE ITEM: ITEM is a line of FILE.
in_list() { grep -Fxq -- "$2" "$1"; }

# ---------------------------------------------------------------- helpers

# Options of a --help screen: the flags of its "Options:" section.
help_options() {
	awk '/^Options:/ { o = 1; next } /^[A-Z][A-Za-z ]*:$/ { o = 0 }
	    o && /^  -/ { sub(/^  /, ""); split($0, a, /  +/); f = a[1]
		gsub(/<[^>]*>|\[[^]]*\]/, "", f); gsub(/,/, " ", f)
		n = split(f, b, " "); for (i = 1; i <= n; i++) print b[i] }'
}
# Commands of a --help screen ("agent" ones, "Use X agent", left out).
help_commands() {
	awk '/^Commands:/ { c = 1; next } /^[A-Z][A-Za-z ]*:$/ { c = 0 }
	    c && /^  [a-z]/ && !/ Use [^ ]+ agent$/ && $1 != "help" { print $1 }'
}
help_agents() {
	awk '/^Commands:/ { c = 1; next } /^[A-Z][A-Za-z ]*:$/ { c = 0 }
	    c && / Use [^ ]+ agent$/ { print $1 }'
}

cat >"$T_ROOT/comp.bash" <<'EOF'
# Run the bash completion function the way readline would for the words
# given (the last one is being completed; a lone "=" is split as bash does).
# Under set -u, as some users' shells are.
set -u
source "$COMPL/acpx.bash"
COMP_WORDS=("$ACPX" "$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$ACPX prev=
for w in "${COMP_WORDS[@]:1}"; do
	if [[ $w == "=" || $prev == "=" ]]; then COMP_LINE+=$w; else COMP_LINE+=" $w"; fi
	prev=$w
done
COMP_POINT=${#COMP_LINE}
_acpx
((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}"
exit 0
EOF
# bash_comp WORD...: the candidates bash would offer, one per line.
bash_comp() {
	( cd "${COMP_DIR:-$T_WORK}" && COMPL=$COMPL ACPX=$ACPX \
	    bash --norc --noprofile "$T_ROOT/comp.bash" "$@" 2>&1 )
}

cat >"$T_ROOT/comp.zsh" <<'EOF'
# Load _acpx as from $fpath and call it with the completion system's
# functions stubbed: _describe prints its candidates, _files what it was asked.
compdef() { : }
source "$COMPL/_acpx"
_describe() { print -rl -- "${(@P)${@[-1]}}" }
_files() { print -r -- "_files $*" }
words=("$ACPX" "$@")
CURRENT=$#words
_acpx
exit 0
EOF
zsh_comp() {
	( cd "${COMP_DIR:-$T_WORK}" && COMPL=$COMPL ACPX=$ACPX \
	    zsh -f "$T_ROOT/comp.zsh" "$@" 2>&1 ) | sed 's/:.*//'
}
# fish_comp LINE: what `complete -C LINE` offers (values only).
fish_comp() {
	( cd "${COMP_DIR:-$T_WORK}" && PATH="$BIN_DIR:$PATH" fish --no-config \
	    -c "source '$COMPL/acpx.fish'; complete -C '$1'" 2>&1 ) | cut -f1
}

# expect_cands NAME WANT OUTPUT-FILE: the candidates are exactly WANT
# (newline-separated, any order).
expect_cands() {
	printf '%s\n' "$2" | sed '/^$/d' | sort >"$T_ROOT/want"
	sed '/^$/d' "$3" | sort >"$T_ROOT/got"
	if cmp -s "$T_ROOT/want" "$T_ROOT/got"; then ok "$1"
	else not_ok "$1" "want: $(tr '\n' ' ' <"$T_ROOT/want")" \
	    "got:  $(tr '\n' ' ' <"$T_ROOT/got")"; fi
}
# expect_has NAME ITEM FILE / expect_lacks NAME ITEM FILE
expect_has() {
	if in_list "$3" "$2"; then ok "$1"
	else not_ok "$1" "missing: $2" "got: $(tr '\n' ' ' <"$3")"; fi
}
expect_lacks() {
	if in_list "$3" "$2"; then not_ok "$1" "unexpected: $2"; else ok "$1"; fi
}

# --------------------------------------- the binary's commands and options

"$ACPX" __complete --list-commands >"$T_ROOT/commands"
"$ACPX" __complete --list-options >"$T_ROOT/options"
check "__complete --list-commands lists commands" \
    "$( [ "$(wc -l <"$T_ROOT/commands")" -ge 20 ]; echo $?)"
check "__complete --list-options lists options" \
    "$( [ "$(wc -l <"$T_ROOT/options")" -ge 100 ]; echo $?)"

# Walk the --help screens: every command path with its options.
: >"$T_ROOT/help-commands"
: >"$T_ROOT/help-options"
( cd "$T_WORK" && "$ACPX" --help ) >"$T_ROOT/h"
help_agents <"$T_ROOT/h" >"$T_ROOT/help-agents"
help_options <"$T_ROOT/h" | sed 's/^/acpx	/' >>"$T_ROOT/help-options"
help_commands <"$T_ROOT/h" >"$T_ROOT/todo"
while [ -s "$T_ROOT/todo" ]; do
	path=$(head -n 1 "$T_ROOT/todo")
	sed -i 1d "$T_ROOT/todo"
	echo "$path" >>"$T_ROOT/help-commands"
	# shellcheck disable=SC2086
	( cd "$T_WORK" && "$ACPX" $path --help ) >"$T_ROOT/h"
	help_options <"$T_ROOT/h" | sed "s/^/$path	/" >>"$T_ROOT/help-options"
	help_commands <"$T_ROOT/h" | sed "s/^/$path /" >>"$T_ROOT/todo"
done
( cd "$T_WORK" && "$ACPX" codex --help ) >"$T_ROOT/h"
help_options <"$T_ROOT/h" | sed 's/^/<agent>	/' >>"$T_ROOT/help-options"
help_commands <"$T_ROOT/h" >"$T_ROOT/agent-verbs"
check "the --help screens list commands and options" \
    "$( [ -s "$T_ROOT/help-commands" ] && [ -s "$T_ROOT/help-agents" ] && \
    [ -s "$T_ROOT/agent-verbs" ]; echo $?)"

sort "$T_ROOT/help-commands" >"$T_ROOT/a"; sort "$T_ROOT/commands" >"$T_ROOT/b"
check "__complete --list-commands = the commands of the --help screens" \
    "$(cmp -s "$T_ROOT/a" "$T_ROOT/b"; echo $?)" "$(diff "$T_ROOT/a" "$T_ROOT/b")"
grep -v '^<agent> ' "$T_ROOT/options" | sort -u >"$T_ROOT/b"
sort -u "$T_ROOT/help-options" >"$T_ROOT/a"
check "__complete --list-options = the options of the --help screens" \
    "$(cmp -s "$T_ROOT/a" "$T_ROOT/b"; echo $?)" "$(diff "$T_ROOT/a" "$T_ROOT/b")"

# ----------------------------------------------------------- the man pages

if have mandoc; then
	# Cross-references to our own pages only resolve once installed, and
	# mandoc checks them against the system's mandoc.db: while the deb
	# stage (beside this one) has the package installed, it says that
	# database lacks them. Neither is about the pages.
	mandoc -Tlint "$MAN/acpx.1" "$MAN/acpx-config.5" "$MAN/acpx-warp.7" \
	    2>&1 | grep -v -e 'STYLE: referenced manual not found: Xr acpx\(-config 5\|-warp 7\| 1\)' \
	    -e '^mandoc: outdated mandoc.db lacks acpx\(-config\|-warp\)\?([157]) entry' \
	    >"$T_ROOT/lint"
	check "mandoc -Tlint is clean on acpx.1, acpx-config.5, acpx-warp.7" \
	    "$( [ ! -s "$T_ROOT/lint" ]; echo $?)" "$(cat "$T_ROOT/lint")"
	for p in acpx.1 acpx-config.5 acpx-warp.7; do
		# Plain text: drop the backspace overstrikes of bold and underline.
		mandoc -Tascii -O width=500 "$MAN/$p" |
		    sed "s/.$(printf '\b')//g" >"$T_ROOT/$p.txt"
	done
	missing=""
	while read -r path; do
		grep -Fq -- "$path" "$T_ROOT/acpx.1.txt" || missing="$missing [$path]"
	done <"$T_ROOT/commands"
	check "acpx(1) documents every command" "$( [ -z "$missing" ]; echo $?)" \
	    "missing:$missing"
	missing=""
	for flag in $(cut -f2 "$T_ROOT/options" | sort -u); do
		grep -Eq -- "(^|[^A-Za-z0-9-])$flag([^A-Za-z0-9-]|\$)" \
		    "$T_ROOT/acpx.1.txt" || missing="$missing $flag"
	done
	check "acpx(1) documents every option" "$( [ -z "$missing" ]; echo $?)" \
	    "missing:$missing"
	missing=""
	for a in $(cat "$T_ROOT/help-agents"); do
		grep -Eq -- "(^|[^A-Za-z0-9-])$a([^A-Za-z0-9-]|\$)" \
		    "$T_ROOT/acpx.1.txt" || missing="$missing $a"
	done
	check "acpx(1) lists every built-in agent" "$( [ -z "$missing" ]; echo $?)" \
	    "missing:$missing"
	for s in "DIFFERENCES FROM THE NODE ACPX" "EXIT STATUS" "ENVIRONMENT" \
	    "FILES" "EXAMPLES" "OUTPUT FORMATS" "expectedVersion" \
	    "plugins" "sessions show oc-codex-42"; do
		check "acpx(1) has $s" "$(grep -Fq -- "$s" "$T_ROOT/acpx.1.txt"; echo $?)"
	done
	# Config keys: those config init writes and config show prints.
	run config init
	run --format json config show
	keys=$( { sed -n 's/^  "\([A-Za-z]*\)".*/\1/p' "$HOME/.acpx/config.json"
	    printf '%s' "$OUT" | tr ',{' '\n\n' | sed -n 's/^"\([A-Za-z]*\)":.*/\1/p'; } |
	    grep -Exv 'paths|loaded|authMethods|global|project' | sort -u)
	missing=""
	for k in $keys warp envFile providers adjacent fallback maxHops \
	    cooldownSeconds hostDefaults; do
		grep -Eq -- "(^|[^A-Za-z])$k([^A-Za-z]|\$)" "$T_ROOT/acpx-config.5.txt" ||
		    missing="$missing $k"
	done
	check "acpx-config(5) documents every config key ($(echo $keys | wc -w) from the binary)" \
	    "$( [ -z "$missing" ] && [ -n "$keys" ]; echo $?)" "missing:$missing"
	for s in "Secrets" "Fallback" "Continuation" "chmod 600" "WARP_" "maxHops"; do
		check "acpx-warp(7) has $s" "$(grep -Fq -- "$s" "$T_ROOT/acpx-warp.7.txt"; echo $?)"
	done
	rm -f "$HOME/.acpx/config.json"
else
	not_ok "mandoc is installed (scripts/install-deps installs it)"
fi

# ------------------------------------------------- acpx completion <shell>

for s in bash:acpx.bash zsh:_acpx fish:acpx.fish; do
	run completion "${s%%:*}"
	printf '%s' "$OUT" >"$T_ROOT/script"
	check "acpx completion ${s%%:*} prints completions/${s#*:}" \
	    "$(cmp -s "$T_ROOT/script" "$COMPL/${s#*:}"; echo $?)" \
	    "$(diff "$COMPL/${s#*:}" "$T_ROOT/script" | head -5)"
done
run --format json completion bash
check "acpx completion prints the script in every format" \
    "$(printf '%s' "$OUT" | cmp -s - "$COMPL/acpx.bash"; echo $?)"
run completion tcsh
expect_rc 1 "acpx completion tcsh"
expect_err_has "Shell must be one of: bash, zsh, fish" "acpx completion tcsh"
run completion
expect_rc 1 "acpx completion without a shell"
run __complete --bogus
expect_rc 2 "__complete with an unknown flag"

# ------------------------------------------- every option through each shell

# For every command path (and the agent level), completing "-" in bash
# offers all its options, plus the global ones after the root.
missing=""
{ echo "acpx"; echo "<agent>"; cat "$T_ROOT/commands"; } >"$T_ROOT/paths"
while read -r path; do
	case "$path" in
	acpx) words="" ;;
	"<agent>") words="codex" ;;
	*) words=$path ;;
	esac
	# shellcheck disable=SC2086
	bash_comp $words - >"$T_ROOT/c"
	for flag in $(awk -F'\t' -v p="$path" '$1 == p { print $2 }' "$T_ROOT/options"); do
		in_list "$T_ROOT/c" "$flag" || missing="$missing [$path $flag]"
	done
	if [ "$path" != acpx ]; then
		for flag in --cwd --format --approve-all --verbose; do
			in_list "$T_ROOT/c" "$flag" || missing="$missing [$path global $flag]"
		done
	fi
done <"$T_ROOT/paths"
check "bash completion offers every option of every command" \
    "$( [ -z "$missing" ]; echo $?)" "missing:$missing"

bash_comp '' >"$T_ROOT/c"
missing=""
for w in $(cat "$T_ROOT/help-agents") $(grep -v ' ' "$T_ROOT/commands"); do
	in_list "$T_ROOT/c" "$w" || missing="$missing $w"
done
check "bash completion offers every top-level command and built-in agent" \
    "$( [ -z "$missing" ]; echo $?)" "missing:$missing"
bash_comp codex '' >"$T_ROOT/c"
expect_cands "bash: verbs after an agent" "$(cat "$T_ROOT/agent-verbs")" "$T_ROOT/c"
for parent in sessions config warp flow; do
	bash_comp $parent '' >"$T_ROOT/c"
	expect_cands "bash: $parent subcommands" \
	    "$(sed -n "s/^$parent \([a-z-]*\)\$/\1/p" "$T_ROOT/commands")" "$T_ROOT/c"
done

# ------------------------------------------------------- values and agents

bash_comp --format '' >"$T_ROOT/c"
expect_cands "bash: --format values" "text
json
quiet" "$T_ROOT/c"
bash_comp --format = j >"$T_ROOT/c"
expect_cands "bash: --format=j (bash splits at =)" "json" "$T_ROOT/c"
bash_comp --auth-policy '' >"$T_ROOT/c"
expect_cands "bash: --auth-policy values" "skip
fail" "$T_ROOT/c"
bash_comp codex exec --non-interactive-permissions '' >"$T_ROOT/c"
expect_cands "bash: a global option's values after the verb" "deny
fail" "$T_ROOT/c"
bash_comp completion '' >"$T_ROOT/c"
expect_cands "bash: completion shells" "bash
zsh
fish" "$T_ROOT/c"
bash_comp codex exec -- '' >"$T_ROOT/c"
expect_cands "bash: nothing after --" "" "$T_ROOT/c"
bash_comp codex "fix the" '' >"$T_ROOT/c"
expect_cands "bash: nothing inside prompt words" "" "$T_ROOT/c"
mkdir -p "$T_WORK/dir one" "$T_WORK/dir2"
: >"$T_WORK/file.txt"
bash_comp --cwd di >"$T_ROOT/c"
expect_cands "bash: --cwd completes directories" "dir one
dir2" "$T_ROOT/c"
bash_comp codex -f fi >"$T_ROOT/c"
expect_cands "bash: -f completes files" "file.txt" "$T_ROOT/c"

mkdir -p "$HOME/.acpx"
cat >"$HOME/.acpx/config.json" <<'EOF'
{
  "agents": { "mine": { "command": "mine-agent --acp" } },
  "warp": {
    "providers": {
      "infini": { "models": { "kimi": "kimi-k2.5", "glm": "glm-5" } },
      "ckimi": { "models": { "kimi-for-coding": "kimi-for-coding" } }
    },
    "fallback": { "claude-warp-infini-kimi": ["claude-warp-ckimi-kimi-for-coding"] }
  }
}
EOF
bash_comp mi >"$T_ROOT/c"
expect_cands "bash: a config agent" "mine" "$T_ROOT/c"
run config show
expect_rc 0 "the test config with a warp section is valid"
bash_comp opencode-warp- >"$T_ROOT/c"
expect_cands "bash: Warp agent ids from the config" "opencode-warp-infini-kimi
opencode-warp-infini-glm
opencode-warp-ckimi-kimi-for-coding" "$T_ROOT/c"
bash_comp claude-warp-c >"$T_ROOT/c"
expect_cands "bash: Warp agent ids of every harness" \
    "claude-warp-ckimi-kimi-for-coding" "$T_ROOT/c"
bash_comp warp probe '' >"$T_ROOT/c"
expect_has "bash: warp probe takes providers" "infini" "$T_ROOT/c"
expect_has "bash: warp probe takes agent ids" "gemini-warp-infini-glm" "$T_ROOT/c"

# ----------------------------------------------------- live session names

CODEX="npx -y @agentclientprotocol/codex-acp@^1.1.5"
CLAUDE="npx -y @agentclientprotocol/claude-agent-acp@^0.76.0"
SDIR="$HOME/.acpx/sessions"
mkdir -p "$SDIR" "$T_WORK/repo/sub/deeper" "$T_ROOT/other"
mkdir "$T_WORK/repo/.git"
REPO="$T_WORK/repo"
# record ID NAME CWD CLOSED AGENT-COMMAND: an acpx.session.v1 record file.
record() {
	name_line=""
	[ -n "$2" ] && name_line="\"name\": \"$2\","
	cat >"$SDIR/$1.json" <<EOF
{
  "schema": "acpx.session.v1",
  "acpx_record_id": "$1",
  "acp_session_id": "$1",
  "agent_command": "$5",
  "cwd": "$3",
  $name_line
  "created_at": "2026-01-01T00:00:00.000Z",
  "last_used_at": "2026-01-0${6:-1}T00:00:00.000Z",
  "last_seq": 0,
  "event_log": {
    "active_path": "$SDIR/$1.stream.ndjson",
    "segment_count": 5,
    "max_segment_bytes": 67108864,
    "max_segments": 5,
    "last_write_error": null
  },
  "closed": $4,
  "title": null,
  "messages": [${MESSAGES:-}],
  "updated_at": "2026-01-01T00:00:00.000Z",
  "cumulative_token_usage": {},
  "request_token_usage": {}
}
EOF
}
record s-backend backend "$REPO" false "$CODEX"
record s-old old "$REPO" true "$CODEX"
record s-unnamed "" "$REPO" false "$CODEX"
record s-sub frontend "$REPO/sub" false "$CODEX"
record s-claude reviewer "$REPO" false "$CLAUDE"
record s-other elsewhere "$T_ROOT/other" false "$CODEX"
record s-space "my session" "$REPO" false "$CODEX"
record s-mine minesess "$REPO" false "mine-agent --acp"
record s-raw rawsess "$REPO" false "./raw-agent --x"
printf '{ "schema": "acpx.session.v1", broken' >"$SDIR/s-broken.json"
printf '[1, 2]' >"$SDIR/s-array.json"
printf 'not json at all' >"$SDIR/index.json"

COMP_DIR=$REPO
bash_comp codex -s '' >"$T_ROOT/c"
expect_cands "bash: -s offers the open named sessions of the agent and cwd" \
    'backend
my\ session' "$T_ROOT/c"
bash_comp codex prompt --session '' >"$T_ROOT/c"
expect_cands "bash: prompt --session" 'backend
my\ session' "$T_ROOT/c"
bash_comp codex -s b >"$T_ROOT/c"
expect_cands "bash: -s b" "backend" "$T_ROOT/c"
bash_comp codex -s my >"$T_ROOT/c"
expect_cands "bash: a name with a space is quoted" 'my\ session' "$T_ROOT/c"
bash_comp codex --session = ba >"$T_ROOT/c"
expect_cands "bash: --session=ba" "backend" "$T_ROOT/c"
bash_comp codex sessions show '' >"$T_ROOT/c"
expect_cands "bash: sessions show includes closed sessions" 'backend
old
my\ session' "$T_ROOT/c"
for sub in history read export; do
	bash_comp codex sessions $sub '' >"$T_ROOT/c"
	expect_has "bash: sessions $sub offers a closed session" old "$T_ROOT/c"
done
bash_comp codex sessions close '' >"$T_ROOT/c"
expect_cands "bash: sessions close offers open sessions only" 'backend
my\ session' "$T_ROOT/c"
bash_comp codex sessions watch -s '' >"$T_ROOT/c"
expect_has "bash: sessions watch -s" old "$T_ROOT/c"
bash_comp sessions show '' >"$T_ROOT/c"
expect_has "bash: the default agent (codex) without an agent word" backend "$T_ROOT/c"
bash_comp claude -s '' >"$T_ROOT/c"
expect_cands "bash: sessions are scoped to the agent" "reviewer" "$T_ROOT/c"
bash_comp mine cancel -s '' >"$T_ROOT/c"
expect_cands "bash: a config agent's sessions" "minesess" "$T_ROOT/c"
bash_comp --agent "./raw-agent --x" prompt -s '' >"$T_ROOT/c"
expect_cands "bash: --agent scopes sessions to the raw command" "rawsess" "$T_ROOT/c"
bash_comp --cwd "$T_ROOT/other" codex status -s '' >"$T_ROOT/c"
expect_cands "bash: --cwd scopes sessions to that directory" "elsewhere" "$T_ROOT/c"
bash_comp codex sessions show --cwd "$T_ROOT/other" '' >"$T_ROOT/c"
expect_cands "bash: --cwd after the verb" "elsewhere" "$T_ROOT/c"
bash_comp codex sessions export --cwd "$T_ROOT/other" --output x.json '' >"$T_ROOT/c"
expect_cands "bash: sessions export --cwd" "elsewhere" "$T_ROOT/c"
COMP_DIR=$REPO/sub/deeper
bash_comp codex -s '' >"$T_ROOT/c"
expect_cands "bash: -s walks up to the git root" 'backend
frontend
my\ session' "$T_ROOT/c"
bash_comp codex status -s '' >"$T_ROOT/c"
expect_cands "bash: status -s does not walk up" "" "$T_ROOT/c"
COMP_DIR=$REPO/sub
bash_comp codex sessions show '' >"$T_ROOT/c"
expect_cands "bash: sessions show takes the exact cwd" "frontend" "$T_ROOT/c"
COMP_DIR=$REPO

# The entry point itself is quiet on stderr (the scripts hide it; this is
# where a sanitizer report would show).
for w in "codex -s" "--cwd $REPO codex sessions show" "warp probe" "--cwd" \
    "mine" "compare codex"; do
	# shellcheck disable=SC2086
	run __complete --describe -- $w ''
	check "__complete -- $w '': exit 0, stderr empty" \
	    "$( [ "$RC" -eq 0 ] && [ -z "$ERR" ]; echo $?)" "exit $RC" "$ERR"
done

# A big record: the names come from its head; a compact one from the whole.
MESSAGES=$(awk 'BEGIN { for (i = 0; i < 3000; i++) printf "%s{\"User\":{\"id\":\"u%d\",\"content\":[{\"Text\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}}", i ? "," : "", i }')
record s-big bigsess "$REPO" false "$CODEX"
MESSAGES=
tr -d '\n' <"$SDIR/s-big.json" | sed 's/"bigsess"/"compactsess"/; s/"s-big"/"s-compact"/g' \
    >"$SDIR/s-compact.json"
check "the big records are bigger than the head read" \
    "$( [ "$(wc -c <"$SDIR/s-big.json")" -gt 70000 ] && \
    [ "$(wc -c <"$SDIR/s-compact.json")" -gt 70000 ]; echo $?)"
bash_comp codex -s '' >"$T_ROOT/c"
expect_has "bash: a big pretty record's session" bigsess "$T_ROOT/c"
expect_has "bash: a big compact record's session" compactsess "$T_ROOT/c"
sed 's/"closed": false/"closed": true/' "$SDIR/s-big.json" >"$SDIR/s-big.tmp" &&
    mv "$SDIR/s-big.tmp" "$SDIR/s-big.json"
bash_comp codex -s '' >"$T_ROOT/c"
expect_lacks "bash: a big closed record is not offered for -s" bigsess "$T_ROOT/c"
rm -f "$SDIR/s-big.json" "$SDIR/s-compact.json"

# A thousand sessions: all of them, and only the open ones.
i=0
while [ $i -lt 1000 ]; do
	printf '{"schema":"acpx.session.v1","acpx_record_id":"k%d","acp_session_id":"k%d","agent_command":"%s","cwd":"%s","name":"k%04d","created_at":"x","last_used_at":"x","last_seq":0,"closed":%s}\n' \
	    $i $i "$CODEX" "$T_ROOT/other" $i "$( [ $((i % 4)) -eq 0 ] && echo true || echo false)" \
	    >"$SDIR/k$i.json"
	i=$((i + 1))
done
bash_comp --cwd "$T_ROOT/other" codex -s k >"$T_ROOT/c"
check "bash: 1000 sessions: the 750 open ones" \
    "$( [ "$(grep -c '^k[0-9]\{4\}$' "$T_ROOT/c")" -eq 750 ]; echo $?)" \
    "got $(wc -l <"$T_ROOT/c") candidates"
rm -f "$SDIR"/k*.json

# ------------------------------------------------------------------ zsh

if have zsh; then
	check "zsh -n parses _acpx" "$(zsh -n "$COMPL/_acpx" >/dev/null 2>&1; echo $?)"
	zsh -f -c "fpath=('$COMPL' \$fpath); autoload -Uz compinit; \
	    compinit -u -d '$T_ROOT/zcompdump'; print -r -- \$_comps[acpx]" \
	    >"$T_ROOT/c" 2>&1
	expect_cands "zsh: compinit binds _acpx to acpx from \$fpath" "_acpx" "$T_ROOT/c"
	zsh_comp codex -s '' >"$T_ROOT/c"
	expect_cands "zsh: -s offers live session names" "backend
my session" "$T_ROOT/c"
	zsh_comp codex sessions '' >"$T_ROOT/c"
	expect_has "zsh: sessions subcommands" prune "$T_ROOT/c"
	zsh_comp --format= >"$T_ROOT/c"
	expect_cands "zsh: --format=" "--format=text
--format=json
--format=quiet" "$T_ROOT/c"
	zsh_comp --cwd '' >"$T_ROOT/c"
	expect_cands "zsh: --cwd asks for directories" "_files -/" "$T_ROOT/c"
	missing=""
	while read -r path; do
		case "$path" in acpx) words="" ;; "<agent>") words=codex ;; *) words=$path ;; esac
		# shellcheck disable=SC2086
		zsh_comp $words - >"$T_ROOT/c"
		for flag in $(awk -F'\t' -v p="$path" '$1 == p { print $2 }' "$T_ROOT/options"); do
			in_list "$T_ROOT/c" "$flag" || missing="$missing [$path $flag]"
		done
	done <"$T_ROOT/paths"
	check "zsh completion offers every option of every command" \
	    "$( [ -z "$missing" ]; echo $?)" "missing:$missing"
else
	ok "# SKIP zsh is not installed (scripts/install-deps installs it)"
fi

# ------------------------------------------------------------------ fish

if have fish; then
	check "fish -n parses acpx.fish" "$(fish -n "$COMPL/acpx.fish" >/dev/null 2>&1; echo $?)"
	fish_comp "acpx codex -s " >"$T_ROOT/c"
	expect_cands "fish: -s offers live session names" "backend
my session" "$T_ROOT/c"
	fish_comp "acpx codex sessions show " >"$T_ROOT/c"
	expect_has "fish: sessions show includes closed" old "$T_ROOT/c"
	fish_comp "acpx cod" >"$T_ROOT/c"
	expect_cands "fish: agents" "codex" "$T_ROOT/c"
	fish_comp "acpx --format=q" >"$T_ROOT/c"
	expect_cands "fish: --format=q" "--format=quiet" "$T_ROOT/c"
	fish_comp "acpx --cwd su" >"$T_ROOT/c"
	expect_cands "fish: --cwd completes directories" "sub/" "$T_ROOT/c"
	missing=""
	while read -r path; do
		case "$path" in acpx) words="" ;; "<agent>") words=codex ;; *) words=$path ;; esac
		fish_comp "acpx $words -" >"$T_ROOT/c"
		for flag in $(awk -F'\t' -v p="$path" '$1 == p { print $2 }' "$T_ROOT/options"); do
			in_list "$T_ROOT/c" "$flag" || missing="$missing [$path $flag]"
		done
	done <"$T_ROOT/paths"
	check "fish completion offers every option of every command" \
	    "$( [ -z "$missing" ]; echo $?)" "missing:$missing"
else
	ok "# SKIP fish is not installed (scripts/install-deps installs it)"
fi

done_testing
