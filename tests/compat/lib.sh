# Sourced by compatibility scripts: finds the reference acpx or skips.
REF=${ACPX_REFERENCE:-/tmp/ref/node_modules/.bin/acpx}
[ "$REF" = none ] && skip_all "comparison with the reference disabled (ACPX_REFERENCE=none; scripts/test compares in the plain build only)"
[ -x "$REF" ] || skip_all "reference acpx 0.19.1 not installed (npm install --prefix /tmp/ref acpx@0.19.1, or set ACPX_REFERENCE)"
command -v node >/dev/null 2>&1 || skip_all "node not installed: cannot run the reference acpx"
