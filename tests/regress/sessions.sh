#!/bin/sh
# sessions: every subcommand in text/json/quiet against goldens captured
# from the reference acpx 0.19.1 (one HOME, the steps in order), then the
# bad-input, locking and file-format checks that need no reference.
#
# Recapture the goldens (maintainer, after a build):
#   CAPTURE=1 ACPX=/tmp/ref/node_modules/.bin/acpx MOCK=$PWD/build/x/tests/mock-agent/mock-agent \
#     SCENARIOS=$PWD/tests/mock-agent/scenarios TESTS_SRCDIR=$PWD/tests sh tests/regress/sessions.sh
. "$TESTS_SRCDIR/regress/lib.sh"

[ -n "$MOCK" ] && [ -x "$MOCK" ] || skip_all "mock agent not built"
EXP="$TESTS_SRCDIR/regress/expected/sessions"
SESS="$HOME/.acpx/sessions"
mkdir -p "$T_WORK/.git" "$T_WORK/sub/deeper"

# step NAME SCENARIO SUBDIR ARGS...: run acpx --agent $MOCK ARGS in
# $T_WORK/SUBDIR with MOCK_SCENARIO=SCENARIO ("-": none) and compare the
# normalized stdout, stderr and exit status with the goldens (a .ours file
# beside a golden records a deliberate difference).
step() {
	name=$1 scen=$2 sub=$3
	shift 3
	if [ "$scen" = - ]; then unset MOCK_SCENARIO
	else MOCK_SCENARIO="$SCENARIOS/$scen.json"; export MOCK_SCENARIO; fi
	( cd "$T_WORK/$sub" && "$ACPX" --agent "$MOCK" "$@" </dev/null \
	    >"$T_ROOT/raw.out" 2>"$T_ROOT/raw.err" )
	echo $? >"$T_ROOT/case.rc"
	unset MOCK_SCENARIO
	# Freed bytes depend on the length of the paths in the records.
	normalize "$T_ROOT/raw.out" | sed -e 's/"bytesFreed":[1-9][0-9]*/"bytesFreed":<n>/' \
	    -e 's/, freed [0-9.]* [KMG]*B$/, freed <size>/' >"$T_ROOT/case.out"
	normalize "$T_ROOT/raw.err" >"$T_ROOT/case.err"
	if [ -n "${CAPTURE:-}" ]; then
		mkdir -p "$EXP"
		for part in out err rc; do cp "$T_ROOT/case.$part" "$EXP/$name.$part"; done
		echo "# captured $name (exit $(cat "$T_ROOT/case.rc"))"
		return
	fi
	for part in rc out err; do
		want="$EXP/$name.$part"
		[ -f "$want.ours" ] && want="$want.ours"
		if cmp -s "$want" "$T_ROOT/case.$part"; then
			ok "$name: $part as the reference"
		else
			not_ok "$name: $part as the reference" \
			    "$(diff "$want" "$T_ROOT/case.$part" | head -20)"
		fi
	done
}

