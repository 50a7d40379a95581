"""Publishing a release: the OCI image layout of dist/VERSION pushed with skopeo to a real
registry (Debian's docker-registry on 127.0.0.1), pulled back the way Istio's image fetcher pulls
it, digests compared. Then the Istio manifest rendered for that registry is carried out as Istio
would: its `url` pulled, the pulled manifest's digest checked against its `sha256`, its
`pluginConfig` handed as StringValue JSON to the pulled module in Envoy, which answers a
preflight."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import VERSION, checker
from harness import ROOT
from harness.client import request
from harness.envoy_config import ROUTER, direct_response_route, proxy_bootstrap, wasm_filter
from harness.processes import Envoy, free_port
from harness.registry import Registry, skopeo_push

sys.path.insert(0, str(ROOT / "tests" / "platforms"))
import crd  # noqa: E402  (the CRD validator of the platform suite: schema and CEL rules)

_spec = importlib.util.spec_from_file_location("oci", ROOT / "scripts" / "oci.py")
oci = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oci)

# Istio's failStrategy -> the failure_policy of the Envoy filter it builds.
FAILURE_POLICY = {"FAIL_CLOSE": "FAIL_CLOSED", "FAIL_OPEN": "FAIL_OPEN", "FAIL_RELOAD": "FAIL_RELOAD"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    assert shutil.which("docker-registry"), "docker-registry (Debian package docker-registry) is not installed"
    assert shutil.which("skopeo"), "skopeo (Debian package skopeo) is not installed"
    r = Registry(tmp_path_factory.mktemp("release-registry"))
    yield r
    r.stop()


@pytest.fixture(scope="module")
def pushed(releases, registry) -> str:
    """The release image, pushed as the docs say: the layout copied with its digests kept."""
    repository = f"127.0.0.1:{registry.port}/platform/edge-cors"
    skopeo_push(releases[0].dist / "oci", VERSION, f"{repository}:{VERSION}")
    return repository


def test_the_release_image_pushed_and_pulled_like_istio_keeps_its_digest_and_its_wasm(releases, pushed):
    dist = releases[0].dist
    digest = (dist / "IMAGE_DIGEST").read_text().strip()
    got = oci.fetch_plugin(f"{pushed}:{VERSION}", plain_http=True)
    assert "sha256:" + got["digest"] == digest
    assert got["wasm"] == (dist / "edge_cors.wasm").read_bytes()
    by_digest = oci.fetch_plugin(f"{pushed}@{digest}", plain_http=True)
    assert by_digest["wasm"] == got["wasm"]
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{pushed}:{VERSION}"],
                         check=True, capture_output=True).stdout
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest


def test_the_istio_manifest_rendered_for_the_registry_loads_the_pulled_module_in_envoy_and_answers_a_preflight(
    releases, pushed, tmp_path
):
    dist = releases[0].dist
    policy = ROOT / "envoy" / "example-policy.json"
    rendered = checker("render", "istio", policy, "--dist", dist, "--image", pushed)
    assert rendered.returncode == 0, rendered.stderr
    manifest = yaml.safe_load(rendered.stdout)
    assert crd.validate(manifest) == []
    # A real registry and digest: the checker passes it (the placeholders are gone).
    assert checker("-", stdin=rendered.stdout).returncode == 0
    spec = manifest["spec"]
    assert spec["url"] == f"oci://{pushed}:{VERSION}"

    # Istio's fetcher: pull the url, refuse a manifest whose digest is not the sha256 field.
    got = oci.fetch_plugin(spec["url"], plain_http=True)
    assert got["digest"] == spec["sha256"]
    module = tmp_path / "plugin.wasm"
    module.write_bytes(got["wasm"])

    port, admin, upstream = free_port(), free_port(), free_port()
    edge_cors = wasm_filter(json.dumps(spec["pluginConfig"]), name=spec["pluginName"],
                            failure_policy=FAILURE_POLICY[spec["failStrategy"]], wasm=str(module))
    config = proxy_bootstrap(port, admin, upstream, [edge_cors, ROUTER], routes=[direct_response_route(body="ok")])
    envoy = Envoy(config, tmp_path / "envoy").start()
    try:
        preflight = {"origin": "https://app.example.com", "access-control-request-method": "PUT",
                     "access-control-request-headers": "content-type"}
        allowed = request(port, "OPTIONS", "/v1/orders", preflight, host="api.example.com")
        assert allowed.status == 204, envoy.log()[-2000:]
        assert allowed.get("access-control-allow-origin") == "https://app.example.com"
        assert allowed.get("access-control-allow-credentials") == "true"
        assert "PUT" in allowed.get("access-control-allow-methods")
        refused = request(port, "OPTIONS", "/v1/orders", {**preflight, "origin": "https://evil.example.net"},
                          host="api.example.com")
        assert refused.status == 403
        assert refused.cors() == {}
    finally:
        envoy.stop()
