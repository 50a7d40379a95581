"""`edge-cors-check render envoy|istio|envoy-gateway`: every rendered document validates
against its CRD (the vendored Istio and Envoy Gateway CRDs, with their CEL rules) or in
`envoy --mode validate`, carries the policy exactly as the platform delivers it to the filter
(which accepts it in Envoy), and nothing is rendered without a real digest or with an invalid
policy."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from conftest import VERSION, checker, write_sums
from harness import ROOT
from harness.envoy_config import ROUTER, direct_response_route, proxy_bootstrap, static_cluster, wasm_filter
from harness.processes import Envoy

sys.path.insert(0, str(ROOT / "tests" / "platforms"))
import crd  # noqa: E402  (the CRD validator of the platform suite: schema and CEL rules)

POLICY = ROOT / "envoy" / "example-policy.json"
IMAGE = "registry.example.com/platform/edge-cors"


def render(*args) -> str:
    result = checker("render", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def envoy_validate(http_filters: list, tmp_path: Path, clusters: list | None = None) -> tuple[int, str]:
    """`envoy --mode validate` (it loads the module and runs on_configure) on a bootstrap with
    these HTTP filters in front of a direct response."""
    config = proxy_bootstrap(0, 0, 0, [*http_filters, ROUTER], routes=[direct_response_route()])
    config["static_resources"]["clusters"].extend(clusters or [])
    envoy = Envoy(config, tmp_path, extra_args=["--mode", "validate"])
    return envoy.run_to_exit(120), envoy.log()


def filter_as_delivered(plugin_config, name: str, failure_policy: str = "FAIL_CLOSED") -> dict:
    """The Envoy filter Istio and Envoy Gateway build: the tree as JSON in a StringValue."""
    return wasm_filter(json.dumps(plugin_config), name=name, failure_policy=failure_policy)


@pytest.mark.parametrize(
    "attach",
    [[], ["--selector", "app=edge", "--selector", "tier=gateway", "--namespace", "edge"], ["--gateway", "public"]],
    ids=["default-ingress-gateway", "selector", "gateway-api"],
)
@pytest.mark.parametrize("strategy", ["FAIL_CLOSE", "FAIL_RELOAD"])
def test_the_istio_wasmplugin_validates_against_its_crd_and_its_policy_loads_in_envoy(
    small_dist, attach, strategy, tmp_path
):
    text = render("istio", POLICY, "--dist", small_dist, "--image", IMAGE, "--fail-strategy", strategy, *attach)
    manifest = yaml.safe_load(text)
    assert crd.validate(manifest) == []
    spec = manifest["spec"]
    assert spec["url"] == f"oci://{IMAGE}:{VERSION}"
    assert spec["sha256"] == (small_dist / "IMAGE_DIGEST").read_text().strip().removeprefix("sha256:")
    assert (spec["phase"], spec["failStrategy"], spec["pluginName"]) == ("AUTHN", strategy, "edge-cors")
    assert spec["pluginConfig"] == json.loads(POLICY.read_text())
    code, log = envoy_validate([filter_as_delivered(spec["pluginConfig"], spec["pluginName"])], tmp_path)
    assert code == 0, log


@pytest.mark.parametrize("target", [[], ["--route", "api"], ["--gateway", "public", "--namespace", "edge"]],
                         ids=["default-gateway", "route", "gateway"])
def test_the_envoy_extension_policy_validates_against_its_crd_and_its_policy_loads_in_envoy(small_dist, target, tmp_path):
    text = render("envoy-gateway", POLICY, "--dist", small_dist, "--image", IMAGE, *target)
    manifest = yaml.safe_load(text)
    assert crd.validate(manifest) == []
    (wasm,) = manifest["spec"]["wasm"]
    image = wasm["code"]["image"]
    assert image == {"url": f"{IMAGE}:{VERSION}",
                     "sha256": (small_dist / "IMAGE_DIGEST").read_text().strip().removeprefix("sha256:")}
    assert (wasm["rootID"], wasm["failOpen"]) == ("edge-cors", False)
    assert wasm["config"] == json.loads(POLICY.read_text())
    code, log = envoy_validate([filter_as_delivered(wasm["config"], wasm["rootID"])], tmp_path)
    assert code == 0, log


def test_the_envoy_filter_block_inside_a_bootstrap_passes_envoy_validate_with_the_policy_bytes_unchanged(
    small_dist, tmp_path
):
    (block,) = yaml.safe_load(render("envoy", POLICY, "--dist", small_dist))
    config = block["typed_config"]["config"]
    assert config["vm_config"]["code"] == {"local": {"filename": str(small_dist / "edge_cors.wasm")}}
    assert config["configuration"]["value"] == POLICY.read_text()
    code, log = envoy_validate([block], tmp_path)
    assert code == 0, log


def test_an_envoy_filter_block_with_a_policy_the_filter_refuses_fails_envoy_validate(small_dist, tmp_path):
    # The proof that envoy --mode validate above judged the policy: the same block, one bad origin.
    (block,) = yaml.safe_load(render("envoy", POLICY, "--dist", small_dist))
    value = block["typed_config"]["config"]["configuration"]
    value["value"] = value["value"].replace('"https://app.example.com"', '"https://*.com"')
    code, log = envoy_validate([block], tmp_path)
    assert code != 0
    assert "https://*.com" in log


def test_a_remote_module_is_pinned_by_its_sha256_and_envoy_accepts_the_block(small_dist, tmp_path):
    text = render("envoy", POLICY, "--dist", small_dist, "--wasm-url", "http://wasm.internal/edge_cors.wasm",
                  "--cluster", "wasm_server")
    (block,) = yaml.safe_load(text)
    remote = block["typed_config"]["config"]["vm_config"]["code"]["remote"]
    listed = (small_dist / "SHA256SUMS").read_text()
    assert f"{remote['sha256']}  edge_cors.wasm" in listed
    assert remote["http_uri"]["cluster"] == "wasm_server"
    code, log = envoy_validate([block], tmp_path, clusters=[static_cluster("wasm_server", 9)])
    assert code == 0, log


def test_a_policy_with_regex_backslashes_reaches_every_platform_as_written(small_dist, tmp_path):
    policy = tmp_path / "regex.json"
    policy.write_text('{"policies": [{"name": "previews", "allow_origin_regexes": '
                      '["^https://pr-[0-9]+\\\\.preview\\\\.example\\\\.com$"], "allow_credentials": true}]}\n')
    regex = json.loads(policy.read_text())["policies"][0]["allow_origin_regexes"][0]
    assert regex == r"^https://pr-[0-9]+\.preview\.example\.com$"
    istio = yaml.safe_load(render("istio", policy, "--dist", small_dist, "--image", IMAGE))
    assert istio["spec"]["pluginConfig"]["policies"][0]["allow_origin_regexes"] == [regex]
    eg = yaml.safe_load(render("envoy-gateway", policy, "--dist", small_dist, "--image", IMAGE))
    assert eg["spec"]["wasm"][0]["config"]["policies"][0]["allow_origin_regexes"] == [regex]
    (block,) = yaml.safe_load(render("envoy", policy, "--dist", small_dist))
    assert block["typed_config"]["config"]["configuration"]["value"] == policy.read_text()


def test_the_checker_reads_every_rendered_document_back_with_its_line(small_dist, tmp_path):
    for target, args in [("istio", ["--image", IMAGE]), ("envoy", [])]:
        out = tmp_path / f"{target}.yaml"
        out.write_text(render(target, POLICY, "--dist", small_dist, *args))
        result = checker(out)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count(": valid: 2 policies") == 1
        assert result.stdout.startswith(f"{out}:")


DIGEST_FLAGS = {
    "no-digest": ([], "no image digest: nothing is rendered without a real digest"),
    "placeholder": (["--digest", "DIGEST"], "is a placeholder"),
    "one-digit-repeated": (["--digest", "sha256:" + "0" * 64], "one digit repeated"),
    "not-hex": (["--digest", "sha256:" + "g" * 64], "not a sha256 digest"),
    "short": (["--digest", "sha256:abc123"], "not a sha256 digest"),
    "placeholder-in-image": (["--image", "REGISTRY/edge-cors@sha256:DIGEST"], "is a placeholder"),
}


@pytest.mark.parametrize("target", ["istio", "envoy-gateway"])
@pytest.mark.parametrize("case", sorted(DIGEST_FLAGS))
def test_nothing_is_rendered_without_a_real_image_digest(target, case):
    flags, expected = DIGEST_FLAGS[case]
    if "--image" not in flags:
        flags = ["--image", IMAGE, *flags]
    result = checker("render", target, POLICY, *flags)
    assert result.returncode == 2
    assert result.stdout == ""
    assert expected in result.stderr


def test_nothing_is_rendered_for_envoy_without_a_real_module_sha256(tmp_path):
    url = ["--wasm-url", "https://wasm.internal/edge_cors.wasm"]
    for flags, expected in [(url, "no module sha256"), ([*url, "--sha256", "DIGEST"], "is a placeholder"),
                            (["--wasm-file", str(tmp_path / "absent.wasm")], "no module sha256")]:
        result = checker("render", "envoy", POLICY, *flags)
        assert (result.returncode, result.stdout) == (2, ""), result.stderr
        assert expected in result.stderr


def test_a_digest_that_contradicts_the_release_folder_is_refused(small_dist):
    other = "sha256:" + "ab" * 32
    result = checker("render", "istio", POLICY, "--dist", small_dist, "--image", IMAGE, "--digest", other)
    assert result.returncode == 2
    assert f"--digest says {other}, --dist says sha256:" in result.stderr


def test_a_release_folder_whose_wasm_is_not_the_listed_one_is_refused(small_dist, tmp_path):
    tampered = tmp_path / VERSION
    shutil.copytree(small_dist, tampered)
    (tampered / "edge_cors.wasm").write_bytes((tampered / "edge_cors.wasm").read_bytes() + b"\0")
    result = checker("render", "istio", POLICY, "--dist", tampered, "--image", IMAGE)
    assert result.returncode == 2
    assert "SHA256SUMS says" in result.stderr
    # Listed again, the wasm still differs from the one the image annotation names.
    write_sums(tampered)
    result = checker("render", "istio", POLICY, "--dist", tampered, "--image", IMAGE)
    assert result.returncode == 2
    assert "edge-cors.wasm.sha256" in result.stderr


def test_an_invalid_policy_is_not_rendered_and_its_errors_are_the_filters(small_dist):
    bad = ROOT / "tests" / "checker" / "bad" / "policy-errors.json"
    result = checker("render", "istio", bad, "--dist", small_dist, "--image", IMAGE)
    assert result.returncode == 1
    assert "invalid (4 errors):" in result.stdout
    assert "apiVersion" not in result.stdout
    assert result.stdout == checker(bad).stdout


def test_bad_usage_exits_two_with_the_usage():
    for args in [["render"], ["render", "nginx", POLICY], ["render", "istio"], ["render", "istio", POLICY, "--colour", "x"]]:
        result = checker(*args)
        assert result.returncode == 2, args
        assert "usage: edge-cors-check render" in result.stderr
