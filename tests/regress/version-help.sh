#!/bin/sh
# --version prints the reference contract version as its only line, before
# config is read; --version --verbose adds our own version and libraries.
. "$TESTS_SRCDIR/regress/lib.sh"

run --version
expect_rc 0 "--version"
expect_out "0.19.1
" "--version prints 0.19.1 alone"

mkdir -p "$HOME/.acpx" && printf '{broken' >"$HOME/.acpx/config.json"
run --version
expect_out "0.19.1
" "--version ignores a broken config"
run --help
expect_rc 1 "--help fails on a broken config (reference behaviour)"
rm -f "$HOME/.acpx/config.json"

run --version --verbose
expect_rc 0 "--version --verbose"
first=$(printf '%s' "$OUT" | head -n 1)
if [ "$first" = "0.19.1" ]; then ok "--version --verbose keeps 0.19.1 first"
else not_ok "--version --verbose keeps 0.19.1 first" "got: $first"; fi
expect_out_has "acpx-native" "--version --verbose names acpx-native"
expect_out_has "jansson" "--version --verbose names jansson"

run --help
expect_rc 0 "--help"
expect_out_has "Usage: acpx [options] [command] [prompt...]" "--help usage line"
expect_out_has "demo" "--help lists the demo agent"
done_testing
