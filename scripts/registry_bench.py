#!/usr/bin/env python3
"""Memory and cost of registry lists in Envoy (docs/registry.md, "Measurements").

Compares, at N origins and `--concurrency C`:
- static:     today's per-worker copy: the N origins in `allow_origins` (each VM compiles them);
- per-worker: `allow_origins_from`, every VM fetching and compiling its own list (the module
              built with the `per-worker-registry` feature: the host reports no shared data);
- shared:     `allow_origins_from` as shipped: one VM of the Envoy fetches and compiles, the
              others copy the compiled list from shared data and serve it in place.

For each: registry fetches for the load, each VM's linear memory after the load (from the
filter's own log lines: `configured ...` / `serving version ...`, `wasm memory P pages`),
Envoy's resident memory, and (`--callgrind`, concurrency 1) instructions per request of the
whole Envoy for a GET from an allowed and from a rejected origin (a separate run under
valgrind, merged with --merge), measured as scripts/bench
does. Writes results.json and results.md to --out and, with --docs, the table into
docs/registry.md between its markers.

    scripts/registry_bench.sh --out D/mem     memory, fetches, load time: 10k, 100k, 1M origins, C 1 and 4
    scripts/registry_bench.sh --callgrind --designs static,shared --out D/cg    instructions per request
    scripts/registry_bench.sh --from D/mem/results.json --merge D/cg/results.json --docs   the table
    scripts/registry_bench.sh --quick         2,000 origins, C 1 and 2, no callgrind (< 2 min)
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness import WASM  # noqa: E402
from harness.envoy_config import add_cluster, proxy_bootstrap, route_to, wasm_filter, ROUTER  # noqa: E402
from harness.processes import Envoy, Upstream, free_port, poll, stop_process  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts" / "bench"))
from bench import callgrind_total  # noqa: E402

PER_WORKER_WASM = os.environ.get("EDGE_CORS_PER_WORKER_WASM") or str(
    ROOT / "target" / "per-worker" / "wasm32-wasip1" / "release" / "edge_cors.wasm")
PAGE = 65536
STATIC_LIMIT = 16 << 20  # the configuration size limit (config/limits.rs)
MARK_BEGIN, MARK_END = "<!-- registry-bench:begin -->", "<!-- registry-bench:end -->"


def origins(n: int) -> list[str]:
    return [f"https://t{i}.example.com" for i in range(n)]


def registry_process(port: int, doc_path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "registry_server.py"), "--port", str(port),
                             "--origins", str(doc_path)], stdout=subprocess.DEVNULL)
    def up():
        try:
            with http_get(port, "/__stats") as r:
                return r.status == 200
        except OSError:
            return False
    poll(up, 60, "the registry")
    return proc


def http_get(port: int, path: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    return conn.getresponse()


def registry_requests(port: int) -> int:
    with http_get(port, "/__stats") as r:
        return json.loads(r.read())["requests"]


def vm_pages(log: str, marker: str) -> dict:
    """The last `wasm memory P pages` of each thread's log lines containing `marker`."""
    out = {}
    for line in log.splitlines():
        if marker in line and "wasm memory" in line:
            tid = re.search(r"\]\[(\d+)\]\[", line).group(1)
            out[tid] = int(re.search(r"wasm memory (\d+) pages", line).group(1))
    return out


