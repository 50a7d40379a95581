"""`match.route_names` through Envoy: the filter reads the `xds.route_name` property, and Envoy
1.40 answers it with the `name` of the route its router matched (static routes; Istio's
`<http[].name>.<match name>` and Envoy Gateway's `httproute/<ns>/<name>/rule/<i>/match/<j>/<host>`
forms), and with nothing for a request no route matches."""
import pytest

from harness.client import request
from harness.envoy_config import ROUTER, proxy_bootstrap, route_to, virtual_host, wasm_filter
from harness.processes import Envoy, free_port

# Route name -> the one origin its policy allows (a preflight from it answers 204 only when the
# filter saw exactly this route name).
NAMED = {
    "api-v1": ("/v1/", "https://v1.example.com"),
    "reviews.by-user": ("/reviews/", "https://reviews.example.com"),
    "httproute/default/shop/rule/0/match/0/api_example_com": ("/shop/", "https://shop.example.com"),
    "get-only": ("/get-only/", "https://get-only.example.com"),
}
POLICY = {"policies": [
    *({"name": f"p{i}", "match": {"route_names": [name]}, "allow_origins": [origin]}
      for i, (name, (_, origin)) in enumerate(NAMED.items())),
    {"name": "strict", "allow_origins": ["https://www.example.com"]},
]}


def routes():
    out = []
    for name, (prefix, _) in NAMED.items():
        r = route_to(prefix=prefix, name=name)
        if name == "get-only":
            r["match"]["headers"] = [{"name": ":method", "string_match": {"exact": "OPTIONS"}, "invert_match": True}]
        out.append(r)
    out.append(route_to(prefix="/"))  # a route without a name
    return out


@pytest.fixture(scope="module")
def envoy(upstream):
    config = proxy_bootstrap(free_port(), free_port(), upstream.port, [wasm_filter(POLICY), ROUTER],
                             virtual_hosts=[virtual_host(routes())])
    e = Envoy(config).start()
    yield e
    e.stop()


def preflight(envoy, path, origin):
    return request(envoy.port, "OPTIONS", path, [("origin", origin), ("access-control-request-method", "GET")])


@pytest.mark.parametrize("route", [n for n in NAMED if n != "get-only"])
def test_the_route_name_property_is_the_matched_routes_name_and_selects_its_policy(envoy, route):
    path, origin = NAMED[route]
    r = preflight(envoy, path + "x", origin)
    assert r.status == 204, r.headers
    assert r.get("access-control-allow-origin") == origin
    # Every other route's origin is refused on this route: its own policy answered, nothing else.
    for other, (_, other_origin) in NAMED.items():
        if other != route:
            assert preflight(envoy, path + "x", other_origin).status == 403, other


def test_a_route_without_a_name_matches_no_route_bound_policy(envoy):
    for _, origin in NAMED.values():
        assert preflight(envoy, "/elsewhere", origin).status == 403, origin
    assert preflight(envoy, "/elsewhere", "https://www.example.com").status == 204


def test_a_preflight_its_route_does_not_match_has_no_route_name_and_falls_through(envoy):
    # The route excludes OPTIONS: the preflight matches no route, so the property is empty and
    # the route-bound policy does not apply (the catch-all refuses it) ...
    path, origin = NAMED["get-only"]
    r = preflight(envoy, path + "x", origin)
    assert r.status == 403
    assert "access-control-allow-origin" not in r.cors()
    # ... while the GET it guards matches the route and gets the policy's headers.
    r = request(envoy.port, "GET", path + "x", [("origin", origin)])
    assert r.status == 200
    assert r.get("access-control-allow-origin") == origin
