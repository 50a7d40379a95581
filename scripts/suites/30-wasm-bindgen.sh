#!/usr/bin/env bash
# The same core tests (rules, config, ops, host) compiled to wasm32-unknown-unknown and run by
# wasm-bindgen-test under node. Only the core crate: the proxy-wasm host's env.proxy_* imports
# node cannot resolve.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_apt nodejs
version="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')"
ensure_cargo_tool wasm-bindgen-test-runner wasm-bindgen-cli "$version"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p edge-cors-core --target wasm32-unknown-unknown --tests
