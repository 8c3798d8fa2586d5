#!/bin/sh
# Warp routing end to end: `warp list|probe|doctor` against the fake provider
# (ok, 401, 429, quota, 5xx, timeout, refused, 10 MB, redirect loop), warp
# agents launched through a fake harness (the mock agent behind a script that
# records its argv and environment and asks the fake provider as the real
# harness would), fail-fast refusals, cooldown, host defaults, and the
# sentinel test: a planted key never shows in any output or file under HOME.
. "$TESTS_SRCDIR/regress/lib.sh"
[ -x "$MOCK" ] || skip_all "mock agent not built"
FAKE=$(dirname "$ACPX")/tests/fake-provider/fake-provider
[ -x "$FAKE" ] || skip_all "fake provider not built"
warp_env_clean
HELLO="$SCENARIOS/hello.json"
SENTINEL_A="sk-SENTINEL-a1b2c3d4e5"
SENTINEL_B="sk-SENTINEL-f6g7h8i9j0"

# start_fake FILE: a fake provider recording into FILE; sets PORT.
start_fake() {
	"$FAKE" --record "$1" --lifetime 900 >"$T_ROOT/port.$$" &
	track_pid $!
	FAKE_PID=$!
	i=0
	while [ ! -s "$T_ROOT/port.$$" ] && [ $i -lt 1200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	PORT=$(head -n 1 "$T_ROOT/port.$$")
	rm -f "$T_ROOT/port.$$"
}
start_fake "$T_ROOT/dead.rec"
DEAD_PORT=$PORT
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
start_fake "$T_ROOT/rec"
[ -n "$PORT" ] || skip_all "fake provider did not start"
BASE="http://127.0.0.1:$PORT"

# The fake harness: KIND then the real argv. It records argv and environment
# (outside HOME), asks the provider the way that harness would, then becomes
# the mock agent.
cat >"$T_ROOT/harness.sh" <<'EOF'
#!/bin/sh
kind=$1; shift
{ printf 'ARGV:'; for a in "$@"; do printf ' %s' "$a"; done; echo; env; } >"$HARNESS_DUMP"
head -n 1 "$HARNESS_DUMP" >>"$HARNESS_DUMP.argv"
if command -v curl >/dev/null 2>&1; then
	case "$kind" in
	opencode)
		occ=$OPENCODE_CONFIG_CONTENT
		url=$(printf '%s' "$occ" | sed -n 's/.*"baseURL":"\([^"]*\)".*/\1/p')
		var=$(printf '%s' "$occ" | sed -n 's/.*"env":\["\([^"]*\)"\].*/\1/p')
		model=$(printf '%s' "$occ" | sed -n 's/.*"model":"[^"/]*\/\([^"]*\)".*/\1/p')
		if [ -n "$var" ]; then
			eval "key=\${$var}"
			curl -s -o /dev/null -H "Authorization: Bearer $key" \
			    -d "{\"model\":\"$model\"}" "$url/chat/completions"
		fi ;;
	claude)
		curl -s -o /dev/null -H "x-api-key: $ANTHROPIC_API_KEY" \
		    -d "{\"model\":\"$ANTHROPIC_MODEL\"}" "$ANTHROPIC_BASE_URL/v1/messages" ;;
	gemini)
		curl -s -o /dev/null -H "x-goog-api-key: $GEMINI_API_KEY" -d '{}' \
		    "$GOOGLE_GEMINI_BASE_URL/v1beta/models/$GEMINI_MODEL:generateContent" ;;
	esac
fi
exec "$@"
EOF
chmod +x "$T_ROOT/harness.sh"
export HARNESS_DUMP="$T_ROOT/harness.dump"
H="$T_ROOT/harness.sh"

