#!/usr/bin/env python3
"""The demo (run through scripts/demo.sh, which installs Envoy and builds first): Envoy with
envoy/envoy.yaml in front of scripts/upstream.py, the curl examples with their answers, then
serving until Ctrl-C. Only the Python standard library: the demo's venv holds Envoy alone.

The ports are envoy/envoy.yaml's (listener 10000, admin 9901, upstream 10001) unless chosen with
the flags or environment variables below; the running config is the shipped file with those
ports substituted, written to a temporary directory.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness import ENVOY_BIN  # noqa: E402
from harness.envoy_config import substitute  # noqa: E402
from harness.processes import Envoy, EnvoyExited, Upstream, port_in_use  # noqa: E402

SHIPPED = ROOT / "envoy" / "envoy.yaml"
# (flag, environment variable, the port in envoy/envoy.yaml, what listens there)
PORTS = (
    ("--port", "EDGE_CORS_DEMO_PORT", 10000, "Envoy's listener"),
    ("--admin-port", "EDGE_CORS_DEMO_ADMIN_PORT", 9901, "Envoy's admin interface"),
    ("--upstream-port", "EDGE_CORS_DEMO_UPSTREAM_PORT", 10001, "the upstream (scripts/upstream.py)"),
)
_PREFLIGHTS = 'edge_cors_requests_total{edge_cors_policy="app",edge_cors_mode="enforce",edge_cors_kind="preflight",'
EXPECTED_COUNTERS = (
    _PREFLIGHTS + 'edge_cors_outcome="allowed",edge_cors_reason="none"} 1',
    _PREFLIGHTS + 'edge_cors_outcome="rejected",edge_cors_reason="origin"} 1',
    _PREFLIGHTS + 'edge_cors_outcome="rejected",edge_cors_reason="headers"} 1',
)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="scripts/demo.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="stop after the examples; the exit status says whether every answer was right")
    for flag, var, default, what in PORTS:
        ap.add_argument(flag, type=int, dest=var, default=int(os.environ.get(var) or default),
                        help=f"port of {what} on 127.0.0.1 (default ${var}, else {default})")
    return ap.parse_args()


def port_problems(ports: dict) -> list:
    """Why the chosen ports cannot be used, each problem naming how to choose another."""
    problems = []
    for flag, var, _, what in PORTS:
        port = ports[var]
        if not 0 < port < 65536:
            problems.append(f"port {port} for {what} is not a TCP port; choose another: {flag} N or {var}=N")
        elif list(ports.values()).count(port) > 1:
            problems.append(f"port {port} is chosen twice; give {what} its own: {flag} N or {var}=N")
        elif port_in_use(port):
            problems.append(f"port {port} on 127.0.0.1 ({what}) is in use (an earlier demo?); stop whatever holds "
                            f"it, or choose another: {flag} N or {var}=N")
    return problems


def running_config(ports: dict) -> str:
    """envoy/envoy.yaml with the chosen ports."""
    return substitute(SHIPPED.read_text(), {
        f"port_value: {default}": f"port_value: {ports[var]}" for _, var, default, _ in PORTS})


def curl(*args: str) -> str:
    return subprocess.run(["curl", *args], capture_output=True, text=True, timeout=30).stdout


class Examples:
    """The curl examples: each shows its command and the answer's status line and CORS headers,
    and is checked against what the README and docs/operations.md document."""

    def __init__(self):
        self.bad = False

    def show(self, title: str, expect: str, *args: str):
        print(f"\n\033[1m# {title}\033[0m\n$ curl -si {shlex.join(args)}")
        answer = "\n".join(line for line in curl("-si", *args).replace("\r", "").splitlines()
                           if re.match(r"(HTTP/|access-control-|vary:)", line, re.I))
        print(answer)
        if not re.search(expect, answer, re.I | re.M):
            print(f"!! expected to see: {expect}")
            self.bad = True


def show_examples(port: int, admin: int, upstream: int) -> bool:
    """Every example; True when every answer was as documented."""
    ex, b = Examples(), f"http://127.0.0.1:{port}"
    app = ("-H", "Origin: https://app.example.com")
    ex.show("Preflight from an allowed origin: answered by edge-cors, never reaches the upstream",
            "^HTTP/1.1 204", "-X", "OPTIONS", f"{b}/api/users", *app, "-H", "Access-Control-Request-Method: PUT",
            "-H", "Access-Control-Request-Headers: content-type, authorization")
    ex.show("Preflight from an untrusted origin: 403, no CORS headers",
            "^HTTP/1.1 403", "-X", "OPTIONS", f"{b}/api/users", "-H", "Origin: https://evil.example.net",
            "-H", "Access-Control-Request-Method: PUT")
    ex.show("Preflight asking for a header the policy does not allow: 403",
            "^HTTP/1.1 403", "-X", "OPTIONS", f"{b}/api/users", *app, "-H", "Access-Control-Request-Method: PUT",
            "-H", "Access-Control-Request-Headers: x-secret")
    ex.show("GET from an allowed origin: the upstream's 'Access-Control-Allow-Origin: *' is replaced",
            "^access-control-allow-origin: https://app.example.com", f"{b}/api/users", *app)
    ex.show("GET from a subdomain (https://*.example.com) and a preview regex",
            "^access-control-allow-origin: https://pr-42.preview.example.com", f"{b}/api/users",
            "-H", "Origin: https://pr-42.preview.example.com")
    ex.show("GET from a look-alike origin: no CORS headers at all (the upstream's are removed too)",
            "^vary: .*origin", f"{b}/api/users", "-H", "Origin: https://app.example.com.evil.net")
    ex.show("401 from the auth filter after edge-cors: decorated, so the page can read it",
            "^access-control-allow-origin: https://app.example.com", f"{b}/api/secure/me", *app)
    ex.show("403 from RBAC after edge-cors: decorated too", "^HTTP/1.1 403", f"{b}/api/admin/x", *app)
    ex.show('Public policy (allow_origins: ["*"]): literal *, no Vary: Origin',
            r"^access-control-allow-origin: \*", f"{b}/public/status", "-H", "Origin: https://anyone.example.org")

    counts_url = f"127.0.0.1:{upstream}/__counts"
    print(f"\n# The upstream saw only the forwarded requests (no OPTIONS):\n$ curl -s {counts_url}")
    counts = curl("-s", counts_url)
    print(counts)
    if "OPTIONS" in counts:
        print("!! a preflight reached the upstream")
        ex.bad = True

    print("\n# Every decision is counted, with its reason (counters above 0):")
    print(f"$ curl -s 127.0.0.1:{admin}/stats/prometheus | grep -E '^edge_cors_requests_total.*kind=\"preflight\".* [1-9]'")
    stats = [line for line in curl("-s", f"127.0.0.1:{admin}/stats/prometheus").splitlines()
             if re.match(r'^edge_cors_requests_total.*kind="preflight".* [1-9]', line)]
    print("\n".join(stats))
    for want in EXPECTED_COUNTERS:
        if want not in stats:
            print(f"!! expected the counter line: {want}")
            ex.bad = True
    return not ex.bad


def main() -> int:
    args = parse_args()
    ports = {var: getattr(args, var) for _, var, _, _ in PORTS}
    problems = port_problems(ports)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    port, admin, upstream_port = (ports[var] for _, var, _, _ in PORTS)

    # SIGTERM (a supervisor, `kill`) stops the demo like Ctrl-C: Envoy and the upstream with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="edge-cors-demo-"))
    upstream = Upstream(upstream_port)
    envoy = Envoy(running_config(ports), work, admin_port=admin, port=port, envoy_bin=ENVOY_BIN)
    try:
        print(f"\033[1m==> starting {ENVOY_BIN} -c {envoy.config_path} (envoy/envoy.yaml with ports {port}, "
              f"admin {admin}, upstream {upstream_port}; log: {envoy.log_path})\033[0m", file=sys.stderr)
        try:
            envoy.start(60)
        except (EnvoyExited, TimeoutError):
            print("Envoy did not become ready; its log:", file=sys.stderr)
            print("\n".join(envoy.log().splitlines()[-50:]), file=sys.stderr)
            return 1
        good = show_examples(port, admin, upstream_port)
        if args.check:
            print("demo: every example answered as documented" if good
                  else "demo: some examples did not answer as documented")
            return 0 if good else 1
        print(f"\nedge-cors demo running: http://127.0.0.1:{port}  admin: http://127.0.0.1:{admin}  (Ctrl-C to stop)")
        return envoy.proc.wait()
    finally:
        envoy.stop()
        upstream.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C: main() has stopped Envoy and the upstream on its way out
        sys.exit(130)
