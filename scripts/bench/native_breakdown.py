"""Where the native module's instructions go, against its floor, next to what Envoy's CORS filter
adds to bare Envoy: prints the tables of scripts/bench/results/native_breakdown.md (which adds a
conclusion drawn from them) from the callgrind dumps of a kept bench.py work dir (`--keep`). The
module must be an unstripped build, so that its functions have names (the floor module as
scripts/bench.sh builds it):

  . scripts/lib.sh && CARGO_PROFILE_RELEASE_NATIVE_STRIP=false \
    CARGO_PROFILE_RELEASE_NATIVE_DEBUG=line-tables-only native_build target/native-sym
  .venv/bin/python scripts/bench/bench.py --envoy ENVOY_BINARY --edge-module THAT_SO \
    --callgrind-only --backends proxied --keep --out /tmp/bench \
    --only none,native-1,native-100,module-floor,module-1,module-100
  .venv/bin/python scripts/bench/native_breakdown.py WORK_DIR

Envoy's binary is stripped: its own functions have no names, except the ABI callbacks it exports,
so Envoy's CORS filter is split by workload differences, and allocation by the code range of
tcmalloc (the `google_malloc` section, which callgrind reports as the object `???`).
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

ALLOCATOR_OBJECT = "???"
CALLBACK = "envoy_dynamic_module_callback_"
RUST_ALLOC = re.compile(r"^__rustc::__r(ust|dl)_(alloc|dealloc|realloc|alloc_zeroed)$")


class Dump:
    """One callgrind dump: per function its object, its own cost by (inline) source file, and
    the inclusive cost and count of each call it makes."""

    def __init__(self, path: Path):
        self.requests = 0
        self.obj: dict[str, str | None] = {}
        self.own: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.total = 0
        self.trigger = ""
        self._read(path)

    def _read(self, path: Path) -> None:
        table: dict[str, dict[str, str]] = {"f": {}, "fn": {}, "ob": {}}

        def name(kind: str, value: str) -> str:
            m = re.match(r"\((\d+)\)(?:\s+(.*))?$", value)
            if not m:
                return value
            if m.group(2) is not None:
                table[kind][m.group(1)] = m.group(2)
            return table[kind][m.group(1)]

        kinds = {"ob": "ob", "cob": "ob", "fl": "f", "fi": "f", "fe": "f", "cfi": "f", "cfl": "f", "fn": "fn", "cfn": "fn"}
        ob = fl = fi = fn = cob = cfn = ""
        pending: tuple[str, int] | None = None
        for line in path.read_text(errors="replace").splitlines():
            if not line or line[0] == "#":
                continue
            if line[0].isdigit() or line[0] in "+-*":
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending:
                    self.calls[fn][pending[0]] += cost
                    self.count[fn][pending[0]] += pending[1]
                    pending = None
                else:
                    self.own[fn][fi] += cost
                continue
            key, _, value = line.partition("=")
            if key in kinds:
                value = name(kinds[key], value)
            if key == "ob":
                ob = value
            elif key == "fl":
                fl = fi = value
            elif key in ("fi", "fe"):
                fi = value
            elif key == "fn":
                fn, fi, cob = value, fl, ""
                self.obj.setdefault(fn, ob)
            elif key == "cob":
                cob = value
            elif key == "cfn":
                cfn = value
                if cob:
                    self.obj.setdefault(cfn, cob)
            elif key == "calls":
                pending, cob = (cfn, int(value.split()[0])), ""
            elif line.startswith("summary:"):
                self.total = int(line.split()[1])
            elif line.startswith("desc: Trigger: dump "):
                self.trigger = line.split()[-1]

    def allocator(self) -> int:
        """Instructions in tcmalloc, the whole process."""
        return sum(sum(v.values()) for f, v in self.own.items() if self.obj.get(f) in (None, ALLOCATOR_OBJECT))


def category(fn: str) -> str | None:
    """The part of the module a function belongs to by its name; None for library code, which
    takes its callers' parts."""
    if RUST_ALLOC.match(fn) or fn in ("malloc", "free", "realloc", "calloc"):
        return "allocations"
    if fn.startswith("edge_cors_core::rules"):
        return "decision"
    if "edge_cors_native" in fn or fn.startswith("envoy_dynamic_module_on"):
        return "glue"
    if "edge_cors_core" in fn:
        return "driver"
    return None


