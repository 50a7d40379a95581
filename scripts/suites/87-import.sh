#!/usr/bin/env bash
# edge-cors-check import and owners (crates/edge-cors-check/src/cmd/{import,owners}.rs): real-shaped
# VirtualService, Envoy route configuration, HTTPRoute, SecurityPolicy and Ingress documents in
# tests/import/, validated against the CRDs in ../shared (or by Envoy); each imported policy loaded
# into Envoy answers sample requests as the source did, except where a finding says it cannot.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_rust
ensure_venv
[ -f "$WASM" ] || build_wasm
cargo build -q -p edge-cors-check
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" EDGE_CORS_CHECK="$ROOT/target/debug/edge-cors-check" \
  "$VENV/bin/python" -m pytest -q tests/import
