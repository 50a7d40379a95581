#!/usr/bin/env python3
"""edge-cors benchmark driver (run through scripts/bench.sh, which installs and builds first).

For each Envoy variant (none, native, floor, edge, module, module-floor; see configs.py) and
policy size it measures
- instructions per request of the whole Envoy process under `valgrind --tool=callgrind`:
  `callgrind_control -z` before and `-d` after N keep-alive requests, the dump's total / N;
- requests/s and p50/p99 latency with `wrk`, Envoy pinned to one core and wrk plus the upstream
  to the other, variants interleaved over several rounds; medians and ratios;
- module sizes, Envoy's memory with the largest policy, and on_configure's compile time.
It writes results.json, results.md (the tables docs/performance.md shows) and chart.png into --out.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import configs  # noqa: E402
from harness.processes import Envoy, free_port, poll  # noqa: E402

ENVOY_CPU = "0"
LOAD_CPU = "1"


def progress(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def launch(name: str, config: dict, workdir: Path, envoy: str, callgrind: bool = False,
           cpu: str | None = None) -> Envoy:
    """One Envoy in workdir/`name`, started (not yet ready: `.wait_ready()`), optionally under
    callgrind (dumps into its work dir) and pinned to `cpu`."""
    wrapper = []
    if cpu is not None:
        wrapper += ["taskset", "-c", cpu]
    if callgrind:
        wrapper += ["valgrind", "--tool=callgrind", f"--callgrind-out-file={workdir / name / 'callgrind.out'}",
                    "--dump-line=no", "--compress-strings=no", "--instr-atstart=no"]
    # Valgrind takes its time to exit: a minute before SIGKILL.
    return Envoy(config, workdir / name, envoy_bin=envoy, wrapper=wrapper, stop_timeout=60).launch()


class Client:
    """One keep-alive HTTP/1.1 connection sending exactly the workload's headers."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def send(self, method: str, headers: list) -> tuple[int, dict]:
        self.conn.putrequest(method, "/api/items", skip_host=True, skip_accept_encoding=True)
        self.conn.putheader("host", "api.example.com")
        for name, value in headers:
            self.conn.putheader(name, value)
        self.conn.endheaders()
        r = self.conn.getresponse()
        r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}

    def close(self) -> None:
        self.conn.close()


def check_answer(variant: str, workload: str, status: int, headers: dict) -> None:
    """Each variant must actually do its job on each workload, or the numbers mean nothing."""
    acao = headers.get("access-control-allow-origin")
    allowed = workload in ("get_allowed", "get_wildcard", "preflight_allowed")
    has_origin = workload != "get_no_origin"
    problems = []
    edge_cors = variant in ("edge", "module")
    if variant in ("none", "floor", "module-floor"):
        if acao is not None or status != 200:
            problems.append("expected the upstream's plain 200")
    elif variant in ("native", "edge", "module"):
        want_origin = configs.WILDCARD_HIT_ORIGIN if workload == "get_wildcard" else configs.HIT_ORIGIN
        if allowed and acao != want_origin:
            problems.append(f"expected ACAO {want_origin}")
        if (not allowed or not has_origin) and acao is not None:
            problems.append("expected no ACAO")
        if edge_cors and workload == "preflight_allowed" and status != 204:
            problems.append("expected 204")
        if edge_cors and workload == "preflight_rejected" and status != 403:
            problems.append("expected 403")
        if edge_cors and has_origin and "origin" not in headers.get("vary", ""):
            problems.append("expected Vary: origin")
    if problems:
        raise AssertionError(f"{variant}/{workload}: status {status}, headers {headers}: {'; '.join(problems)}")


def callgrind_total(path: Path) -> int:
    """Total instructions (event Ir) of one callgrind dump."""
    text = path.read_text(errors="replace")
    m = re.search(r"^(?:totals|summary):\s+(\d+)", text, re.M)
    if not m:
        raise RuntimeError(f"no totals in {path}")
    return int(m.group(1))


