#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, generated from the spec tests' inputs.

Reads crates/edge-cors-core/tests/{spec,config_errors}.rs and tests/bypass_origins.txt and writes one file
per input into tests/fuzz/corpus/<target>/ (ignored by git; regenerated on every run):
  origin  every origin-like string literal and every bypass-corpus value
  acrh    every Access-Control-Request-Headers value of the spec cases, plus edge shapes
  config  every JSON configuration (spec policies, config_errors fragments wrapped in a policy)
  decide  every spec request, encoded as the decide target reads it (index byte + value per line)
  native  the decide seeds (the native target reads the same encoding)
  regex   every pattern of the origin-regex engine's tests (src/rules/regex.rs, origin_regex.rs),
          each alone and followed by NUL and an origin-like text

Usage: seeds.py CORPUS_DIR
"""
import hashlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DECIDE_NAMES = [":method", ":authority", ":path", "origin", "access-control-request-method",
                "access-control-request-headers", "access-control-request-private-network", "x-other"]

STRING = r'"((?:[^"\\]|\\.)*)"'
RAW = r'r#"(.*?)"#'


def unescape(s: str) -> str:
    s = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), s)
    return s.replace('\\"', '"').replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t") \
        .replace("\\0", "\0").replace("\\\\", "\\")


def bypass_values() -> list:
    out = []
    for line in (ROOT / "tests" / "bypass_origins.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        line = re.sub(r"\{repeat:(\d+):([^}]*)\}", lambda m: m.group(2) * int(m.group(1)), line)
        out.extend(v.encode("utf-8", "surrogateescape") for v in line.split(" ||| "))
    return out


def main(corpus_dir: Path):
    spec = (ROOT / "crates" / "edge-cors-core" / "tests" / "spec.rs").read_text()
    errors = (ROOT / "crates" / "edge-cors-core" / "tests" / "config_errors.rs").read_text()
    seeds = {"origin": set(), "acrh": set(), "config": set(), "decide": set()}

    for s in re.findall(STRING, spec + errors):
        s = unescape(s)
        if "://" in s or s.lower() == "null":
            seeds["origin"].add(s.encode())
    seeds["origin"].update(bypass_values())

    for v in re.findall(r'\("access-control-request-headers",\s*' + STRING + r"\)", spec):
        seeds["acrh"].add(unescape(v).encode())
    seeds["acrh"].update([b"", b"a, ,b", b"x-a," * 65, b"a" * 2049, b"content-type\tauthorization", b"\xff"])

    for raw in re.findall(RAW, spec + errors, re.S):
        body = raw.replace("{{", "{").replace("}}", "}")
        if body.lstrip().startswith("{"):
            seeds["config"].add(body.encode())
        elif body.lstrip().startswith('"'):
            seeds["config"].add(('{"policies": [{"name": "p", ' + body + "}]}").encode())

    # Requests: every `request: &[...]` block and every `preflight("origin", "METHOD")` call.
    blocks = re.findall(r"request:\s*&\[(.*?)\]\s*,\s*\n", spec, re.S)
    requests = [re.findall(r"\(" + STRING + r",\s*" + STRING + r"\)", b) for b in blocks]
    for origin, method in re.findall(r"preflight\(" + STRING + r",\s*" + STRING + r"\)", spec):
        requests.append([(":method", "OPTIONS"), ("origin", origin), ("access-control-request-method", method)])
    for req in requests:
        lines = []
        for name, value in req:
            name = unescape(name)
            if name in DECIDE_NAMES:
                lines.append(bytes([DECIDE_NAMES.index(name)]) + unescape(value).encode())
        if lines:
            seeds["decide"].add(b"\n".join(lines))
    seeds["native"] = set(seeds["decide"])

    rules = ROOT / "crates" / "edge-cors-core" / "src" / "rules"
    regex_tests = (rules / "regex.rs").read_text() + (rules / "origin_regex.rs").read_text()
    texts = [b"", b"https://app.example.com", b"http://localhost:3000", b"aB_-", b"null", b"*"]
    seeds["regex"] = set()
    for pattern in re.findall(r'r"(.*?)"', regex_tests):
        pattern = pattern.removeprefix("^").removesuffix("$").encode()
        seeds["regex"].update(pattern + b"\0" + t for t in texts)

    for target, items in seeds.items():
        d = corpus_dir / target
        d.mkdir(parents=True, exist_ok=True)
        for item in items:
            (d / hashlib.sha1(item).hexdigest()).write_bytes(item)
        print(f"seeds: {target}: {len(items)}")
        if not items:
            sys.exit(f"no seeds found for {target}: did the spec tests change shape?")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