def measure(kind: str, n: int, concurrency: int, args, upstream: Upstream, workdir: Path) -> dict:
    listener, admin = free_port(), free_port()
    row = {"design": kind, "origins": n, "concurrency": concurrency}
    if kind == "static":
        policy = {"policies": [{"name": "app", "allow_origins": origins(n)}]}
        if len(json.dumps(policy)) > STATIC_LIMIT:
            row["skipped"] = f"{len(json.dumps(policy)) >> 20} MiB of configuration, over the 16 MiB limit"
            return row
    else:
        policy = {"policies": [{"name": "app", "allow_origins_from": {
            "cluster": "registry", "authority": "registry.internal", "path": "/v1/origins",
            "refresh_seconds": 3600, "timeout_ms": 60000, "max_entries": 1_000_000, "max_bytes": 32 << 20}}]}
    wasm = str(PER_WORKER_WASM if kind == "per-worker" else WASM)
    config = proxy_bootstrap(listener, admin, upstream.port,
                             [wasm_filter(policy, wasm=wasm), ROUTER], routes=[route_to()])
    config["stats_flush_interval"] = "299s"
    reg, port = None, None
    if kind != "static":
        port = free_port()
        add_cluster(config, "registry", port)
        doc = workdir / f"registry-{n}.json"
        if not doc.exists():
            doc.write_text(json.dumps({"version": "1", "origins": origins(n)}))
        reg = registry_process(port, doc)
    wrapper = None
    envoy_dir = workdir / f"{kind}-{n}-{concurrency}"
    if args.callgrind:
        wrapper = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={envoy_dir / 'callgrind.out'}"]
    envoy = Envoy(config, envoy_dir, concurrency=concurrency, wrapper=wrapper, envoy_bin=args.envoy)
    started = time.monotonic()
    try:
        envoy.start(timeout=1200)
        vms = concurrency + 1  # the main thread's VM and one per worker
        marker = "configured 1 policies" if kind == "static" else "serving version"
        poll(lambda: len(vm_pages(envoy.log(), marker)) >= vms, 1800, f"{vms} VMs to serve", interval=0.5)
        row["load_seconds"] = round(time.monotonic() - started, 1)
        pages = vm_pages(envoy.log(), marker)
        if kind == "shared":
            fetcher = re.search(r"\]\[(\d+)\]\[[a-z]+\].*registry app: applied version", envoy.log()).group(1)
            row["fetcher_vm_mib"] = round(pages[fetcher] * PAGE / 2**20, 1)
            others = [p for t, p in pages.items() if t != fetcher]
            row["worker_vm_mib"] = round(max(others) * PAGE / 2**20, 1)
        else:
            row["fetcher_vm_mib"] = None
            row["worker_vm_mib"] = round(max(pages.values()) * PAGE / 2**20, 1)
        row["vm_total_mib"] = round(sum(pages.values()) * PAGE / 2**20, 1)
        row["fetches"] = registry_requests(port) if port else 0
        row["rss_mib"] = round(envoy.rss_kib() / 1024, 1)
        if wrapper:
            # Under valgrind only the instruction counts mean anything.
            row = {k: row[k] for k in ("design", "origins", "concurrency")}
            row.update(callgrind(envoy, n))
    finally:
        envoy.stop()
        if reg:
            stop_process(reg)
    return row


def callgrind(envoy: Envoy, n: int) -> dict:
    """Instructions per request of the whole Envoy, scripts/bench's method: instrumentation on,
    200 warm-up requests on one keep-alive connection, counters zeroed, 400 requests, a dump."""
    out = {}
    for label, origin in [("allowed", f"https://t{n // 2}.example.com"), ("rejected", "https://evil.example")]:
        conn = http.client.HTTPConnection("127.0.0.1", envoy.port, timeout=300)

        def send():
            conn.request("GET", "/", headers={"origin": origin, "host": "api.example.com"})
            r = conn.getresponse()
            r.read()
            if (r.getheader("access-control-allow-origin") == origin) != (label == "allowed"):
                raise AssertionError(f"{label}: {r.status} {r.getheaders()}")

        pid = str(envoy.proc.pid)
        subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
        for _ in range(200):
            send()
        before = set(envoy.workdir.glob("callgrind.out*"))
        subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
        started = time.monotonic()
        for _ in range(400):
            send()
        subprocess.run(["callgrind_control", "-d", label, pid], check=True, capture_output=True)
        out[f"window_{label}_s"] = round(time.monotonic() - started, 1)
        conn.close()
        dump = poll(lambda: sorted(set(envoy.workdir.glob("callgrind.out*")) - before), 120, "the callgrind dump")
        out[f"instr_{label}_k"] = round(callgrind_total(dump[-1]) / 400 / 1000, 1)
    # What the Envoy does with no request at all (the VMs' ticks, Envoy's own timers), per
    # second: the part of the figures above that is not the requests' own.
    before = set(envoy.workdir.glob("callgrind.out*"))
    subprocess.run(["callgrind_control", "-z", str(envoy.proc.pid)], check=True, capture_output=True)
    started = time.monotonic()
    time.sleep(10)  # the idle window being measured
    subprocess.run(["callgrind_control", "-d", "idle", str(envoy.proc.pid)], check=True, capture_output=True)
    idle_s = time.monotonic() - started
    dump = poll(lambda: sorted(set(envoy.workdir.glob("callgrind.out*")) - before), 120, "the callgrind dump")
    out["idle_k_per_s"] = round(callgrind_total(dump[-1]) / idle_s / 1000, 1)
    return out