def file_category(path: str, fallback: str) -> str:
    """Inlined code counts for the crate it comes from (the decision inlined into a hook is the
    decision)."""
    for marker, part in (("edge-cors-core/src/rules", "decision"), ("edge-cors-core/src", "driver"),
                         ("edge-cors-native/src", "glue")):
        if marker in path:
            return part
    return fallback


def module_parts(d: Dump) -> dict[str, float]:
    """Every instruction the module's hooks run (inclusive), by part: each ABI callback (with
    what Envoy does inside it), the decision, the core's driver, the host glue, allocations."""
    module = {f for f, o in d.obj.items() if o and o.endswith(".so") and "edge_cors" in o}
    callers: dict[str, dict[str, int]] = defaultdict(dict)
    for a, callees in d.calls.items():
        for b, c in callees.items():
            if a in module and b in module and a != b:
                callers[b][a] = c
    shares: dict[str, dict[str, float]] = {}

    def share(fn: str, depth: int = 0) -> dict[str, float]:
        if fn not in shares:
            own = category(fn)
            if own or depth > 30 or not callers[fn]:
                shares[fn] = {own or "glue": 1.0}
            else:
                mixed: dict[str, float] = defaultdict(float)
                total = sum(callers[fn].values())
                for a, c in callers[fn].items():
                    for part, s in share(a, depth + 1).items():
                        mixed[part] += s * c / total
                shares[fn] = dict(mixed)
        return shares[fn]

    parts: dict[str, float] = defaultdict(float)
    for fn in module:
        own = category(fn)
        for path, cost in d.own[fn].items():
            if own:
                parts[own if own == "allocations" else file_category(path or "", own)] += cost
            else:
                for part, s in share(fn).items():
                    parts[part] += cost * s
        for callee, cost in d.calls[fn].items():
            if callee in module:
                continue
            if callee.startswith(CALLBACK):
                calls = sum(d.count[f][callee] for f in module)
                parts[f"{callee[len(CALLBACK):]} x{calls / d.requests:g}"] += cost
            elif category(callee) == "allocations":
                parts["allocations"] += cost
            else:  # libc memcpy/memcmp: the part of the code that called it
                for part, s in share(fn).items():
                    parts[part] += cost * s
    return {k: v / d.requests for k, v in parts.items()}


LABELS = {
    "decision": "core decision (`edge_cors_core::rules`: origin parse, lookup, response plan)",
    "driver": "core driver (`edge_cors_core::host`/`ops`: counters, filter-state text, applying the plan)",
    "glue": "native glue (header-list cache, ABI wrappers, `catch_unwind`, stream state)",
    "allocations": "module allocations (Rust `Box`/`String`/`Vec`, malloc/free inclusive)",
}


def load(work: Path, instance: str, requests: int) -> dict[str, Dump]:
    dumps = {}
    for path in sorted((work / f"cg-proxied-{instance}").glob("callgrind.out.*")):
        d = Dump(path)
        d.requests = requests
        dumps[d.trigger] = d
    return dumps


def k(x: float) -> str:
    return f"{x / 1000:.2f}k"


