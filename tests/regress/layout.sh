#!/bin/sh
# The source tree's shape, as plain checks on the files (and, for the
# exported symbols, on the built library): only the command-line surface
# (cli*, cmd*, complete*, output*, main.c) includes cli.h, cli-impl.h,
# cli-invocation.h (the invocation) or cmd.h (the command table),
# directly or through another header; the sessionUpdate kind strings are
# spelled only in src/acp-update.c (the demo agent, which sends them, is a
# program of its own in demo-agent/, outside the library);
# no src/*.c over 800 lines and the median under 350; every exported symbol
# carries its file's prefix (acp_update_* in acp-update.c) or that of the
# module the file is a part of (session_record_* in session-record-disk.c,
# a part of session-record.c); no include cycle larger than one module (a
# header, the .c files implementing it and its internal header); every
# src/*.c and include/*.h named in Makefile.am (or make dist leaves it out).
#
# A check listed in LAYOUT_PENDING (names below; empty by default: every
# check is strict) is reported as skipped with its findings, for a branch
# on its way to a rule.
. "$TESTS_SRCDIR/regress/lib.sh"
TOP=$(cd "$TESTS_SRCDIR/.." && pwd)
LIB=$(dirname "$ACPX")/libacpx.a
: "${LAYOUT_PENDING=}"
: "${LAYOUT_SYMBOLS_PENDING=}"
LAYOUT_SYMBOLS_PENDING=$(echo $LAYOUT_SYMBOLS_PENDING)

# check NAME DESCRIPTION FINDINGS: ok when FINDINGS is empty; a pending
# check that has findings is skipped (TAP SKIP) and shows them.
check() {
	case " $LAYOUT_PENDING " in *" $1 "*) pending=1 ;; *) pending=0 ;; esac
	if [ -z "$3" ]; then
		ok "$2"
	elif [ $pending = 1 ]; then
		t_n=$((t_n + 1))
		echo "ok $t_n - $2 # SKIP not yet true: $(printf '%s\n' "$3" | wc -l) findings"
		printf '%s\n' "$3" | sed 's/^/#   /'
	else
		not_ok "$2" "$3"
	fi
}

