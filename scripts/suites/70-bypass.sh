#!/usr/bin/env bash
# The bypass corpus (tests/bypass_origins.txt) through decide() and through Envoy + edge-cors,
# and the property tests, with their counts printed (20-unit and 50-e2e run the same tests
# quietly), and the hostile-input tests with the preflight-time benchmark.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo test -q --test bypass --test properties -- --nocapture 2>&1 | grep -E '(bypass corpus|properties):|test result|panicked|FAILED'
[ "${PIPESTATUS[0]}" = 0 ]
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" "$VENV/bin/python" -m pytest -q -s tests/e2e/test_bypass.py tests/e2e/test_hostile.py
