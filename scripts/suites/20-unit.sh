#!/usr/bin/env bash
# Native unit and spec tests of the core (table-driven decide() tests, config errors), and the
# bypass corpus through decide() and the property tests, whose counts the README quotes: the
# test runner shows what passing tests print (RUST_TEST_NOCAPTURE).
. "$(dirname "$0")/../lib.sh"
export RUST_TEST_NOCAPTURE=1
cd "$ROOT"
cargo test --all-targets
