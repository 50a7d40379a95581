#!/usr/bin/env bash
# Third-party CORS scanners from PyPI (corsair_scan, CORScanner, OverReacher; pinned in
# tests/requirements.txt) against Envoy + edge-cors with the demo's policy, and against a
# deliberately broken native-CORS Envoy, which each must flag.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_venv
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" "$VENV/bin/python" -m pytest -q -s tests/scanners \
  2>&1 | grep -vE '^\$ |^ *$' | grep -E 'findings|UNEXPECTED|allowed|not CORS|^  \(|passed|failed|Error|assert'
[ "${PIPESTATUS[0]}" = 0 ]
