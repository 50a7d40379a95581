"""How Envoy hands the native module its configuration: a wrong filter_name and a per-route
configuration are refused with a message saying why, and a policy delivered through ECDS is
replaced without a restart, a refused one leaving the previous policy serving."""
import json
import os
import subprocess
import tempfile

import yaml

from harness import ROOT
from harness.client import request
from harness.envoy_config import (DYNAMIC_MODULE_FILTER, ROUTER, dynamic_module_filter, http_listener, bootstrap,
                                  proxy_bootstrap, route_config, route_to, static_cluster, virtual_host)
from harness.processes import Envoy, edge_cors_stats, free_port, poll

POLICY = {"policies": [{"name": "app", "allow_origins": ["https://app.example.com"], "allow_methods": ["PUT"]}]}
STAT = "extension_config_discovery.http_filter.edge-cors."


def preflight_status(envoy, origin):
    return request(envoy.port, "OPTIONS", "/", [("origin", origin), ("access-control-request-method", "PUT")]).status


def test_a_filter_name_other_than_edge_cors_is_refused_with_the_name(upstream, tmp_path):
    module_filter = dynamic_module_filter(POLICY)
    module_filter["typed_config"]["filter_name"] = "cors"
    envoy = Envoy(proxy_bootstrap(free_port(), free_port(), upstream.port, [module_filter, ROUTER]), tmp_path)
    assert envoy.run_to_exit() != 0
    assert 'edge-cors: unknown filter_name "cors": this module has one filter, "edge-cors"' in envoy.log()


def test_a_per_route_configuration_is_refused_with_the_reason(upstream, tmp_path):
    per_route = {"@type": DYNAMIC_MODULE_FILTER + "PerRoute",
                 "dynamic_module_config": dynamic_module_filter(POLICY)["typed_config"]["dynamic_module_config"],
                 "per_route_config_name": "edge-cors",
                 "filter_config": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": json.dumps(POLICY)}}
    routes = [route_to(typed_per_filter_config={"edge-cors": per_route})]
    envoy = Envoy(proxy_bootstrap(free_port(), free_port(), upstream.port, [dynamic_module_filter(POLICY), ROUTER], routes),
                  tmp_path)
    assert envoy.run_to_exit() != 0
    assert "edge-cors: no per-route configuration: select routes with a policy's `match` instead" in envoy.log()


def write_resource(directory, config):
    """The ECDS resource (the filter configuration), written beside the watched file and renamed
    over it (atomic)."""
    resource = {"resources": [{"@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
                               "name": "edge-cors", "typed_config": dynamic_module_filter(config)["typed_config"]}]}
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".next-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(resource, f)
    os.replace(tmp, directory / "edge-cors.json")


def test_a_policy_from_ecds_is_replaced_without_restart_and_a_refused_one_leaves_the_old_serving(upstream, tmp_path):
    watched = tmp_path / "ecds"
    watched.mkdir()
    write_resource(watched, POLICY)
    discovered = {"name": "edge-cors", "config_discovery": {
        "config_source": {"resource_api_version": "V3", "path_config_source": {
            "path": str(watched / "edge-cors.json"), "watched_directory": {"path": str(watched)}}},
        "type_urls": [DYNAMIC_MODULE_FILTER]}}
    port = free_port()
    listener = http_listener("main", port, "main", route_config([virtual_host([route_to()])]), [discovered, ROUTER])
    envoy = Envoy(bootstrap(free_port(), [listener], [static_cluster("upstream", upstream.port)])).start()
    try:
        pid = envoy.proc.pid
        assert preflight_status(envoy, "https://app.example.com") == 204
        assert preflight_status(envoy, "https://new.example.com") == 403
        wider = {"policies": [dict(POLICY["policies"][0], allow_origins=["https://app.example.com",
                                                                          "https://new.example.com"])]}
        write_resource(watched, wider)
        poll(lambda: preflight_status(envoy, "https://new.example.com") == 204, 30, "the new policy to serve")
        # `*` with credentials: refused by the module, so Envoy rejects the update.
        write_resource(watched, {"policies": [{"name": "app", "allow_origins": ["*"], "allow_credentials": True}]})
        poll(lambda: envoy.stats().get(STAT + "update_rejected") == 1, 30, "the update to be rejected")
        assert preflight_status(envoy, "https://new.example.com") == 204
        assert preflight_status(envoy, "https://other.example.com") == 403
        assert envoy.stats()[STAT + "update_success"] == 2
        assert envoy.proc.pid == pid and envoy.proc.poll() is None
        # One counter per name across configurations, as with the wasm filter.
        assert edge_cors_stats(envoy)["requests/app/enforce/preflight/allowed/none"] >= 3
    finally:
        envoy.stop()


CHECKER = os.environ.get("EDGE_CORS_CHECK") or str(ROOT / "target" / "debug" / "edge-cors-check")


def check(module_filter: dict):
    """edge-cors-check on an Envoy bootstrap (YAML) whose one HTTP filter is `module_filter`."""
    text = yaml.safe_dump(proxy_bootstrap(1, 2, 3, [module_filter, ROUTER]))
    return subprocess.run([CHECKER, "-"], input=text, capture_output=True, text=True)


def test_the_checker_reads_the_native_filters_configuration_as_envoy_hands_it_to_the_module():
    shipped = subprocess.run([CHECKER, str(ROOT / "envoy" / "native" / "envoy.yaml")], capture_output=True, text=True)
    assert shipped.returncode == 0 and "(edge-cors): valid: 1 policy" in shipped.stdout, shipped.stdout
    out = check(dynamic_module_filter({"policies": [{"name": "app", "allow_origins": ["https://*.com"]}]}))
    assert out.returncode == 1 and "policies[0].allow_origins[0]" in out.stdout, out.stdout
    # A google.protobuf.Struct reaches a dynamic module as JSON (unlike a wasm filter).
    as_struct = dynamic_module_filter(POLICY)
    as_struct["typed_config"]["filter_config"] = {"@type": "type.googleapis.com/google.protobuf.Struct", "value": POLICY}
    out = check(as_struct)
    assert out.returncode == 0 and "(edge-cors): valid: 1 policy" in out.stdout, out.stdout
    # Another filter of a dynamic module is not edge-cors's business.
    other = dynamic_module_filter("not json")
    other["typed_config"]["filter_name"] = "compressor"
    assert "(edge-cors)" not in check(other).stdout
