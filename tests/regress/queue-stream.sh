#!/bin/sh
# A long answer streamed through the queue owner: every chunk reaches the
# submitter in order and the journal, whatever the reader does. A quiet
# prompt asks for merged text chunks (mergeTextChunks, acpx-native): the
# owner joins consecutive plain agent_message_chunk notifications into one
# event (a thought or a usage update in between is relayed as itself);
# json output and a submitter that does not ask get one event per chunk; a
# slow reader and one that leaves mid-stream lose and reorder nothing.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
command -v perl >/dev/null 2>&1 && perl -MJSON::PP -e 1 2>/dev/null ||
    skip_all "perl with JSON::PP needed for the raw socket clients"

N=1200
S="$T_ROOT/stream.json"
E="$T_ROOT/expected"
EM="$T_ROOT/expected-marked"	# a "|" where a thought comes
# N numbered chunks of 200 bytes (240 KB: more than a socket buffer and
# several merged events), a thought every 400, one usage update, end_turn.
perl -e '
	my ($n, $s, $e, $em) = @ARGV;
	open(my $sf, ">", $s) or die; open(my $ef, ">", $e) or die;
	open(my $mf, ">", $em) or die;
	my @steps;
	for my $i (1 .. $n) {
		my $t = sprintf("c%04d ", $i) . ("x" x 194);
		push @steps, "{\"chunk\":\"$t\"}";
		print $ef $t;
		print $mf $t, ($i % 400 == 0 ? "|" : "");
		push @steps, "{\"thought\":\"t$i\"}" if $i % 400 == 0;
		push @steps, "{\"update\":{\"sessionUpdate\":\"usage_update\",\"used\":5,\"size\":100}}"
		    if $i == 700;
	}
	push @steps, "{\"stop\":\"end_turn\"}";
	print $sf "{\"default_turn\":[", join(",", @steps), "]}\n";
	print $ef "\n"; print $mf "\n";' "$N" "$S" "$E" "$EM"

AGENT="$MOCK --supports-load-session --scenario $S"
( cd "$T_WORK" && git init -q . ) 2>/dev/null
q() { run --agent "$AGENT" "$@"; }

