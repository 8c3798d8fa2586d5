#!/bin/sh
# Load (bounded): 10,000 session records in the store (sessions list,
# status and completion still work), 20 sessions with owners at once, and
# 50 clients submitting to one session at once (each served exactly once,
# or cleanly refused with QUEUE_OWNER_OVERLOADED; none lost or duplicated).
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
STORE="$HOME/.acpx/sessions"
N_RECORDS=${LOAD_RECORDS:-10000}

wait_owners() {
	poll '! ls "$HOME"/.acpx/queues/*.lock >/dev/null 2>&1' || true
}

# ---------------------------------------------------------------- 10,000 records
AG="$MOCK --supports-load-session"
run --agent "$AG" sessions new --name load-template
expect_rc 0 "a template record"
tmpl="$STORE/mock-session-1.json"
[ -f "$tmpl" ] || skip_all "no record file to clone"
# Clone it N times in one awk process: new ids, names and file names.
awk -v n="$N_RECORDS" -v dir="$STORE" '
	{ line[NR] = $0 }
	END {
		for (i = 1; i <= n; i++) {
			id = "load-" i; f = dir "/" id ".json"
			for (j = 1; j <= NR; j++) {
				l = line[j]
				gsub(/mock-session-1/, id, l)
				gsub(/"load-template"/, "\"name-" i "\"", l)
				print l > f
			}
			close(f)
		}
	}' "$tmpl"
chmod 600 "$STORE"/*.json
n=$(ls "$STORE" | grep -c '\.json$')
[ "$n" -eq $((N_RECORDS + 1)) ] && ok "$n records in the store" ||
    not_ok "$N_RECORDS records in the store" "$n"

run --agent "$AG" --format json sessions list
expect_rc 0 "sessions list with $n records"
c=$(printf '%s' "$OUT" | grep -o '"acpxRecordId":"[^"]*"' | sort -u | wc -l)
[ "$c" -eq "$n" ] && ok "sessions list shows all $n records" ||
    not_ok "sessions list shows all $n records" "$c listed"
run --agent "$AG" --format json sessions list --local
expect_rc 0 "sessions list --local with $n records"
run --agent "$AG" status
expect_rc 0 "status with $n records"
run --agent "$AG" sessions show name-5000
expect_rc 0 "sessions show of one of $n"
expect_out_has "load-5000" "sessions show finds it"
run __complete -- acpx --agent "$AG" sessions close name-999
expect_rc 0 "completion with $n records"
expect_out_has "name-9999" "completion offers a name among $n"
rm -f "$STORE"/load-*.json

# ---------------------------------------------------------------- 20 owners at once
i=1
while [ $i -le 20 ]; do
	mkdir -p "$T_ROOT/s$i"
	( cd "$T_ROOT/s$i" && "$ACPX" --agent "$MOCK --session-id sess-$i" \
	    sessions new >/dev/null 2>&1 )
	i=$((i + 1))
done
i=1
while [ $i -le 20 ]; do
	( cd "$T_ROOT/s$i" && "$ACPX" --agent "$MOCK --session-id sess-$i" --ttl 1 \
	    "echo owner-$i-done" \
	    >"$T_ROOT/s$i.out" 2>"$T_ROOT/s$i.err"; echo $? >"$T_ROOT/s$i.rc" ) &
	i=$((i + 1))
done
wait
bad=""
i=1
while [ $i -le 20 ]; do
	[ "$(cat "$T_ROOT/s$i.rc")" = 0 ] && grep -q "owner-$i-done" "$T_ROOT/s$i.out" ||
	    bad="$bad s$i:$(cat "$T_ROOT/s$i.rc"):$(head -c 200 "$T_ROOT/s$i.err")"
	i=$((i + 1))
done
[ -z "$bad" ] && ok "20 sessions with owners at once all answer" ||
    not_ok "20 sessions with owners at once all answer" "$bad"
wait_owners

# ---------------------------------------------------------------- 50 clients, one session
mkdir -p "$T_ROOT/one"
REC="$T_ROOT/one.rec"
AG1="$MOCK --record $REC"
( cd "$T_ROOT/one" && "$ACPX" --agent "$AG1" sessions new >/dev/null 2>&1 )
# The first prompt starts the owner; the other 49 race it.
i=1
while [ $i -le 50 ]; do
	( cd "$T_ROOT/one" && "$ACPX" --agent "$AG1" --format json --ttl 3 \
	    "echo client-$i-served" \
	    >"$T_ROOT/c$i.out" 2>"$T_ROOT/c$i.err"; echo $? >"$T_ROOT/c$i.rc" ) &
	i=$((i + 1))
done
wait
served=0 refused=0 bad=""
i=1
while [ $i -le 50 ]; do
	rc=$(cat "$T_ROOT/c$i.rc")
	seen=$(grep -c "\"text\":\"echo client-$i-served\"" "$REC" 2>/dev/null)
	if [ "$rc" = 0 ] && grep -q "client-$i-served" "$T_ROOT/c$i.out" &&
	    [ "$seen" -eq 1 ]; then
		served=$((served + 1))
	elif grep -q QUEUE_OWNER_OVERLOADED "$T_ROOT/c$i.err" "$T_ROOT/c$i.out" &&
	    [ "$seen" -eq 0 ]; then
		refused=$((refused + 1))
	else
		bad="$bad c$i:rc=$rc,seen=$seen:$(head -c 300 "$T_ROOT/c$i.err")"
	fi
	i=$((i + 1))
done
echo "# 50 clients: $served served, $refused refused"
[ -z "$bad" ] && ok "50 clients: each served once or cleanly refused ($served served, $refused refused)" ||
    not_ok "50 clients: each served once or cleanly refused" "$bad"
expect_received "$REC" '{"received": [{"method": "session/prompt",
    "count": '"$served"', "name": "the agent saw exactly the '"$served"' served prompts"}]}'
wait_owners
done_testing