SECRETS="$T_ROOT/secrets/warp.env"
mkdir -p "$T_ROOT/secrets" "$HOME/.acpx"
# The launch table itself: harnessRetries null, so no harness gets a
# provider tap (tests/regress/warp-tap.sh checks that one).
# Probes of the fake provider answer at once; their time limit is only a
# hang bound here (60 s), except in the test about that limit, which sets
# PROBE_TIMEOUT_MS against a provider that never answers.
write_config() {
	cat >"$HOME/.acpx/config.json" <<EOF
{
  "agents": {
    "opencode": {"command": "$H opencode $MOCK --scenario $HELLO"},
    "claude": {"command": "$H claude $MOCK --scenario $HELLO"},
    "gemini": {"command": "$H gemini $MOCK --scenario $HELLO"}
  },
  "warp": {
    "envFile": "$SECRETS",
    "harnessRetries": null,
    "providers": {
      "infini": {"models": {"kimi": "kimi-k2.5", "glm": "glm-5", "minimax": "minimax-m2.5"}},
      "ckimi": {"models": {"kimi-for-coding": "kimi-for-coding"}, "families": {"kimi-for-coding": "kimi"}}$1
    },
    "adjacent": {"kimi": ["glm", "minimax"], "glm": ["kimi", "minimax"]},
    "probeTimeoutMs": ${PROBE_TIMEOUT_MS:-60000},
    "hostDefaults": {"mac-5": {"opencode": {"model": "opencode/minimax-m2.5-free"}},
      "mac-6": {"opencode": {"model": "vllm/Qwen3.5-27B", "baseUrl": "http://100.64.0.5:8000/v1"}}}
  }
}
EOF
}
write_secrets() {
	cat >"$SECRETS" <<EOF
# warp secrets for the tests
WARP_INFINI_API_KEY=$SENTINEL_A
export WARP_INFINI_BASE_URL="$BASE/ok/v1"
WARP_CKIMI_API_KEY='$SENTINEL_B'
WARP_CKIMI_BASE_URL=$BASE/ok/coding/v1
WARP_CKIMI_CLAUDE_BASE_URL=$BASE/ok/anthropic
$1
EOF
	chmod 600 "$SECRETS"
}
write_config ""
write_secrets ""

# Every output of the run so far, for the sentinel check at the end.
ALL="$T_ROOT/all-output"
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }

# ---------------------------------------------------------------- list
run warp list
keep
expect_rc 0 "warp list"
expect_out_has "AGENT" "list has a header"
expect_out_has "opencode-warp-infini-kimi            opencode  infini    kimi-k2.5" "list row: harness, provider, model"
expect_out_has "opencode-warp-ckimi-kimi-for-coding, opencode-warp-infini-glm, opencode-warp-infini-minimax" "list shows the seed chain"
expect_out_has "opencode-warp-infini-kimi, opencode-warp-infini-glm, opencode-warp-infini-minimax" "list shows the second seed chain"
run --format json warp list
keep
expect_rc 0 "warp list (json)"
expect_out_has '"id":"opencode-warp-infini-kimi","harness":"opencode","provider":"infini","family":"kimi","model":"kimi-k2.5","secrets":true,"cooldown":null,"fallback":["opencode-warp-ckimi-kimi-for-coding","opencode-warp-infini-glm","opencode-warp-infini-minimax"]' "list json row"
run --format quiet warp list
keep
case "$OUT" in "opencode-warp-infini-kimi
opencode-warp-infini-glm"*) ok "list quiet: ids one per line" ;;
*) not_ok "list quiet: ids one per line" "got: $OUT" ;; esac

# ---------------------------------------------------------------- exec
run_exec() { rm -f "$HARNESS_DUMP"; run "$@"; keep; }
dump_has() {
	if grep -qxF -- "$1" "$HARNESS_DUMP" 2>/dev/null; then ok "$2"
	else not_ok "$2" "want line: $1" "$(grep -v '^[A-Z_]*PATH=' "$HARNESS_DUMP" 2>/dev/null | head -40)"; fi
}
rec_has() {
	if grep -qF -- "$1" "$T_ROOT/rec"; then ok "$2"
	else not_ok "$2" "want: $1" "$(tail -5 "$T_ROOT/rec")"; fi
}

