#!/bin/sh
# Sessions side by side with the reference acpx 0.19.1, both directions on
# one HOME: records and journals written by one implementation are read,
# routed to, closed, watched, exported and imported by the other, and the
# files each writes for the same commands are identical.
. "$TESTS_SRCDIR/regress/lib.sh"
. "$TESTS_SRCDIR/compat/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

AGENT="$MOCK --supports-load-session"
SESS="$HOME/.acpx/sessions"
mkdir -p "$T_WORK/.git"

# with BIN ARGS...: run BIN (ours or the reference) in $T_WORK; OUT, ERR, RC.
with() {
	bin=$1; shift
	( cd "$T_WORK" && "$bin" "$@" </dev/null >"$T_ROOT/out" 2>"$T_ROOT/err" )
	RC=$?
	OUT=$(cat "$T_ROOT/out"; printf x); OUT=${OUT%x}
	ERR=$(cat "$T_ROOT/err"; printf x); ERR=${ERR%x}
}

# same NAME ARGS...: ours and the reference print the same for ARGS.
same() {
	name=$1; shift
	with "$REF" "$@"; r_out=$OUT r_err=$ERR r_rc=$RC
	with "$ACPX" "$@"
	if [ "$r_rc" = "$RC" ] && [ "$r_out" = "$OUT" ] && [ "$r_err" = "$ERR" ]; then
		ok "$name: same output as the reference"
	else
		not_ok "$name: same output as the reference" "ref rc=$r_rc out=$r_out err=$r_err" \
		    "our rc=$RC out=$OUT err=$ERR"
	fi
}

# Wait (bounded) for the reference's queue owner to leave.
owner_gone() {
	i=0
	while [ $i -lt 1200 ] && ls "$HOME/.acpx/queues/"*.lock >/dev/null 2>&1; do
		sleep 0.1; i=$((i + 1))
	done
}

# ---------------------------------------------- ours creates, reference uses
with "$ACPX" --agent "$AGENT" sessions new
expect_rc 0 "ours: sessions new"
same "show our record" --agent "$AGENT" sessions show
same "list our record" --agent "$AGENT" --format json sessions list --local
with "$REF" --agent "$AGENT" --ttl 1 prompt "echo hello world"
expect_rc 0 "reference prompts on our record (session/load)"
expect_out_has "hello world" "reference prompt answered"
owner_gone
same "history of the reference's turn" --agent "$AGENT" sessions history
same "show after the reference's turn" --agent "$AGENT" --format json sessions show

# Ours closes it (soft-close by new) and the reference sees it closed.
with "$ACPX" --agent "$AGENT" sessions close
expect_rc 0 "ours closes the reference-updated record"
with "$REF" --agent "$AGENT" sessions show
expect_out_has "closed: yes" "reference sees our close"
same "watch the reference's journal (json)" --agent "$AGENT" --format json sessions watch
same "watch from a cursor" --agent "$AGENT" --format json sessions watch --cursor WyJtb2NrLXNlc3Npb24tMSIsNV0
same "watch a closed session (text)" --agent "$AGENT" sessions watch
same "watch a closed session (quiet)" --agent "$AGENT" --format quiet sessions watch
same "history after close" --agent "$AGENT" --format json sessions history

# ---------------------------------------------- reference creates, ours uses
export MOCK_SCENARIO="$SCENARIOS/sessions-id-b.json"
with "$REF" --agent "$AGENT" sessions new --name theirs
expect_rc 0 "reference: sessions new --name theirs"
unset MOCK_SCENARIO
with "$REF" --agent "$AGENT" --ttl 1 prompt -s theirs "echo from the reference"
expect_rc 0 "reference prompts on its record"
owner_gone
same "show their record" --agent "$AGENT" sessions show theirs
same "list both" --agent "$AGENT" sessions list --local
same "read their record" --agent "$AGENT" --format json sessions read theirs
with "$ACPX" --agent "$AGENT" --format json sessions ensure --name theirs
expect_out_has '"created":false' "ours routes ensure to their record"
with "$ACPX" --agent "$AGENT" sessions export --output "$T_WORK/theirs.json" theirs
expect_rc 0 "ours exports their record"
with "$REF" --agent "$AGENT" sessions close theirs
expect_rc 0 "reference closes after our ensure"
with "$REF" --agent "$AGENT" sessions import "$T_WORK/theirs.json" --name copy
expect_rc 2 "reference refuses to import over the existing provider session"
with "$ACPX" --agent "$AGENT" --format json sessions prune --include-history
expect_out_has '"count":2' "ours prunes both closed records"
with "$REF" --agent "$AGENT" --format json sessions import "$T_WORK/theirs.json" --name copy
expect_out_has '"action":"session_imported"' "reference imports our export"
same "show the reference's import" --agent "$AGENT" --format json sessions history copy
with "$REF" --agent "$AGENT" --format quiet sessions show copy
id=$OUT
with "$ACPX" --agent "$AGENT" --format quiet sessions show copy
[ "$OUT" = "$id" ] && ok "ours finds the imported record" || not_ok "ours finds the imported record" "$OUT vs $id"

# ---------------------------------------------- the same files either way
rm -rf "$HOME/.acpx"
files_of() {
	bin=$1
	rm -rf "$HOME/.acpx"
	for s in a b c meta; do
		export MOCK_SCENARIO="$SCENARIOS/sessions-$s.json"
		[ $s = meta ] || MOCK_SCENARIO="$SCENARIOS/sessions-id-$s.json"
		with "$bin" --agent "$MOCK" sessions new --name n$s
	done
	unset MOCK_SCENARIO
	with "$bin" --agent "$MOCK" sessions close nb
	( cd "$SESS" && for f in *; do echo "== $f"; normalize "$f"; done ) >"$T_ROOT/files.$2"
}
files_of "$REF" ref
files_of "$ACPX" ours
if cmp -s "$T_ROOT/files.ref" "$T_ROOT/files.ours"; then ok "record files identical to the reference's"
else not_ok "record files identical to the reference's" "$(diff "$T_ROOT/files.ref" "$T_ROOT/files.ours" | head -30)"; fi

done_testing
