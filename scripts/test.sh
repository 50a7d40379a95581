#!/usr/bin/env bash
# The whole edge-cors test suite. Installs what it needs, builds, then runs every suite in
# scripts/suites/ in order (each is a script that exits non-zero on failure).
#
#   scripts/test.sh              every suite
#   scripts/test.sh e2e unit     only suites whose file name contains one of the words
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_rust
ensure_venv
build_wasm

passed=0; failed=0; failed_names=()
start_all=$SECONDS
for suite in "$ROOT"/scripts/suites/*.sh; do
  name="$(basename "$suite" .sh)"
  if [ $# -gt 0 ]; then
    keep=0; for w in "$@"; do case "$name" in *"$w"*) keep=1;; esac; done
    [ $keep = 1 ] || continue
  fi
  log "suite $name"
  t0=$SECONDS
  if bash "$suite"; then
    passed=$((passed + 1)); log "suite $name passed ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failed_names+=("$name"); log "suite $name FAILED ($((SECONDS - t0)) s)"
  fi
done
echo
echo "edge-cors test suites finished in $((SECONDS - start_all)) s"
[ $failed -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
