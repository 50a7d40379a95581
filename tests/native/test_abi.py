"""The native module against the Envoy binary it runs in, symbol by symbol.

Envoy 1.40 loads a dynamic module with RTLD_NOW and resolves every HTTP-filter hook when it
creates a filter configuration: one callback the module imports that the binary does not export,
or one hook the module does not export, and the module fails to load. The declarations in
crates/edge-cors-native/src/abi.rs are written by hand, so these tests hold them to the binary.
"""
import os
import re
import subprocess

from harness import NATIVE, ROOT

ABI_RS = ROOT / "crates" / "edge-cors-native" / "src" / "abi.rs"
# The hooks Envoy 1.40 resolves when it loads a DynamicModuleFilter (each one mandatory), and the
# per-route pair it resolves for a DynamicModuleFilterPerRoute.
HOOKS = ["envoy_dynamic_module_on_program_init"] + [f"envoy_dynamic_module_on_http_filter_{h}" for h in (
    "config_new", "config_destroy", "new", "request_headers", "request_body", "request_trailers",
    "response_headers", "response_body", "response_trailers", "stream_complete", "destroy", "http_callout_done",
    "http_stream_headers", "http_stream_data", "http_stream_trailers", "http_stream_complete", "http_stream_reset",
    "scheduled", "downstream_above_write_buffer_high_watermark", "downstream_below_write_buffer_low_watermark",
    "per_route_config_new", "per_route_config_destroy")]
# Hooks Envoy 1.40 looks up but does without: not exported, so Envoy never calls into the module
# for them (a local-reply hook would add a crossing to every local reply).
OPTIONAL_HOOKS = {"local_reply", "config_scheduled", "config_http_callout_done", "config_http_stream_headers",
                  "config_http_stream_data", "config_http_stream_trailers", "config_http_stream_complete",
                  "config_http_stream_reset"}


def dynamic_symbols(path: str, *flags: str) -> set:
    out = subprocess.run(["nm", "-D", *flags, path], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def test_every_callback_declared_and_imported_is_exported_by_the_envoy_binary(envoy_elf):
    declared = set(re.findall(r"fn (envoy_dynamic_module_callback_\w+)\(", ABI_RS.read_text()))
    imported = {s for s in dynamic_symbols(NATIVE, "--undefined-only") if s.startswith("envoy_")}
    exported = dynamic_symbols(envoy_elf, "--defined-only")
    assert imported, "the module imports no Envoy callback: the wrong file was read"
    assert imported <= declared, f"imported but not declared in abi.rs: {sorted(imported - declared)}"
    assert declared <= exported, f"declared in abi.rs but not exported by {envoy_elf}: {sorted(declared - exported)}"
    print(f"\n{len(declared)} callbacks declared, {len(imported)} imported, all among the "
          f"{sum(s.startswith('envoy_dynamic_module_callback_') for s in exported)} Envoy exports")


def test_the_module_exports_every_hook_envoy_resolves_and_no_hook_envoy_does_not_know(envoy_elf):
    exported = {s for s in dynamic_symbols(NATIVE, "--defined-only") if s.startswith("envoy_")}
    # The hook names Envoy looks up are strings in its binary (dlsym).
    strings = subprocess.run(["strings", envoy_elf], check=True, capture_output=True, text=True).stdout
    known = set(re.findall(r"^(envoy_dynamic_module_on_http_filter_\w+)$", strings, re.M))
    mandatory = {h for h in known if h.removeprefix("envoy_dynamic_module_on_http_filter_") not in OPTIONAL_HOOKS}
    assert set(HOOKS) - {"envoy_dynamic_module_on_program_init"} == mandatory, \
        f"Envoy's hook list changed: new {sorted(mandatory - set(HOOKS))}, gone {sorted(set(HOOKS) - mandatory)}"
    assert exported == set(HOOKS), f"missing {sorted(set(HOOKS) - exported)}, extra {sorted(exported - set(HOOKS))}"


def test_the_module_needs_no_newer_glibc_than_the_documented_floor():
    floor = tuple(int(x) for x in os.environ.get("NATIVE_GLIBC", "2.28").split("."))
    out = subprocess.run(["objdump", "-T", NATIVE], check=True, capture_output=True, text=True).stdout
    versions = {tuple(int(x) for x in v.split(".")) for v in re.findall(r"GLIBC_([0-9.]+)\)?\s", out)}
    assert versions, "no glibc symbol versions read"
    assert max(versions) <= floor, f"the module needs glibc {'.'.join(map(str, max(versions)))} > {floor}"


def test_the_shipped_module_has_no_test_panic_in_it():
    assert b"x-edge-cors-test-panic" not in open(NATIVE, "rb").read()
