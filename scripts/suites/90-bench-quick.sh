#!/usr/bin/env bash
# The benchmark in its fast mode: proves scripts/bench.sh runs end to end (every variant answers
# every workload correctly, callgrind and wrk produce numbers, the tables and the chart are
# written) and checks the ordering any sound measurement must show. About 4 minutes.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
out="$ROOT/target/bench-quick"
rm -rf "$out"
bash "$ROOT/scripts/bench.sh" --quick --out "$out"
"$VENV/bin/python" "$ROOT/scripts/bench/check_quick.py" "$out"
# The size guard itself: the same figures with the module at its budget must fail the check.
over="$ROOT/target/bench-quick-over-budget"
rm -rf "$over" && cp -r "$out" "$over"
"$VENV/bin/python" - "$over/results.json" <<'PY'
import json, sys
sys.path.insert(0, "scripts/bench")
from report import MODULE_BUDGET_BYTES
path = sys.argv[1]
results = json.load(open(path))
results["module_bytes"]["edge_cors.wasm"] = MODULE_BUDGET_BYTES
json.dump(results, open(path, "w"))
PY
if "$VENV/bin/python" "$ROOT/scripts/bench/check_quick.py" "$over" > "$over/check.txt" 2>&1 \
  || ! grep -q '^FAIL module < ' "$over/check.txt"; then
  cat "$over/check.txt"
  echo "check_quick.py accepted a module at its size budget" >&2
  exit 1
fi
echo "ok   check_quick.py refuses a module at its size budget"
