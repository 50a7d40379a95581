"""Turn bench.py's results into results.md (the tables docs/performance.md shows) and chart.png."""
from __future__ import annotations

from pathlib import Path

WORKLOAD_LABELS = {
    "get_allowed": "GET, allowed origin",
    "get_wildcard": "GET, wildcard hit",
    "get_rejected": "GET, rejected origin",
    "get_no_origin": "GET, no Origin",
    "preflight_allowed": "preflight, allowed",
    "preflight_rejected": "preflight, rejected",
}
SIZE_LABELS = {"1": "1 origin", "100": "100 origins", "large": "10k+1k*+10re", "100k": "100,000 origins"}
# The reference point: the minimal wasm CORS filter's preflight cost 165.7k against a
# 105.4k do-nothing filter; edge-cors must stay below that ratio.
MINIMAL_FILTER_PREFLIGHT_RATIO = 165.7 / 105.4
# The module's size budget (after wasm-opt), which check_quick.py enforces too: the bound the
# hardening issue set (320 KB), a guard against growth. The Public Suffix List alone is 44 KB of
# it (crates/edge-cors-core/src/rules/public_suffix_list.bin), registry sources
# (allow_origins_from: callouts, shared data, the document reader, the origin set) about 37 KB.
MODULE_BUDGET_BYTES = 320_000


def _k(x: float | None) -> str:
    return "-" if x is None else f"{x / 1000:.1f}k"


