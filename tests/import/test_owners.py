"""`edge-cors-check owners`: every route where native CORS (a VirtualService corsPolicy, an Envoy
Gateway SecurityPolicy, Envoy's CORS filter on a route) and an edge-cors policy found next to it
would both act, by host and path overlap or route-name binding; routes only one of them serves
are not reported."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKER = os.environ.get("EDGE_CORS_CHECK") or str(ROOT / "target" / "debug" / "edge-cors-check")


def owners(*files: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHECKER, "owners", *files], capture_output=True, text=True, cwd=ROOT)


def line_of(path: str, needle: str, after: str = "") -> int:
    """The 1-based line holding `needle`, the first after the line holding `after`."""
    text = (ROOT / path).read_text().splitlines()
    start = next(i for i, line in enumerate(text) if after in line) if after else 0
    return next(i for i, line in enumerate(text, 1) if i > start and needle in line)


def test_istio_routes_with_a_cors_policy_that_an_edge_cors_policy_also_matches_are_reported():
    f = "tests/import/owners/istio.yaml"
    result = owners(f)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # By host and path: the `api` policy covers /api/, the route serves /api/v2/.
    assert lines[0].startswith(f"{f}:{line_of(f, '- name: api', after='kind: VirtualService')}: VirtualService shop/shop http[0] (api): both act: "
                               "the VirtualService corsPolicy")
    assert 'edge-cors policies[0] ("api") of ' + f + ": document 1: WasmPlugin istio-system/edge-cors" in lines[0]
    # By route name: Istio names the route `checkout.pay` (http name, a dot, the match name).
    assert lines[1].startswith(f"{f}:{line_of(f, '- name: checkout', after='kind: VirtualService')}: VirtualService shop/shop http[1] (checkout): both act")
    assert 'policies[1] ("checkout")' in lines[1]
    # /static/ is served by its corsPolicy alone.
    assert not any("static" in line for line in lines)
    assert lines[-1].startswith("2 routes with two CORS owners")


def test_a_securitypolicy_on_the_gateway_owns_every_attached_route_an_edge_cors_policy_also_covers():
    f = "tests/import/owners/httproute-securitypolicy.yaml"
    result = owners(f, "tests/import/owners/policy.json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{f}:{line_of(f, '- matches:')}: HTTPRoute shop/api rules[0]: both act: the SecurityPolicy shop/cors cors "
        "(Envoy Gateway's CORS filter) and edge-cors policies[0] (\"api\") of tests/import/owners/policy.json: policy",
        "1 route with two CORS owners: remove the native policy (docs/migration.md) or narrow the edge-cors match",
    ]


def test_envoy_routes_under_a_virtual_host_cors_policy_are_reported_route_by_route():
    result = owners("tests/import/sources/envoy-routes.yaml", "tests/import/owners/policy.json")
    assert result.returncode == 1
    reported = [line.split(": ")[1] for line in result.stdout.splitlines()[:-1]]
    assert reported == ['route configuration "local" virtual host api route[0] (orders)',
                        'route configuration "local" virtual host api route[1]']


def test_no_overlap_exits_0_and_no_edge_cors_configuration_exits_2():
    result = owners("tests/import/owners/httproute-securitypolicy.yaml", "tests/import/owners/elsewhere.json")
    assert result.returncode == 0, result.stdout
    assert result.stdout == "no route has both native CORS and an edge-cors policy\n"
    result = owners("tests/import/sources/virtualservice.yaml")
    assert result.returncode == 2 and "no edge-cors configuration" in result.stderr
    assert owners().returncode == 2
    invalid = owners("tests/checker/bad/policy-errors.json", "tests/import/sources/virtualservice.yaml")
    assert invalid.returncode == 2 and "invalid (4 errors)" in invalid.stderr
