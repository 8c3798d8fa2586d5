#!/bin/sh
# install-openclaw.sh DIR VERSION: install openclaw@VERSION from the npm
# registry into DIR (DIR/node_modules/openclaw), atomically: a failed or
# concurrent install leaves DIR absent or complete, never half-written.
#
# openclaw 2026.4.2 depends, through a UI package its acpx plugin never
# loads, on "cssomnom", which the registry no longer serves (404); an npm
# override replaces it with an empty local stub so the install completes.
set -eu
dir=$1 version=$2
[ -f "$dir/node_modules/openclaw/package.json" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "npm not installed"; exit 1; }
parent=$(dirname "$dir")
mkdir -p "$parent"
# One install at a time (see install-npm.sh).
if command -v flock >/dev/null 2>&1 && [ -z "${ACPX_NPM_LOCKED:-}" ]; then
	ACPX_NPM_LOCKED=1 exec flock "$dir.lock" sh "$0" "$@"
fi
[ -f "$dir/node_modules/openclaw/package.json" ] && exit 0
tmp=$(mktemp -d "$parent/.openclaw-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/stub-cssomnom"
echo '{"name":"cssomnom","version":"0.1.11","main":"index.js"}' \
    >"$tmp/stub-cssomnom/package.json"
echo 'module.exports = {};' >"$tmp/stub-cssomnom/index.js"
cat >"$tmp/package.json" <<JSON
{"name":"acpx-native-openclaw-test","version":"1.0.0","private":true,
 "dependencies":{"openclaw":"$version"},
 "overrides":{"cssomnom":"file:./stub-cssomnom"}}
JSON
( cd "$tmp" && timeout 600 npm install --omit=dev --ignore-scripts --no-audit \
    --no-fund )
[ -f "$tmp/node_modules/openclaw/dist/extensions/acpx/index.js" ] ||
    { echo "openclaw installed without its acpx plugin"; exit 1; }
# Publish: a concurrent install that finished first wins.
if mv -T "$tmp" "$dir" 2>/dev/null; then trap - EXIT; fi
[ -f "$dir/node_modules/openclaw/package.json" ]
