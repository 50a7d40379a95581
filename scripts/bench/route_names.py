#!/usr/bin/env python3
"""What binding a policy by route name costs per request: the `xds.route_name` property read.

Three edge-cors Envoys under callgrind, one at a time, the same one-origin policy bound three
ways to a route named `api` (every method, proxied to the upstream):
- `unbound`: no `match`: no route read at all (the baseline);
- `hosts`:   `match.hosts: ["api.example.com"]`: one `:authority` header read;
- `routes`:  `match.route_names: ["api"]`: one `xds.route_name` property read.
Instructions per request of the whole Envoy (bench.py's method: `callgrind_control -z` before
and `-d` after N keep-alive requests), written to --out as route_names.json and route_names.md
(docs/performance.md and docs/configuration.md quote the figures from that file).
Run through scripts/bench/route-names.sh, which installs and builds first.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests"))

import bench  # noqa: E402
import configs  # noqa: E402
from harness.envoy_config import ROUTER, route_to, static_cluster, virtual_host, wasm_filter  # noqa: E402
from harness.processes import free_port  # noqa: E402

BINDINGS = {
    "unbound": None,
    "hosts": {"hosts": ["api.example.com"]},
    "routes": {"route_names": ["api"]},
}
WORKLOADS = ["get_no_origin", "get_allowed", "preflight_allowed"]


def config(binding: str, edge_wasm: str, upstream_port: int) -> dict:
    policy = configs.edge_cors_policy("1")
    if BINDINGS[binding] is not None:
        policy["policies"][0]["match"] = BINDINGS[binding]
    vhost = virtual_host([route_to(name="api")])
    listener = configs._listener(free_port(), [wasm_filter(policy, wasm=edge_wasm), ROUTER], vhost)
    return configs._bootstrap(free_port(), listener, [static_cluster("upstream", upstream_port)])


def report(results: dict) -> str:
    cells = results["callgrind"]
    lines = [
        f"Instructions per request of the whole Envoy, one-origin policy bound three ways (callgrind, "
        f"{results['requests']} keep-alive requests per cell, route proxied to the upstream):",
        "",
        "| workload | unbound | `hosts` | `route_names` | `route_names` - unbound | `route_names` - `hosts` |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for w in WORKLOADS:
        u, h, r = (cells[b][w] for b in ("unbound", "hosts", "routes"))
        lines.append(f"| {w} | {u / 1000:.1f}k | {h / 1000:.1f}k | {r / 1000:.1f}k | "
                     f"{(r - u) / 1000:+.1f}k | {(r - h) / 1000:+.1f}k |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--envoy", default=os.environ.get("ENVOY_BIN"))
    ap.add_argument("--edge-wasm", default=str(bench.ROOT / "target" / "wasm32-wasip1" / "release" / "edge_cors.wasm"))
    ap.add_argument("--requests", type=int, default=400)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="edge-cors-route-names-"))
    results: dict = {"requests": args.requests, "callgrind": {}}
    upstream = bench.launch("upstream", configs.upstream_config(free_port(), free_port()), workdir, args.envoy,
                            cpu=bench.LOAD_CPU)
    try:
        upstream.wait_ready(60, interval=0.2)
        for binding in BINDINGS:
            bench.progress(f"callgrind: starting edge-cors bound by {binding}")
            proc = bench.launch(f"cg-{binding}", config(binding, args.edge_wasm, upstream.port), workdir, args.envoy,
                                callgrind=True)
            try:
                proc.wait_ready(900, interval=0.2)
                results["callgrind"][binding] = bench.measure_callgrind(proc, "edge", WORKLOADS, args.requests, 200)
            finally:
                proc.stop()
    finally:
        upstream.stop()
    results["date"] = time.strftime("%Y-%m-%d")
    (args.out / "route_names.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "route_names.md").write_text(report(results))
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
