#!/usr/bin/env bash
# The reproducible OCI image (scripts/oci.py): same wasm -> same digest; pushed with Debian's
# skopeo to Debian's docker-registry on 127.0.0.1 (free port, own config, no auth), pulled back
# the way Istio's image fetcher does, wasm bytes and manifest digest compared.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_apt skopeo docker-registry
ensure_venv
[ -f "$WASM" ] || build_wasm
EDGE_CORS_WASM="$WASM" "$VENV/bin/python" -m pytest -q tests/istio/test_oci_image.py
