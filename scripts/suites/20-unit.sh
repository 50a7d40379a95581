#!/usr/bin/env bash
# Native unit and spec tests of every crate: the core's table-driven decide() tests, config
# errors, the host logic call by call against the recording host, the checker.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo test --workspace --all-targets
