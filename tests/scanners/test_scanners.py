"""Third-party CORS scanners from PyPI against edge-cors, and against a deliberately broken
Envoy to prove each scanner detects a real misconfiguration in this setup.

Scanners: corsair_scan (`corsair`, JSON request file), CORScanner (`cors`), OverReacher
(`overreacher`). They reach Envoy as an HTTP proxy (`http_proxy`), so the URLs carry the demo's
domains and Envoy sees `Host: api.example.com` / `www.example.com`; no TLS is in the loop.

edge-cors runs the demo's policy, split by host so every scanner meets a policy in its scheme:
- api.example.com: the demo's `app` policy (https origins, credentials). corsair sets the Origin
  itself, so it probes https origins here.
- www.example.com: the same origins in http, without credentials (edge-cors refuses http
  origins other than localhost with credentials). CORScanner and OverReacher build their probe
  origins from the URL's scheme, so they probe http origins here.

Deliberately allowed: both policies trust every subdomain of example.com (`*.example.com`). The
scanners' "any subdomain" probes (`evil.www.example.com`, `scarymonster.app.example.com`,
`www.example.com.example.com`) are such subdomains, so those findings are expected and
accepted; any other finding fails the test.

The broken target is Envoy's native CORS filter with every origin (`.*`) and credentials:
each scanner must report it.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.envoy_config import (
    NATIVE_CORS, ROUTER, native_cors_filter, native_cors_policy, proxy_bootstrap, route_to, edge_cors_filter,
)
from harness.processes import Envoy, Upstream, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO = ROOT / "envoy" / "envoy.yaml"
SCAN_TIMEOUT = 180


def demo_app_policy() -> dict:
    """The `app` policy of the demo's envoy/envoy.yaml (the edge-cors filter's configuration)."""
    demo = yaml.safe_load(DEMO.read_text())
    filters = [f for listener in demo["static_resources"]["listeners"] for chain in listener["filter_chains"]
               for hcm in chain["filters"] for f in hcm["typed_config"].get("http_filters", [])]
    edge_cors = next(f for f in filters if f["name"] == "edge-cors")
    config = json.loads(edge_cors["typed_config"]["config"]["configuration"]["value"])
    return next(p for p in config["policies"] if p["name"] == "app")


def scan_policies() -> dict:
    app = demo_app_policy()
    https_app = dict(app, match={"hosts": ["api.example.com"]})
    http_app = {k: v for k, v in app.items() if k not in ("allow_origin_regexes", "allow_credentials")}
    http_app.update(name="app-http", match={"hosts": ["www.example.com"]},
                    allow_origins=[o.replace("https://", "http://") for o in app["allow_origins"] if o.startswith("https://")])
    return {"policies": [https_app, http_app]}


def deliberately_allowed(host: str, origin) -> bool:
    """The policies' `*.example.com`: one or more labels under example.com, scheme by host.

    Also OverReacher's passive probe, which sends no Origin at all (payload None): that is not a
    CORS request, so edge-cors leaves the upstream's headers alone (the demo upstream sets its
    own `Access-Control-Allow-Origin: *` on purpose) and only adds `Vary: origin`. A browser
    always sends Origin cross-origin, so it never sees that header."""
    if origin is None:
        return True
    scheme = "https" if host.startswith("api.") else "http"
    return re.fullmatch(scheme + r"://([a-z0-9-]+\.)+example\.com", origin or "") is not None


ANY_ROUTE = [route_to()]


@pytest.fixture(scope="module")
def upstream():
    u = Upstream()
    yield u
    u.stop()


def start(config: dict, tmp: Path) -> Envoy:
    return Envoy(config, workdir=tmp).start()


@pytest.fixture(scope="module")
def edge_cors(upstream, tmp_path_factory):
    e = start(proxy_bootstrap(free_port(), free_port(), upstream.port, [edge_cors_filter(scan_policies()), ROUTER], ANY_ROUTE),
              tmp_path_factory.mktemp("scan-edge-cors"))
    yield e
    e.stop()


@pytest.fixture(scope="module")
def broken(upstream, tmp_path_factory):
    """Envoy's native CORS filter reflecting any origin with credentials."""
    policy = {NATIVE_CORS: native_cors_policy(
        allow_origin_string_match=[{"safe_regex": {"regex": ".*"}}],
        allow_credentials=True, allow_methods="GET,POST,PUT", allow_headers="content-type")}
    e = start(proxy_bootstrap(free_port(), free_port(), upstream.port, [native_cors_filter(), ROUTER], ANY_ROUTE, policy),
              tmp_path_factory.mktemp("scan-broken"))
    yield e
    e.stop()


