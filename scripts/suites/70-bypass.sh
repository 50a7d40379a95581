#!/usr/bin/env bash
# The security tests through Envoy, with their counts printed: the bypass corpus
# (tests/bypass_origins.txt) through Envoy + edge-cors, and the hostile-input tests with the
# preflight-time benchmark (the tests/e2e modules marked `security`; 50-e2e runs the others).
# The same corpus through decide() and the property tests run once, in 20-unit, which prints
# their counts too.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" "$VENV/bin/python" -m pytest -q -s -m security tests/e2e
