#!/bin/sh
# acpx doctor: a clean HOME (every section, exit 0), an agent missing from
# PATH (its install command), a broken config (the file and the key, exit
# 1), a secrets file with mode 0644 (the chmod fix), --format json (one
# compact object), and no secret value ever printed (a sentinel in the
# secrets file; the provider's probe goes to a closed loopback port); an
# error of our own names the next step.
. "$TESTS_SRCDIR/regress/lib.sh"
unset ACPX_WARP_ENV_FILE ACPX_NODE NO_COLOR

# A PATH with the tools the script needs and no agent program: every
# built-in is missing but demo (next to acpx), npx ones say how to get Node.
mkdir -p "$T_ROOT/bin"
for t in sh cat sed grep mkdir chmod rm; do
	p=$(command -v $t) && ln -s "$p" "$T_ROOT/bin/$t"
done
PATH="$T_ROOT/bin"
export PATH

# ------------------------------------------------------------ clean HOME
run doctor
expect_rc 0 "clean HOME: nothing needed is broken"
for s in "agents:" "config:" "directories:" "warp: not configured" \
    "nodes: none configured" "libraries: acpx-native " "doctor: no problems found"; do
	expect_out_has "$s" "section $s"
done
expect_out_has "  gemini       missing  gemini not found; install: npm install -g @google/gemini-cli" \
    "an agent missing from PATH: the install command"
expect_out_has "  codex        missing  Node.js (npx) not found; install: sudo apt-get install nodejs npm" \
    "an npx agent without Node: how to get it"
expect_out_has "  demo         found    " "the demo agent next to acpx is found"
expect_out_has "  global $HOME/.acpx/config.json: not found" "the global config file"

# ------------------------------------------------------------ json
run --format json doctor
expect_rc 0 "json: exit 0"
case "$OUT" in
'{"agents":[{"name":"pi",'*'"ok":true,"problems":0}
') ok "json: one compact object, ok and problems last" ;;
*) not_ok "json: one compact object" "$OUT" ;; esac
expect_out_has '"libraries":{"acpx-native":' "json: the libraries"
expect_out_has '"warp":{"configured":false}' "json: warp not configured"

# ------------------------------------------------------------ broken config
mkdir -p "$HOME/.acpx"
printf '{"defaultPermissions": "sometimes"}\n' >"$HOME/.acpx/config.json"
run doctor
expect_rc 1 "broken config: exit 1"
expect_out_has "  invalid: " "broken config: reported"
expect_out_has "$HOME/.acpx/config.json" "broken config: names the file"
expect_out_has "defaultPermissions" "broken config: names the key"
expect_out_has "doctor: 1 problem found" "broken config: one problem"
rm "$HOME/.acpx/config.json"

# ------------------------------------------------------------ secrets
SENTINEL=sk-doctor-SENTINEL-93e1
SECRETS="$HOME/.openclaw/.env"
mkdir -p "$HOME/.openclaw"
printf 'WARP_LOCAL_API_KEY=%s\nWARP_LOCAL_BASE_URL=http://127.0.0.1:1/v1\n' \
    "$SENTINEL" >"$SECRETS"
chmod 644 "$SECRETS"
cat >"$HOME/.acpx/config.json" <<EOF
{"warp": {"providers": {"local": {"models": {"kimi": "kimi-k2.5"}}}}}
EOF
run doctor
expect_rc 1 "secrets file 0644: exit 1"
expect_out_has "chmod 600 $SECRETS" "secrets file 0644: the fix"
chmod 600 "$SECRETS"
run doctor
expect_out_has "  secrets file $SECRETS: ok (mode 0600, 2 variables)" \
    "warp section: the secrets file"
expect_out_has "WARP_LOCAL_API_KEY: set (file)" "warp section: where the key comes from"
run --format json doctor
case "$OUT$ERR" in
*"$SENTINEL"*) not_ok "no secret value in json output" ;;
*) ok "no secret value in json output" ;; esac
run doctor
case "$OUT$ERR" in
*"$SENTINEL"*) not_ok "no secret value in text output" ;;
*) ok "no secret value in text output" ;; esac

# ------------------------------------------------------------ next steps
# An error of acpx-native's own ends with the next step.
run nodes check nosuch
expect_rc 2 "an unknown node"
expect_err "Unknown node 'nosuch'
hint: \`acpx nodes list\` shows the configured nodes.
" "an unknown node: the next step"

done_testing
