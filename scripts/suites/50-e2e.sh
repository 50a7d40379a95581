#!/usr/bin/env bash
# End-to-end tests through the real Envoy (.venv/bin/envoy or $ENVOY_BIN) and the real wasm;
# the modules marked `security` (bypass corpus, hostile input) run in 70-bypass.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" "$VENV/bin/python" -m pytest -q -m "not security" tests/e2e
