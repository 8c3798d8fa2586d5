# Sourced by the real-program conformance tests and by prefetch.sh: the npm
# packages they run, pinned, and where they are kept (outside any build
# tree, one copy per version, shared by every build and run on the machine).
: "${ACPX_NPM_CACHE:=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/acpx-native}"
OPENCLAW_VERSION=2026.4.2
OPENCODE_SPEC=opencode-ai@1.18.33
CLAUDE_ACP_PKG=@agentclientprotocol/claude-agent-acp
CLAUDE_ACP_VERSION=0.76.0
