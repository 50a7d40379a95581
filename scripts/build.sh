#!/usr/bin/env bash
# Build the filter (installs the Rust targets and tools it needs):
#   scripts/build.sh            target/wasm32-wasip1/release/edge_cors.wasm, the proxy-wasm filter
#   scripts/build.sh --native   target/release/libedge_cors_native.so, the Envoy dynamic module
#   scripts/build.sh --all      both
. "$(dirname "$0")/lib.sh"
case "${1:-}" in
  "") build_wasm; ls -l "$WASM" ;;
  --native) build_native; ls -l "$NATIVE" ;;
  --all) build_wasm; build_native; ls -l "$WASM" "$NATIVE" ;;
  *) echo "usage: scripts/build.sh [--native | --all]" >&2; exit 2 ;;
esac