run_exec opencode-warp-infini-kimi exec "hi"
expect_rc 0 "opencode warp agent runs through the harness command"
expect_out_has "hello world" "the mock agent answered"
dump_has "ARGV: $MOCK --scenario $HELLO" "harness argv is the configured command, nothing added"
dump_has "WARP_INFINI_API_KEY=$SENTINEL_A" "opencode gets the key in WARP_INFINI_API_KEY"
dump_has 'OPENCODE_CONFIG_CONTENT={"$schema":"https://opencode.ai/config.json","provider":{"warp-infini":{"npm":"@ai-sdk/openai-compatible","name":"Warp infini","options":{"baseURL":"'"$BASE"'/ok/v1"},"models":{"kimi-k2.5":{"name":"kimi-k2.5"}},"env":["WARP_INFINI_API_KEY"]}},"model":"warp-infini/kimi-k2.5","small_model":"warp-infini/kimi-k2.5"}' "opencode inline provider and pinned model"
if command -v curl >/dev/null 2>&1; then
	rec_has '{"method":"POST","path":"/ok/v1/chat/completions","authorization":"Bearer '"$SENTINEL_A"'","model":"kimi-k2.5"}' "provider saw opencode's pinned model and infini's key"
fi

run_exec --format json claude-warp-ckimi-kimi-for-coding exec "hi"
expect_rc 0 "claude warp agent (json)"
dump_has "ANTHROPIC_BASE_URL=$BASE/ok/anthropic" "claude base URL (per-harness override)"
dump_has "ANTHROPIC_API_KEY=$SENTINEL_B" "claude gets ckimi's key"
dump_has "ANTHROPIC_MODEL=kimi-for-coding" "claude pinned model"
dump_has "ANTHROPIC_SMALL_FAST_MODEL=kimi-for-coding" "claude small model pinned too"
if command -v curl >/dev/null 2>&1; then
	rec_has '{"method":"POST","path":"/ok/anthropic/v1/messages","x-api-key":"'"$SENTINEL_B"'","model":"kimi-for-coding"}' "provider saw claude's model and ckimi's key"
fi

run_exec --format quiet gemini-warp-infini-glm exec "hi"
expect_rc 0 "gemini warp agent (quiet)"
expect_out "hello world
" "quiet prints the answer only"
dump_has "GEMINI_API_KEY=$SENTINEL_A" "gemini key"
dump_has "GOOGLE_GEMINI_BASE_URL=$BASE/ok/v1" "gemini base URL"
dump_has "GEMINI_MODEL=glm-5" "gemini pinned model"
if command -v curl >/dev/null 2>&1; then
	rec_has '{"method":"POST","path":"/ok/v1/v1beta/models/glm-5:generateContent","x-goog-api-key":"'"$SENTINEL_A"'"}' "provider saw gemini's model and key"
fi

# A warp id as defaultAgent, and the --verbose spawn line.
cp "$HOME/.acpx/config.json" "$T_ROOT/config.saved"
sed 's/^{$/{ "defaultAgent": "opencode-warp-ckimi-kimi-for-coding",/' "$T_ROOT/config.saved" >"$HOME/.acpx/config.json"
run_exec --verbose exec "hi"
expect_rc 0 "warp id as defaultAgent"
dump_has "WARP_CKIMI_API_KEY=$SENTINEL_B" "defaultAgent warp id gets its provider's key"
if grep -q "^WARP_INFINI_API_KEY=" "$HARNESS_DUMP"; then not_ok "other providers' keys are not exported"
else ok "other providers' keys are not exported"; fi
cp "$T_ROOT/config.saved" "$HOME/.acpx/config.json"

