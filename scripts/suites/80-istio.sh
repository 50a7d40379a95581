#!/usr/bin/env bash
# The Istio WasmPlugin manifests in envoy/istio/: the vendored Istio 1.30 CRD schema (strict, as
# the API server prunes) plus its CEL rules, and each pluginConfig through the filter's own
# validation (the native checker, and the real filter in `envoy --mode validate`).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_rust
ensure_venv
[ -f "$WASM" ] || build_wasm
cargo build -q -p edge-cors-check
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" EDGE_CORS_CHECK="$ROOT/target/debug/edge-cors-check" \
  "$VENV/bin/python" -m pytest -q tests/istio/test_wasmplugin_manifests.py
