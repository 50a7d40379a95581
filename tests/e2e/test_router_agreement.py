"""edge-cors and Envoy's router must judge the same request: the same path, the same host.

edge-cors picks a policy from `:path` and `:authority`; the router picks a virtual host and a
route from the same headers, and the upstream serves what it makes of the path. With Envoy's
connection-manager defaults those headers reach the filters exactly as the client sent them,
so `/partner/../api/users` can be judged by the `/partner/` policy while the upstream serves
`/api/users`, and `Host: partner.example.com:8443` by the host policy while the router serves
another virtual host. The five options of PATH_AND_HOST_NORMALIZATION (docs/deployment-envoy.md,
"Path and host normalization") make Envoy rewrite both headers before the first filter runs.

Static part: every Envoy config under envoy/, every yaml block of README.md and docs/*.md with an
HttpConnectionManager, and the bootstraps the tests, the benchmark and the soak generate set the
five options. Envoy part: the same hostile requests through a real Envoy with three virtual hosts
(api, partner, a catch-all) and two policies, the upstream recording the request target and the
virtual host the router used; with the
options every answer carries the CORS headers of the policy that covers what the router used (or
Envoy refused the request), and without them Envoy forwards what it was sent.
"""
from __future__ import annotations

import copy
import re
import sys

import pytest
import yaml

from harness import ROOT
from harness.client import request
from harness.envoy_config import (
    HCM_TYPE, PATH_AND_HOST_NORMALIZATION, ROUTER, http_connection_managers, proxy_bootstrap, route_to, virtual_host,
    edge_cors_filter,
)
from harness.processes import RecordingUpstream, free_port

sys.path.insert(0, str(ROOT / "scripts" / "bench"))
sys.path.insert(0, str(ROOT / "scripts" / "soak"))

import configs as bench_configs  # noqa: E402
import soak  # noqa: E402


# ---------------------------------------------------------------- every config sets the options

def normalization_problems(hcm: dict) -> list:
    """What an HttpConnectionManager lacks of PATH_AND_HOST_NORMALIZATION (empty: nothing)."""
    return [f"{name}: {hcm.get(name)!r}, want {want!r}" for name, want in PATH_AND_HOST_NORMALIZATION.items()
            if hcm.get(name) != want]


def hcms_in(document) -> list:
    """Every mapping whose `@type` is the HttpConnectionManager, at any depth of a parsed document."""
    found = []
    if isinstance(document, dict):
        if document.get("@type") == HCM_TYPE:
            found.append(document)
        for value in document.values():
            found += hcms_in(value)
    elif isinstance(document, list):
        for value in document:
            found += hcms_in(value)
    return found


def shipped_envoy_yaml() -> list:
    return sorted((ROOT / "envoy").rglob("*.yaml"))


DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def documentation_yaml_blocks() -> list:
    """("file:first line", text) of every ```yaml block of README.md and docs/*.md (indented
    blocks included)."""
    blocks = []
    for doc in DOCUMENTS:
        text = doc.read_text()
        for m in re.finditer(r"^( *)```yaml\n(.*?)^\1```", text, re.M | re.S):
            block = "\n".join(line[len(m.group(1)):] for line in m.group(2).split("\n"))
            blocks.append((f"{doc.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 2}", block))
    return blocks


