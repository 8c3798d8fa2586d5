#!/bin/sh
# On a terminal, approve-reads asks "[permission] Allow <title> [<kind>]? (y/N)"
# on stderr and reads the answer from stdin: y allows, anything else (or EOF)
# rejects. Runs acpx inside script(1) so stdin and stderr are a pseudo-terminal.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
command -v script >/dev/null 2>&1 || skip_all "script(1) not installed (util-linux)"

# tty_run ANSWER: run one write-permission turn on a pty, answering ANSWER.
tty_run() {
	cmd="cd '$T_WORK' && '$ACPX' --format quiet --agent '$(mock_cmd permission-write.json)' exec x; echo \"rc=\$?\""
	printf '%s\n' "$1" | script -qec "$cmd" /dev/null >"$T_ROOT/tty.out" 2>&1
	OUT=$(tr -d '\r' <"$T_ROOT/tty.out")
}

tty_run y
case "$OUT" in *"[permission] Allow Write a.txt [edit]? (y/N)"*) ok "the question is asked on the terminal" ;;
*) not_ok "the question is asked on the terminal" "got: $OUT" ;; esac
case "$OUT" in *"permission: allow"*) ok "y selects the allow_once option" ;;
*) not_ok "y selects the allow_once option" "got: $OUT" ;; esac
case "$OUT" in *"rc=0"*) ok "approved turn exits 0" ;;
*) not_ok "approved turn exits 0" "got: $OUT" ;; esac

tty_run n
case "$OUT" in *"permission: reject"*) ok "n selects the reject_once option" ;;
*) not_ok "n selects the reject_once option" "got: $OUT" ;; esac
case "$OUT" in *"rc=5"*) ok "denied turn exits 5" ;;
*) not_ok "denied turn exits 5" "got: $OUT" ;; esac

tty_run yes
case "$OUT" in *"permission: allow"*) ok "yes also allows" ;;
*) not_ok "yes also allows" "got: $OUT" ;; esac
done_testing