def measure_callgrind(proc: Envoy, variant: str, workloads: list, n: int, warmup: int) -> dict:
    """Instructions per request for each workload on an Envoy running under callgrind."""
    out = {}
    for dump_index, workload in enumerate(workloads, start=1):
        method, headers = configs.WORKLOADS[workload]
        client = Client(proc.port)
        for _ in range(warmup):
            status, h = client.send(method, headers)
        if os.environ.get("BENCH_NO_CHECK") != "1":
            check_answer(variant, workload, status, h)
        before = set(proc.workdir.glob("callgrind.out*"))
        if dump_index == 1:
            # Started with instrumentation off (--instr-atstart=no): Envoy and V8 start several
            # times faster; instrumenting from here on costs nothing in the counts.
            subprocess.run(["callgrind_control", "-i", "on", str(proc.proc.pid)], check=True, capture_output=True)
            for _ in range(warmup):
                client.send(method, headers)
        subprocess.run(["callgrind_control", "-z", str(proc.proc.pid)], check=True, capture_output=True)
        for _ in range(n):
            client.send(method, headers)
        subprocess.run(["callgrind_control", "-d", workload, str(proc.proc.pid)], check=True, capture_output=True)
        client.close()
        dump = poll(lambda: sorted(set(proc.workdir.glob("callgrind.out*")) - before), 60, "the callgrind dump")
        out[workload] = callgrind_total(dump[-1]) / n
        progress(f"  {proc.workdir.name:14} {workload:20} {out[workload] / 1000:8.1f}k instructions/request")
    return out


WRK_LUA = """wrk.method = {method}
wrk.path = "/api/items"
wrk.headers["Host"] = "api.example.com"
{headers}
"""


def wrk_script(dirpath: Path, workload: str) -> Path:
    method, headers = configs.WORKLOADS[workload]
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers)
    path = dirpath / f"{workload}.lua"
    path.write_text(WRK_LUA.format(method=json.dumps(method), headers=lines))
    return path


def parse_wrk(text: str) -> dict:
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def latency(pct: str) -> float:
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            raise RuntimeError(f"no {pct}% latency in wrk output:\n{text}")
        return float(m.group(1)) * units[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not rps:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{text}")
    if re.search(r"Non-2xx or 3xx responses", text) and "preflight_rejected" not in text:
        pass
    return {"rps": float(rps.group(1)), "p50_ms": latency("50"), "p99_ms": latency("99")}


def measure_load(procs: dict, cells: list, rounds: int, seconds: float, connections: int, workdir: Path) -> dict:
    """wrk against every (instance, workload) cell, interleaved: round 1 of every cell, then
    round 2... so slow drifts of a shared machine hit every variant alike. Medians per cell."""
    samples: dict = {}
    for r in range(1, rounds + 1):
        progress(f"load round {r}/{rounds} ({len(cells)} cells x {seconds:g} s)")
        for inst, workload in cells:
            proc = procs[inst]
            script = wrk_script(workdir, workload)
            cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency",
                   "-s", str(script), f"http://127.0.0.1:{proc.port}/api/items"]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
            if res.returncode != 0:
                raise RuntimeError(f"wrk failed: {res.stderr}")
            samples.setdefault((inst, workload), []).append(parse_wrk(res.stdout))
    out = {}
    for (inst, workload), runs in samples.items():
        out.setdefault(inst, {})[workload] = {
            key: statistics.median(run[key] for run in runs) for key in ("rps", "p50_ms", "p99_ms")
        } | {"rounds": len(runs)}
    return out


def compile_time(envoy: str, modules: dict, workdir: Path, size: str, variant: str = "edge") -> dict:
    """Start an Envoy with edge-cors (`variant`: the wasm `edge` or the native `module`) and a
    policy of `size`; read the time the configuration took (logged by the filter itself) and
    Envoy's memory next to the do-nothing filter's."""
    up = free_port()
    name = f"compile-{variant}-{size}"
    cfg = configs.variant_config(variant, size, free_port(), free_port(), up, **modules)
    t0 = time.monotonic()
    proc = launch(name, cfg, workdir, envoy, cpu=ENVOY_CPU)
    try:
        proc.wait_ready(300, interval=0.2)
        ready_s = time.monotonic() - t0
        log = proc.log()
        m = re.search(r"edge-cors: configured .*? in (\d+) us", log)
        pages = re.search(r"wasm memory (\d+) pages", log)
        return {
            "policy": size,
            "variant": variant,
            "on_configure_ms": int(m.group(1)) / 1000 if m else None,
            "wasm_memory_kib": int(pages.group(1)) * 64 if pages else None,
            "envoy_ready_s": round(ready_s, 2),
            "envoy_rss_kib": proc.rss_kib(),
            "config_json_bytes": len(json.dumps(configs.edge_cors_policy(size))),
        }
    finally:
        proc.stop()


