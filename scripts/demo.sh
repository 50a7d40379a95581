#!/usr/bin/env bash
# Build edge-cors and run the demo: Envoy on 127.0.0.1:10000 (admin 127.0.0.1:9901) with
# envoy/envoy.yaml, in front of scripts/upstream.py on 127.0.0.1:10001. Prints curl examples
# with their answers, then serves until Ctrl-C.
#
#   scripts/demo.sh           build, start, show the examples, keep serving
#   scripts/demo.sh --check   the same, then stop (exit status says whether the answers were right)
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_rust
build_wasm
envoy="$(envoy_bin)"
ensure_venv   # python for the upstream (and the default Envoy)

for port in 10000 10001 9901; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port on 127.0.0.1 is in use; stop whatever holds it (an earlier demo?)" >&2; exit 1
  fi
done

logdir="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$VENV/bin/python" scripts/upstream.py 10001 > "$logdir/upstream.log" 2>&1 & pids+=($!)
log "starting $envoy -c envoy/envoy.yaml (log: $logdir/envoy.log)"
"$envoy" -c envoy/envoy.yaml --concurrency 1 --log-level info > "$logdir/envoy.log" 2>&1 & pids+=($!)
if ! wait_ready 9901 60; then
  echo "Envoy did not become ready; its log:" >&2; tail -50 "$logdir/envoy.log" >&2; exit 1
fi

bad=0
# example TITLE EXPECTED-REGEX curl-args... : run curl, show the command and the answer's
# status line and CORS headers, and check the answer against EXPECTED-REGEX.
example() {
  local title="$1" expect="$2"; shift 2
  printf '\n\033[1m# %s\033[0m\n$ curl -si' "$title"; printf " %q" "$@"; printf '\n'
  local out; out="$(curl -si "$@" | tr -d '\r' | grep -iE '^(HTTP/|access-control-|vary:)')"
  printf '%s\n' "$out"
  if ! grep -qiE "$expect" <<<"$out"; then echo "!! expected to see: $expect"; bad=1; fi
}
B=http://127.0.0.1:10000
example "Preflight from an allowed origin: answered by edge-cors, never reaches the upstream" \
  '^HTTP/1.1 204' -X OPTIONS $B/api/users -H 'Origin: https://app.example.com' \
  -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type, authorization'
example "Preflight from an untrusted origin: 403, no CORS headers" \
  '^HTTP/1.1 403' -X OPTIONS $B/api/users -H 'Origin: https://evil.example.net' -H 'Access-Control-Request-Method: PUT'
example "Preflight asking for a header the policy does not allow: 403" \
  '^HTTP/1.1 403' -X OPTIONS $B/api/users -H 'Origin: https://app.example.com' \
  -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: x-secret'
example "GET from an allowed origin: the upstream's 'Access-Control-Allow-Origin: *' is replaced" \
  '^access-control-allow-origin: https://app.example.com' $B/api/users -H 'Origin: https://app.example.com'
example "GET from a subdomain (https://*.example.com) and a preview regex" \
  '^access-control-allow-origin: https://pr-42.preview.example.com' $B/api/users -H 'Origin: https://pr-42.preview.example.com'
example "GET from a look-alike origin: no CORS headers at all (the upstream's are removed too)" \
  '^vary: .*origin' $B/api/users -H 'Origin: https://app.example.com.evil.net'
example "401 from the auth filter after edge-cors: decorated, so the page can read it" \
  '^access-control-allow-origin: https://app.example.com' $B/api/secure/me -H 'Origin: https://app.example.com'
example "403 from RBAC after edge-cors: decorated too" \
  '^HTTP/1.1 403' $B/api/admin/x -H 'Origin: https://app.example.com'
example "Public policy (allow_origins: [\"*\"]): literal *, no Vary: Origin" \
  '^access-control-allow-origin: \*' $B/public/status -H 'Origin: https://anyone.example.org'
printf '\n# The upstream saw only the forwarded requests (no OPTIONS):\n$ curl -s 127.0.0.1:10001/__counts\n'
curl -s 127.0.0.1:10001/__counts; echo
if curl -s 127.0.0.1:10001/__counts | grep -q OPTIONS; then echo "!! a preflight reached the upstream"; bad=1; fi

# The decisions above, counted with their reasons (only the counters that moved).
printf '\n# Every decision is counted, with its reason (counters above 0):\n'
printf '%s\n' "\$ curl -s 127.0.0.1:9901/stats/prometheus | grep -E '^edge_cors.* [1-9]'"
stats="$(curl -s 127.0.0.1:9901/stats/prometheus | grep -E '^edge_cors.* [1-9]' || true)"
echo "$stats"
for want in 'edge_cors_preflight_allowed{edge_cors_policy="app"} 1' \
            'edge_cors_preflight_rejected{edge_cors_policy="app",edge_cors_reason="origin"} 1' \
            'edge_cors_preflight_rejected{edge_cors_policy="app",edge_cors_reason="headers"} 1'; do
  grep -qxF "$want" <<<"$stats" || { echo "!! expected the counter line: $want"; bad=1; }
done

if [ "${1:-}" = "--check" ]; then
  [ $bad = 0 ] && echo "demo: every example answered as documented" || echo "demo: some examples did not answer as documented"
  exit $bad
fi
printf '\nedge-cors demo running: http://127.0.0.1:10000  admin: http://127.0.0.1:9901  (Ctrl-C to stop)\n'
wait "${pids[1]}"
