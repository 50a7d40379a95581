#!/usr/bin/env bash
# Releases (tests/release/): scripts/release.sh run in two fresh clones at two paths writes
# byte-identical dist/VERSION folders (wasm = the module the other suites test, static checker,
# OCI layout, rendered manifests, SHA256SUMS) and refuses a version Cargo.toml or CHANGELOG.md
# does not describe; `edge-cors-check render` output validates against the vendored Istio and
# Envoy Gateway CRDs and in `envoy --mode validate`, never without a real digest; the release
# image goes through a local registry (skopeo, docker-registry) and, pulled as Istio pulls it,
# answers a preflight in Envoy. The two release builds take most of its time.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_rust
ensure_venv
ensure_apt skopeo docker-registry file
[ -f "$WASM" ] || build_wasm
[ -f "$NATIVE" ] || build_native
cargo build -q -p edge-cors-check
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" EDGE_CORS_NATIVE="$NATIVE" EDGE_CORS_CHECK="$ROOT/target/debug/edge-cors-check" \
  "$VENV/bin/python" -m pytest -q -s -p no:cacheprovider tests/release 2>&1 | grep -vE '^\s*$'
[ "${PIPESTATUS[0]}" = 0 ]
