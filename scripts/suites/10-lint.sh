#!/usr/bin/env bash
# Formatting, and clippy with the workspace lints (Cargo.toml) on every crate natively (core,
# checker, tests, benchmark) and on the wasm filter: outside tests clippy denies
# unwrap/expect/panic/indexing, so a panic path fails here. The core has no proxy-wasm,
# getrandom or log dependency, and no YAML crate reaches the filter.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo fmt --check
cargo clippy -q --workspace --all-targets --all-features -- -D warnings
cargo clippy -q --release --target wasm32-wasip1 -p edge-cors --lib -- -D warnings
if cargo tree -q -p edge-cors-core -e normal | grep -E 'proxy-wasm|getrandom|log '; then
  echo "edge-cors-core depends on a host crate (above); it must stay host-agnostic" >&2; exit 1
fi
echo "lint: fmt and clippy clean"
