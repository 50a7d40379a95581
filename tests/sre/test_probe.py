"""`edge-cors-check probe`: against the demo gateway every answer is what envoy/envoy.yaml's
policy says; against Envoy setups that break CORS the classic ways, each break is found and
named, with the exit status and JUnit XML a CI job reads."""
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from harness import ROOT
from harness.envoy_config import (ROUTER, lua_auth_filter, proxy_bootstrap, rbac_deny_filter, route_to, substitute,
                                  wasm_filter)
from harness.processes import Envoy, free_port

CHECKER = os.environ.get("EDGE_CORS_CHECK") or str(ROOT / "target" / "debug" / "edge-cors-check")
DEMO = ROOT / "envoy" / "envoy.yaml"
APP = {"name": "app", "match": {"path_prefixes": ["/api/"]},
       "allow_origins": ["https://app.example.com", "https://*.partner.example"],
       "allow_methods": ["PUT"], "allow_headers": ["content-type"], "expose_headers": ["etag"],
       "allow_credentials": True, "max_age": 600}
ALL_METHODS = [route_to()]


def lua_filter(name: str, code: str) -> dict:
    return {"name": name, "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                                           "default_source_code": {"inline_string": code}}}


# A filter that strips the header from responses (as a misconfigured response-header rule or a
# CDN would).
STRIP_ACAO = lua_filter("strip-acao", """
function envoy_on_response(handle)
  handle:headers():remove("access-control-allow-origin")
end
""")
# An auth filter placed before edge-cors: preflights carry no credentials and get 401.
AUTH_FIRST = lua_filter("auth-first", """
function envoy_on_request(handle)
  if handle:headers():get("authorization") == nil then
    handle:respond({[":status"] = "401", ["www-authenticate"] = "Bearer"}, "unauthorized")
  end
end
""")


def probe(policy_file, port, *extra):
    return subprocess.run([CHECKER, "probe", "--policy", str(policy_file), *extra, f"http://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def junit(path):
    suite = ET.parse(path).getroot().find("testsuite")
    failures = {case.get("name"): case.find("failure").get("type")
                for case in suite.iter("testcase") if case.find("failure") is not None}
    return suite, failures


def policy_file(tmp_path, policy) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy, indent=2))
    return str(path)


def test_the_demo_gateway_answers_every_probe_as_its_policy_says(upstream, tmp_path):
    port, admin = free_port(), free_port()
    text = substitute(DEMO.read_text(), {"port_value: 10000": f"port_value: {port}",
                                         "port_value: 9901": f"port_value: {admin}",
                                         "port_value: 10001": f"port_value: {upstream.port}"})
    envoy = Envoy(text, tmp_path, admin_port=admin, port=port).start()
    try:
        report = tmp_path / "probe.xml"
        result = probe(DEMO, port, "--junit", str(report))
    finally:
        envoy.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"probe http://127.0.0.1:{port} with {DEMO} (config sha256=")
    assert "  ok   app: preflight from https://app.example.com (PUT)" in lines
    assert "  ok   app: GET from https://app.example.com with a cookie" in lines
    assert "  ok   public: preflight from https://edge-cors-probe.example (GET)" in lines
    assert lines[-1] == f"probe: {len(lines) - 2} requests, 0 answered otherwise than the policy says"
    suite, failures = junit(report)
    assert int(suite.get("tests")) == len(lines) - 2 >= 15 and suite.get("failures") == "0" and failures == {}


@pytest.mark.parametrize("setup, named", [
    ("a filter after edge-cors on the response strips Access-Control-Allow-Origin", "acao-stripped"),
    ("an auth filter runs before edge-cors", "auth-before-cors"),
    ("the gateway serves an older policy", "stale-policy"),
])
def test_each_classic_break_in_one_envoy_is_found_and_named(start_envoy, upstream, tmp_path, setup, named):
    deployed = APP
    # Response filters run in the reverse order of the chain: STRIP_ACAO placed before edge-cors
    # sees the response after it, as a response-header rule or a CDN would.
    filters = {"a filter after edge-cors on the response strips Access-Control-Allow-Origin":
               lambda p: [STRIP_ACAO, wasm_filter(p), ROUTER],
               "an auth filter runs before edge-cors": lambda p: [AUTH_FIRST, wasm_filter(p), ROUTER],
               "the gateway serves an older policy": lambda p: [wasm_filter(p), ROUTER]}[setup]
    if setup == "the gateway serves an older policy":
        deployed = dict(APP, allow_origins=["https://app.example.com"])  # the partner origin came later
    envoy = start_envoy(http_filters=filters({"policies": [deployed]}), routes=ALL_METHODS)
    report = tmp_path / "probe.xml"
    result = probe(policy_file(tmp_path, {"policies": [APP]}), envoy.port, "--junit", str(report))
    assert result.returncode == 1, result.stdout + result.stderr
    _, failures = junit(report)
    assert failures and set(failures.values()) == {named}, failures
    failing = [line for line in result.stdout.splitlines() if line.startswith("  FAIL")]
    assert failing and all(f": {named}: " in line for line in failing), failing
    if named == "acao-stripped":
        assert "app: GET from https://app.example.com" in failures
    if named == "auth-before-cors":
        assert "app: preflight from https://app.example.com (PUT)" in failures
    if named == "stale-policy":
        # Only the origin the deployed policy lacks differs.
        assert set(failures) == {"app: preflight from https://edge-cors-probe.partner.example (PUT)"}


def test_a_second_proxy_that_adds_its_own_header_duplicates_it_and_is_named(start_envoy, upstream, tmp_path):
    gateway = start_envoy({"policies": [APP]}, routes=ALL_METHODS)
    # A proxy in front adds `Access-Control-Allow-Origin: *` to every answer, without removing ours.
    add = {"response_headers_to_add": [{"header": {"key": "access-control-allow-origin", "value": "*"},
                                        "append_action": "APPEND_IF_EXISTS_OR_ADD"}]}
    front_config = proxy_bootstrap(free_port(), free_port(), gateway.port, [ROUTER], [route_to(**add)])
    front = start_envoy(config=front_config)
    report = tmp_path / "probe.xml"
    result = probe(policy_file(tmp_path, {"policies": [APP]}), front.port, "--junit", str(report))
    assert result.returncode == 1, result.stdout
    _, failures = junit(report)
    assert failures["app: preflight from https://app.example.com (PUT)"] == "acao-duplicated"
    assert failures["app: GET from https://app.example.com"] == "acao-duplicated"
    # Where edge-cors sends none, the proxy's lone `*` is a wrong answer of its own.
    assert failures["app: GET from look-alike https://app.example.com.edge-cors-probe.invalid"] == "cors-headers-differ"


def test_the_probe_refuses_https_and_a_file_without_exactly_one_configuration(tmp_path):
    result = subprocess.run([CHECKER, "probe", "--policy", str(DEMO), "https://gw.example"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 2 and "plain-HTTP" in result.stderr
    empty = tmp_path / "none.yaml"
    empty.write_text("kind: ConfigMap\n")
    result = subprocess.run([CHECKER, "probe", "--policy", str(empty), "http://127.0.0.1:1"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 2 and "0 edge-cors configurations found" in result.stderr
    # Nothing listens: the probe could not run, which is not a finding.
    result = subprocess.run([CHECKER, "probe", "--policy", str(DEMO), f"http://127.0.0.1:{free_port()}"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2, result.stdout
