#!/usr/bin/env bash
# Build target/wasm32-wasip1/release/edge_cors.wasm (installs the Rust targets if missing).
. "$(dirname "$0")/lib.sh"
build_wasm
ls -l "$WASM"
