#!/usr/bin/env bash
# Fuzz every cargo-fuzz target in tests/fuzz for a bounded time, seeded from the spec tests.
#
#   scripts/fuzz.sh                 each target 30 s (what the test suite runs)
#   scripts/fuzz.sh 3600            each target an hour
#   scripts/fuzz.sh 600 decide acrh only these targets
#
# Fails on the first crash (a panic or a broken invariant); libFuzzer leaves the input in
# tests/fuzz/artifacts/TARGET/ and `cargo +nightly fuzz run --fuzz-dir tests/fuzz TARGET FILE`
# replays it. Prints the executions per target.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(origin acrh config decide native regex)

ensure_rust
ensure_apt g++   # libfuzzer-sys compiles libFuzzer's C++ sources
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
ensure_cargo_tool cargo-fuzz cargo-fuzz 0.13.2

fuzz_dir="$ROOT/tests/fuzz"
corpus="$fuzz_dir/corpus"
python3 "$fuzz_dir/seeds.py" "$corpus"
log "building the fuzz targets (nightly, sanitizer coverage)"
cargo +nightly fuzz build --fuzz-dir "$fuzz_dir" -O

declare -A max_len=([origin]=10000 [acrh]=8192 [config]=16384 [decide]=16384 [native]=16384 [regex]=2048)
summary=()
for t in "${targets[@]}"; do
  log "fuzz $t for ${seconds}s"
  out="$(mktemp)"
  if ! cargo +nightly fuzz run --fuzz-dir "$fuzz_dir" -O "$t" "$corpus/$t" -- \
      -max_total_time="$seconds" -max_len="${max_len[$t]:-8192}" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$out" 2>&1; then
    tail -60 "$out"
    echo "fuzz: target $t FAILED (input saved under tests/fuzz/artifacts/$t/)"
    exit 1
  fi
  runs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 execs in \2 s/p' "$out" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "$out" | tail -1)"
  summary+=("$t: ${runs:-?} (${cov:-cov ?}), corpus $(ls "$corpus/$t" | wc -l) inputs, 0 crashes")
  rm -f "$out"
done
echo "fuzz results (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
