#!/usr/bin/env bash
# The whole edge-cors test suite. Installs what it needs, builds, then runs every suite in
# scripts/suites/ in order (each is a script that exits non-zero on failure), announcing each as
# `[k/N] name` and closing it with `[k/N] name passed|FAILED (N s)`; at the end one line per
# suite, the total time and the failed suites.
#
#   scripts/test.sh              every suite
#   scripts/test.sh e2e unit     only suites whose file name contains one of the words
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

suites=()
for suite in "$ROOT"/scripts/suites/*.sh; do
  name="$(basename "$suite" .sh)"
  if [ $# -gt 0 ]; then
    keep=0; for w in "$@"; do case "$name" in *"$w"*) keep=1;; esac; done
    [ $keep = 1 ] || continue
  fi
  suites+=("$name")
done
[ ${#suites[@]} -gt 0 ] || { echo "no suite in scripts/suites/ matches: $*" >&2; exit 2; }

ensure_rust
ensure_venv
# Both hosts: the wasm filter and the native dynamic module (the *-native suites run against it).
build_wasm
build_native

failed=(); summary=(); k=0; n=${#suites[@]}
start_all=$SECONDS
for name in "${suites[@]}"; do
  k=$((k + 1))
  log "[$k/$n] $name"
  t0=$SECONDS
  if bash "$ROOT/scripts/suites/$name.sh"; then result=passed; else result=FAILED; failed+=("$name"); fi
  log "[$k/$n] $name $result ($((SECONDS - t0)) s)"
  summary+=("$(printf '%-7s %-20s %-6s %5d s' "[$k/$n]" "$name" "$result" $((SECONDS - t0)))")
done
echo
printf '%s\n' "${summary[@]}"
echo "edge-cors test suites: $((n - ${#failed[@]})) of $n passed in $((SECONDS - start_all)) s"
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
