#!/usr/bin/env bash
# The browser conformance cases of 60-browser, in Chromium, against the native host
# (EDGE_CORS_HOST=native): the same case table and expected verdicts. The browser matrix in
# docs/ stays the one 60-browser writes.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
[ -f "$NATIVE" ] || build_native
EDGE_CORS_HOST=native EDGE_CORS_NATIVE="$NATIVE" bash "$ROOT/scripts/suites/60-browser.sh" --browsers chromium --no-matrix
