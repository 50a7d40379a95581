#!/usr/bin/env bash
# Native unit and spec tests of every crate: the core's table-driven decide() tests, config
# errors, the host logic call by call against the recording host, the checker; and the bypass
# corpus through decide() and the property tests, whose counts the docs quote: the test runner
# shows what passing tests print (RUST_TEST_NOCAPTURE).
. "$(dirname "$0")/../lib.sh"
export RUST_TEST_NOCAPTURE=1
cd "$ROOT"
cargo test --workspace --all-targets