# -------------------------------------------------------- fail fast
refuse() {	# refuse CODE NAME [acpx args...]
	code=$1 name=$2; shift 2
	run_exec --format json "$@"
	expect_rc 1 "$name"
	expect_out_has "\"detailCode\":\"$code\"" "$name: $code"
	if [ -e "$HARNESS_DUMP" ]; then not_ok "$name: no harness started"
	else ok "$name: no harness started"; fi
}
chmod 644 "$SECRETS"
refuse WARP_ENV_INSECURE "world-readable secrets file" opencode-warp-infini-kimi exec hi
expect_out_has "chmod 600 $SECRETS" "the error names the fix"
run_exec opencode-warp-infini-kimi exec hi
expect_err "Warp secrets file $SECRETS is accessible by group or others (mode 0644); acpx refuses it: fix with chmod 600 $SECRETS
" "one clear line in text mode"
chmod 640 "$SECRETS"
refuse WARP_ENV_INSECURE "group-readable secrets file" opencode-warp-infini-kimi exec hi
chmod 600 "$SECRETS"
mv "$SECRETS" "$SECRETS.real"
refuse WARP_ENV_MISSING "missing secrets file" opencode-warp-infini-kimi exec hi
ln -s "$SECRETS.real" "$SECRETS"
refuse WARP_ENV_INSECURE "symlinked secrets file" opencode-warp-infini-kimi exec hi
expect_out_has "is a symbolic link" "symlink named as such"
rm -f "$SECRETS"; mv "$SECRETS.real" "$SECRETS"
write_secrets "WARP_BROKEN_LINE $SENTINEL_A"
refuse WARP_ENV_INVALID "malformed secrets file" opencode-warp-infini-kimi exec hi
expect_out_has "$SECRETS:7: expected KEY=value" "parse error names file and line"
write_secrets "WARP_INFINI_BASE_URL="
cat >"$SECRETS" <<EOF
WARP_INFINI_API_KEY=$SENTINEL_A
EOF
refuse WARP_ENV_MISSING "a key without a base URL" opencode-warp-infini-kimi exec hi
expect_out_has "WARP_INFINI_BASE_URL is not set" "names the missing variable"
printf 'WARP_INFINI_API_KEY=%s\nWARP_INFINI_BASE_URL=file:///etc/passwd\n' "$SENTINEL_A" >"$SECRETS"
refuse WARP_ENV_INVALID "a non-http base URL" opencode-warp-infini-kimi exec hi
: >"$SECRETS"
refuse WARP_ENV_MISSING "an empty secrets file" opencode-warp-infini-kimi exec hi
write_secrets ""
refuse WARP_PROVIDER_UNKNOWN "unknown provider" opencode-warp-nope-kimi exec hi
refuse WARP_MODEL_UNKNOWN "unknown model family" opencode-warp-infini-qwen exec hi
refuse WARP_HARNESS_UNKNOWN "unknown harness" cursor-warp-infini-kimi exec hi
cp "$HOME/.acpx/config.json" "$T_ROOT/config.saved"
sed 's/"probeTimeoutMs": 60000,/"probeTimeoutMs": 60000, "maxHops": "three",/' "$T_ROOT/config.saved" >"$HOME/.acpx/config.json"
refuse WARP_CONFIG_INVALID "invalid warp config" opencode-warp-infini-kimi exec hi
expect_out_has "Invalid config warp.maxHops in $HOME/.acpx/config.json" "config error names the key"
sed 's/"probeTimeoutMs": 60000,/"probeTimeoutMs": 60000, "fallback": {"opencode-warp-infini-kimi": ["opencode-warp-infini-glm", "opencode-warp-infini-kimi"]},/' "$T_ROOT/config.saved" >"$HOME/.acpx/config.json"
refuse WARP_CONFIG_INVALID "a fallback list that cycles" opencode-warp-infini-kimi exec hi
sed 's/"probeTimeoutMs": 60000,/"probeTimeoutMs": 60000, "fallback": {"opencode-warp-infini-kimi": ["opencode-warp-zzz-glm"]},/' "$T_ROOT/config.saved" >"$HOME/.acpx/config.json"
refuse WARP_CONFIG_INVALID "a fallback list naming an unknown agent" opencode-warp-infini-kimi exec hi
cp "$T_ROOT/config.saved" "$HOME/.acpx/config.json"

# ----------------------------------------------------------- probes
write_config ',
      "auth": {"models": {"x": "x"}}, "ratelimit": {"models": {"x": "x"}},
      "quota": {"models": {"x": "x"}}, "server": {"models": {"x": "x"}},
      "refused": {"models": {"x": "x"}},
      "big": {"models": {"x": "x"}}, "redirect": {"models": {"x": "x"}},
      "echo": {"models": {"x": "x"}}, "nokey": {"models": {"x": "x"}},
      "tls": {"models": {"x": "x"}},
      "badurl": {"models": {"x": "x"}}'
