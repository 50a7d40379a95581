#!/usr/bin/env bash
# The README's demo command, in check mode: builds, starts Envoy on 127.0.0.1:10000 with
# envoy/envoy.yaml, runs every curl example, verifies the answers, stops.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
scripts/demo.sh --check
