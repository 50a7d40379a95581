#!/usr/bin/env bash
# Build edge-cors and run the demo: Envoy on 127.0.0.1:10000 (admin 127.0.0.1:9901) with
# envoy/envoy.yaml, in front of scripts/upstream.py on 127.0.0.1:10001. Prints curl examples
# with their answers, then serves until Ctrl-C. Installs only what the demo needs: Rust and
# binaryen for the build, curl, and a venv holding Envoy alone (scripts/demo.py and the
# upstream need only Python's standard library).
#
#   scripts/demo.sh                 build, start, show the examples, keep serving
#   scripts/demo.sh --check         the same, then stop (exit status says whether the answers were right)
#   scripts/demo.sh --port 18000 --admin-port 18001 --upstream-port 18002
#                                   other ports (or EDGE_CORS_DEMO_PORT, EDGE_CORS_DEMO_ADMIN_PORT,
#                                   EDGE_CORS_DEMO_UPSTREAM_PORT); the running config is
#                                   envoy/envoy.yaml with these ports substituted
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_rust
ensure_apt curl
build_wasm
ENVOY_BIN="$(envoy_bin)" exec python3 "$ROOT/scripts/demo.py" "$@"
