#!/usr/bin/env bash
# The README's demo command, in check mode: builds, starts Envoy with envoy/envoy.yaml, runs
# every curl example, verifies the answers and the counters, stops. Twice: on the default ports
# (10000, admin 9901, upstream 10001), then on free ports chosen with a flag and an environment
# variable. A taken port must be refused with a message that names the flag and the variable.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
free_ports() { python3 -c 'import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'; }

log "demo on the default ports"
scripts/demo.sh --check

read -r port admin upstream taken < <(free_ports)
log "demo on chosen ports: --port $port, EDGE_CORS_DEMO_ADMIN_PORT=$admin, --upstream-port $upstream"
EDGE_CORS_DEMO_ADMIN_PORT="$admin" scripts/demo.sh --check --port "$port" --upstream-port "$upstream"

log "demo with its listener port taken"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(120)' "$taken" &
holder=$!
trap 'kill "$holder" 2>/dev/null || true' EXIT
deadline=$((SECONDS + 10))
until (exec 3<>"/dev/tcp/127.0.0.1/$taken") 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || { echo "the port holder did not listen on $taken" >&2; exit 1; }
  sleep 0.1
done
if out="$(scripts/demo.sh --check --port "$taken" 2>&1)"; then
  echo "$out"; echo "the demo started although port $taken was taken" >&2; exit 1
fi
message="$(grep "port $taken" <<<"$out" || true)"
echo "$message"
for how in "--port N" "EDGE_CORS_DEMO_PORT=N"; do
  grep -qF -- "$how" <<<"$message" || { echo "the taken-port message does not name $how" >&2; exit 1; }
done
echo "demo: default ports, chosen ports and a taken port behave as documented"
