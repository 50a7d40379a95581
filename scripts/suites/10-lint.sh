#!/usr/bin/env bash
# Formatting, and clippy on the native core, the checker bin and the wasm glue: outside tests clippy
# denies unwrap/expect/panic/indexing (see src/lib.rs), so a panic path fails here.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo fmt --check
cargo clippy -q --all-targets --features checker -- -D warnings
cargo clippy -q --release --target wasm32-wasip1 --lib -- -D warnings
echo "lint: fmt and clippy clean"