def table(rows: list) -> str:
    head = ("| design | origins | workers | registry fetches for the load | fetcher VM (MiB) | each other VM (MiB) "
            "| all VMs (MiB) | Envoy RSS (MiB) | load (s) | instructions/GET allowed | rejected | idle instructions/s "
            "| allowed GET without the idle share |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        # The requests' own cost: the idle instructions of the measured window taken out.
        if r.get("instr_allowed_k") is not None and r.get("idle_k_per_s") is not None:
            r["own_allowed_k"] = round(r["instr_allowed_k"] - r["idle_k_per_s"] * r["window_allowed_s"] / 400, 1)
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['design']} | {r['origins']:,} | {r['concurrency']} | not possible: {r['skipped']} |"
                         " | | | | | | | | |")
            continue
        def v(key, fmt="{}"):
            return fmt.format(r[key]) if r.get(key) is not None else "-"
        lines.append(f"| {r['design']} | {r['origins']:,} | {r['concurrency']} | {v('fetches')} | {v('fetcher_vm_mib')} "
                     f"| {v('worker_vm_mib')} | {v('vm_total_mib')} | {v('rss_mib')} | {v('load_seconds')} "
                     f"| {v('instr_allowed_k', '{}k')} | {v('instr_rejected_k', '{}k')} | {v('idle_k_per_s', '{}k')} | {v('own_allowed_k', '{}k')} |")
    return "\n".join(lines) + "\n"


def measure_all(sizes: list, conc: list, args) -> list:
    work = Path("/tmp") / f"edge-cors-registry-bench-{free_port()}"
    work.mkdir(parents=True)
    upstream = Upstream()
    rows = []
    try:
        for n in sizes:
            for c in conc:
                for design in args.designs.split(","):
                    row = measure(design, n, c, args, upstream, work)
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    finally:
        upstream.stop()
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sizes", default=None, help="comma-separated origin counts")
    p.add_argument("--concurrency", default=None, help="comma-separated worker counts")
    p.add_argument("--designs", default="static,per-worker,shared")
    p.add_argument("--callgrind", action="store_true")
    p.add_argument("--envoy", default=None)
    p.add_argument("--out", default=str(ROOT / "scripts" / "registry_bench_results"))
    p.add_argument("--docs", action="store_true", help="write the table into docs/registry.md")
    p.add_argument("--merge", help="a results.json whose instruction counts (a --callgrind run) join these rows")
    p.add_argument("--from", dest="rows_from", help="take the rows from this results.json instead of measuring")
    p.add_argument("--check", action="store_true",
                   help="fail unless the shared list is fetched once per Envoy, a per-worker list once per VM, "
                        "and a shared list takes less memory on the other VMs than a per-worker one")
    args = p.parse_args()
    sizes = [int(s) for s in (args.sizes or ("2000" if args.quick else "10000,100000,1000000")).split(",")]
    conc = [int(c) for c in (args.concurrency or ("1,2" if args.quick else "1,4")).split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = json.loads(Path(args.rows_from).read_text()) if args.rows_from else measure_all(sizes, conc, args)
    if args.merge:
        for extra in json.loads(Path(args.merge).read_text()):
            for row in rows:
                if all(row[k] == extra[k] for k in ("design", "origins", "concurrency")):
                    row.update({k: v for k, v in extra.items() if k.startswith(("instr_", "idle_", "window_"))})
    (out / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "results.md").write_text(table(rows))
    if args.docs:
        doc = ROOT / "docs" / "registry.md"
        text = doc.read_text()
        begin, end = text.index(MARK_BEGIN) + len(MARK_BEGIN), text.index(MARK_END)
        doc.write_text(text[:begin] + "\n" + table(rows) + text[end:])
    print(table(rows))
    if args.check:
        failures = []
        by = {(r["design"], r["origins"], r["concurrency"]): r for r in rows if "skipped" not in r}
        for (design, n, c), r in by.items():
            want = {"shared": 1, "per-worker": c + 1, "static": 0}[design]
            if r["fetches"] != want:
                failures.append(f"{design} {n} x{c}: {r['fetches']} fetches, expected {want}")
            other = by.get(("per-worker", n, c))
            if design == "shared" and other and r["worker_vm_mib"] > other["worker_vm_mib"]:
                failures.append(f"shared {n} x{c}: {r['worker_vm_mib']} MiB per VM, over per-worker's {other['worker_vm_mib']}")
        for f in failures:
            print("FAIL", f)
        if failures:
            sys.exit(1)
        print("ok   one fetch per Envoy for a shared list, one per VM for a per-worker list, less memory per VM shared")


if __name__ == "__main__":
    main()
