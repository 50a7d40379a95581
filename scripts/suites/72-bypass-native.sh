#!/usr/bin/env bash
# The security tests of 70-bypass (the bypass corpus and the hostile-input tests through Envoy)
# against the native host (EDGE_CORS_HOST=native).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
[ -f "$NATIVE" ] || build_native
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_NATIVE="$NATIVE" EDGE_CORS_HOST=native \
  "$VENV/bin/python" -m pytest -q -s -m security tests/e2e