write_secrets "WARP_AUTH_API_KEY=k1
WARP_AUTH_BASE_URL=$BASE/auth/v1
WARP_RATELIMIT_API_KEY=k2
WARP_RATELIMIT_BASE_URL=$BASE/ratelimit/v1
WARP_QUOTA_API_KEY=k3
WARP_QUOTA_BASE_URL=$BASE/quota/v1
WARP_SERVER_API_KEY=k4
WARP_SERVER_BASE_URL=$BASE/server/v1
WARP_REFUSED_API_KEY=k6
WARP_REFUSED_BASE_URL=http://127.0.0.1:$DEAD_PORT/v1
WARP_BIG_API_KEY=k7
WARP_BIG_BASE_URL=$BASE/big/v1
WARP_REDIRECT_API_KEY=k8
WARP_REDIRECT_BASE_URL=$BASE/redirect/v1
WARP_ECHO_API_KEY=$SENTINEL_A
WARP_ECHO_BASE_URL=http://user:pw@127.0.0.1:$PORT/echokey/v1?token=x
WARP_TLS_API_KEY=k10
WARP_TLS_BASE_URL=https://127.0.0.1:$PORT/ok/v1
WARP_BADURL_API_KEY=k9
WARP_BADURL_BASE_URL=ftp://127.0.0.1/v1"
run --format json warp probe
keep
expect_rc 1 "probe all: some providers fail (exit 1)"
probe_is() {	# probe_is PROVIDER RESULT [more json]
	expect_out_has "{\"provider\":\"$1\",\"url\":$3\"result\":\"$2\"" "probe $1: $2"
}
probe_is infini ok "\"$BASE/ok/v1\","
probe_is auth auth-failed "\"$BASE/auth/v1\","
probe_is ratelimit rate-limited "\"$BASE/ratelimit/v1\","
expect_out_has '"result":"rate-limited","httpStatus":429,"retryAfter":120' "Retry-After honoured"
probe_is quota quota-exhausted "\"$BASE/quota/v1\","
probe_is server server-error "\"$BASE/server/v1\","
probe_is refused unreachable "\"http://127.0.0.1:$DEAD_PORT/v1\","
probe_is big ok "\"$BASE/big/v1\","
expect_out_has '"detail":"response body over 262144 bytes (not read further)"' "a 10 MB answer is cut off"
probe_is redirect unreachable "\"$BASE/redirect/v1\","
probe_is tls unreachable "\"https://127.0.0.1:$PORT/ok/v1\","
expect_out_has "\"url\":\"http://127.0.0.1:$PORT/echokey/v1\"" "display URL drops userinfo and query"
expect_out_has '"detail":"Incorrect API key provided: [redacted]"' "a key echoed by the provider is redacted"
expect_out_has '{"provider":"nokey","url":null,"result":"skipped"' "provider without variables is skipped"
expect_out_has '"detail":"WARP_BADURL_BASE_URL is not an http(s) URL"' "non-http base URL not probed"
expect_out_has '"modelsNotListed":[]' "ok probe checks the configured models are listed"
n=$(grep -c '"path":"/[a-z]*/v1/models"' "$T_ROOT/rec")
if [ "$n" -ge 8 ]; then ok "probes asked GET <BASE_URL>/models ($n requests)"
else not_ok "probes asked GET <BASE_URL>/models" "got $n"; fi
rec_has '{"method":"GET","path":"/auth/v1/models","authorization":"Bearer k1"}' "each probe sends its own provider's key"

# The probe's own time limit, against a provider that never answers.
cp "$HOME/.acpx/config.json" "$T_ROOT/config.saved"
cp "$SECRETS" "$T_ROOT/secrets.saved"
PROBE_TIMEOUT_MS=1000 write_config ',
      "slow": {"models": {"x": "x"}}'
write_secrets "WARP_SLOW_API_KEY=k5
WARP_SLOW_BASE_URL=$BASE/slow/v1"
run --format json warp probe slow
keep
expect_rc 1 "probe a provider that never answers"
probe_is slow unreachable "\"$BASE/slow/v1\","
expect_out_has "timed out after" "the probe's time limit ends it"
cp "$T_ROOT/config.saved" "$HOME/.acpx/config.json"
cp "$T_ROOT/secrets.saved" "$SECRETS"

