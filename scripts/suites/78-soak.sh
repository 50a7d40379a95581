#!/usr/bin/env bash
# A short soak: 50,000 mixed CORS requests through Envoy + edge-cors with wrk, 0 unexpected
# answers and flat VM memory. `scripts/soak.sh` alone runs the full 1,000,000.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
SOAK_WARMUP_SECONDS=3 scripts/soak.sh "${EDGE_CORS_SOAK_REQUESTS:-50000}"
