#!/usr/bin/env bash
# cargo-fuzz: origin parsing, Access-Control-Request-Headers parsing, configuration parsing
# and validation, and the whole decide(), each for 30 s from seeds generated out of the spec
# tests; any crash or broken invariant fails. scripts/fuzz.sh SECONDS runs them longer.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
scripts/fuzz.sh "${EDGE_CORS_FUZZ_SECONDS:-30}"
