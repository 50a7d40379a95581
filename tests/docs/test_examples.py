"""The documentation's examples do what they show: the README's quick start, run as written
(its policy through the checker, its Envoy config started, its two curls), and every
`edge-cors-check` example of docs/*.md.

EDGE_CORS_CHECK names a checker binary to use instead of building it with the README's command;
ENVOY_BIN an Envoy instead of .venv/bin/envoy. The wasm must have been built (scripts/build.sh)."""
from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.processes import free_port, poll, stop_process
from markdown_doc import ROOT, console_commands, documents, section, split

QUICK_START = "Quick start: your own policy in five minutes"
WASM = ROOT / "target" / "wasm32-wasip1" / "release" / "edge_cors.wasm"
CHECKER_COMMAND = "target/release/edge-cors-check"
# The header lines the quick start leaves out of the curl answers it shows.
LEFT_OUT = re.compile(r"^(date|server|content-[a-z]+):", re.I)


def quick_start() -> str:
    return section((ROOT / "README.md").read_text(), QUICK_START)


def blocks(lang: str, text: str) -> list:
    return [b for b in split(text)[1] if b.lang == lang]


@pytest.fixture(scope="module")
def checker() -> Path:
    """The checker, built with the build command the quick start gives (unless EDGE_CORS_CHECK
    names one)."""
    if os.environ.get("EDGE_CORS_CHECK"):
        return Path(os.environ["EDGE_CORS_CHECK"])
    builds = [line for b in blocks("sh", quick_start()) for line in b.text.split("\n")
              if line.startswith("cargo build") and "edge-cors-check" in line]
    assert len(builds) == 1, f"the quick start gives one command that builds the checker: {builds}"
    done = subprocess.run(shlex.split(builds[0].split("#")[0]), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{builds[0]} failed:\n{done.stderr[-3000:]}"
    return ROOT / CHECKER_COMMAND


def run_checker(checker: Path, command: str, cwd: Path) -> str:
    words = shlex.split(command)
    assert words[0] == CHECKER_COMMAND, f"the example runs {words[0]}, not {CHECKER_COMMAND}"
    done = subprocess.run([str(checker), *words[1:]], cwd=cwd, capture_output=True, text=True)
    return done.stdout


def answering(envoy: subprocess.Popen, port: int, log: Path) -> bool:
    """For `poll()`: True once the listener answers HTTP; fails with Envoy's log if it exited."""
    assert envoy.poll() is None, f"Envoy exited with {envoy.returncode}:\n{log.read_text()[-4000:]}"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1")
    except OSError:
        return False


def curl(command: str, port: int) -> list[str]:
    """Run a curl command of the README against `port`: the status line and header lines."""
    words = [w.replace("127.0.0.1:10000", f"127.0.0.1:{port}") for w in shlex.split(command)]
    assert words[0] == "curl" and "-si" in words, words
    out = subprocess.run(words, capture_output=True, text=True, timeout=30).stdout
    return out.replace("\r", "").split("\n\n", 1)[0].split("\n")


def test_the_quick_start_runs_as_written(checker, tmp_path):
    text = quick_start()
    (policy_block,) = blocks("json", text)
    policy = json.loads(policy_block.text)
    assert len(policy_block.text.strip().split("\n")) <= 10, "the quick start's policy.json has at most 10 lines"

    # Step 3: the checker's answer on policy.json, exactly as shown.
    (tmp_path / "policy.json").write_text(policy_block.text + "\n")
    consoles = blocks("console", text)
    checks = [(c, out) for b in consoles for c, out in console_commands(b) if c.startswith(CHECKER_COMMAND)]
    assert len(checks) == 1, checks
    command, shown = checks[0]
    assert run_checker(checker, command, tmp_path).rstrip("\n").split("\n") == shown

    # Step 4: the Envoy config holds the same policy and listens where the curls ask.
    (config_block,) = blocks("yaml", text)
    config = yaml.safe_load(config_block.text)
    wasm_config = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0]["typed_config"]["config"]
    assert wasm_config["configuration"]["@type"] == "type.googleapis.com/google.protobuf.StringValue"
    assert json.loads(wasm_config["configuration"]["value"]) == policy, "the Envoy config holds policy.json"
    assert "port_value: 10000" in config_block.text
    config_file = tmp_path / "edge-cors.yaml"
    config_file.write_text(config_block.text)
    assert run_checker(checker, f"{CHECKER_COMMAND} {config_file}", ROOT).split("\n", 1)[0].endswith(
        "valid: 1 policy, preflight status 204"), "the checker accepts the Envoy config too"

    # Step 5: Envoy as the quick start starts it (from the repository root: the wasm path is
    # relative), on a free port and without hot restart so that it cannot meet another Envoy.
    assert WASM.exists(), f"{WASM} is missing: run scripts/build.sh"
    (start,) = [line for b in blocks("sh", text) for line in b.text.split("\n") if " -c edge-cors.yaml" in line]
    port = free_port()
    config_file.write_text(config_block.text.replace("port_value: 10000", f"port_value: {port}"))
    envoy_bin = os.environ.get("ENVOY_BIN", str(ROOT / ".venv" / "bin" / "envoy"))
    args = [envoy_bin if w == ".venv/bin/envoy" else str(config_file) if w == "edge-cors.yaml" else w
            for w in shlex.split(start)]
    log = tmp_path / "envoy.log"
    with open(log, "w") as log_file:
        envoy = subprocess.Popen([*args, "--disable-hot-restart"], cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        poll(lambda: answering(envoy, port, log), 60, f"Envoy to answer on port {port}")

        # Step 6: each curl gets exactly the lines shown; what is left out is date, server, content-*.
        curls = [(c, out) for b in consoles for c, out in console_commands(b) if c.startswith("curl ")]
        assert len(curls) == 2, curls
        for command, shown in curls:
            answer = curl(command, port)
            assert [line for line in answer if not LEFT_OUT.match(line)] == shown, (command, answer)

        # The sentence after them: any other origin gets a 403 preflight and a GET without CORS headers.
        (preflight, _), (get, _) = curls
        other = "Origin: https://evil.example.net"
        answer = curl(preflight.replace("Origin: https://app.example.com", other), port)
        assert answer[0] == "HTTP/1.1 403 Forbidden", answer
        assert not [line for line in answer if line.lower().startswith("access-control-")], answer
        answer = curl(get.replace("Origin: https://app.example.com", other), port)
        assert answer[0] == "HTTP/1.1 200 OK" and "vary: origin" in answer, answer
        assert not [line for line in answer if line.lower().startswith("access-control-")], answer
    finally:
        stop_process(envoy)


def checker_examples() -> list:
    """(document, command, shown output) of every edge-cors-check example in docs/*.md."""
    found = []
    for doc in documents():
        if doc.name == "README.md":
            continue  # the quick start's example runs in its own directory, above
        for block in blocks("console", doc.read_text()):
            for command, shown in console_commands(block):
                if command.startswith(CHECKER_COMMAND):
                    found.append((doc, command, shown))
    return found


def test_the_documentation_has_checker_examples():
    assert checker_examples(), "docs/configuration.md shows edge-cors-check on real files"


@pytest.mark.parametrize("doc, command, shown", checker_examples(),
                         ids=lambda v: v.name if isinstance(v, Path) else None)
def test_every_checker_example_prints_what_it_shows(checker, doc, command, shown):
    assert run_checker(checker, command, ROOT).rstrip("\n").split("\n") == shown, f"{doc.name}: {command}"