journal() { ls "$HOME"/.acpx/sessions/*.stream.ndjson | head -n 1; }
chunks_journaled() { grep -c '"sessionUpdate":"agent_message_chunk"' "$(journal)"; }
turns_ended() { grep -c '"type":"turn_result"' "$(journal)"; }

q sessions new
expect_rc 0 "a session"
q --format quiet "go"
expect_out_file "$E" "a quiet prompt prints every chunk in order"
[ "$(chunks_journaled)" = "$N" ] && ok "the journal has every chunk" ||
    not_ok "the journal has every chunk" "$(chunks_journaled) of $N"

q --format json "go"
n=$(printf '%s' "$OUT" | grep -c '"sessionUpdate":"agent_message_chunk"')
[ "$n" = "$N" ] && ok "json output: one event per chunk" ||
    not_ok "json output: one event per chunk" "$n of $N"

# raw MERGE MODE: a submit_prompt on the owner's socket; prints the events'
# agent_message_chunk count, the largest text, the last reply's type, and
# writes the joined text to $T_ROOT/raw.txt, a "|" for each thought. MODE: read (all, in 4 KiB reads
# with a pause between), leave (after the first event).
raw() {
	sock=$(sed -n 's/^  "socketPath": "\(.*\)",$/\1/p' "$(lease)")
	perl -MIO::Socket::UNIX -MJSON::PP -e '
	    my ($sock, $merge, $mode, $txt) = @ARGV;
	    my $s = IO::Socket::UNIX->new(Peer => $sock) or die "connect: $!";
	    my %r = (type => "submit_prompt", requestId => "raw-$$-$mode",
		message => "go", permissionMode => "approve-all",
		waitForCompletion => JSON::PP::true);
	    $r{mergeTextChunks} = JSON::PP::true if $merge;
	    print $s JSON::PP->new->canonical->encode(\%r), "\n";
	    my ($buf, $n, $max, $last, $text) = ("", 0, 0, "", "");
	    while (1) {
		my $got = sysread($s, $buf, 4096, length $buf);
		last unless $got;
		# The texts hold no quote or escape: a pattern reads them
		# (JSON::PP would cost seconds of CPU on these lines).
		while ($buf =~ s/^([^\n]*)\n//) {
		    my $l = $1;
		    ($last) = $l =~ /^\{"type":"([a-z_]+)"/ or die "bad line: $l";
		    next unless $last eq "event";
		    exit 0 if $mode eq "leave";
		    $text .= "|" if $l =~ /"sessionUpdate":"agent_thought_chunk"/;
		    next unless $l =~ /"sessionUpdate":"agent_message_chunk"/;
		    my ($t) = $l =~ /"text":"([^"\\]*)"/ or die "no text: $l";
		    $n++;
		    $max = length $t if length $t > $max;
		    $text .= $t;
		}
		select(undef, undef, undef, 0.001);
	    }
	    open(my $f, ">", $txt) or die; print $f $text, "\n";
	    print "$n $max $last\n";' "$sock" "$1" "$2" "$T_ROOT/raw.txt"
}

set -- $(raw 1 read)
[ "${3:-}" = result ] && cmp -s "$EM" "$T_ROOT/raw.txt" &&
    ok "a slow reader of merged chunks gets every chunk in order, thoughts between" ||
    not_ok "a slow reader of merged chunks gets every chunk in order, thoughts between" "$*"
[ "${1:-0}" -gt 0 ] && [ "$1" -lt "$N" ] && [ "${2:-0}" -le 65536 ] &&
    ok "merged: fewer events than chunks, none over 64 KiB of text" ||
    not_ok "merged: fewer events than chunks, none over 64 KiB of text" "$*"

set -- $(raw 0 read)
[ "${1:-}" = "$N" ] && [ "${3:-}" = result ] && cmp -s "$EM" "$T_ROOT/raw.txt" &&
    ok "without mergeTextChunks: one event per chunk, in order" ||
    not_ok "without mergeTextChunks: one event per chunk, in order" "$*"

ended=$(turns_ended)
raw 1 leave >/dev/null
poll '[ "$(turns_ended)" -gt "$ended" ]'
[ "$(chunks_journaled)" = "$((N * 5))" ] &&
    ok "a reader that leaves mid-stream: the turn is journaled whole" ||
    not_ok "a reader that leaves mid-stream: the turn is journaled whole" \
    "$(chunks_journaled) of $((N * 5))"
q --format quiet "go"
expect_out_file "$E" "the owner serves the next prompt"

# A client stopped mid-stream (SIGSTOP, Ctrl-Z) is not dropped: once it
# reads nothing for a second the agent goes on without waiting for it, its
# output is kept, and it gets all of it when it runs again. 6000 chunks
# of 200 bytes: more than the socket, the owner's high-water mark and the
# agent's pipe hold together.
S2="$T_ROOT/stream2.json"
perl -e 'print "{\"default_turn\":[", join(",", map { sprintf("{\"chunk\":\"s%05d %s\"}", $_, "y" x 193) } 1 .. 6000), ",{\"stop\":\"end_turn\"}]}\n"' >"$S2"
AGENT2="$MOCK --supports-load-session --session-id stop-1 --scenario $S2"
run --agent "$AGENT2" sessions new
expect_rc 0 "a second session"
all_turns() { cat "$HOME"/.acpx/sessions/*.stream.ndjson | grep -c '"type":"turn_result"'; }
ended=$(all_turns)
( cd "$T_WORK" && exec "$ACPX" --agent "$AGENT2" --format json --ttl 60 "go" \
    >"$T_ROOT/stopped.out" 2>"$T_ROOT/stopped.err" ) &
cpid=$!
track_pid $cpid
poll "[ -s '$T_ROOT/stopped.out' ]"
kill -STOP $cpid
poll '[ "$(all_turns)" -gt "$ended" ]' &&
    ok "a stopped client: the turn ends without it" ||
    not_ok "a stopped client: the turn ends without it" "$(all_turns) turns"
kill -CONT $cpid
wait $cpid
rc=$?
n=$(grep -c '"sessionUpdate":"agent_message_chunk"' "$T_ROOT/stopped.out")
[ "$rc" = 0 ] && [ "$n" = 6000 ] && grep -q '"stopReason":"end_turn"' "$T_ROOT/stopped.out" &&
    ok "a stopped client gets the whole stream and the result when it runs again" ||
    not_ok "a stopped client gets the whole stream and the result when it runs again" \
    "exit $rc, $n of 6000 chunks" "$(tail -c 600 "$T_ROOT/stopped.err")"

stop_owner
done_testing
