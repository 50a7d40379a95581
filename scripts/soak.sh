#!/usr/bin/env bash
# Soak: drive a bounded number of mixed CORS requests through Envoy + edge-cors on loopback and
# report unexpected answers and the wasm VM's memory before and after.
#
#   scripts/soak.sh              1,000,000 requests (the full run)
#   scripts/soak.sh 50000        a smaller count (CI: scripts/suites/78-soak.sh)
#
# The mix (scripts/soak/mix.lua, wrk): allowed and rejected actual requests, requests without
# Origin, allowed and rejected preflights (origin, headers), in equal parts. Forwarded requests
# end at Envoy direct responses (no upstream process to be the bottleneck; edge-cors decorates
# those local replies like upstream responses). Fails on any unexpected status or header, any
# socket error or timeout, fewer responses than asked, a VM failure or restart, or VM memory
# growth beyond SOAK_MEMORY_MARGIN bytes (default 1 MiB) after the warm-up.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

total="${1:-1000000}"
warmup_seconds="${SOAK_WARMUP_SECONDS:-5}"
margin="${SOAK_MEMORY_MARGIN:-1048576}"
threads=2
connections=16
max_seconds="${SOAK_MAX_SECONDS:-900}"

ensure_apt wrk curl
ensure_venv
[ -f "$WASM" ] || build_wasm
envoy="$(envoy_bin)"

work="$(mktemp -d /tmp/edge-cors-soak.XXXXXX)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"; admin="$(free_port)"
python3 "$ROOT/scripts/soak/soak_config.py" "$work/envoy.json" "$port" "$admin" "$WASM"

"$envoy" -c "$work/envoy.json" --concurrency 1 --log-level warn --base-id "$admin" --disable-hot-restart \
  >"$work/envoy.log" 2>&1 &
envoy_pid=$!
trap 'kill "$envoy_pid" 2>/dev/null || true; wait "$envoy_pid" 2>/dev/null || true' EXIT
wait_ready "$admin" 60 || { cat "$work/envoy.log"; echo "soak: Envoy did not become ready"; exit 1; }

admin_stat() { curl -sf "http://127.0.0.1:$admin/stats?filter=$1" | sed -n "s/^[^:]*$1: //p" | head -1; }
vm_state() { printf '%s/%s' "$(admin_stat 'wasm.envoy.wasm.runtime.v8.created')" "$(admin_stat 'wasm.envoy.wasm.runtime.v8.active')"; }

run_wrk() {  # run_wrk SECONDS -> prints the SOAK line
  wrk -t"$threads" -c"$connections" -d"$1"s --timeout 5s \
    -s "$ROOT/scripts/soak/mix.lua" "http://127.0.0.1:$port/" | tee "$work/wrk.out" | grep "^SOAK "
}
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"; }

log "soak: warm-up for ${warmup_seconds}s"
warm="$(run_wrk "$warmup_seconds")"
[ "$(field unexpected "$warm")" = 0 ] || { echo "soak: unexpected answers during warm-up: $warm"; exit 1; }
mem_before="$(admin_stat 'edge_cors.vm_memory_bytes')"
vm_before="$(vm_state)"

# wrk runs for a duration: size it from the warm-up's rate with a 30% margin, then check that
# at least $total responses came back.
rate=$(( $(field responses "$warm") / warmup_seconds ))
seconds=$(( total * 13 / 10 / (rate > 0 ? rate : 1) + 2 ))
[ "$seconds" -le "$max_seconds" ] || seconds="$max_seconds"
log "soak: $total mixed requests (warm-up rate $rate/s; wrk -t$threads -c$connections for ${seconds}s)"
line="$(run_wrk "$seconds")"
mem_after="$(admin_stat 'edge_cors.vm_memory_bytes')"
vm_after="$(vm_state)"
rq_5xx="$(admin_stat 'http.soak.downstream_rq_5xx')"

responses="$(field responses "$line")"; unexpected="$(field unexpected "$line")"
secs=$(( $(field duration_us "$line") / 1000000 ))
echo "soak report"
echo "  requests:   $responses in ${secs} s ($(( responses / (secs > 0 ? secs : 1) )) per s), asked $total, after a warm-up of $(field responses "$warm") requests"
echo "  mix:        GET allowed $(field get_allowed "$line"), GET rejected $(field get_rejected "$line"), GET without Origin $(field get_none "$line"), preflight allowed $(field pf_allowed "$line"), preflight rejected $(field pf_rejected "$line")"
echo "  unexpected: $unexpected statuses or headers; socket errors $(field socket_errors "$line"), timeouts $(field timeouts "$line"), Envoy 5xx $rq_5xx"
echo "  latency:    p50 $(field p50_us "$line") us, p99 $(field p99_us "$line") us"
echo "  wasm VM:    memory before $mem_before bytes, after $mem_after bytes (growth $(( mem_after - mem_before ))); VMs created/active before $vm_before, after $vm_after"

fail=0
[ "$unexpected" = 0 ] || { echo "soak: FAIL: unexpected answers, first: $(sed -n 's/.*sample=//p' <<<"$line")"; fail=1; }
[ "$responses" -ge "$total" ] || { echo "soak: FAIL: only $responses of $total responses within ${seconds}s"; fail=1; }
[ "$(field socket_errors "$line")" = 0 ] && [ "$(field timeouts "$line")" = 0 ] || { echo "soak: FAIL: socket errors or timeouts"; fail=1; }
[ "$rq_5xx" = 0 ] || { echo "soak: FAIL: Envoy answered 5xx"; fail=1; }
[ "$vm_before" = "$vm_after" ] || { echo "soak: FAIL: wasm VM created/active changed"; fail=1; }
[ -n "$mem_before" ] && [ -n "$mem_after" ] || { echo "soak: FAIL: no edge_cors.vm_memory_bytes gauge"; fail=1; }
[ $(( ${mem_after:-0} - ${mem_before:-0} )) -le "$margin" ] || { echo "soak: FAIL: VM memory grew more than $margin bytes"; fail=1; }
if grep -qiE 'panicked|wasm.*(fail|crash)' "$work/envoy.log"; then echo "soak: FAIL: VM failure in Envoy's log"; grep -iE 'panicked|fail' "$work/envoy.log" | head; fail=1; fi
[ $fail = 0 ] && echo "soak: passed" && rm -rf "$work"
exit $fail
