#!/usr/bin/env bash
# `envoy --mode validate` on every shipped Envoy config: it loads the wasm and runs
# on_configure, so a policy edge-cors refuses fails here before it reaches a gateway.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
envoy="$(envoy_bin)"
n=0
while IFS= read -r cfg; do
  # Kubernetes manifests (Istio, Envoy Gateway) are not Envoy configs: 80-istio and 86-platforms
  # check them.
  if grep -q '^apiVersion:' "$cfg"; then continue; fi
  log "validate $cfg"
  "$envoy" --mode validate -c "$cfg" --log-level error
  n=$((n + 1))
done < <(git ls-files 'envoy/*.yaml' 'envoy/**/*.yaml' | grep -v '/ecds/.*resource' | sort -u)
echo "validated $n Envoy configs"
[ $n -gt 0 ]