def _r(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _cg(results: dict, inst: str, workload: str, key: str = "callgrind") -> float | None:
    return results.get(key, {}).get(inst, {}).get(workload)


BACKENDS = (("callgrind", "route proxied to the upstream"), ("callgrind_direct", "route answering itself (direct_response)"))


def targets(results: dict, key: str) -> list[tuple[str, str, bool | None]]:
    """(target, measured figure, met) for every target of the issue this run measured with one
    backend (`key`: callgrind or callgrind_direct)."""
    out = []

    def cg(inst, workload):
        return _cg(results, inst, workload, key)

    def vs_floor(label, workload, limit, extra_max=None):
        r = ratio(cg("edge-1", workload), cg("floor", workload))
        if r is None:
            return
        ok = r <= limit and (extra_max is None or r < extra_max)
        out.append((label, f"{r:.3f}x ({_k(cg('edge-1', workload))} vs {_k(cg('floor', workload))})", ok))

    vs_floor("allowed GET <= 1.35x floor", "get_allowed", 1.35)
    vs_floor("GET without Origin <= 1.10x floor", "get_no_origin", 1.10)
    vs_floor("rejected GET <= 1.30x floor", "get_rejected", 1.30)
    vs_floor(f"allowed preflight <= 1.30x floor preflight (and < {MINIMAL_FILTER_PREFLIGHT_RATIO:.2f}x, the issue's minimal filter)",
             "preflight_allowed", 1.30, MINIMAL_FILTER_PREFLIGHT_RATIO)
    base = cg("edge-1", "get_allowed")
    for workload, what in (("get_allowed", "exact"), ("get_wildcard", "wildcard")):
        large = cg("edge-large", workload)
        r = ratio(large, base)
        if r is not None:
            out.append((f"large policy, {what} hit, within 3% of the 1-origin policy", f"{r:.3f}x ({_k(large)} vs {_k(base)})", r <= 1.03))
        native = cg("native-large", workload)
        if large is not None and native is not None:
            out.append((f"large policy, {what} hit, ahead of native CORS", f"edge {_k(large)} vs native {_k(native)}", large < native))
    return out


def native_targets(results: dict, key: str) -> list[tuple[str, str, bool | None]]:
    """(target, measured figure, met) for the native module (`module-*`, e) against Envoy's C++
    CORS filter (b) and bare Envoy (a), with one backend."""
    out = []

    def cg(inst, workload):
        return _cg(results, inst, workload, key)

    def against(label, inst, workload, base_inst, limit, strict=False):
        e, b = cg(inst, workload), cg(base_inst, workload)
        r = ratio(e, b)
        if r is not None:
            out.append((label, f"{r:.3f}x ({_k(e)} vs {_k(b)})", r < limit if strict else r <= limit))

    for workload, what in (("get_allowed", "allowed GET"), ("get_rejected", "rejected GET")):
        against(f"native: {what} <= 1.10x C++ CORS, 1 origin", "module-1", workload, "native-1", 1.10)
        for s in ("100", "large"):
            against(f"native: {what} below C++ CORS, {SIZE_LABELS[s]}", f"module-{s}", workload, f"native-{s}", 1.0,
                    strict=True)
    against("native: allowed preflight <= 1.15x C++ CORS's answer, 1 origin", "module-1", "preflight_allowed",
            "native-1", 1.15)
    against("native: GET without Origin <= 1.06x bare Envoy", "module-1", "get_no_origin", "none", 1.06)
    for workload in ("get_allowed", "get_rejected", "preflight_allowed"):
        large, one = cg("module-large", workload), cg("module-1", workload)
        r = ratio(large, one)
        if r is not None:
            out.append((f"native: {WORKLOAD_LABELS[workload]} flat (within 3%) from 1 origin to {SIZE_LABELS['large']}",
                        f"{r:.3f}x ({_k(large)} vs {_k(one)})", abs(r - 1) <= 0.03))
    return out


def global_targets(results: dict) -> list[tuple[str, str, bool | None]]:
    out = []
    size = results.get("module_bytes", {}).get("edge_cors.wasm")
    if size is not None:
        out.append((f"module < {MODULE_BUDGET_BYTES // 1000} KB", f"{size:,} bytes ({size / 1000:.1f} KB)", size < MODULE_BUDGET_BYTES))
    for c in results.get("compile", []):
        if c["policy"] == "100k" and c.get("on_configure_ms") is not None:
            out.append(("100,000-origin policy compiled in < 1 s in Envoy", f"{c['on_configure_ms']:.0f} ms", c["on_configure_ms"] < 1000))
    return out


def markdown(results: dict) -> str:
    lines = []
    for key, backend in BACKENDS:
        cg = results.get(key, {})
        if not cg:
            continue
        sizes = [s for s in results["sizes"] if f"edge-{s}" in cg]
        lines.append(f"Instructions per request of the whole Envoy, {backend} (callgrind, "
                     f"{results['requests_per_callgrind_cell']} keep-alive requests per cell; a = no CORS, b = native CORS "
                     "filter, c = do-nothing wasm filter, d = edge-cors; d-c = what edge-cors adds to the wasm floor):")
        lines.append("")
        lines.append("| workload | policy | a none | b native | c floor | d edge-cors | d/a | d/b | d/c | d-c |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for workload, label in WORKLOAD_LABELS.items():
            for s in sizes:
                d = _cg(results, f"edge-{s}", workload, key)
                if d is None:
                    continue
                a, b, c = (_cg(results, "none", workload, key), _cg(results, f"native-{s}", workload, key),
                           _cg(results, "floor", workload, key))
                lines.append(f"| {label} | {SIZE_LABELS[s]} | {_k(a)} | {_k(b)} | {_k(c)} | {_k(d)} | {_r(ratio(d, a))} | "
                             f"{_r(ratio(d, b))} | {_r(ratio(d, c))} | {'-' if c is None else f'{(d - c) / 1000:+.1f}k'} |")
        lines.append("")
    for key, backend in BACKENDS:
        cg = results.get(key, {})
        sizes = [s for s in results["sizes"] if f"module-{s}" in cg]
        if not sizes:
            continue
        lines.append(f"edge-cors as a native dynamic module, {backend}: a = no CORS, b = Envoy's C++ CORS filter, "
                     "f = a dynamic module that does nothing (the floor of Envoy's module wrapper), e = edge-cors's "
                     "native module, d = edge-cors's wasm filter; e-f = what edge-cors adds to the module floor:")
        lines.append("")
        lines.append("| workload | policy | a none | b C++ CORS | f module floor | e native | d wasm | e/a | e/b | e/d | e-f |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for workload, label in WORKLOAD_LABELS.items():
            for s in sizes:
                e = _cg(results, f"module-{s}", workload, key)
                if e is None:
                    continue
                a, b, f, d = (_cg(results, "none", workload, key), _cg(results, f"native-{s}", workload, key),
                              _cg(results, "module-floor", workload, key), _cg(results, f"edge-{s}", workload, key))
                lines.append(f"| {label} | {SIZE_LABELS[s]} | {_k(a)} | {_k(b)} | {_k(f)} | {_k(e)} | {_k(d)} | "
                             f"{_r(ratio(e, a))} | {_r(ratio(e, b))} | {_r(ratio(e, d))} | "
                             f"{'-' if f is None else f'{(e - f) / 1000:+.1f}k'} |")
        lines.append("")
    load = results.get("load")
    if load:
        st = results["load_settings"]
        sizes = [s for s in results["sizes"] if f"edge-{s}" in load]
        lines.append(f"Throughput and latency (wrk -t1 -c{st['connections']}, Envoy --concurrency 1 pinned to CPU 0, wrk and "
                     f"the upstream on CPU 1; median of {st['rounds']} interleaved rounds of {st['seconds']:g} s; "
                     "requests/s, p50 / p99 in ms; ratios of requests/s):")
        lines.append("")
        lines.append("| workload | policy | a none | b native | c floor | d edge-cors | e edge-cors native | d/a | d/b | d/c | e/b |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

        def cell(inst, w):
            m = load.get(inst, {}).get(w)
            return "-" if m is None else f"{m['rps']:.0f} ({m['p50_ms']:.2f} / {m['p99_ms']:.2f})"

        def rps(inst, w):
            m = load.get(inst, {}).get(w)
            return None if m is None else m["rps"]

        for workload, label in WORKLOAD_LABELS.items():
            for s in sizes:
                d = rps(f"edge-{s}", workload)
                if d is None:
                    continue
                e = rps(f"module-{s}", workload)
                lines.append(f"| {label} | {SIZE_LABELS[s]} | {cell('none', workload)} | {cell(f'native-{s}', workload)} | "
                             f"{cell('floor', workload)} | {cell(f'edge-{s}', workload)} | {cell(f'module-{s}', workload)} | "
                             f"{_r(ratio(d, rps('none', workload)))} | {_r(ratio(d, rps(f'native-{s}', workload)))} | "
                             f"{_r(ratio(d, rps('floor', workload)))} | {_r(ratio(e, rps(f'native-{s}', workload)))} |")
    lines.append("")
    lines.append("| module | bytes |")
    lines.append("|---|---:|")
    for name, size in results.get("module_bytes", {}).items():
        # Runs before build_wasm shrank the module re-optimized the shipped file itself.
        name = name.replace("edge_cors.wasm after wasm-opt", "edge_cors.wasm through wasm-opt once more,")
        lines.append(f"| {name} | {size:,} |")
    if results.get("compile"):
        lines.append("")
        lines.append("| policy in edge-cors | host | JSON bytes | parse + compile | wasm linear memory | Envoy RSS | Envoy RSS with the host's do-nothing filter |")
        lines.append("|---|---|---:|---:|---:|---:|---:|")
        for c in results["compile"]:
            ms = "-" if c["on_configure_ms"] is None else f"{c['on_configure_ms']:.1f} ms"
            mem = "-" if c["wasm_memory_kib"] is None else f"{c['wasm_memory_kib'] / 1024:.1f} MiB"
            native = c.get("variant") == "module"
            floor = results.get("module_floor_rss_kib" if native else "floor_rss_kib", 0)
            lines.append(f"| {SIZE_LABELS[c['policy']]} | {'native' if native else 'wasm'} | {c['config_json_bytes']:,} | {ms} | "
                         f"{mem} | {c['envoy_rss_kib'] / 1024:.1f} MiB | {floor / 1024:.1f} MiB |")
    rows = {}
    for key, _ in BACKENDS:
        for label, figure, ok in targets(results, key) + native_targets(results, key):
            rows.setdefault(label, {})[key] = (figure, ok)
    if rows or global_targets(results):
        lines.append("")
        lines.append("| target | route proxied to the upstream | direct_response route (the issue's reference setup) |")
        lines.append("|---|---|---|")

        def cell(v):
            return "-" if v is None else f"{'met' if v[1] else '**missed**'}: {v[0]}"

        for label, per in rows.items():
            lines.append(f"| {label} | {cell(per.get('callgrind'))} | {cell(per.get('callgrind_direct'))} |")
        for label, figure, ok in global_targets(results):
            lines.append(f"| {label} | {cell((figure, ok))} | (same module) |")
    return "\n".join(lines) + "\n"


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = [w for w in WORKLOAD_LABELS if _cg(results, "floor", w) is not None and w != "get_wildcard"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    variants = [("none", "a: no CORS"), ("native-1", "b: native CORS"), ("floor", "c: do-nothing wasm"), ("edge-1", "d: edge-cors"),
                ("module-1", "e: edge-cors native module")]
    variants = [(inst, label) for inst, label in variants if inst in results.get("callgrind", {})]
    width = 0.8 / len(variants)
    for i, (inst, label) in enumerate(variants):
        ys = [(_cg(results, inst, w) or 0) / 1000 for w in workloads]
        left.bar([x + i * width for x in range(len(workloads))], ys, width, label=label)
    left.set_xticks([x + 0.4 - width / 2 for x in range(len(workloads))])
    left.set_xticklabels([WORKLOAD_LABELS[w] for w in workloads], rotation=20, ha="right")
    left.set_ylabel("thousand instructions per request (callgrind)")
    left.set_title("Whole-Envoy cost per request, 1-origin policy")
    left.legend(fontsize=8)
    series = [(key, s, f"{SIZE_LABELS[s]}, {'proxied' if key == 'callgrind' else 'direct_response'}") for key, backend in BACKENDS
              for s in results["sizes"] if f"edge-{s}" in results.get(key, {})]
    all_w = [w for w in WORKLOAD_LABELS if any(_cg(results, f"edge-{s}", w, key) for key, s, _ in series)]
    width = 0.8 / max(1, len(series))
    top = 1.5
    for i, (key, s, label) in enumerate(series):
        ys = [ratio(_cg(results, f"edge-{s}", w, key), _cg(results, "floor", w, key)) or 0 for w in all_w]
        top = max([top, *ys])
        right.bar([x + i * width for x in range(len(all_w))], ys, width, label=label)
    limits = {"get_allowed": 1.35, "get_no_origin": 1.10, "get_rejected": 1.30, "preflight_allowed": 1.30}
    for x, w in enumerate(all_w):
        if w in limits:
            right.hlines(limits[w], x - width / 2, x + 0.8 - width / 2, colors="red", linestyles="dashed")
    right.axhline(1.0, color="grey", linewidth=0.8)
    right.set_xticks([x + 0.4 - width / 2 for x in range(len(all_w))])
    right.set_xticklabels([WORKLOAD_LABELS[w] for w in all_w], rotation=20, ha="right")
    right.set_ylabel("d/c: edge-cors / do-nothing wasm filter")
    right.set_ylim(0.5, top + 0.05)
    right.set_title("edge-cors / do-nothing wasm filter (red dashes: the targets)")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(results: dict, out: Path) -> None:
    (out / "results.md").write_text(markdown(results))
    if results.get("callgrind"):
        chart(results, out / "chart.png")