def module_sizes(modules: dict) -> dict:
    """The shipped module (cargo, then wasm-opt -Oz in build_wasm), cargo's output before
    wasm-opt when it is at hand, the floor module, and the native module (no size budget: it is
    a file on the proxy's disk, not a download per VM)."""
    sizes = {"edge_cors.wasm": os.path.getsize(modules["edge_wasm"])}
    cargo_output = ROOT / "target" / "wasm32-wasip1" / "release" / "deps" / "edge_cors.wasm"
    if cargo_output.exists():
        sizes["edge_cors.wasm as cargo built it, before wasm-opt -Oz"] = cargo_output.stat().st_size
    sizes["bench_floor.wasm"] = os.path.getsize(modules["floor_wasm"])
    if modules.get("edge_module") and os.path.exists(modules["edge_module"]):
        sizes["libedge_cors_native.so"] = os.path.getsize(modules["edge_module"])
    return sizes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="default: scripts/bench/results (the figures docs/performance.md shows); "
                    "target/bench-quick with --quick")
    ap.add_argument("--quick", action="store_true", help="1-origin policy, few requests, one short load round")
    ap.add_argument("--envoy", default=os.environ.get("ENVOY_BIN"))
    ap.add_argument("--edge-wasm", default=str(ROOT / "target" / "wasm32-wasip1" / "release" / "edge_cors.wasm"))
    ap.add_argument("--floor-wasm", default=str(ROOT / "target" / "bench-floor" / "wasm32-wasip1" / "release" / "bench_floor.wasm"))
    ap.add_argument("--edge-module", default=str(ROOT / "target" / "release" / "libedge_cors_native.so"))
    ap.add_argument("--floor-module", default=str(ROOT / "target" / "bench-floor-native" / "release" / "libbench_floor_native.so"))
    ap.add_argument("--requests", type=int, help="requests per callgrind measurement")
    ap.add_argument("--rounds", type=int, help="interleaved load rounds")
    ap.add_argument("--seconds", type=float, help="seconds per load cell per round")
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--callgrind-only", action="store_true", help="skip wrk, sizes, compile time and memory")
    ap.add_argument("--backends", default="proxied,direct", help="callgrind backends: proxied, direct or both")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (callgrind dumps for callgrind_annotate)")
    ap.add_argument("--only", help="comma-separated instances to run (e.g. floor,edge-1) for quick experiments")
    args = ap.parse_args()

    quick = args.quick
    if args.out is None:
        args.out = ROOT / "target" / "bench-quick" if quick else HERE / "results"
    sizes = ["1"] if quick else ["1", "100", "large"]
    n = args.requests or (100 if quick else 400)
    warmup = 50 if quick else 200
    rounds = args.rounds or (1 if quick else 5)
    seconds = args.seconds or (1.0 if quick else 2.0)
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="edge-cors-bench-"))
    progress(f"work dir {workdir}, results into {args.out}")

    modules = {"edge_wasm": args.edge_wasm, "floor_wasm": args.floor_wasm, "edge_module": args.edge_module,
               "floor_module": args.floor_module}
    instances = {"none": ("none", None), "floor": ("floor", None), "module-floor": ("module-floor", None)}
    for s in sizes:
        instances[f"native-{s}"] = ("native", s)
        instances[f"edge-{s}"] = ("edge", s)
        instances[f"module-{s}"] = ("module", s)
    if args.only:
        keep = args.only.split(",")
        instances = {k: v for k, v in instances.items() if k in keep}

    results: dict = {"quick": quick, "requests_per_callgrind_cell": n, "sizes": sizes,
                     "instances": {k: {"variant": v, "policy": s} for k, (v, s) in instances.items()}}
    upstream = launch("upstream", configs.upstream_config(free_port(), free_port()), workdir, args.envoy, cpu=LOAD_CPU)
    try:
        upstream.wait_ready(60, interval=0.2)

        # 1. Instructions per request (callgrind): each instance in turn, one at a time, with
        # each backend: `proxied` (the route forwards to the upstream, what a gateway does) and
        # `direct` (the route answers itself: a cheaper request, so the filters' share is larger;
        # it reproduces the reference figures; the native filter skips such routes).
        for backend in args.backends.split(","):
            callgrind: dict = {}
            for inst, (variant, size) in instances.items():
                if backend == "direct" and variant == "native":
                    continue
                progress(f"callgrind ({backend}): starting {inst} under valgrind")
                cfg = configs.variant_config(variant, size, free_port(), free_port(), upstream.port, **modules,
                                             direct=backend == "direct")
                proc = launch(f"cg-{backend}-{inst}", cfg, workdir, args.envoy, callgrind=True)
                try:
                    proc.wait_ready(900, interval=0.2)
                    callgrind[inst] = measure_callgrind(proc, variant, configs.workloads_for(size), n, warmup)
                finally:
                    proc.stop()
            results["callgrind" if backend == "proxied" else "callgrind_direct"] = callgrind

        # 2. Throughput and latency (wrk), every instance up at once, interleaved rounds.
        if not (args.skip_load or args.callgrind_only) and shutil.which("wrk"):
            procs = {}
            try:
                for inst, (variant, size) in instances.items():
                    cfg = configs.variant_config(variant, size, free_port(), free_port(), upstream.port, **modules)
                    procs[inst] = launch(f"load-{inst}", cfg, workdir, args.envoy, cpu=ENVOY_CPU)
                for p in procs.values():
                    p.wait_ready(300, interval=0.2)
                for inst, p in procs.items():
                    variant = instances[inst][0]
                    for workload in configs.workloads_for(instances[inst][1]):
                        c = Client(p.port)
                        check_answer(variant, workload, *c.send(*configs.WORKLOADS[workload]))
                        c.close()
                cells = [(inst, w) for inst in procs for w in configs.workloads_for(instances[inst][1])]
                results["load"] = measure_load(procs, cells, rounds, seconds, 8, workdir)
                results["load_settings"] = {"rounds": rounds, "seconds": seconds, "connections": 8, "threads": 1}
            finally:
                for p in procs.values():
                    p.stop()

        # 3. Module size, compile time, memory.
        if args.callgrind_only:
            return finish(results, args.out, None if args.keep else workdir)
        results["module_bytes"] = module_sizes(modules)
        compile_sizes = ["1"] if quick else ["1", "large", "100k"]
        results["compile"] = [compile_time(args.envoy, modules, workdir, s, v) for v in ("edge", "module")
                              for s in compile_sizes]
        floor_cfg = configs.variant_config("floor", None, free_port(), free_port(), upstream.port, **modules)
        floor_proc = launch("rss-floor", floor_cfg, workdir, args.envoy, cpu=ENVOY_CPU)
        try:
            floor_proc.wait_ready(120, interval=0.2)
            results["floor_rss_kib"] = floor_proc.rss_kib()
        finally:
            floor_proc.stop()
        module_floor_cfg = configs.variant_config("module-floor", None, free_port(), free_port(), upstream.port, **modules)
        module_floor_proc = launch("rss-module-floor", module_floor_cfg, workdir, args.envoy, cpu=ENVOY_CPU)
        try:
            module_floor_proc.wait_ready(120, interval=0.2)
            results["module_floor_rss_kib"] = module_floor_proc.rss_kib()
        finally:
            module_floor_proc.stop()
    finally:
        upstream.stop()
    return finish(results, args.out, None if args.keep else workdir)


def finish(results: dict, out: Path, workdir: Path | None) -> int:
    (out / "results.json").write_text(json.dumps(results, indent=1))
    import report  # noqa: E402  (matplotlib is only needed here)

    report.write(results, out)
    progress(f"wrote {out / 'results.md'} and {out / 'chart.png'}")
    print((out / "results.md").read_text())
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
