#!/usr/bin/env bash
# Differential run: the spec configurations through edge-cors and through Envoy's native CORS
# filter (same Envoy binary), a corpus of ~1700 requests; every difference is printed with its
# class, and a difference no class explains fails the suite.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ensure_venv
ENVOY_BIN="$(envoy_bin)" EDGE_CORS_WASM="$WASM" "$VENV/bin/python" tests/differential/run.py
