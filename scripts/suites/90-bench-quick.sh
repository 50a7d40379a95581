#!/usr/bin/env bash
# The benchmark in its fast mode: proves scripts/bench.sh runs end to end (every variant answers
# every workload correctly, callgrind and wrk produce numbers, the tables and the chart are
# written) and checks the ordering any sound measurement must show. < 3 minutes.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
out="$ROOT/target/bench-quick"
rm -rf "$out"
bash "$ROOT/scripts/bench.sh" --quick --out "$out"
"$VENV/bin/python" "$ROOT/scripts/bench/check_quick.py" "$out"
