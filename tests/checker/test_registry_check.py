"""`edge-cors-check registry FILE_OR_URL`: a registry document checked offline with the filter's
own compiler, and the `allow_origins_from` block checked by the normal check."""
from __future__ import annotations

import json
import subprocess
import sys

from test_checker import ROOT, check, error_lines

from harness.processes import free_port, poll, stop_process


def document(tmp_path, doc) -> str:
    path = tmp_path / "registry.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def test_a_valid_document_exits_zero_with_its_version_entries_and_every_skipped_entry(tmp_path):
    path = document(tmp_path, {"version": "v7", "origins": ["https://a.example", "https://*.b.example",
                                                             "https://A.example", "https://a.example"]})
    result = check("registry", path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f'{path}: registry document: valid: version "v7", 2 entries (2 skipped)'
    assert lines[1].startswith(f'{path}: registry document: warning: origins[2]: "https://A.example": not a valid origin')
    assert lines[2] == f'{path}: registry document: warning: origins[3]: "https://a.example": duplicate origin'


def test_a_dangerous_entry_refuses_the_document_with_the_reason_the_filter_counts(tmp_path):
    path = document(tmp_path, {"version": 1, "origins": ["https://a.example", "*", "https://*.co.uk"]})
    result = check("registry", path)
    assert result.returncode == 1
    assert error_lines(result.stdout) == [
        'origins[1]: "*": `*` would trust every origin: a registry list may hold origins and wildcards of origins only; the update is refused',
        'origins[2]: "https://*.co.uk": wildcard directly under the public suffix `co.uk` would trust sites anyone can register; use a domain you own',
    ]
    assert "reason dangerous" in result.stdout


def test_credentials_and_limits_are_those_of_the_policy(tmp_path):
    path = document(tmp_path, {"version": "v1", "origins": ["http://partner.example", "https://b.example"]})
    assert check("registry", path).returncode == 0
    with_credentials = check("registry", "--credentials", path)
    assert with_credentials.returncode == 1
    assert "plain-http origin with allow_credentials: true" in with_credentials.stdout
    too_many = check("registry", "--max-entries", "1", path)
    assert too_many.returncode == 1 and "reason too_many" in too_many.stdout
    too_large = check("registry", "--max-bytes", "10", path)
    assert too_large.returncode == 1 and "reason too_large" in too_large.stdout
    assert check("registry", document(tmp_path, "{")).returncode == 1
    assert check("registry", str(tmp_path / "missing.json")).returncode == 2
    assert check("registry").returncode == 2


def test_a_document_is_fetched_from_an_http_url():
    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "registry_server.py"), "--port", str(port),
                               "--version", "v9"], stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/v1/origins"
        result = poll(lambda: (r := check("registry", url)).returncode != 2 and r, 10, "the registry to answer")
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == f'{url}: registry document: valid: version "v9", 0 entries (0 skipped)\n'
    finally:
        stop_process(server)


def test_the_normal_check_validates_the_source_block_and_shows_it_in_the_summary(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"policies": [{"name": "app", "allow_origins_from": {
        "cluster": "registry", "authority": "registry.internal", "path": "/v1/origins"}}]}))
    result = check(str(good))
    assert result.returncode == 0, result.stdout
    assert "origins also from registry cluster registry registry.internal/v1/origins every 30 s" in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"policies": [{"name": "app", "allow_origins": ["*"], "allow_origins_from": {
        "cluster": "registry", "authority": "registry.internal", "path": "v1", "timeout_ms": 40000,
        "headers": {"authorization": "Bearer s3cret\n"}}}]}))
    result = check(str(bad))
    assert result.returncode == 1
    assert [line.split(":")[0] for line in error_lines(result.stdout)] == [
        "policies[0].allow_origins_from.path",
        "policies[0].allow_origins_from.timeout_ms",
        "policies[0].allow_origins_from.headers.authorization",
        "policies[0].allow_origins_from",
    ]
    assert "s3cret" not in result.stdout, "a header value is never printed"