@pytest.mark.parametrize("path", shipped_envoy_yaml(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_envoy_config_normalizes_path_and_host_before_the_filters(path):
    for document in yaml.safe_load_all(path.read_text()):
        for hcm in hcms_in(document):
            assert normalization_problems(hcm) == [], f"{path.relative_to(ROOT)}: {hcm.get('stat_prefix')}"


def test_the_shipped_configs_that_run_envoy_are_among_those_checked():
    """The check above cannot pass by finding no connection manager at all."""
    with_hcm = {str(p.relative_to(ROOT)) for p in shipped_envoy_yaml()
                if any(hcms_in(d) for d in yaml.safe_load_all(p.read_text()))}
    assert {"envoy/envoy.yaml", "envoy/ecds/envoy.yaml"} <= with_hcm, with_hcm


def test_every_documented_yaml_snippet_with_a_connection_manager_normalizes_path_and_host():
    checked = 0
    for where, block in documentation_yaml_blocks():
        if "HttpConnectionManager" not in block:
            continue
        hcms = [h for d in yaml.safe_load_all(block) for h in hcms_in(d)]
        assert hcms, f"{where}: names the HttpConnectionManager but has no `@type: {HCM_TYPE}` mapping"
        for hcm in hcms:
            assert normalization_problems(hcm) == [], where
        checked += 1
    assert checked >= 2, "the README's quick start and docs/deployment-envoy.md show the connection-manager options"


def generated_bootstraps() -> dict:
    """Every bootstrap the test harness, the benchmark and the soak generate, by name."""
    out = {"tests/harness proxy_bootstrap()": proxy_bootstrap(1, 2, 3, [ROUTER]),
           "scripts/bench upstream": bench_configs.upstream_config(1, 2),
           "scripts/soak config": soak.soak_config(1, 2, "edge_cors.wasm")}
    for variant, size in (("none", None), ("native", "1"), ("floor", None), ("edge", "1"), ("module", "1"),
                          ("module-floor", None)):
        for direct in (False, True):
            out[f"scripts/bench {variant} direct={direct}"] = bench_configs.variant_config(
                variant, size, 1, 2, 3, "edge_cors.wasm", "floor.wasm", direct=direct)
    return out


@pytest.mark.parametrize("name", list(generated_bootstraps()))
def test_every_generated_bootstrap_normalizes_path_and_host(name):
    hcms = http_connection_managers(generated_bootstraps()[name])
    assert hcms, name
    for hcm in hcms:
        assert normalization_problems(hcm) == [], name


def test_the_check_fails_when_any_one_option_is_missing_or_weaker():
    document = yaml.safe_load((ROOT / "envoy" / "envoy.yaml").read_text())
    assert normalization_problems(hcms_in(document)[0]) == []
    weaker = {"normalize_path": False, "merge_slashes": False, "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
              "strip_trailing_host_dot": False, "strip_any_host_port": False}
    for name in PATH_AND_HOST_NORMALIZATION:
        for change in ("missing", "weaker"):
            mutated = copy.deepcopy(document)
            hcm = hcms_in(mutated)[0]
            if change == "missing":
                del hcm[name]
            else:
                hcm[name] = weaker[name]
            problems = normalization_problems(hcm)
            assert len(problems) == 1 and problems[0].startswith(f"{name}: "), (name, change, problems)
    # strip_matching_host_port instead of strip_any_host_port is not accepted either (see below).
    mutated = copy.deepcopy(document)
    hcm = hcms_in(mutated)[0]
    del hcm["strip_any_host_port"]
    hcm["strip_matching_host_port"] = True
    assert [p.split(":")[0] for p in normalization_problems(hcm)] == ["strip_any_host_port"]


# ---------------------------------------------------------------- through Envoy: filter vs router

PARTNER = "https://partner.example.org"
APP = "https://app.example.com"
POLICIES = {"policies": [
    {"name": "partner", "match": {"hosts": ["api.example.com", "partner.example.com"], "path_prefixes": ["/partner/"]},
     "allow_origins": [PARTNER], "allow_credentials": True, "expose_headers": ["x-partner-report"]},
    {"name": "api", "match": {"hosts": ["api.example.com"], "path_prefixes": ["/api/"]},
     "allow_origins": [APP], "expose_headers": ["x-request-id"]},
]}
# Virtual host name -> the host the router took the request for (None: the catch-all, which
# serves hosts no other virtual host names).
VHOSTS = {"api": "api.example.com", "partner": "partner.example.com", "fallback": None}

# With the request's Origin as ACAO: what a careless upstream answers by itself.
UPSTREAM_OWN_CORS = {"access-control-allow-credentials": "true", "access-control-expose-headers": "x-upstream-internal"}

# (name, Host, path, Origin). The first group leaves /partner/ through dot segments, encoded
# separators and doubled slashes; the second varies the host.
CASES = [
    ("..%2f leaves /partner/", "api.example.com", "/partner/..%2fapi/users", PARTNER),
    ("..%2F leaves /partner/", "api.example.com", "/partner/..%2Fapi/users", PARTNER),
    ("..%5c (encoded backslash) leaves /partner/", "api.example.com", "/partner/..%5capi/users", PARTNER),
    ("%2E%2E%2F leaves /partner/", "api.example.com", "/partner/%2E%2E%2Fapi/users", PARTNER),
    ("../ leaves /partner/", "api.example.com", "/partner/../api/users", PARTNER),
    ("./../ leaves /partner/", "api.example.com", "/partner/./../api/users", PARTNER),
    ("%2e%2e segment leaves /partner/", "api.example.com", "/partner/%2e%2e/api/users", PARTNER),
    ("..\\ (raw backslash) leaves /partner/", "api.example.com", "/partner/..\\api/users", PARTNER),
    ("//api/users, partner origin", "api.example.com", "//api/users", PARTNER),
    ("//api/users, app origin", "api.example.com", "//api/users", APP),
    ("double-encoded %252e stays in /partner/", "api.example.com", "/partner/%252e%252e/api/users", PARTNER),
    ("a query holding ../ does not move the path", "api.example.com", "/api/users?next=/../partner/", PARTNER),
    ("Host: api.example.com. (trailing dot)", "api.example.com.", "/api/users", PARTNER),
    ("Host: partner.example.com:8443", "partner.example.com:8443", "/partner/reports", PARTNER),
    ("Host: API.example.com", "API.example.com", "/api/users", APP),
    ("Host: PARTNER.example.com.:8443", "PARTNER.example.com.:8443", "/partner/reports", PARTNER),
]
ESCAPED_SEPARATOR = re.compile(r"%(2f|5c)", re.I)


def answer_as_a_careless_application(request_headers: list) -> list:
    """The upstream's own CORS headers: the request's Origin, with credentials. They show through
    wherever edge-cors applies no policy."""
    origin = dict(request_headers).get("origin")
    return [("access-control-allow-origin", origin), *UPSTREAM_OWN_CORS.items()] if origin else []


@pytest.fixture
def recorder():
    """The upstream: records the request target and the virtual host the router chose (the
    `x-vhost` header each virtual host adds)."""
    r = RecordingUpstream(answer_as_a_careless_application)
    yield r
    r.stop()


def agreement_config(upstream_port: int, hcm_options: dict, ignore_port_in_host_matching: bool = False,
                     policies: dict = POLICIES) -> dict:
    """edge-cors + router, three virtual hosts (api, partner, a catch-all), the given options on
    the connection manager (on top of Envoy's defaults)."""
    vhosts = [virtual_host([route_to()], name, [host or "*"],
                           request_headers_to_add=[{"header": {"key": "x-vhost", "value": name}}])
              for name, host in VHOSTS.items()]
    config = proxy_bootstrap(free_port(), free_port(), upstream_port, [edge_cors_filter(policies), ROUTER], normalize=False,
                             virtual_hosts=vhosts)
    hcm = http_connection_managers(config)[0]
    hcm.update(hcm_options)
    if ignore_port_in_host_matching:
        hcm["route_config"]["ignore_port_in_host_matching"] = True
    return config


def policy_for(host: str | None, path: str) -> dict | None:
    """The policy edge-cors applies to this host and path (its first-match rule)."""
    path = path.split("?", 1)[0]
    for p in POLICIES["policies"]:
        if host in p["match"]["hosts"] and any(path.startswith(x) for x in p["match"]["path_prefixes"]):
            return p
    return None


def expected_cors(host: str | None, path: str, origin: str) -> dict:
    """The CORS headers of an actual GET from `origin` that the policy covering host and path
    answers; without a policy, the upstream's own."""
    p = policy_for(host, path)
    if p is None:
        return {"access-control-allow-origin": origin, **UPSTREAM_OWN_CORS}
    if origin not in p["allow_origins"]:
        return {}
    out = {"access-control-allow-origin": origin}
    if p.get("allow_credentials"):
        out["access-control-allow-credentials"] = "true"
    if p.get("expose_headers"):
        out["access-control-expose-headers"] = ",".join(p["expose_headers"])
    return out


def canonical(path: str) -> bool:
    """No dot segment, doubled slash, backslash or encoded separator or dot left in the path part:
    every upstream serves this path as it reads."""
    p = path.split("?", 1)[0]
    segments = p.split("/")[1:]
    return (p.startswith("/") and "//" not in p and "\\" not in p and not re.search(r"%(2e|2f|5c)", p, re.I)
            and not any(s in (".", "..") for s in segments))


def as_a_normalizing_upstream_serves(path: str) -> str:
    """The path a typical application framework serves for a raw request target: percent-decoded
    once, backslashes as slashes, doubled slashes merged, dot segments resolved."""
    p, _, query = path.partition("?")
    p = re.sub(r"%(2e|2f|5c)", lambda m: {"2e": ".", "2f": "/", "5c": "/"}[m.group(1).lower()], p, flags=re.I)
    out = []
    for segment in p.replace("\\", "/").split("/"):
        if segment == "..":
            out = out[:-1]
        elif segment not in ("", "."):
            out.append(segment)
    return "/" + "/".join(out) + ("?" + query if query else "")


def send(envoy, recorder, case) -> dict:
    """One GET; its status, CORS headers and, if it reached the upstream, the request target, Host
    and virtual host the upstream saw."""
    name, host, path, origin = case
    before = len(recorder.requests)
    r = request(envoy.port, "GET", path, [("origin", origin)], host=host)
    seen = [{"target": target, "host": dict(headers).get("host"), "vhost": dict(headers).get("x-vhost")}
            for target, headers in recorder.requests[before:]]
    assert len(seen) <= 1, (name, seen)
    return {"status": r.status, "cors": r.cors(), "upstream": seen[0] if seen else None}


def test_with_the_options_every_answer_carries_the_cors_headers_of_what_the_router_used(start_envoy, recorder):
    envoy = start_envoy(config=agreement_config(recorder.port, PATH_AND_HOST_NORMALIZATION))
    refused = 0
    for case in CASES:
        name, host, path, origin = case
        got = send(envoy, recorder, case)
        if ESCAPED_SEPARATOR.search(path.split("?", 1)[0]):
            # path_with_escaped_slashes_action: REJECT_REQUEST answers 400 before any filter.
            assert got["status"] == 400 and got["upstream"] is None, (name, got)
            assert got["cors"] == {}, (name, got)
            refused += 1
            continue
        up = got["upstream"]
        assert got["status"] == 200 and up is not None, (name, got)
        assert up["vhost"] != "fallback", f"{name}: the router did not recognize the host: {got}"
        assert canonical(up["target"]), f"{name}: the upstream received a path it may read otherwise: {got}"
        want = expected_cors(VHOSTS[up["vhost"]], up["target"], origin)
        assert got["cors"] == want, f"{name}: router used {up}, so want {want}; got {got['cors']}"
        # The examples, as the property they broke: a partner origin never gets the
        # partner policy's credentials for what is served as /api/.
        if origin == PARTNER and as_a_normalizing_upstream_serves(up["target"]).startswith("/api/"):
            assert "access-control-allow-credentials" not in got["cors"], (name, got)
            assert got["cors"].get("access-control-allow-origin") != PARTNER, (name, got)
    assert envoy.stats()["http.main.downstream_rq_failed_path_normalization"] == refused == 4


def test_without_the_options_envoy_hands_filters_and_router_the_path_and_host_as_sent(start_envoy, recorder, capsys):
    """Envoy's defaults: nothing is refused, the upstream receives the raw path (so the router
    routed on it), and a host with a trailing dot or a port falls through to the catch-all
    virtual host. What edge-cors answered is printed next to what a normalizing upstream serves,
    not asserted: edge-cors also distrusts unnormalized paths by itself (docs/request-handling.md,
    rule 6), while the options are what makes Envoy's side agree."""
    envoy = start_envoy(config=agreement_config(recorder.port, {}))
    rows = []
    for case in CASES:
        name, host, path, origin = case
        got = send(envoy, recorder, case)
        assert got["status"] != 400, (name, got)
        up = got["upstream"]
        if up is None:
            assert not canonical(path), f"{name}: a plain request did not reach the upstream: {got}"
            rows.append(f"{name:45} not forwarded, status {got['status']}, cors={got['cors']}")
            continue
        assert up["target"] == path, f"{name}: Envoy's defaults changed the path: {got}"
        bare = host.lower().split(":")[0].rstrip(".")
        if host.lower() != bare:
            assert up["vhost"] == "fallback", f"{name}: {got}"
        served = as_a_normalizing_upstream_serves(up["target"])
        problems = []
        if got["cors"] != expected_cors(bare, served, origin):
            problems.append("CORS headers of another policy than what is served")
        if up["vhost"] == "fallback" and bare in VHOSTS.values():
            problems.append(f"the router served the catch-all, not {bare}")
        rows.append(f"{name:45} vhost={up['vhost']:8} served as {served:32} "
                    f"ACAO={got['cors'].get('access-control-allow-origin')} "
                    f"ACAC={got['cors'].get('access-control-allow-credentials')} -> {'; '.join(problems) or 'agree'}")
    assert envoy.stats()["http.main.downstream_rq_failed_path_normalization"] == 0
    with capsys.disabled():
        print("\nEnvoy's defaults: what edge-cors answered vs the policy of what a normalizing upstream serves\n"
              + "\n".join(rows))


def test_strip_matching_host_port_keeps_a_port_other_than_the_listeners_so_the_router_misses_the_virtual_host(
        start_envoy, recorder):
    """Why strip_any_host_port: behind a load balancer that maps ports, the port a browser puts in
    Host is not the listener's, and only strip_any_host_port removes it."""
    options = {k: v for k, v in PATH_AND_HOST_NORMALIZATION.items() if k != "strip_any_host_port"}
    envoy = start_envoy(config=agreement_config(recorder.port, dict(options, strip_matching_host_port=True)))
    other = 8443 if envoy.port != 8443 else 8444
    got = send(envoy, recorder, ("other port", f"partner.example.com:{other}", "/partner/reports", PARTNER))
    assert got["upstream"]["vhost"] == "fallback", got
    got = send(envoy, recorder, ("listener port", f"partner.example.com:{envoy.port}", "/partner/reports", PARTNER))
    assert got["upstream"]["vhost"] == "partner" and got["upstream"]["host"] == "partner.example.com", got

    envoy = start_envoy(config=agreement_config(recorder.port, PATH_AND_HOST_NORMALIZATION))
    got = send(envoy, recorder, ("other port", f"partner.example.com:{other}", "/partner/reports", PARTNER))
    assert got["upstream"]["vhost"] == "partner" and got["upstream"]["host"] == "partner.example.com", got


def test_unescape_and_redirect_sends_a_307_without_cors_headers_so_browsers_gain_nothing_from_it(
        start_envoy, recorder):
    """Why REJECT_REQUEST: the redirect alternative also answers before any filter, so its 307
    carries no CORS header (a cross-origin fetch fails on it), and it points at the decoded path,
    which is another resource for an API that keeps slashes inside segments."""
    options = dict(PATH_AND_HOST_NORMALIZATION, path_with_escaped_slashes_action="UNESCAPE_AND_REDIRECT")
    envoy = start_envoy(config=agreement_config(recorder.port, options))
    for path, location in (("/partner/..%2fapi/users", "/api/users"), ("/files/a%2Fb", "/files/a/b")):
        r = request(envoy.port, "GET", path, [("origin", PARTNER)], host="api.example.com")
        assert (r.status, r.get("location"), r.cors()) == (307, location, {}), (path, r.status, r.headers)
    assert recorder.requests == []


# Istio's gateway connection manager with meshConfig.pathNormalization DECODE_AND_MERGE_SLASHES
# (pilot/pkg/networking/core/listener_builder.go, buildHTTPConnectionManager) and the gateway's
# route configuration (gateway.go, buildGatewayHTTPRouteConfig: ignore_port_in_host_matching).
ISTIO_DECODE_AND_MERGE_SLASHES = {"normalize_path": True, "merge_slashes": True,
                                  "path_with_escaped_slashes_action": "UNESCAPE_AND_FORWARD"}
# The gateway's router ignores the port but edge-cors compares it (docs/deployment-istio.md):
# there each host is listed twice, bare and with `:*` (any port).
ISTIO_POLICIES = {"policies": [
    dict(p, match=dict(p["match"], hosts=[h for host in p["match"]["hosts"] for h in (host, f"{host}:*")]))
    for p in POLICIES["policies"]]}


def test_istio_decode_and_merge_slashes_makes_paths_and_ports_agree_but_not_a_trailing_dot(start_envoy, recorder):
    envoy = start_envoy(config=agreement_config(recorder.port, ISTIO_DECODE_AND_MERGE_SLASHES,
                                                ignore_port_in_host_matching=True, policies=ISTIO_POLICIES))
    for case in CASES:
        name, host, path, origin = case
        got = send(envoy, recorder, case)
        up = got["upstream"]
        assert got["status"] == 200 and up is not None, (name, got)
        if host.split(":")[0].endswith("."):
            # No Istio option strips it: the router serves the catch-all virtual host.
            assert up["vhost"] == "fallback", (name, got)
            continue
        assert up["vhost"] != "fallback" and canonical(up["target"]), (name, got)
        assert got["cors"] == expected_cors(VHOSTS[up["vhost"]], up["target"], origin), (name, got)


def test_istio_default_path_normalization_leaves_doubled_and_encoded_slashes_as_sent(start_envoy, recorder):
    """Istio's default mode (BASE: normalize_path alone) resolves dot segments, but forwards `//`
    and `..%2f` unchanged, so edge-cors and the router read them as sent and the upstream may
    read them otherwise: the reason docs/deployment-istio.md recommends DECODE_AND_MERGE_SLASHES."""
    envoy = start_envoy(config=agreement_config(recorder.port, {"normalize_path": True},
                                                ignore_port_in_host_matching=True))
    for path in ("//api/users", "/partner/..%2fapi/users", "/partner/..%5capi/users"):
        got = send(envoy, recorder, (path, "api.example.com", path, PARTNER))
        assert got["upstream"]["target"] == path, got
    got = send(envoy, recorder, ("dot segments", "api.example.com", "/partner/../api/users", PARTNER))
    assert got["upstream"]["target"] == "/api/users", got


def test_the_deployment_guide_names_the_envoy_source_that_orders_normalization_before_the_filters():
    text = (ROOT / "docs" / "deployment-envoy.md").read_text()
    section = text.split("\n## Path and host normalization\n", 1)[1].split("\n## ", 1)[0]
    for needle in ("source/common/http/conn_manager_impl.cc", "ConnectionManagerImpl::ActiveStream::decodeHeaders",
                   "source/common/http/conn_manager_utility.cc", "maybeNormalizePath", "maybeNormalizeHost",
                   *PATH_AND_HOST_NORMALIZATION):
        assert needle in section, needle


def test_the_documentation_parser_finds_every_yaml_block():
    """The parser sees the yaml blocks the documents have (a parser finding nothing would make
    the snippet check vacuous)."""
    blocks = documentation_yaml_blocks()
    assert len(blocks) == sum(doc.read_text().count("```yaml\n") for doc in DOCUMENTS) and blocks
