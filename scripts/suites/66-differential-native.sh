#!/usr/bin/env bash
# The differential run of 65-differential (edge-cors against Envoy's C++ CORS filter, every
# difference explained) with edge-cors on the native host (EDGE_CORS_HOST=native).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_venv
[ -f "$NATIVE" ] || build_native
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_NATIVE="$NATIVE" EDGE_CORS_HOST=native "$VENV/bin/python" tests/differential/run.py
