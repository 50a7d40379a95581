"""The SRE kit's tests use the end-to-end fixtures: the shared upstream, and `start_envoy`, which
stops every Envoy it started and prints its log when a test fails."""
from e2e.conftest import pytest_runtest_makereport, start_envoy, upstream  # noqa: F401
