#!/usr/bin/env bash
# The native host (crates/edge-cors-native, an Envoy dynamic module): its ABI against the Envoy
# binary (every imported callback exported, every hook Envoy resolves exported, the glibc floor),
# a contained panic (a build with the test-panic feature), several worker threads, the
# configuration paths (filter_name, per-route, ECDS, the checker), Envoy Gateway's way of
# attaching it and the shipped manifests, a remote module; then the end-to-end suite of 50-e2e run
# against the native host (EDGE_CORS_HOST=native; the security modules run in 72-bypass-native).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_venv
[ -f "$NATIVE" ] || build_native
test_panic="$(build_native_test_panic)"
cargo build -q -p edge-cors-check
export ENVOY_BIN="$(envoy_bin)" EDGE_CORS_NATIVE="$NATIVE" EDGE_CORS_NATIVE_TEST_PANIC="$test_panic" NATIVE_GLIBC \
  EDGE_CORS_CHECK="$ROOT/target/debug/edge-cors-check"
"$VENV/bin/python" -m pytest -q -s tests/native
EDGE_CORS_HOST=native "$VENV/bin/python" -m pytest -q -m "not security" tests/e2e
