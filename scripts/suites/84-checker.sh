#!/usr/bin/env bash
# edge-cors-check, the native config checker for CI (crates/edge-cors-check; 10-lint runs clippy
# on it): good and bad files in tests/checker/, and its errors compared with what the filter logs
# in Envoy.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_rust
ensure_venv
[ -f "$WASM" ] || build_wasm
# The YAML parser belongs to the checker only: the wasm filter's dependency tree must not have it.
if cargo tree -q -p edge-cors --target wasm32-wasip1 -e normal | grep -i yaml; then
  echo "the wasm build links a YAML crate; it must stay in the checker's crate" >&2; exit 1
fi
cargo build -q -p edge-cors-check
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_CHECK="$ROOT/target/debug/edge-cors-check" \
  "$VENV/bin/python" -m pytest -q tests/checker
