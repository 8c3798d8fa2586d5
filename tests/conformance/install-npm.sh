#!/bin/sh
# install-npm.sh DIR PACKAGE@VERSION: install one package from the npm
# registry into DIR (DIR/node_modules/...), atomically: a failed or
# concurrent install leaves DIR absent or complete, never half-written.
# Used by the real-harness tests (opencode-ai, the Claude ACP adapter) to
# keep one copy per version in ~/.cache/acpx-native. Exit 0 when DIR holds
# the package; non-zero, with a message, when npm or the registry is not
# there.
set -eu
dir=$1 spec=$2
name=${spec%@*}
[ -n "$name" ] || name=$spec
[ -f "$dir/.installed" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "npm not installed"; exit 1; }
parent=$(dirname "$dir")
mkdir -p "$parent"
# One install at a time per package: a second caller (a test started while
# prefetch.sh installs) waits for the first and then finds it done.
if command -v flock >/dev/null 2>&1 && [ -z "${ACPX_NPM_LOCKED:-}" ]; then
	ACPX_NPM_LOCKED=1 exec flock "$dir.lock" sh "$0" "$@"
fi
[ -f "$dir/.installed" ] && exit 0
tmp=$(mktemp -d "$parent/.npm-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo '{"name":"acpx-native-harness","version":"1.0.0","private":true}' \
    >"$tmp/package.json"
( cd "$tmp" && timeout 600 npm install --omit=dev --no-audit --no-fund \
    --loglevel=error "$spec" )
[ -f "$tmp/node_modules/$name/package.json" ] ||
    { echo "$spec: installed without its package.json"; exit 1; }
touch "$tmp/.installed"
# Publish: a concurrent install that finished first wins.
if mv -T "$tmp" "$dir" 2>/dev/null; then trap - EXIT; fi
[ -f "$dir/.installed" ]
