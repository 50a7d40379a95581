#!/usr/bin/env bash
# The platforms (tests/platforms/): Istio 1.30's and Envoy Gateway 1.9's filter chains, read from
# their sources, reproduced in a real Envoy with a real ext_authz service, JWT, RBAC and native
# CORS; the failures, the shipped fixes (envoy/istio-chain/, envoy/envoy-gateway/) and who owns
# CORS next to native CORS; the checker on EnvoyExtensionPolicies; ECDS cold start
# (envoy/ecds/); every manifest and documented Kubernetes object against the CRDs in ../shared/.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_rust
ensure_venv
[ -f "$WASM" ] || build_wasm
cargo build -q -p edge-cors-check
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" EDGE_CORS_CHECK="$ROOT/target/debug/edge-cors-check" \
  "$VENV/bin/python" -m pytest -q tests/platforms