# ---------------------------------------------------------------- cli.h
# The include table, read once: "FILE HEADER" for every local include of
# src/*.c and include/*.h (FILE relative to the top, HEADER as written),
# and "FILE -" for every file, so that a file without includes is there.
( cd "$TOP" && for f in src/*.c include/*.h; do echo "$f -"; done
  cd "$TOP" && grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' src/*.c include/*.h |
      sed 's/^\([^:]*\):.*"\([^"]*\)".*/\1 \2/' ) >"$T_ROOT/incs"
# The headers a file reaches through include/ (its closure), for each file
# outside the surface (cli*, cmd*, complete*, output*, main.c).
found=$(awk '
{ f = $1; files[f] = 1; if ($2 != "-") inc[f] = inc[f] " " $2 }
$1 ~ /^include\// { b = $1; sub(/^include\//, "", b); ishdr[b] = 1 }
END {
	split("cli.h cli-impl.h cli-invocation.h cmd.h", bad, " ")
	for (f in files) {
		b = f; sub(/.*\//, "", b)
		if (b ~ /^(cli|cmd|complete|output)/ || b == "main.c") continue
		split("", seen); todo = inc[f]
		while (todo != "") {
			k = split(todo, e, " "); todo = ""
			for (i = 1; i <= k; i++) {
				if (e[i] in seen) continue
				seen[e[i]] = 1
				if (e[i] in ishdr) todo = todo " " inc["include/" e[i]]
			}
		}
		via = ""
		for (i = 1; i <= 4; i++) if (bad[i] in seen) via = via " " bad[i]
		if (via != "") print f " reaches" via
	}
}' "$T_ROOT/incs" | sort)
check cli-include "cli.h, cli-impl.h, cli-invocation.h and cmd.h are included only by the surface (cli*, cmd*, complete*, output*, main.c)" "$found"

# ---------------------------------------------------------------- sessionUpdate kinds
KINDS="user_message_chunk agent_message_chunk agent_thought_chunk tool_call
tool_call_update plan available_commands_update current_mode_update
config_option_update session_info_update usage_update quota_update"
# One grep over every file but the table (a grep that fails, status 2, is
# a finding too: the check never passes without having looked).
files=$(ls "$TOP"/src/*.c "$TOP"/include/*.h | grep -v '/src/acp-update\.c$')
alt=$(echo $KINDS | tr ' ' '|')
found=$(grep -nE "\"($alt)\\\\?\"" $files; st=$?
	[ $st -le 1 ] || echo "grep failed (status $st)")
found=$(printf '%s' "$found" | sed "s#^$TOP/##")
check update-kinds "sessionUpdate kinds are spelled only in src/acp-update.c" "$found"

# ---------------------------------------------------------------- include cycles
# Modules: a header with the .c files that implement it (foo-bar.c belongs
# to foo-bar.h, else to the header of its longest prefix, foo.h; an
# internal header foo-bar-impl.h the same way);
# acpx.c, which holds main(), is the module "main". The edges are the
# "#include" lines; two modules are in one cycle when each reaches the
# other. A cycle of one module (with its own internal header) is fine.
awk '
{ files[$1] = 1; if ($2 != "-") { from[++n] = $1; to[n] = $2 } }
$1 ~ /^include\// { b = $1; sub(/^include\//, "", b); ishdr[b] = 1 }
function modof(f,   b, s, p) {	# a file (or header basename) -> its module
	b = f; sub(/.*\//, "", b)
	s = b; sub(/\.[ch]$/, "", s)
	if (b ~ /-impl\.h$/) sub(/-impl$/, "", s)
	else if (b ~ /\.h$/) return s
	p = s
	while (!((p ".h") in ishdr)) {
		if (p ~ /-/) sub(/-[^-]*$/, "", p)
		else { p = s; break }
	}
	return p
}
END {
	for (f in files) print modof(f), modof(f)
	for (i = 1; i <= n; i++) {
		if (!(to[i] in ishdr)) continue
		m = modof(from[i]); t = modof(to[i])
		if (t != m) print m, t
	}
}' "$T_ROOT/incs" | sort -u >"$T_ROOT/edges"
cycles=$(awk '
{ n[$1] = 1; n[$2] = 1; if ($1 != $2) adj[$1] = adj[$1] " " $2 }
END {
	for (a in n) {		# reach[a, b]: b is reachable from a
		split("", seen); q[1] = a; h = 1; t = 1; seen[a] = 1
		while (h <= t) {
			k = split(adj[q[h++]], e, " ")
			for (i = 1; i <= k; i++)
				if (!(e[i] in seen)) { seen[e[i]] = 1; q[++t] = e[i] }
		}
		for (b in seen) reach[a, b] = 1
	}
	for (a in n) {
		if (a in done) continue
		c = ""; m = 0
		for (b in n) if (((a, b) in reach) && ((b, a) in reach)) {
			done[b] = 1; c = c " " b; m++
		}
		if (m > 1) print m ":" c
	}
}' "$T_ROOT/edges" | sort -t: -k1,1nr)
echo "# largest include cycle: $(printf '%s\n' "$cycles" | head -n 1 | sed 's/:.*//;s/^$/1/') modules"
check include-cycle "no include cycle larger than a module and its internal header" "$cycles"

# ---------------------------------------------------------------- file sizes
wc -l "$TOP"/src/*.c | sed '$d' | awk '{print $1, $2}' | sort -n >"$T_ROOT/sizes"
n=$(wc -l <"$T_ROOT/sizes")
[ "$n" -gt 0 ] || not_ok "src/*.c found" "none under $TOP/src"
big=$(awk '$1 > 800 { sub(".*/src/", "src/", $2); print $2 " " $1 }' "$T_ROOT/sizes")
check file-size "no src/*.c over 800 lines" "$big"
# The median of n sorted counts (the mean of the middle two when n is even).
median=$(awk -v n="$n" '{ v[NR] = $1 } END {
	if (n % 2) print v[(n + 1) / 2]; else print (v[n / 2] + v[n / 2 + 1]) / 2 }' "$T_ROOT/sizes")
echo "# $n files under src/, median $median lines, largest $(tail -n 1 "$T_ROOT/sizes" | sed 's,[^ ]*/src/,src/,')"
check median "the median src/*.c is under 350 lines" \
    "$(awk -v m="$median" 'BEGIN { if (m >= 350) print "median " m }')"

# ---------------------------------------------------------------- exported symbols
# Each symbol a member of libacpx.a defines, against its file's name: foo-bar.o
# may export foo_bar and foo_bar_*, and the prefix of the module it belongs
# to when that module's file exists (foo-bar-baz.o: foo_bar_* if src/foo-bar.c
# is there). xmalloc.c keeps the OpenBSD/tmux names (x*, fatal); curl-dl.c
# defines libcurl's own API (the library is loaded on first use), so its
# names are libcurl's. The generated src/completion-scripts.c is checked
# like any other file. The files in LAYOUT_SYMBOLS_PENDING (basenames) are
# those the refactor has not renamed yet: their findings go to the pending
# "symbols" check; every other file is checked strictly.
if ! command -v nm >/dev/null 2>&1; then
	not_ok "nm is installed (binutils)"
elif [ ! -f "$LIB" ]; then
	not_ok "the built library is there" "$LIB"
else
	nm -g --defined-only "$LIB" >"$T_ROOT/nm" 2>/dev/null ||
	    not_ok "nm reads $LIB"
	found=$(awk -v src="$TOP/src" '
	/:$/ { o = $1; sub(/:$/, "", o); next }
	NF == 3 && $3 ~ /^__(odr_)?asan/ { next }	# the sanitizer runtime symbols
	NF == 3 {
		s = $3; f = o; sub(/\.o$/, "", f); sub(/^libacpx_a-/, "", f)
		p = f; gsub(/-/, "_", p)
		if (s == p || index(s, p "_") == 1) next
		if (f == "xmalloc" && (s == "fatal" || s ~ /^x/)) next
		if (f == "curl-dl" && s ~ /^curl_/) next
		m = f; sub(/-[^-]*$/, "", m)
		if (m != f && (getline line < (src "/" m ".c")) > 0) {
			close(src "/" m ".c"); q = m; gsub(/-/, "_", q)
			if (s == q || index(s, q "_") == 1) next
		}
		print "src/" f ".c: " s
	}' "$T_ROOT/nm")
	total=$(awk 'NF == 3' "$T_ROOT/nm" | wc -l)
	echo "# $total exported symbols in $(basename "$LIB")"
	[ "$total" -gt 100 ] || not_ok "the library exports symbols" "$total"
	strict="" later=""
	while IFS= read -r l; do
		[ -n "$l" ] || continue
		b=${l%%.c:*}; b=${b#src/}
		case " $LAYOUT_SYMBOLS_PENDING " in
		*" $b "*) later="$later${later:+
}$l" ;;
		*) strict="$strict${strict:+
}$l" ;;
		esac
	done <<EOF
$found
EOF
	check symbols-done "every exported symbol carries its file's (or module's) prefix" "$strict"
	check symbols "... also in the files not renamed yet (${LAYOUT_SYMBOLS_PENDING:-none})" "$later"
fi

# ---------------------------------------------------------------- the tarball
# Every source and header is named in Makefile.am (a _SOURCES list or
# noinst_HEADERS), so that make dist ships it: a header only the build
# tree had broke make distcheck's build from the tarball.
found=$(cd "$TOP" && ls src/*.c include/*.h |
    awk 'NR == FNR { for (i = 1; i <= NF; i++) named[$i] = 1; next }
	!($0 in named)' Makefile.am -)
check dist "every src/*.c and include/*.h is named in Makefile.am (make dist ships it)" "$found"

done_testing
