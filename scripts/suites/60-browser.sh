#!/usr/bin/env bash
# Browser conformance: Debian's Chromium (never a downloaded browser), driven by playwright-core
# (pinned in tests/browser/package-lock.json), against Envoy + edge-cors. Prints the table
# case -> expected -> browser -> reason; fails on any mismatch.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_apt chromium
command -v npm >/dev/null 2>&1 || ensure_apt nodejs npm
ensure_venv
# npm ci: exactly the lockfile; only when node_modules does not already match it.
lock="$ROOT/tests/browser/package-lock.json"
stamp="$ROOT/tests/browser/node_modules/.lock.sha256"
if [ ! -f "$stamp" ] || [ "$(sha256sum < "$lock")" != "$(cat "$stamp")" ]; then
  log "npm ci (tests/browser)"
  (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
  sha256sum < "$lock" > "$stamp"
fi
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" CHROMIUM=/usr/bin/chromium "$VENV/bin/python" tests/browser/run.py