# ---------------------------------------------------------------- goldens
step empty-show - . sessions show
step empty-show-json - . --format json sessions show
step empty-list-local - . sessions list --local
step empty-list-agent - . sessions
step new-a sessions-id-a . sessions new
step new-b-replaces sessions-id-b . sessions new
step new-named-json sessions-id-c . --format json sessions new --name foo
step new-verbose sessions-id-e sub --verbose sessions new
step list-text - . sessions list --local
step list-json - . --format json sessions list --local
step list-quiet - . --format quiet sessions list
step list-filter - . sessions list --local --filter-cwd sub
step list-cursor-local - . sessions list --local --cursor x
step list-cursor-nocap - . sessions list --cursor x
step list-agent-text sessions-list . sessions list --filter-cwd /w
step list-agent-json sessions-list . --format json sessions list --cursor c1
step list-agent-quiet sessions-list . --format quiet sessions list
step show-text - . sessions show
step show-json - . --format json sessions show foo
step show-quiet - . --format quiet sessions show
step show-missing - . sessions show nosuch
step show-missing-json - . --format json sessions show nosuch
step show-missing-quiet - . --format quiet sessions show nosuch
step history-text - . sessions history
step history-json - . --format json sessions history foo --limit 3
step read-json - . --format json sessions read
step read-quiet - . --format quiet sessions read --tail 1
step history-limit-bad - . sessions history --limit 0
step ensure-walk - sub/deeper sessions ensure
step ensure-walk-json - sub/deeper --format json sessions ensure
step ensure-created sessions-id-d sub/deeper --format json sessions ensure --name bar
step ensure-created-text sessions-id-f sub sessions ensure --name baz
step close-text - . sessions close
step close-json - . --format json sessions close foo
step close-quiet - sub/deeper --format quiet sessions close bar
step close-again - . sessions close
step close-missing-json - . --format json sessions close nosuch
step show-closed - . sessions show
step list-after-close - . sessions list --local
step watch-closed - . sessions watch
step watch-closed-json - . --format json sessions watch
step watch-cursor-bad - . --format json sessions watch --cursor bad
step prune-dry - . sessions prune --dry-run
step prune-dry-json - . --format json sessions prune --dry-run
step prune-before - . sessions prune --before 2000-01-01
step prune-older-bad - . sessions prune --older-than 0
step new-meta sessions-meta . --format json sessions new --name meta
step show-meta - . --format json sessions show meta
step new-model sessions-models . --model m2 --format json sessions new --name model
step show-model - . --format json sessions show model
step new-model-bad sessions-models . --model nope sessions new --name bad
step resume-load sessions-load . --format json sessions new --resume-session zzz --name r1
step resume-resume sessions-resume . sessions new --resume-session yyy --name r2
step resume-unsupported - . sessions new --resume-session yyy --name r3
step resume-unsupported-json - . --format json sessions new --resume-session yyy --name r3
step resume-load-fail sessions-load-fail . sessions new --resume-session zz --name r4
step resume-load-fail-json sessions-load-fail . --format json sessions new --resume-session zz --name r4
step new-fail sessions-new-fail . sessions new --name nf
step new-fail-json sessions-new-fail . --format json sessions new --name nf
step new-fail-quiet sessions-new-fail . --format quiet sessions new --name nf
step export-missing - . sessions export --output "$T_WORK/none.json" nosuch
step export-closed - . sessions export --output "$T_WORK/a.json"
step export-json - . --format json sessions export --output "$T_WORK/b.json" meta
step import-exists - sub sessions import "$T_WORK/a.json" --name imported
step close-meta - . sessions close meta
step prune-all-json - . --format json sessions prune --include-history
step import-text - sub sessions import "$T_WORK/a.json" --name imported
step import-dup-json - sub --format json sessions import "$T_WORK/a.json" --name again
step import-json - sub --format json sessions import "$T_WORK/b.json" --name copy --cwd "$T_WORK/sub"
step import-scope-json - sub --format json sessions import "$T_WORK/b.json" --name copy --cwd "$T_WORK/sub"
step import-missing - . sessions import "$T_WORK/nonexistent.json"
step list-end - . --format json sessions list --local
step show-imported - . --format json sessions show imported
step prune-none - . sessions prune
[ -n "${CAPTURE:-}" ] && exit 0