def run(cmd: list, envoy: Envoy, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "https_proxy", "all_proxy")}
    env.update(http_proxy=f"http://127.0.0.1:{envoy.port}", HTTP_PROXY=f"http://127.0.0.1:{envoy.port}",
               NO_COLOR="1", TLDEXTRACT_CACHE=str(cwd / "tldextract"))
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=SCAN_TIMEOUT)
    # stderr holds tldextract's failed download of the Public Suffix List (no network here; it
    # falls back to its bundled copy): shown only when the scanner fails.
    print(f"$ {' '.join(cmd)}  (exit {r.returncode})\n{r.stdout[-2000:]}" + (r.stderr[-3000:] if r.returncode else ""))
    return r


# Each scanner returns [(host, probe origin, description)] for every finding.

def corsair(envoy: Envoy, tmp: Path) -> list:
    requests_file, report = tmp / "corsair.json", tmp / "corsair-report.json"
    requests_file.write_text(json.dumps([
        {"url": "http://api.example.com/api/items", "verb": "GET", "headers": {"Origin": "https://app.example.com"}},
        {"url": "http://www.example.com/api/items", "verb": "GET", "headers": {"Origin": "http://app.example.com"}},
    ]))
    run([str(BIN / "corsair"), str(requests_file), "-r", str(report)], envoy, tmp)
    data = json.loads(report.read_text())
    probes = 0
    findings = []
    for entry in data["report"]:
        host = entry["url"].split("/")[2]
        for test, result in entry.items():
            if isinstance(result, dict) and "Origin" in result:
                probes += 1
                if result["misconfigured"]:
                    findings.append((host, result["Origin"], f"corsair {test}: ACAO {result['Access-Control-Allow-Origin']}"))
    PROBES[id(envoy), "corsair_scan"] = probes
    return findings


def corscanner(envoy: Envoy, tmp: Path) -> list:
    out = tmp / "cors-report.json"
    urls = tmp / "cors-urls.txt"
    urls.write_text("http://api.example.com/api/items\nhttp://www.example.com/api/items\n")
    r = run([str(BIN / "cors"), "-i", str(urls), "-t", "2", "-T", "5", "-o", str(out), "-v"], envoy, tmp)
    # -v logs each probe kind as it starts; CORScanner stops at a URL's first finding.
    PROBES[id(envoy), "CORScanner"] = r.stdout.count("Start checking")
    results = json.loads(out.read_text()) if out.exists() and out.read_text().strip() else []
    return [(f["url"].split("/")[2], f["origin"], f"CORScanner {f['type']} (credentials {f['credentials']})") for f in results]


def overreacher(envoy: Envoy, tmp: Path) -> list:
    out = tmp / "overreacher-report.json"
    r = run([str(BIN / "overreacher"), "-u", "http://api.example.com/api/items,http://www.example.com/api/items",
             "-A", "-t", "2", "-T", "5", "-o", str(out), "--no-color"], envoy, tmp)
    assert r.returncode == 0
    data = json.loads(out.read_text())
    findings = []
    for url, results in data["scan_res"].items():
        for f in results:
            findings.append((url.split("/")[2], f["used_payload"],
                             f"OverReacher {f['attack_name']}: ACAO {f['allow_origin']} credentials {f['allow_creds']}"))
    # OverReacher runs its 11 attacks per URL and stops at the first active finding.
    PROBES[id(envoy), "OverReacher"] = len(data["scan_res"])
    return findings


# Probes each scanner sent per target (what its output shows), for the report and the check
# that a clean result is not an empty run.
PROBES = {}
# corsair: 4 origins per URL; CORScanner: 9 kinds per http URL (the https->http one is skipped),
# the last (any subdomain) is the deliberate finding on www; OverReacher: its attacks per URL.
MIN_PROBES = {"corsair_scan": 8, "CORScanner": 18, "OverReacher": 2}

SCANNERS = {"corsair_scan": corsair, "CORScanner": corscanner, "OverReacher": overreacher}


@pytest.mark.parametrize("name", SCANNERS)
def test_the_scanner_finds_nothing_but_deliberately_allowed_subdomains_on_edge_cors(name, edge_cors, tmp_path):
    findings = SCANNERS[name](edge_cors, tmp_path)
    unexpected = [f for f in findings if not deliberately_allowed(f[0], f[1])]
    probes = PROBES.get((id(edge_cors), name), 0)
    print(f"{name} on edge-cors: {probes} probes, {len(findings)} findings, {len(unexpected)} unexpected")
    assert probes >= MIN_PROBES[name], f"{name} barely ran: {probes} probes"

    for f in findings:
        reason = "UNEXPECTED" if f in unexpected else ("no Origin sent, not CORS" if f[1] is None else "allowed *.example.com")
        print(f"  {reason}: {f}")
    assert not unexpected


@pytest.mark.parametrize("name", SCANNERS)
def test_the_scanner_detects_the_broken_native_cors_configuration(name, broken, tmp_path):
    findings = SCANNERS[name](broken, tmp_path)
    real = [f for f in findings if not deliberately_allowed(f[0], f[1])]
    print(f"{name} on the broken config: {len(findings)} findings, {len(real)} outside *.example.com")
    for f in findings:
        print(f"  {f}")
    assert real, f"{name} found nothing on a config that reflects every origin with credentials"
