#!/usr/bin/env bash
# Registry sources (allow_origins_from) through Envoy with a real HTTP registry on 127.0.0.1
# (scripts/registry_server.py): load, changes, 304, one fetch per Envoy, every failure mode, a
# restart with the registry down; then the small bounded case of the memory and cost
# measurement (docs/registry.md). About 2 minutes.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" "$VENV/bin/python" -m pytest -q tests/registry
# The memory and cost measurement's bounded case (2,000 origins, concurrency 1 and 2, no
# callgrind; the full table is scripts/registry_bench.sh's manual run).
bash "$ROOT/scripts/registry_bench.sh" --quick --check --out "$ROOT/target/registry-bench-quick"