# ---------------------------------------------------------------- files
rec=$(ls "$SESS"/*.json | head -1)
mode=$(stat -c %a "$rec" 2>/dev/null)
[ "$mode" = 600 ] && ok "record file is 0600" || not_ok "record file is 0600" "mode $mode"
mode=$(stat -c %a "$SESS" 2>/dev/null)
[ "$mode" = 700 ] && ok "sessions dir is 0700" || not_ok "sessions dir is 0700" "mode $mode"
ls -A "$SESS" | grep -q 'acpx-write\|session-turn' &&
    not_ok "no staging left behind" "$(ls -A "$SESS")" || ok "no staging left behind"

# Unknown keys survive a rewrite by us (close rewrites the record).
export MOCK_SCENARIO="$SCENARIOS/sessions-id-a.json"
run --agent "$MOCK" sessions new --name keep
unset MOCK_SCENARIO
sed -i 's/^  "schema": "acpx.session.v1",$/  "schema": "acpx.session.v1",\n  "zz_future": {"x": [1, 2.5]},/' "$SESS/sess-a.json"
run --agent "$MOCK" sessions close keep
expect_rc 0 "close a record with an unknown key"
grep -q '"zz_future": {' "$SESS/sess-a.json" && grep -q '"closed": true' "$SESS/sess-a.json" &&
    ok "unknown key kept on rewrite" || not_ok "unknown key kept on rewrite" "$(cat "$SESS/sess-a.json")"

# ---------------------------------------------------------------- bad input
printf '{"schema":"acpx.session.v1","acpx_rec' >"$SESS/trunc.json"
printf 'not json' >"$SESS/garbage.json"
printf '{"schema":"acpx.session.v9"}' >"$SESS/newer.json"
run --agent "$MOCK" sessions list --local
expect_rc 0 "corrupt records do not break a listing"
expect_err_has "warning: skipping session record $SESS/trunc.json" "truncated record named"
expect_err_has "$SESS/garbage.json" "garbage record named"
expect_err_has "$SESS/newer.json" "newer schema named"
expect_out_has "sess-a [closed]" "valid records still listed"
[ -f "$SESS/trunc.json" ] && ok "corrupt record kept" || not_ok "corrupt record kept"
rm -f "$SESS/trunc.json" "$SESS/garbage.json" "$SESS/newer.json"

# ---------------------------------------------------------------- listing index
# Text listings and completions read ~/.acpx/sessions.index; with no
# settling time every entry (and the directory's stamp) is trusted as soon
# as it is read, so the checks below go through the cached paths: they
# must never hide or invent a session.
export ACPX_SESSION_INDEX_SETTLE_MS=0
run --agent "$MOCK" sessions list --local
before=$OUT
grep -q sess-a "$SESS.index" 2>/dev/null && ok "index: written by a listing" ||
    not_ok "index: written by a listing" "$(ls -A "$SESS" "$SESS.index")"
sed 's/"sess-a"/"idx-new"/; s/"name": "keep"/"name": "idxn"/' "$SESS/sess-a.json" >"$T_ROOT/idx.json"
mv "$T_ROOT/idx.json" "$SESS/idx-new.json"
run __complete -- acpx --agent "$MOCK" sessions show idx
expect_out_has "idxn" "index: a record written by another process is completed"
# Same size, same inode, rewritten in place: the directory does not change,
# only the file's change time tells. Lookups check it (and heal the index).
sed 's/"name": "idxn"/"name": "idxm"/' "$SESS/idx-new.json" >"$T_ROOT/idx.json"
cat "$T_ROOT/idx.json" >"$SESS/idx-new.json"
idxcwd=$(sed -n 's/^  "cwd": "\(.*\)",$/\1/p' "$SESS/idx-new.json")
run --agent "$MOCK" --cwd "$idxcwd" sessions show idxm
expect_out_has "id: idx-new" "index: a lookup by name finds the record changed in place"
run --agent "$MOCK" --cwd "$idxcwd" sessions show idxn
[ "$RC" -ne 0 ] && ok "index: its old name is not found any more" ||
    not_ok "index: its old name is not found any more" "$OUT"
run --agent "$MOCK" sessions list --local
expect_out_has "idx-new [closed]	idxm	" "index: a record changed in place is listed as it is now"
rm -f "$SESS/idx-new.json"
run --agent "$MOCK" sessions list --local
[ "$OUT" = "$before" ] && ok "index: a deleted record disappears" ||
    not_ok "index: a deleted record disappears" "$OUT"
printf 'acpx-native-ix3\0ghost' >"$SESS.index"
run --agent "$MOCK" sessions list --local
[ "$OUT" = "$before" ] && ! grep -q ghost "$SESS.index" &&
    ok "index: a foreign index is rebuilt" ||
    not_ok "index: a foreign index is rebuilt" "$OUT"
head -c 100 "$SESS.index" >"$T_ROOT/idx.trunc" && mv "$T_ROOT/idx.trunc" "$SESS.index"
run --agent "$MOCK" sessions list --local
[ "$OUT" = "$before" ] && grep -q sess-a "$SESS.index" &&
    ok "index: a truncated index is rebuilt" || not_ok "index: a truncated index is rebuilt" "$OUT"
# A listing longer than one write (1,200 records, ~70 KiB of text), built
# by the checking path and read back by the cached one, line for line.
big="$T_ROOT/big"
mkdir -p "$big/.acpx/sessions"
awk -v dir="$big/.acpx/sessions" -v expf="$T_ROOT/big.exp" 'BEGIN {
	for (i = 0; i < 1200; i++) {
		id = sprintf("big-%04d", i); f = dir "/" id ".json"
		printf "{\"schema\": \"acpx.session.v1\", \"acpx_record_id\": \"%s\", \"acp_session_id\": \"%s\", \"agent_command\": \"bigagent\", \"cwd\": \"/w/p%d\", \"name\": \"n%d\", \"created_at\": \"2026-01-01T00:00:00.000Z\", \"last_used_at\": \"2026-01-01T00:00:00.000Z\", \"last_seq\": 0, \"event_log\": {\"active_path\": \"x\", \"segment_count\": 1, \"max_segment_bytes\": 1, \"max_segments\": 1, \"last_write_error\": null}, \"closed\": false, \"messages\": [], \"updated_at\": \"2026-01-01T00:00:00.000Z\", \"cumulative_token_usage\": {}, \"request_token_usage\": {}}\n", id, id, i % 3, i > f
		close(f)
		printf "%s\tn%d\t/w/p%d\t2026-01-01T00:00:00.000Z\n", id, i, i % 3 > expf
	}
}'
HOME=$big "$ACPX" --agent bigagent sessions list --local >"$T_ROOT/big.1" 2>&1
HOME=$big "$ACPX" --agent bigagent sessions list --local >"$T_ROOT/big.2" 2>&1
cmp -s "$T_ROOT/big.1" "$T_ROOT/big.exp" && cmp -s "$T_ROOT/big.2" "$T_ROOT/big.exp" &&
    ok "index: a long listing, checked and cached, is every line in order" ||
    not_ok "index: a long listing, checked and cached, is every line in order" \
    "$(diff "$T_ROOT/big.exp" "$T_ROOT/big.1" | head -5; diff "$T_ROOT/big.exp" "$T_ROOT/big.2" | head -5)"
rm -rf "$big"
unset ACPX_SESSION_INDEX_SETTLE_MS

# Names: slashes, unicode, very long; the file name derives from the id only.
long=$(printf '%0300d' 0)
for nm in 'a/b c' 'ünï ✓' "$long"; do
	export MOCK_SCENARIO="$SCENARIOS/sessions-id-b.json"
	run --agent "$MOCK" --format json sessions new --name "$nm"
	unset MOCK_SCENARIO
	expect_rc 0 "new with name of ${#nm} bytes"
	run --agent "$MOCK" --format quiet sessions show "$nm"
	expect_out "sess-b
" "show finds the name of ${#nm} bytes"
done
run --agent "$MOCK" sessions new --name '   '
expect_rc 1 "blank name rejected"

# Two concurrent ensures on one scope: exactly one creates.
rm -rf "$SESS"
export MOCK_SCENARIO="$SCENARIOS/sessions-id-c.json"
( cd "$T_WORK" && "$ACPX" --agent "$MOCK" sessions ensure --name pair >"$T_ROOT/e1" 2>/dev/null ) &
p1=$!; track_pid $p1
( cd "$T_WORK" && "$ACPX" --agent "$MOCK" sessions ensure --name pair >"$T_ROOT/e2" 2>/dev/null ) &
p2=$!; track_pid $p2
wait $p1; wait $p2
unset MOCK_SCENARIO
created=$(cat "$T_ROOT/e1" "$T_ROOT/e2" | grep -c '(created)')
existing=$(cat "$T_ROOT/e1" "$T_ROOT/e2" | grep -c '(existing)')
[ "$created" = 1 ] && [ "$existing" = 1 ] && ok "concurrent ensure: one created, one existing" ||
    not_ok "concurrent ensure: one created, one existing" "$(cat "$T_ROOT/e1" "$T_ROOT/e2")"
ls "$SESS" | grep -q 'ensure%3A.*stream.lock' &&
    not_ok "ensure lock released" "$(ls "$SESS")" || ok "ensure lock released"

# Two concurrent news on one scope: both records stay valid.
export MOCK_SCENARIO="$SCENARIOS/sessions-id-a.json"
( cd "$T_WORK" && "$ACPX" --agent "$MOCK" sessions new >/dev/null 2>&1 ) &
p1=$!; track_pid $p1
export MOCK_SCENARIO="$SCENARIOS/sessions-id-b.json"
( cd "$T_WORK" && "$ACPX" --agent "$MOCK" sessions new >/dev/null 2>&1 ) &
p2=$!; track_pid $p2
wait $p1; wait $p2
unset MOCK_SCENARIO
run --agent "$MOCK" --format json sessions list --local
expect_rc 0 "concurrent new: list works"
n=$(printf '%s' "$OUT" | grep -o '"acpxRecordId"' | wc -l)
[ "$n" -ge 3 ] && ok "concurrent new: all records parse" || not_ok "concurrent new: all records parse" "$OUT"

# ---------------------------------------------------------------- locks
# A turn lock left by a dead process is recovered by close.
export MOCK_SCENARIO="$SCENARIOS/sessions-id-d.json"
run --agent "$MOCK" sessions new --name locked
unset MOCK_SCENARIO
sh -c 'exit 0' & dead=$!; wait $dead
printf '{\n  "pid": %s\n}\n' "$dead" >"$SESS/sess-d.stream.lock"
printf '{\n  "pid": %s\n}\n\t\t\t\t\t\t\t\t%s\n' "$dead" "$(printf '%128s' '' | tr ' ' '\t')" \
    >"$SESS/sess-d.stream.lock.guard"
run --agent "$MOCK" sessions close locked
expect_rc 0 "stale lock of a dead process recovered"
[ -e "$SESS/sess-d.stream.lock" ] || [ -e "$SESS/sess-d.stream.lock.guard" ] &&
    not_ok "stale lock files removed" "$(ls "$SESS")" || ok "stale lock files removed"

# A lock held by a live process is never stolen (close keeps waiting).
export MOCK_SCENARIO="$SCENARIOS/sessions-id-d.json"
run --agent "$MOCK" sessions new --name held
unset MOCK_SCENARIO
sleep 30 & live=$!; track_pid $live
printf '{\n  "pid": %s\n}\n' "$live" >"$SESS/sess-d.stream.lock"
cp "$SESS/sess-d.stream.lock" "$T_ROOT/lock.before"
( cd "$T_WORK" && exec "$ACPX" --agent "$MOCK" sessions close held >/dev/null 2>&1 ) &
closer=$!; track_pid $closer
sleep 1
if kill -0 $closer 2>/dev/null; then ok "close waits for a live holder"
else not_ok "close waits for a live holder"; fi
cmp -s "$SESS/sess-d.stream.lock" "$T_ROOT/lock.before" && ok "live lock untouched" ||
    not_ok "live lock untouched"
grep -q '"closed": false' "$SESS/sess-d.json" && ok "record not closed while locked" ||
    not_ok "record not closed while locked"
kill $closer 2>/dev/null; wait $closer 2>/dev/null
kill $live 2>/dev/null; wait $live 2>/dev/null
rm -f "$SESS/sess-d.stream.lock"

# ---------------------------------------------------------------- disk full
# An LD_PRELOAD shim makes writes to staged records fail with ENOSPC.
CC=${CC:-cc}
cat >"$T_ROOT/enospc.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
ssize_t write(int fd, const void *buf, size_t n) {
	static ssize_t (*real)(int, const void *, size_t);
	char p[64], t[PATH_MAX]; ssize_t l;
	if (!real) real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	if ((l = readlink(p, t, sizeof t - 1)) > 0) { t[l] = 0;
		if (strstr(t, "/acpx-write-") && strstr(t, "/record.json")) { errno = ENOSPC; return -1; } }
	return real(fd, buf, n);
}
EOF
if $CC -shared -fPIC -o "$T_ROOT/enospc.so" "$T_ROOT/enospc.c" -ldl 2>/dev/null; then
	cp "$SESS/sess-d.json" "$T_ROOT/before.json"
	( cd "$T_WORK" && ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	    LD_PRELOAD="$T_ROOT/enospc.so" "$ACPX" --agent "$MOCK" \
	    sessions close held >"$T_ROOT/out" 2>"$T_ROOT/err" ); RC=$?
	ERR=$(cat "$T_ROOT/err")
	expect_rc 1 "disk full: close fails"
	expect_err_has "No space left on device" "disk full: error names ENOSPC"
	cmp -s "$SESS/sess-d.json" "$T_ROOT/before.json" && ok "disk full: old record intact" ||
	    not_ok "disk full: old record intact"
	ls -A "$SESS" | grep -q acpx-write && not_ok "disk full: no staging left" ||
	    ok "disk full: no staging left"
else
	ok "disk full # SKIP no C compiler for the LD_PRELOAD shim"
fi

done_testing
