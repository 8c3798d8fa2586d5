#!/bin/sh
# prompt-index: a warm prompt finds its session through the listing index
# without parsing the record: the queue owner notes the record it has just
# saved (an entry that holds while the file has exactly those bytes, by
# size and hash). A record changed or corrupted after that, even in place
# with the same size, is read again: the lookup picks what the file says.
. "$TESTS_SRCDIR/regress/lib.sh"

[ -n "$MOCK" ] && [ -x "$MOCK" ] || skip_all "mock agent not built"
SESS="$HOME/.acpx/sessions"
# No record is ever old enough to be trusted by its stat alone: only the
# owner's note can put a record's fields in the index.
export ACPX_SESSION_INDEX_SETTLE_MS=600000

run --agent "$MOCK" sessions new --name aaaa
expect_rc 0 "sessions new --name aaaa"
rec=$(grep -l '"name": "aaaa"' "$SESS"/*.json)
run --agent "$MOCK" --ttl 60 --format quiet prompt -s aaaa "echo one"
expect_out "one
" "a first prompt starts the owner and answers"
grep -q -F "$T_WORK" "$SESS.index" 2>/dev/null &&
    ok "the owner noted the record it saved in the index" ||
    not_ok "the owner noted the record it saved in the index" \
    "$(od -c "$SESS.index" 2>&1 | head -20)"
run --agent "$MOCK" --ttl 60 --format quiet prompt -s aaaa "echo two"
expect_out "two
" "the next prompt finds the session through the noted entry"

# Same size, same inode, written in place within the settling time.
sed 's/"name": "aaaa"/"name": "bbbb"/' "$rec" >"$T_ROOT/rec.json"
cat "$T_ROOT/rec.json" >"$rec"
run --agent "$MOCK" --ttl 60 --format quiet prompt -s aaaa "echo three"
[ "$RC" -ne 0 ] && expect_err_has "No acpx session found" \
    "a record renamed in place is not found by its old name" ||
    not_ok "a record renamed in place is not found by its old name" "$RC $OUT"
run --agent "$MOCK" --ttl 60 --format quiet prompt -s bbbb "echo four"
expect_out "four
" "it is found by its new name"

# Corrupt in place, same size: read, refused, not found.
sed '1s/{/[/' "$rec" >"$T_ROOT/rec.json"
[ "$(wc -c <"$T_ROOT/rec.json")" = "$(wc -c <"$rec")" ] || not_ok "same size" ""
cat "$T_ROOT/rec.json" >"$rec"
run --agent "$MOCK" --ttl 60 --format quiet prompt -s bbbb "echo five"
[ "$RC" -ne 0 ] && expect_err_has "No acpx session found" \
    "a record corrupted in place after the note is not used" ||
    not_ok "a record corrupted in place after the note is not used" "$RC $OUT"
stop_owner
done_testing
