#!/usr/bin/env bash
# The SRE kit (issue 15): promtool checks and unit-tests the Prometheus rules; the dashboard is
# rebuilt with Grafana's schema library and must equal the shipped JSON; a real Prometheus
# (Debian's, on 127.0.0.1, stopped at the end) scrapes a real Envoy + edge-cors after a scripted
# traffic mix and every recording rule and dashboard query is checked; the signals (labels under
# Istio's rules, access-log details, filter state, latency, identity) and the probe run against
# real Envoys.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_apt prometheus
ensure_rust
[ -f "$WASM" ] || build_wasm
promtool check rules operations/prometheus/rules.yml
(cd operations/prometheus && promtool test rules tests.yml)
"$VENV/bin/python" operations/grafana/dashboard.py > "$ROOT/target/edge-cors-dashboard.json"
if ! diff -u operations/grafana/edge-cors.json "$ROOT/target/edge-cors-dashboard.json"; then
  echo "operations/grafana/edge-cors.json differs from what operations/grafana/dashboard.py builds" >&2; exit 1
fi
cargo build -q -p edge-cors-check
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" EDGE_CORS_CHECK="$ROOT/target/debug/edge-cors-check" \
  "$VENV/bin/python" -m pytest -q tests/sre
