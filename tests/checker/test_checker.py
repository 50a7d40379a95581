"""edge-cors-check, the CI config checker: good files pass with a summary, bad files fail with
every error and its JSON path, and the errors are exactly those the filter logs in Envoy."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHECKER = os.environ.get("EDGE_CORS_CHECK") or str(ROOT / "target" / "debug" / "edge-cors-check")
ENVOY = os.environ.get("ENVOY_BIN") or str(ROOT / ".venv" / "bin" / "envoy")
GOOD = sorted((HERE / "good").iterdir())


def check(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CHECKER, *args], capture_output=True, text=True, input=stdin, cwd=ROOT)


def error_lines(text: str) -> list[str]:
    return [line[4:] for line in text.splitlines() if line.startswith("  - ") and ": " in line]


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_a_good_file_exits_zero_with_a_summary_of_each_compiled_policy(path):
    result = check(str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert re.search(r": valid: \d+ polic(y|ies), preflight status 20[04]\n", result.stdout)
    assert "  - " in result.stdout  # one line per policy


def test_the_shipped_envoy_configs_pass_and_the_istio_examples_only_fail_for_their_placeholder_image():
    envoy = [ROOT / "envoy" / "envoy.yaml", ROOT / "envoy" / "example-policy.json"]
    result = check(*map(str, envoy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": valid: ") == len(envoy)
    istio = sorted((ROOT / "envoy" / "istio").glob("*.yaml"))
    result = check(*map(str, istio))
    assert result.returncode == 1
    assert result.stdout.count(": valid: ") == len(istio)  # every policy is fine
    invalid = [line for line in result.stdout.splitlines() if ": invalid" in line]
    assert [line.split(": invalid: ")[1].split(":")[0] for line in invalid] == ["spec.url", "spec.sha256"] * len(istio)


def test_yaml_inputs_name_the_line_of_each_configuration():
    result = check(str(HERE / "good" / "mixed-documents.yaml"), str(HERE / "bad" / "wasmplugin-no-config.yaml"))
    assert f"{HERE / 'good' / 'mixed-documents.yaml'}:24: document 3: WasmPlugin shop/edge-cors:" in result.stdout
    # An absent pluginConfig is reported where it would be: at `spec`.
    assert f"{HERE / 'bad' / 'wasmplugin-no-config.yaml'}:5: document 1:" in result.stdout


def json_check(*files: Path) -> dict:
    result = check("--format", "json", *map(str, files))
    report = json.loads(result.stdout)
    assert result.returncode == {"valid": 0, "invalid": 1, "cannot_check": 2}[report["status"]]
    return report


def test_json_findings_give_path_kind_value_message_and_the_yaml_line():
    report = json_check(HERE / "bad" / "wasmplugin-bad-policy.yaml")
    assert report["status"] == "invalid" and report["edge_cors_check"]
    (config,) = report["files"][0]["configs"]
    assert (config["line"], config["status"], config["errors_total"]) == (9, "invalid", 7)
    found = {(f["path"], f["kind"], f["line"]) for f in config["findings"]}
    assert found == {
        ("policies[0].allow_origins[0]", "origin.wildcard_under_public_suffix", 12),
        ("policies[0].allow_origins[1]", "origin.invalid", 12),
        ("policies[0].allow_origins[2]", "wrong_type", 12),
        ("policies[0].allow_headers[0]", "allow_header.forbidden", 13),
        ("policies[0].expose_headers[0]", "expose_header.star_with_credentials", 14),
        ("policies[1].name", "duplicate_policy_name", 16),
        ("policies[1].allow_origin_regexes[0]", "origin_regex.not_anchored", 17),
    }
    forbidden = next(f for f in config["findings"] if f["kind"] == "allow_header.forbidden")
    assert forbidden["value"] == '"cookie"' and forbidden["severity"] == "error"
    assert forbidden["message"].startswith("forbidden request header")


def test_json_findings_are_the_errors_the_text_report_prints():
    text = error_lines(check(str(HERE / "bad" / "envoy-bad-policy.yaml")).stdout)
    report = json_check(HERE / "bad" / "envoy-bad-policy.yaml")
    findings = report["files"][0]["configs"][0]["findings"]
    rendered = [f"{f['path']}: {f['value']}: {f['message']}" if f["value"] else f"{f['path']}: {f['message']}"
                for f in findings]
    assert rendered == text


def test_json_findings_of_a_policy_file_and_of_a_json_string_in_yaml_have_lines():
    policy = json_check(HERE / "bad" / "policy-errors.json")["files"][0]["configs"][0]
    assert policy["line"] is None  # the whole file is the configuration
    assert {f["path"]: f["line"] for f in policy["findings"]} == {
        "policies[0].colour": 9, "policies[0].allow_origins[0]": 5, "policies[0].allow_methods[0]": 8,
        "policies[0].max_age": 7}
    # A StringValue `value: |` block: the JSON's lines are the file's.
    envoy = json_check(HERE / "bad" / "envoy-bad-policy.yaml")["files"][0]["configs"][0]
    text = (HERE / "bad" / "envoy-bad-policy.yaml").read_text().splitlines()
    assert len(envoy["findings"]) == 7
    for f in envoy["findings"]:
        assert f["value"] in text[f["line"] - 1], (f, text[f["line"] - 1])


def test_json_reports_a_file_that_cannot_be_checked_and_the_placeholder_image():
    report = json_check(HERE / "bad" / "no-edge-cors.yaml", ROOT / "envoy" / "istio" / "ingress-gateway.yaml")
    assert report["status"] == "cannot_check"
    missing, shipped = report["files"]
    assert (missing["status"], missing["configs"]) == ("cannot_check", [])
    assert "no edge-cors configuration found" in missing["error"]
    kinds = [(f["kind"], f["path"]) for f in shipped["configs"][0]["findings"]]
    assert kinds == [("image_placeholder", "spec.url"), ("image_placeholder", "spec.sha256")]


def test_version_names_the_checker_and_says_a_development_build_knows_no_wasm():
    result = check("--version")
    assert result.returncode == 0
    version = re.search(r'^\[workspace\.package\]\n(?:.*\n)*?version = "([^"]+)"',
                        (ROOT / "Cargo.toml").read_text(), re.M).group(1)
    first, second = result.stdout.splitlines()
    assert first == f"edge-cors-check {version}"
    # A release build (scripts/release.sh) names the wasm's sha256 here: tests/release checks it.
    assert second.startswith("edge_cors.wasm sha256 unknown: not a release build")


def test_an_unknown_format_is_bad_usage():
    result = check("--format", "xml", str(GOOD[0]))
    assert result.returncode == 2
    assert "--format takes text or json" in result.stderr


def test_the_summary_reports_the_compiled_policy():
    result = check(str(HERE / "good" / "policy.json"))
    assert result.stdout.splitlines() == [
        f"{HERE / 'good' / 'policy.json'}: policy: valid: 1 policy, preflight status 204",
        "  - app: hosts api.example.com,*.example.com; paths /api/; origins 4 entries; credentials yes; "
        "methods GET,POST,PUT,DELETE; headers authorization,content-type; expose etag,x-request-id; max-age 600",
    ]


def test_only_edge_cors_documents_are_checked_in_a_multi_document_file():
    result = check(str(HERE / "good" / "mixed-documents.yaml"))
    assert result.returncode == 0
    assert result.stdout.count(": valid: ") == 1
    assert "document 3: WasmPlugin shop/edge-cors: spec.pluginConfig: valid" in result.stdout
    assert "request-logger" not in result.stdout


BAD = {
    "policy-errors.json": (1, 4, [
        'policies[0].allow_origins[0]: "*": `*` cannot be combined with allow_credentials: true',
        "policies[0].max_age: -1: must not be negative",
        'policies[0].allow_methods[0]: "TRACE": forbidden method',
        'policies[0].colour: "red": unknown field',
    ]),
    "truncated.json": (1, 1, ["$: invalid JSON: EOF while parsing"]),
    "wasmplugin-bad-policy.yaml": (1, 7, [
        'policies[0].allow_origins[0]: "https://*.co.uk": wildcard directly under the public suffix `co.uk`',
        'policies[0].allow_origins[1]: "https://App.example.com": not a valid origin',
        "policies[0].allow_origins[2]: null: expected a string, found null",
        'policies[0].allow_headers[0]: "cookie": forbidden request header',
        'policies[0].expose_headers[0]: "*": `*` does not work with allow_credentials: true',
        'policies[1].allow_origin_regexes[0]: "https://app.example.com": regex must be anchored',
        'policies[1].name: "api": duplicate policy name',
    ]),
    "wasmplugin-no-config.yaml": (1, 1, ["$: configuration is empty"]),
    "envoy-bad-policy.yaml": (1, 7, [
        "preflight_success_status: 201: must be 200 or 204",
        'policies[0].match.path_prefixes[0]: "api/"',
        'policies[0].allow_origins[0]: "https://app.example.com/": not a valid origin',
        'policies[0].allow_origins[1]: "file://": not a valid origin',
        'policies[0].allow_origin_regexes[0]: "^https://app.example.com$": unescaped `.`',
        'policies[0].allow_methods[1]: "CONNECT": forbidden method',
        "policies[0].max_age: 100000: must be at most 86400",
    ]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_exits_one_and_prints_every_error_with_its_json_path(name):
    code, count, expected = BAD[name]
    result = check(str(HERE / "bad" / name))
    assert result.returncode == code, result.stdout + result.stderr
    assert f"invalid ({count} error{'s' if count > 1 else ''}):" in result.stdout
    lines = error_lines(result.stdout)
    assert len(lines) == count, lines
    for needle in expected:
        assert sum(line.startswith(needle) for line in lines) == 1, (needle, lines)


def test_a_struct_configuration_is_refused_because_the_plugin_would_get_binary_protobuf():
    result = check(str(HERE / "bad" / "envoy-struct-configuration.yaml"))
    assert result.returncode == 1
    assert "http_filters[0].typed_config (edge-cors): invalid: configuration is a google.protobuf.Struct" in result.stdout


def test_a_file_without_any_edge_cors_configuration_is_not_a_pass():
    result = check(str(HERE / "bad" / "no-edge-cors.yaml"))
    assert result.returncode == 2
    assert "no edge-cors configuration found" in result.stderr


def test_a_missing_file_and_bad_usage_exit_two():
    assert check(str(HERE / "does-not-exist.json")).returncode == 2
    assert check().returncode == 2
    assert check("--frobnicate", str(GOOD[0])).returncode == 2


def test_one_bad_file_among_good_ones_fails_the_run_and_every_file_is_reported():
    result = check(str(HERE / "good" / "policy.json"), str(HERE / "bad" / "policy-errors.json"), str(GOOD[-1]))
    assert result.returncode == 1
    assert result.stdout.count(": valid: ") == 2
    assert result.stdout.count(": invalid (") == 1


def test_quiet_prints_only_errors():
    assert check("--quiet", str(HERE / "good" / "policy.json")).stdout == ""
    assert "max_age" in check("--quiet", str(HERE / "bad" / "policy-errors.json")).stdout


def test_a_policy_on_stdin_is_checked():
    good = (HERE / "good" / "policy.json").read_text()
    assert check("-", stdin=good).returncode == 0
    bad = check("-", stdin=good.replace('"max_age": 600', '"max_age": "600"'))
    assert bad.returncode == 1
    assert any(line.startswith("policies[0].max_age: \"600\"") for line in error_lines(bad.stdout))


def test_the_checker_reports_exactly_the_errors_the_filter_logs_in_envoy():
    bad = HERE / "bad" / "envoy-bad-policy.yaml"
    checker_lines = error_lines(check(str(bad)).stdout)
    envoy = subprocess.run([ENVOY, "--mode", "validate", "-c", str(bad), "--log-level", "error"],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert envoy.returncode != 0
    logged = envoy.stdout + envoy.stderr
    assert len(checker_lines) == 7
    for line in checker_lines:
        assert "- " + line in logged, (line, logged[-3000:])
