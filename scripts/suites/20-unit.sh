#!/usr/bin/env bash
# Native unit and spec tests of the core (table-driven decide() tests, config errors).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo test --all-targets
