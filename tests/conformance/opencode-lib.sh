# The set-up shared by the scripts that run the real opencode
# (harness-opencode.sh, harness-opencode-session.sh,
# harness-opencode-serve.sh): sourced after nothing else, it sources
# regress/lib.sh and leaves
#
#	OC		opencode-ai@$OPENCODE_SPEC's binary, installed from the npm
#			registry into a cache outside the build tree
#			(ACPX_NATIVE_CACHE, default ~/.cache/acpx-native) by
#			install-npm.sh when it is not there yet;
#			ACPX_TEST_OPENCODE=/path/to/opencode uses that binary
#			instead. Without npm or the registry the script is
#			skipped, except under CI (CI set), where that fails.
#	REC PORT FAKE_PID	the fake provider on 127.0.0.1, recording the
#			requests it gets (with their text) in $REC
#	STARTS		one line per opencode start: primary, fallback, other
#			(by the model acpx pinned; see oc-wrap.sh)
#	KEY_A KEY_B SECRETS	the warp secrets file: provider fa (key A)
#			at /billing/v1 (a 400 "credit balance is too low"),
#			provider fb (key B) at /ok/v1 (answers)
#	FROM TO ARROW STATE	opencode-warp-fa-kimi falls back to
#			opencode-warp-fb-glm; the warp state file
#
# and the functions poll, hits, nstarts, last_fb and set_primary_path.
# No network once installed: the provider is the fake one; opencode is
# told not to fetch its model list or update itself. Each opencode start
# costs several CPU-seconds, hence the scripts run side by side.
#
#	oc_setup KEY-PREFIX	(keys sk-fake-KEY-PREFIX-aaaa1111 and -bbbb2222)
. "$TESTS_SRCDIR/conformance/npm-pins.sh"
OC_SPEC=$OPENCODE_SPEC
: "${ACPX_NATIVE_CACHE:=$ACPX_NPM_CACHE}"
. "$TESTS_SRCDIR/regress/lib.sh"

in_ci() { case "${CI:-}" in ""|false|0) return 1 ;; *) return 0 ;; esac; }
# unavailable WHY: skip, or under CI fail.
unavailable() {
	if in_ci; then
		not_ok "opencode is available under CI" "$1"
		done_testing
	fi
	skip_all "$1"
}

# poll (lib.sh) waits up to 5 min here: real opencode is slow to start.
POLL_CEILING=300

# hits PROVIDER-PATH KEY MODEL: requests the fake provider saw like that.
hits() {
	grep -c "\"path\":\"/$1/v1/chat/completions\",\"authorization\":\"Bearer $2\",\"model\":\"$3\"" \
	    "$REC" 2>/dev/null || true
}
# The fallback provider's last chat request (with its conversation text).
last_fb() {
	grep "\"path\":\"/ok/v1/chat/completions\",\"authorization\":\"Bearer $KEY_B\"" "$REC" |
	    tail -n 1
}
nstarts() { c=$(grep -c "^$1\$" "$STARTS" 2>/dev/null); echo "${c:-0}"; }

# set_primary_path PATH: the fake provider's behaviour for the primary
# (billing, ratelimit, ratelimit-fast, ...; tests/fake-provider).
set_primary_path() {
	sed -e "s#^\(WARP_FA_BASE_URL=http://127.0.0.1:$PORT\)/[a-z-]*/v1\$#\1/$1/v1#" \
	    "$SECRETS" >"$SECRETS.new" && mv "$SECRETS.new" "$SECRETS" &&
	    chmod 600 "$SECRETS"
}

oc_setup() {
	FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
	[ -x "$FAKE" ] || skip_all "fake provider not built"
	if [ -n "${ACPX_TEST_OPENCODE:-}" ]; then
		OC=$ACPX_TEST_OPENCODE
		[ -x "$OC" ] || unavailable "ACPX_TEST_OPENCODE=$OC is not an executable"
	else
		OC_DIR=$ACPX_NATIVE_CACHE/opencode-ai-${OC_SPEC#*@}
		OC=$OC_DIR/node_modules/.bin/opencode
		if [ ! -x "$OC" ]; then
			echo "# installing $OC_SPEC from the npm registry into $OC_DIR"
			if ! sh "$TESTS_SRCDIR/conformance/install-npm.sh" "$OC_DIR" \
			    "$OC_SPEC" >"$T_ROOT/npm.log" 2>&1 || [ ! -x "$OC" ]; then
				sed 's/^/# /' "$T_ROOT/npm.log" | tail -n 15
				unavailable "could not install $OC_SPEC (npm missing or the registry unreachable; see above)"
			fi
		fi
	fi
	# (No `opencode --version` first: a start costs a CPU-second, and a
	# broken install fails the first check anyway.)
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
	unset ACPX_WARP_ENV_FILE ACPX_NODE
	for v in $(env | sed -n 's/^\(WARP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
	export OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1 \
	    OPENCODE_DISABLE_LSP_DOWNLOAD=1

	REC="$T_ROOT/rec"
	fake_provider_start "$REC" --record-text --lifetime 1800 ||
	    skip_all "fake provider did not start"

	# The harness command: opencode, behind a wrapper that logs which
	# warp agent each start is (by the model acpx pinned), so a test
	# can tell that a harness was never started.
	STARTS="$T_ROOT/starts"
	: >"$STARTS"
	export OC STARTS
	cat >"$T_ROOT/oc-wrap.sh" <<'EOW'
#!/bin/sh
case "$OPENCODE_CONFIG_CONTENT" in
*'"model":"warp-fa/kimi-k2.5"'*) echo primary >>"$STARTS" ;;
*'"model":"warp-fb/glm-5"'*) echo fallback >>"$STARTS" ;;
*) echo other >>"$STARTS" ;;
esac
exec "$OC" "$@"
EOW
	chmod +x "$T_ROOT/oc-wrap.sh"

	KEY_A="sk-fake-$1-aaaa1111"
	KEY_B="sk-fake-$1-bbbb2222"
	FROM=opencode-warp-fa-kimi
	TO=opencode-warp-fb-glm
	ARROW=$(printf '\342\206\222')
	mkdir -p "$T_ROOT/secrets" "$HOME/.acpx"
	SECRETS="$T_ROOT/secrets/warp.env"
	printf 'WARP_FA_API_KEY=%s\nWARP_FA_BASE_URL=http://127.0.0.1:%s/billing/v1\nWARP_FB_API_KEY=%s\nWARP_FB_BASE_URL=http://127.0.0.1:%s/ok/v1\n' \
	    "$KEY_A" "$PORT" "$KEY_B" "$PORT" >"$SECRETS"
	chmod 600 "$SECRETS"
	cat >"$HOME/.acpx/config.json" <<EOC
{
  "agents": {"opencode": {"command": "$T_ROOT/oc-wrap.sh acp --pure"}},
  "warp": {
    "envFile": "$SECRETS",
    "providers": {"fa": {"models": {"kimi": "kimi-k2.5"}},
                  "fb": {"models": {"glm": "glm-5"}}},
    "fallback": {"$FROM": ["$TO"]},
    "maxHops": 2,
    "cooldownSeconds": 600
  }
}
EOC
	STATE="$HOME/.acpx/warp/state.json"
}
