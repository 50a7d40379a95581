#!/usr/bin/env bash
# Browser conformance: Debian's Chromium and Firefox ESR (never a downloaded browser), driven by
# puppeteer-core (Chromium over the DevTools protocol, Firefox over WebDriver BiDi; pinned in
# tests/browser/package-lock.json with the Socket.IO browser client), against Envoy + edge-cors,
# with a Socket.IO server from PyPI (tests/browser/requirements.txt). Prints one table per
# browser (case -> expected -> browser -> reason); fails on any mismatch; writes
# docs/browser-matrix.md when every case agrees.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_apt chromium firefox-esr openssl
command -v npm >/dev/null 2>&1 || ensure_apt nodejs npm
ensure_venv
venv_install browser-requirements "$(cat "$ROOT/tests/browser/requirements.txt")" -r "$ROOT/tests/browser/requirements.txt"
# npm ci: exactly the lockfile; only when node_modules does not already match it.
lock="$ROOT/tests/browser/package-lock.json"
stamp="$ROOT/tests/browser/node_modules/.lock.sha256"
if [ ! -f "$stamp" ] || [ "$(sha256sum < "$lock")" != "$(cat "$stamp")" ]; then
  log "npm ci (tests/browser)"
  (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
  sha256sum < "$lock" > "$stamp"
fi
# The suite's own checks first (no browser): a consistent case table, reasons in mismatches.
"$VENV/bin/python" -m pytest -q tests/browser/test_cases.py
# Arguments go to run.py (62-browser-native: --browsers chromium --no-matrix).
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" CHROMIUM=/usr/bin/chromium FIREFOX=/usr/bin/firefox-esr \
  "$VENV/bin/python" tests/browser/run.py "$@"