run warp probe infini opencode-warp-ckimi-kimi-for-coding
keep
expect_rc 0 "probe named providers and agent ids"
expect_out_has "infini    $BASE/ok/v1" "text probe row"
expect_out_has "ok (HTTP 200): 4 models listed" "text probe result"
run --format quiet warp probe ratelimit
keep
expect_rc 1 "probe a rate-limited provider"
expect_out "ratelimit rate-limited
" "quiet probe"
run warp probe nowhere
keep
expect_rc 1 "probe an unknown target"
expect_err_has "'nowhere' is neither a configured warp provider nor a warp agent id" "unknown target named"

# ---------------------------------------------------------- cooldown
if grep -q '"provider": "ratelimit"' "$HOME/.acpx/warp/state.json" 2>/dev/null &&
    grep -q '"reason": "rate-limited"' "$HOME/.acpx/warp/state.json"; then
	ok "probe recorded the rate-limited provider's cooldown"
else not_ok "probe recorded the rate-limited provider's cooldown" "$(cat "$HOME/.acpx/warp/state.json" 2>&1)"; fi
mode=$(stat -c %a "$HOME/.acpx/warp/state.json" 2>/dev/null)
[ "$mode" = 600 ] && ok "state file is 0600" || not_ok "state file is 0600" "mode $mode"
run warp list
keep
expect_out_has "opencode-warp-ratelimit-x            opencode  ratelimit  x                yes      cooling until" "list shows the cooldown"
# A cooling primary starts the next agent of its chain.
cat >"$HOME/.acpx/warp/state.json" <<'EOF'
{"version": 1, "cooldowns": [{"provider": "infini", "model": "kimi-k2.5",
  "until": "2999-01-01T00:00:00.000Z", "since": "2020-01-01T00:00:00.000Z",
  "reason": "rate-limited", "source": "fallback"}]}
EOF
run_exec opencode-warp-infini-kimi exec hi
expect_rc 0 "cooling primary: exec still runs"
expect_err_has "warp: opencode-warp-infini-kimi is cooling down until 2999-01-01T00:00:00.000Z (rate-limited); starting opencode-warp-ckimi-kimi-for-coding" "notice names both agents"
dump_has "WARP_CKIMI_API_KEY=$SENTINEL_B" "the fallback's provider was started"
cat >"$HOME/.acpx/warp/state.json" <<'EOF'
{"version": 1, "cooldowns": [{"provider": "infini", "model": null,
  "until": "2999-01-01T00:00:00.000Z", "reason": "quota-exhausted", "source": "probe"},
  {"provider": "ckimi", "model": null, "until": "2999-01-01T00:00:00.000Z",
  "reason": "auth-failed", "source": "probe"}]}
EOF
refuse WARP_COOLDOWN "every agent of the chain cooling" opencode-warp-infini-kimi exec hi
run warp probe infini
keep
if grep -q '"provider": "infini"' "$HOME/.acpx/warp/state.json"; then
	not_ok "an ok probe ends the provider's cooldown" "$(cat "$HOME/.acpx/warp/state.json")"
else ok "an ok probe ends the provider's cooldown"; fi
rm -f "$HOME/.acpx/warp/state.json"

# ------------------------------------------------------------ doctor
run warp doctor
keep
expect_rc 1 "doctor with failing providers"
expect_out_has "secrets file $SECRETS: ok (mode 0600, " "doctor checks the secrets file"
expect_out_has "provider infini:
  WARP_INFINI_API_KEY: set (file)
  WARP_INFINI_BASE_URL: $BASE/ok/v1 (file)
  probe: ok (HTTP 200): 4 models listed" "doctor: a good provider"
