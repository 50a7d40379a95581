"""`edge-cors-check import`: real-shaped VirtualService, Envoy route configuration, HTTPRoute and
ingress-nginx Ingress documents (validated against the shared CRDs, or by Envoy itself) become a
report_only edge-cors configuration the filter accepts; every construct that cannot be carried
over, or is unsafe, is reported with its file and line; and the imported policy, loaded into
Envoy, answers sample requests as the source did, except exactly where a finding says it cannot.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness import SHARED
from harness.client import request
from harness.envoy_config import ROUTER, proxy_bootstrap, route_to, virtual_host, wasm_filter
from harness.processes import Envoy, RecordingUpstream, edge_cors_stats, free_port

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
CHECKER = os.environ.get("EDGE_CORS_CHECK") or str(ROOT / "target" / "debug" / "edge-cors-check")
ENVOY = os.environ.get("ENVOY_BIN") or str(ROOT / ".venv" / "bin" / "envoy")

FINDING = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<kind>unsafe|narrowed|widened|not imported|note): "
                     r"(?P<route>[^:]+): (?P<message>.*)$")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHECKER, *args], capture_output=True, text=True, cwd=ROOT)


def imported(name: str):
    """(configuration, findings) of importing sources/`name`; findings are dicts of the stderr lines."""
    result = run("import", f"tests/import/sources/{name}")
    assert result.returncode == 0, result.stderr
    findings = [m.groupdict() for m in map(FINDING.match, result.stderr.splitlines()) if m]
    assert len(findings) == len(result.stderr.splitlines()), "every stderr line is a finding:\n" + result.stderr
    return json.loads(result.stdout), findings


def line_of(name: str, needle: str) -> int:
    """The 1-based line of sources/`name` that is `needle` (stripped), or else holds it: exactly one."""
    text = (SOURCES / name).read_text().splitlines()
    lines = [i for i, line in enumerate(text, 1) if line.strip() == needle] or \
        [i for i, line in enumerate(text, 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} on lines {lines} of {name}"
    return lines[0]


def has(findings, name, needle, kind, text):
    line = line_of(name, needle)
    hits = [f for f in findings if int(f["line"]) == line and f["kind"] == kind and text in f["message"]]
    assert hits, f"no {kind} finding at {name}:{line} containing {text!r} in:\n" + "\n".join(map(str, findings))


# ---------------------------------------------------------------- the sources are what the platforms accept

def crd_schema(crd_file: Path, version: str) -> dict:
    crd = yaml.safe_load(crd_file.read_text())
    return next(v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"] if v["name"] == version)


@pytest.mark.parametrize("name,crd", [
    ("virtualservice.yaml", "istio/virtualservices.networking.istio.io.crd.yaml"),
    ("unsafe-only.yaml", "istio/virtualservices.networking.istio.io.crd.yaml"),
    ("httproute.yaml", "gateway-api/gateway.networking.k8s.io_httproutes.yaml"),
    ("owners/httproute-securitypolicy.yaml", "gateway-api/gateway.networking.k8s.io_httproutes.yaml"),
    ("owners/httproute-securitypolicy.yaml", "envoy-gateway/gateway.envoyproxy.io_securitypolicies.yaml"),
    ("owners/istio.yaml", "istio/virtualservices.networking.istio.io.crd.yaml"),
    ("owners/istio.yaml", "istio/wasmplugins.extensions.istio.io.crd.yaml"),
])
def test_every_kubernetes_source_validates_against_its_crd(name, crd):
    kind = yaml.safe_load((SHARED / crd).read_text())["spec"]["names"]["kind"]
    docs = [d for d in yaml.safe_load_all((HERE / ("" if "/" in name else "sources") / name).read_text()) if d]
    docs = [d for d in docs if d["kind"] == kind]
    assert docs, f"no {kind} in {name}"
    for doc in docs:
        version = doc["apiVersion"].split("/")[1]
        jsonschema.validate(doc, crd_schema(SHARED / crd, version))


def test_the_ingress_sources_are_networking_v1_ingresses():
    # No CRD: Ingress is built into Kubernetes; these are the fields and values its API takes.
    for doc in yaml.safe_load_all((SOURCES / "ingress.yaml").read_text()):
        assert doc["apiVersion"] == "networking.k8s.io/v1" and doc["kind"] == "Ingress"
        for rule in doc["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["pathType"] in ("Exact", "Prefix", "ImplementationSpecific")
                assert path["path"].startswith("/") and "port" in path["backend"]["service"]


def test_the_envoy_source_is_a_configuration_envoy_accepts():
    result = subprocess.run([ENVOY, "--mode", "validate", "-c", str(SOURCES / "envoy-routes.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- what is imported, and what is reported

@pytest.mark.parametrize("name", ["virtualservice.yaml", "httproute.yaml", "ingress.yaml", "envoy-routes.yaml"])
def test_each_import_is_report_only_and_passes_the_checker(name, tmp_path):
    config, _ = imported(name)
    assert config["mode"] == "report_only"
    assert all("mode" not in p for p in config["policies"])
    out = tmp_path / "imported.json"
    out.write_text(json.dumps(config))
    checked = run(str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_virtualservice_is_imported_by_route_name_where_the_route_has_one():
    config, findings = imported("virtualservice.yaml")
    api, status = config["policies"]
    assert api["name"] == "shop-api"
    assert api["match"] == {"route_names": ["api"], "hosts": ["shop.example.com"]}
    assert api["allow_origins"] == ["https://app.example.com", "https://admin.example.com"]
    assert api["allow_origin_regexes"] == ["^(?:https://pr-[0-9]+\\.preview\\.example\\.com)$"]
    assert (api["allow_methods"], api["allow_headers"], api["expose_headers"]) == (
        ["GET", "POST", "PUT"], ["authorization", "content-type"], ["etag"])
    assert api["allow_credentials"] is True and api["max_age"] == 86400
    assert status["match"] == {"hosts": ["shop.example.com"], "path_prefixes": ["/status"]}
    assert status["allow_origins"] == ["*"] and "allow_credentials" not in status
    name = "virtualservice.yaml"
    has(findings, name, "prefix: https://admin.example.com", "unsafe", "also matches https://admin.example.com.evil.example")
    has(findings, name, "exact: /status", "widened", "also covers /status/...")
    has(findings, name, 'exact: "*"', "unsafe", "allows every origin")
    has(findings, name, "regex: /v[0-9]+/reports", "not imported", "cannot be written as path prefixes")
    has(findings, name, 'regex: ".*"', "unsafe", "echoes it with credentials")
    has(findings, name, "prefix: /legacy", "narrowed", "string prefix")


def test_an_envoy_route_configuration_merges_route_over_virtual_host_as_envoy_does():
    config, findings = imported("envoy-routes.yaml")
    orders, catalog, public = config["policies"]
    # The route's own policy sets methods and credentials; the virtual host's gives the rest.
    assert orders["match"] == {"route_names": ["orders"], "hosts": ["api.example.com"]}
    assert orders["allow_methods"] == ["GET", "POST", "DELETE"] and orders["allow_credentials"] is True
    assert orders["allow_origins"] == ["https://app.example.com", "https://*.example.org"]
    assert catalog["match"] == {"hosts": ["api.example.com"], "path_prefixes": ["/catalog/"]}
    assert catalog["allow_methods"] == ["GET", "POST"] and "allow_credentials" not in catalog
    assert public["allow_origins"] == ["*"] and public["match"] == {"hosts": ["public.example.com"]}
    name = "envoy-routes.yaml"
    has(findings, name, "suffix: .example.org", "narrowed", "imported as https://*.example.org")
    has(findings, name, "contains: partner", "unsafe", "not imported")
    has(findings, name, 'safe_regex: {regex: ".*"}', "unsafe", "allows every origin")


def test_an_httproute_cors_filter_keeps_gateway_api_wildcards_and_defaults():
    config, findings = imported("httproute.yaml")
    api, health = config["policies"]
    assert api["allow_origins"] == ["https://app.example.com", "https://*.example.com"]
    assert api["allow_headers"] == ["*", "authorization"] and api["allow_methods"] == ["GET", "PUT"]
    assert api["max_age"] == 600 and health["max_age"] == 5  # the CRD's default
    assert health["allow_origins"] == ["*"] and "allow_methods" not in health
    name = "httproute.yaml"
    has(findings, name, "- TRACE", "not imported", "forbidden method")
    has(findings, name, "- https://*", "unsafe", "every site on that scheme")
    has(findings, name, 'value: /health', "widened", "also covers /health/...")
    allow_methods_star = [i for i, line in enumerate((SOURCES / name).read_text().splitlines(), 1) if line.strip() == '- "*"']
    assert any(int(f["line"]) in allow_methods_star and f["kind"] == "narrowed" for f in findings)


def test_ingress_nginx_annotations_are_read_with_ingress_nginx_defaults():
    config, findings = imported("ingress.yaml")
    catalog, assets = config["policies"]
    assert catalog["allow_origins"] == ["https://app.example.com"]
    # ingress-nginx's `*` is exactly one label: a regex, not edge-cors's `*.` (one or more).
    assert catalog["allow_origin_regexes"] == ["^https://[a-z0-9-]+\\.example\\.net$"]
    assert catalog["allow_credentials"] is True and catalog["max_age"] == 86400
    assert "DNT" not in catalog["allow_headers"] and "Authorization" in catalog["allow_headers"]
    assert assets["allow_origins"] == ["*"] and "allow_credentials" not in assets
    assert assets["allow_methods"] == ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]
    assert [p["name"] for p in config["policies"]] == ["catalog-0", "assets-0"], "the Ingress without enable-cors"
    name = "ingress.yaml"
    has(findings, name, "cors-allow-origin", "note", "ftp://files.example.com")
    has(findings, name, "cors-allow-origin", "note", "one label")
    assert any(f["kind"] == "not imported" and '"DNT"' in f["message"] for f in findings)
    assert any("`*` without credentials" in f["message"] for f in findings)


def test_nothing_importable_exits_1_and_bad_usage_or_input_exits_2(tmp_path):
    result = run("import", "tests/import/sources/unsafe-only.yaml")
    assert result.returncode == 1 and result.stdout == ""
    assert "unsafe" in result.stderr and "no CORS policy could be imported" in result.stderr
    none = tmp_path / "no-cors.yaml"
    none.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert run("import", str(none)).returncode == 1
    assert run("import").returncode == 2
    assert run("import", "--frobnicate", str(none)).returncode == 2
    assert run("import", str(tmp_path / "missing.yaml")).returncode == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    assert run("import", str(bad)).returncode == 2


# ---------------------------------------------------------------- the imported policy in Envoy

def enforced(config: dict) -> dict:
    """The imported configuration switched to enforce mode, to see what it would answer."""
    return dict(config, mode="enforce")


def allowed(r, origin) -> bool:
    return r.get("access-control-allow-origin") in (origin, "*")


def ask(port, host, method, path, origin, acrm=None):
    headers = [("origin", origin)] + ([("access-control-request-method", acrm)] if acrm else [])
    return request(port, method, path, headers, host=host)


@pytest.fixture(scope="module")
def upstream():
    """An upstream that sets no CORS header: what a browser gets is what the CORS layer sent."""
    u = RecordingUpstream()
    yield u
    u.stop()


def start(policy, vhosts, upstream) -> Envoy:
    config = proxy_bootstrap(free_port(), free_port(), upstream.port, [wasm_filter(policy), ROUTER],
                             virtual_hosts=vhosts)
    return Envoy(config).start()


# (host, method, path, origin, ACRM, the source allowed it, the source line of the finding that
# explains a different answer, or None: edge-cors must answer as the source).
VS_SAMPLES = [
    ("shop.example.com", "OPTIONS", "/api/items", "https://app.example.com", "PUT", True, None),
    ("shop.example.com", "OPTIONS", "/api/items", "https://app.example.com", "DELETE", False, None),
    ("shop.example.com", "GET", "/api/items", "https://pr-12.preview.example.com", None, True, None),
    ("shop.example.com", "GET", "/api/items", "https://admin.example.com", None, True, None),
    ("shop.example.com", "GET", "/api/items", "https://admin.example.com.evil.example", None, True,
     "prefix: https://admin.example.com"),
    ("shop.example.com", "GET", "/api/items", "https://evil.example", None, False, None),
    ("shop.example.com", "GET", "/status", "https://anyone.example", None, True, None),
    ("shop.example.com", "GET", "/v1/reports", "https://reports.example.com", None, True, "regex: /v[0-9]+/reports"),
    ("shop.example.com", "GET", "/legacy/x", "https://evil.example", None, True, 'regex: ".*"'),
]


def test_the_imported_virtualservice_policy_answers_as_istio_would_except_where_reported(upstream):
    config, findings = imported("virtualservice.yaml")
    routes = [route_to(prefix="/api/", name="api"), route_to(prefix="/")]
    envoy = start(enforced(config), [virtual_host(routes, domains=["shop.example.com"])], upstream)
    try:
        for host, method, path, origin, acrm, source, why in VS_SAMPLES:
            got = allowed(ask(envoy.port, host, method, path, origin, acrm), origin)
            if why is None:
                assert got == source, (path, origin, acrm)
            else:
                assert got != source, (path, origin)
                line = line_of("virtualservice.yaml", why)
                assert any(int(f["line"]) == line for f in findings if f["kind"] != "note"), why
    finally:
        envoy.stop()


HTTPROUTE_SAMPLES = [
    ("www.example.com", "OPTIONS", "/api/cart", "https://shop.example.com", "PUT", True, None),
    ("www.example.com", "OPTIONS", "/api/cart", "https://shop.example.com", "TRACE", False, None),
    ("www.example.com", "GET", "/api/cart", "https://a.b.example.com", None, True, None),
    ("www.example.com", "GET", "/api/cart", "https://example.com", None, False, None),
    ("www.example.com", "GET", "/health", "https://anyone.example", None, True, None),
    ("www.example.com", "OPTIONS", "/health", "https://anyone.example", "PUT", True, '- "*"'),
    ("www.example.com", "GET", "/partner/x", "https://partner.example", None, True, "- https://*"),
]


def test_the_imported_httproute_policy_answers_as_the_gateway_would_except_where_reported(upstream):
    config, findings = imported("httproute.yaml")
    envoy = start(enforced(config), [virtual_host([route_to()], domains=["www.example.com"])], upstream)
    try:
        for host, method, path, origin, acrm, source, why in HTTPROUTE_SAMPLES:
            got = allowed(ask(envoy.port, host, method, path, origin, acrm), origin)
            if why is None:
                assert got == source, (path, origin, acrm)
            else:
                assert got != source, (path, origin)
                line = line_of("httproute.yaml", why) if why != '- "*"' else None
                assert any(line in (None, int(f["line"])) and f["kind"] != "note" for f in findings), why
    finally:
        envoy.stop()


INGRESS_SAMPLES = [
    ("catalog.example.com", "OPTIONS", "/items/1", "https://app.example.com", "PATCH", True, None),
    ("catalog.example.com", "GET", "/items/1", "https://shop.example.net", None, True, None),
    # One label only, as ingress-nginx matches it.
    ("catalog.example.com", "GET", "/items/1", "https://a.b.example.net", None, False, None),
    ("catalog.example.com", "GET", "/items/1", "https://evil.example", None, False, None),
    ("assets.example.com", "GET", "/logo.png", "https://anyone.example", None, True, None),
]


def test_the_imported_ingress_policy_answers_as_ingress_nginx_would(upstream):
    config, _ = imported("ingress.yaml")
    vhosts = [virtual_host([route_to()], name=h, domains=[h]) for h in ("catalog.example.com", "assets.example.com")]
    envoy = start(enforced(config), vhosts, upstream)
    try:
        for host, method, path, origin, acrm, source, why in INGRESS_SAMPLES:
            assert why is None
            assert allowed(ask(envoy.port, host, method, path, origin, acrm), origin) == source, (host, path, origin)
    finally:
        envoy.stop()


# Where the imported policy may answer otherwise than Envoy's own CORS filter on the same source,
# and the source line of the finding that says so.
ENVOY_DIFFERENCES = {
    "https://partner.evil.example": "contains: partner",
    "http://shop.example.org": "suffix: .example.org",
}
ENVOY_SAMPLES = [
    ("api.example.com", "GET", "/orders/7", "https://app.example.com"),
    ("api.example.com", "GET", "/orders/7", "https://shop.example.org"),
    ("api.example.com", "GET", "/orders/7", "http://shop.example.org"),
    ("api.example.com", "GET", "/orders/7", "https://partner.evil.example"),
    ("api.example.com", "GET", "/orders/7", "https://evil.example"),
    ("api.example.com", "GET", "/catalog/shoes", "https://app.example.com"),
    ("api.example.com", "GET", "/catalog/shoes", "https://evil.example"),
    ("public.example.com", "GET", "/x", "https://anyone.example"),
]


def test_the_imported_envoy_policy_answers_as_envoys_own_cors_filter_except_where_reported(upstream):
    config, findings = imported("envoy-routes.yaml")
    source = yaml.safe_load((SOURCES / "envoy-routes.yaml").read_text())
    source["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] = free_port()
    source["admin"]["address"]["socket_address"]["port_value"] = free_port()
    cluster = source["static_resources"]["clusters"][0]
    cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"][
        "port_value"] = upstream.port
    native = Envoy(source).start()
    # The imported policy, in front of the same routes (same names) without the native filter.
    hcm = source["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    vhosts = hcm["route_config"]["virtual_hosts"]
    edge = start(enforced(config), vhosts, upstream)
    try:
        for host, method, path, origin in ENVOY_SAMPLES:
            want = allowed(ask(native.port, host, method, path, origin), origin)
            got = allowed(ask(edge.port, host, method, path, origin), origin)
            if origin in ENVOY_DIFFERENCES:
                assert got != want, (host, path, origin)
                line = line_of("envoy-routes.yaml", ENVOY_DIFFERENCES[origin])
                assert any(int(f["line"]) == line for f in findings if f["kind"] != "note")
            else:
                assert got == want, (host, path, origin, "native", want)
    finally:
        native.stop()
        edge.stop()


def test_the_import_as_printed_only_counts_its_decisions(upstream):
    config, _ = imported("virtualservice.yaml")
    routes = [route_to(prefix="/api/", name="api"), route_to(prefix="/")]
    envoy = start(config, [virtual_host(routes, domains=["shop.example.com"])], upstream)
    try:
        r = ask(envoy.port, "shop.example.com", "GET", "/api/items", "https://evil.example")
        assert r.status == 200 and "access-control-allow-origin" not in r.cors()
        r = ask(envoy.port, "shop.example.com", "OPTIONS", "/api/items", "https://app.example.com", "PUT")
        assert "access-control-allow-origin" not in r.cors(), "report_only answers no preflight itself"
        stats = {k: v for k, v in edge_cors_stats(envoy).items() if k.startswith("requests/shop-api/")}
        assert stats.get("requests/shop-api/report_only/actual/rejected/origin") == 1, stats
        assert stats.get("requests/shop-api/report_only/preflight/allowed/none") == 1, stats
    finally:
        envoy.stop()


def test_the_findings_docs_migration_shows_are_what_the_import_prints():
    text = (ROOT / "docs" / "migration.md").read_text()
    shown = text.split("On standard error, for the same file", 1)[1].split("```text\n", 1)[1].split("\n```", 1)[0]
    result = run("import", "tests/import/sources/httproute.yaml")
    assert result.stderr.rstrip("\n") == shown
