#!/usr/bin/env bash
# Soak: drive a bounded number of mixed CORS requests through Envoy + edge-cors on loopback and
# report unexpected answers and the wasm VM's memory before and after.
#
#   scripts/soak.sh              1,000,000 requests (the full run)
#   scripts/soak.sh 50000        a smaller count (CI: scripts/suites/78-soak.sh)
#
# The mix (scripts/soak/mix.lua, wrk): allowed and rejected actual requests, requests without
# Origin, allowed and rejected preflights (origin, headers), in equal parts. Forwarded requests
# end at Envoy direct responses (no upstream process to be the bottleneck; edge-cors decorates
# those local replies like upstream responses). Fails on any unexpected status or header, any
# socket error or timeout, fewer responses than asked, a VM failure or restart, or VM memory
# growth beyond SOAK_MEMORY_MARGIN bytes (default 1 MiB) after the warm-up. The driver is
# scripts/soak/soak.py (Envoy through the test harness, tests/harness).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_apt wrk
[ -f "$WASM" ] || build_wasm
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" exec python3 "$ROOT/scripts/soak/soak.py" "${1:-1000000}"
