#!/usr/bin/env bash
# The documentation (tests/docs/): every link, anchor and repository path in README.md and
# docs/*.md resolves, the README has at most 250 lines, the README's quick start runs as written
# (checker built with its command, its Envoy config, its curls), and every edge-cors-check example
# prints what it shows.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_rust
ensure_venv
[ -f "$WASM" ] || build_wasm
ENVOY_BIN="$(envoy_bin)" "$VENV/bin/python" -m pytest -q tests/docs
