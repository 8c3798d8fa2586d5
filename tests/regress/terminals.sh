#!/bin/sh
# Agent terminals: a command that ignores SIGTERM and leaves children behind
# is killed with its whole process group (SIGKILL after the grace period),
# its output and exit signal are reported, release forgets it, and no
# process survives acpx.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"

run --format quiet --approve-all --agent "$(mock_cmd terminal-kill.json)" exec x
expect_rc 0 "terminal kill turn"
expect_out_has "signal=SIGKILL" "a shell ignoring SIGTERM is killed with SIGKILL"
expect_out_has "output=started" "output captured before the kill"
expect_out_has "after-release=Unknown terminal:" "released terminals are forgotten"
# The children (sleep 300/301) must be gone with the group. SIGKILL was
# sent before acpx answered; a loaded machine may take a moment to run
# the exits, so wait for them (the ceiling only bounds a survivor).
# Only this test's processes count (other scripts run sleeps at the same
# time): those whose working directory is under $T_ROOT.
alive() {
	n=0
	for c in $(find /proc -mindepth 2 -maxdepth 2 -name cwd -lname "$T_ROOT*" 2>/dev/null); do
		case "$(tr '\0' ' ' <"${c%/cwd}/cmdline" 2>/dev/null)" in
		"sleep 300 "|"sleep 301 ") n=$((n + 1)) ;;
		esac
	done
	echo $n
}
i=0
while [ "$(alive)" -ne 0 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ "$(alive)" -eq 0 ]; then ok "no terminal children survive"
else not_ok "no terminal children survive" "$(ps -eo pid,pgid,stat,args | grep 'sleep 30[01]')"; fi

run --format quiet --deny-all --agent "$(mock_cmd terminal.json)" exec x
expect_rc 5 "terminal/create denied under --deny-all counts as a denied permission"

ACPX_TERMINAL_MAX_OUTPUT_BYTES=abc run --format quiet --approve-all --agent "$(mock_cmd terminal.json)" exec x
expect_rc 1 "invalid ACPX_TERMINAL_MAX_OUTPUT_BYTES is an error"
expect_err_has "ACPX_TERMINAL_MAX_OUTPUT_BYTES must be a non-negative safe integer" "and says why"
done_testing