expect_out_has "  WARP_NOKEY_API_KEY: missing" "doctor: missing variable"
expect_out_has "  WARP_BADURL_BASE_URL: not an http(s) URL (file)" "doctor: bad URL"
expect_out_has "  probe: rate-limited (HTTP 429), retry after 120s" "doctor probes"
expect_out_has "problems found" "doctor counts problems"
if [ -e "$HOME/.acpx/warp/state.json" ]; then not_ok "doctor records nothing"
else ok "doctor records nothing"; fi
write_config ""
write_secrets ""
ACPX_NODE=mac-6 run --format json warp doctor
keep
expect_rc 0 "doctor with good providers"
expect_out_has '"ok":true,"problems":0' "doctor json summary"
expect_out_has '"host":{"name":"mac-6","source":"ACPX_NODE","defaults":{"opencode":{"model":"vllm/Qwen3.5-27B","baseUrl":"http://100.64.0.5:8000/v1"}}}' "doctor shows this host's defaults"
run --format quiet warp doctor
keep
expect_out "doctor: no problems found
" "doctor quiet"
chmod 644 "$SECRETS"
run warp doctor
keep
expect_rc 1 "doctor with an insecure secrets file"
expect_out_has "acpx refuses it: fix with chmod 600 $SECRETS" "doctor explains the fix"
chmod 600 "$SECRETS"

# ---------------------------------------------------- host defaults
ACPX_NODE=mac-5 run_exec opencode exec hi
expect_rc 0 "plain alias with host defaults"
dump_has 'OPENCODE_CONFIG_CONTENT={"$schema":"https://opencode.ai/config.json","model":"opencode/minimax-m2.5-free","small_model":"opencode/minimax-m2.5-free"}' "mac-5 runs opencode on its free model"
ACPX_NODE=mac-6 run_exec opencode exec hi
dump_has 'OPENCODE_CONFIG_CONTENT={"$schema":"https://opencode.ai/config.json","model":"vllm/Qwen3.5-27B","provider":{"vllm":{"npm":"@ai-sdk/openai-compatible","name":"vllm","options":{"baseURL":"http://100.64.0.5:8000/v1"},"models":{"Qwen3.5-27B":{"name":"Qwen3.5-27B"}}}},"small_model":"vllm/Qwen3.5-27B"}' "mac-6 runs opencode on the shared vLLM"
ACPX_NODE=mac-7 run_exec opencode exec hi
if grep -q '^OPENCODE_CONFIG_CONTENT=' "$HARNESS_DUMP"; then not_ok "no host defaults elsewhere"
else ok "no host defaults elsewhere"; fi

# ---------------------------------------------------- secrets discipline
# The default location (~/.openclaw/.env) too, and every other command.
cp "$HOME/.acpx/config.json" "$T_ROOT/config.saved"
sed "s#\"envFile\": \"$SECRETS\",##" "$T_ROOT/config.saved" >"$HOME/.acpx/config.json"
mkdir -p "$HOME/.openclaw"
cp "$SECRETS" "$HOME/.openclaw/.env"
chmod 600 "$HOME/.openclaw/.env"
for f in text json quiet; do
	run --format "$f" warp list; keep
	run --format "$f" warp probe; keep
	run --format "$f" warp doctor; keep
	run --format "$f" config show; keep
	run_exec --format "$f" --verbose opencode-warp-infini-kimi exec hi
	run_exec --format "$f" claude-warp-ckimi-kimi-for-coding exec hi
	run_exec --format "$f" opencode-warp-infini-nope exec hi
done
n=$(grep -c "^ARGV:" "$HARNESS_DUMP.argv")
if grep -q "SENTINEL" "$HARNESS_DUMP.argv" || [ "$n" -lt 10 ]; then
	not_ok "no key on any harness command line" "$n launches" "$(grep SENTINEL "$HARNESS_DUMP.argv")"
else ok "no key on any harness command line ($n launches)"; fi
for s in "$SENTINEL_A" "$SENTINEL_B"; do
	if grep -qF -- "$s" "$ALL"; then
		not_ok "sentinel $s never printed" "$(grep -F -- "$s" "$ALL" | head -3)"
	else ok "sentinel never printed (stdout, stderr, all commands and formats)"; fi
	hits=$(grep -rlF --exclude=.env -- "$s" "$HOME" 2>/dev/null)
	if [ -n "$hits" ]; then not_ok "sentinel in no file under HOME" "$hits"
	else ok "sentinel in no file under HOME (~/.acpx, logs, state)"; fi
done
done_testing