def main() -> None:
    work = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    runs = {i: load(work, i, n) for i in ("none", "native-1", "native-100", "module-floor", "module-1", "module-100")}
    per = {i: {w: d.total / n for w, d in ds.items()} for i, ds in runs.items()}
    out = ["# Where the native module's instructions go", "",
           "Callgrind instructions per request of the whole Envoy (proxied route, 400 requests per cell), "
           "one run (the code of main at 003ac7a, Envoy 1.40.0) of `bench.py --callgrind-only --backends proxied --keep --only "
           "none,native-1,native-100,module-floor,module-1,module-100` with the unstripped module; "
           "`scripts/bench/native_breakdown.py WORK_DIR` wrote this file (its docstring has the commands).", ""]
    out += ["## Totals", "", "| workload | bare Envoy | C++ CORS 1 | C++ CORS 100 | module floor | module 1 | module 100 |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for w in ("get_allowed", "get_rejected", "get_no_origin"):
        out.append(f"| {w} | " + " | ".join(k(per[i][w]) for i in runs) + " |")
    for w in ("get_allowed", "get_rejected", "get_no_origin"):
        out += ["", f"## Native module minus module floor, {w}", "",
                "| component | 1 origin | share | 100 origins | share |", "|---|---:|---:|---:|---:|"]
        cols = []
        for inst in ("module-1", "module-100"):
            d = runs[inst][w]
            parts = module_parts(d)
            diff = per[inst][w] - per["module-floor"][w]
            floor_hooks = sum(module_parts(runs["module-floor"][w]).values())
            # The floor module's hooks run a dozen instructions: what the module's hooks do not
            # account for is Envoy's (writing the added headers on the wire, freeing them, ...).
            parts["Envoy outside the callbacks (encoding the added headers, stream teardown, ...)"] = \
                diff - sum(parts.values()) + floor_hooks
            cols.append((parts, diff))
        keys = sorted(set(cols[0][0]) | set(cols[1][0]), key=lambda x: -cols[0][0].get(x, 0))
        for key in keys:
            cells = " | ".join(f"{k(p.get(key, 0))} | {p.get(key, 0) / diff:.0%}" for p, diff in cols)
            out.append(f"| {LABELS.get(key, key)} | {cells} |")
        out.append("| **total (module - floor)** | " + " | ".join(f"**{k(diff)}** | 100%" for _, diff in cols) + " |")
    out += ["", "## Like for like: what each filter adds to its baseline, by workload difference", "",
            "C++ = Envoy's CORS filter minus bare Envoy; module = the native module minus the module floor. "
            "tcmalloc = the difference in instructions spent in tcmalloc, whole process.", "",
            "| step | C++ 1 | module 1 | C++ 100 | module 100 |", "|---|---:|---:|---:|---:|"]

    def add(inst: str, w: str) -> float:
        base = "none" if inst.startswith("native") else "module-floor"
        return per[inst][w] - per[base][w]

    def alloc(inst: str, w: str) -> float:
        base = "none" if inst.startswith("native") else "module-floor"
        return (runs[inst][w].allocator() - runs[base][w].allocator()) / n

    def bare(inst: str, w: str) -> float:
        return per[inst][w] - per["none"][w]

    steps = [
        ("the baseline over bare Envoy (module: the floor's wrapper)", 
         lambda i, f: 0.0 if i.startswith("native") else bare("module-floor", "get_allowed")),
        ("GET without Origin (per-stream cost, absent Origin)", lambda i, f: f(i, "get_no_origin")),
        ("rejected minus no Origin (read Origin, decide, reject)", lambda i, f: f(i, "get_rejected") - f(i, "get_no_origin")),
        ("allowed minus rejected (the allowed answer's header writes)", lambda i, f: f(i, "get_allowed") - f(i, "get_rejected")),
        ("**allowed GET over its baseline**", lambda i, f: f(i, "get_allowed")),
        ("**rejected GET over its baseline**", lambda i, f: f(i, "get_rejected")),
        ("100 origins minus 1, rejected GET (C++: 99 more matchers tried)", lambda i, f: f(i.rsplit("-", 1)[0] + "-100", "get_rejected") - f(i.rsplit("-", 1)[0] + "-1", "get_rejected")),
        ("**allowed GET over bare Envoy**", lambda i, f: bare(i, "get_allowed")),
        ("**rejected GET over bare Envoy**", lambda i, f: bare(i, "get_rejected")),
        ("tcmalloc, allowed GET", lambda i, f: alloc(i, "get_allowed")),
        ("tcmalloc, rejected GET", lambda i, f: alloc(i, "get_rejected")),
    ]
    for label, fn in steps:
        out.append(f"| {label} | " + " | ".join(k(fn(i, add)) for i in ("native-1", "module-1", "native-100", "module-100")) + " |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
