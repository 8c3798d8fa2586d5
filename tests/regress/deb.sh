#!/bin/sh
# The Debian package's metadata agrees with the build (debian/): the
# changelog's first entry is this version of this package (AC_INIT's name
# and version, which the built acpx reports), the source format is native
# (so the version has no Debian revision), debian/control's Source is the
# same name, and debian/rules names the directories where bash, zsh and
# fish look for completions without configuration. Building, lintian and
# installing the package are scripts/test's deb stage.
. "$TESTS_SRCDIR/regress/lib.sh"
TOP=$(cd "$TESTS_SRCDIR/.." && pwd)
D=$TOP/debian
[ -f "$D/changelog" ] || skip_all "no debian/ in this tree"

ac=$(sed -n 's/^AC_INIT(\[\([^]]*\)\], *\[\([^]]*\)\].*/\1 \2/p' "$TOP/configure.ac")
ch=$(sed -n '1s/^\([a-z0-9.+-]*\) (\([^)]*\)) .*/\1 \2/p' "$D/changelog")
run --version --verbose
built=$(printf '%s\n' "$OUT" | sed -n 's/^\(acpx-native\) \([^ ]*\)$/\1 \2/p')
if [ -n "$ac" ] && [ "$ch" = "$ac" ]; then ok "debian/changelog's first entry is configure.ac's AC_INIT ($ac)"
else not_ok "debian/changelog's first entry is configure.ac's AC_INIT" "changelog: $ch" "AC_INIT: $ac"; fi
if [ "$built" = "$ac" ]; then ok "the built acpx reports that version"
else not_ok "the built acpx reports that version" "acpx --version --verbose: $built" "AC_INIT: $ac"; fi

fmt=$(cat "$D/source/format" 2>/dev/null)
case "$fmt/${ch#* }" in
"3.0 (native)/"*-*) not_ok "a native package's version has no Debian revision" "$ch" ;;
"3.0 (native)/"?*) ok "a native package's version has no Debian revision" ;;
*) not_ok "debian/source/format is 3.0 (native)" "$fmt" ;; esac

src=$(sed -n 's/^Source: *//p' "$D/control")
if [ "$src" = "${ac% *}" ]; then ok "debian/control's Source is the package name"
else not_ok "debian/control's Source is the package name" "Source: $src" "AC_INIT: $ac"; fi

missing=""
for dir in /usr/share/bash-completion/completions /usr/share/zsh/vendor-completions \
    /usr/share/fish/vendor_completions.d; do
	grep -q -- "-completion-dir=$dir\( \|$\)" "$D/rules" || missing="$missing $dir"
done
if [ -z "$missing" ]; then ok "debian/rules installs the completions where the shells look"
else not_ok "debian/rules installs the completions where the shells look" "missing:$missing"; fi
grep -q -- "--disable-static-deps" "$D/rules" && ok "debian/rules links the shared libraries" ||
    not_ok "debian/rules links the shared libraries" "no --disable-static-deps"

done_testing
