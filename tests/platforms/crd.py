"""Validate Kubernetes manifests offline against the CRDs in ../shared/ (Istio 1.30, Envoy Gateway
1.9, Gateway API 1.6.1 standard channel), as the API server would on create.

- The structural schema (`spec.versions[].schema.openAPIV3Schema` of the manifest's version) is
  turned into a strict JSON Schema by tests/istio/wasmplugin_schema.py (`to_json_schema`): fields
  the CRD does not declare are refused, as `kubectl apply` with strict field validation does.
- Every CEL rule (`x-kubernetes-validations`) of a schema node present in the manifest is
  evaluated with cel-python (PyPI `cel-python`, a CEL interpreter), plus the Kubernetes CEL
  library functions those CRDs call (`isURL`, `url`, `isIP`, `isCIDR`). A rule this module cannot
  compile or evaluate is an error, never a silent pass. Transition rules (`oldSelf`) only run on
  updates and are skipped, as on create. As in the API server, the schema's defaults are filled in
  first, and declared property names that are CEL keywords are escaped (`__namespace__`).
"""
from __future__ import annotations

import functools
import ipaddress
import sys
from pathlib import Path

import celpy
import celpy.celtypes as ct
import jsonschema
import yaml

from harness import ROOT, SHARED

sys.path.insert(0, str(ROOT / "tests" / "istio"))
import wasmplugin_schema  # noqa: E402


CRD_FILES = {
    ("extensions.istio.io", "WasmPlugin"): "istio/wasmplugins.extensions.istio.io.crd.yaml",
    ("security.istio.io", "AuthorizationPolicy"): "istio/authorizationpolicies.security.istio.io.crd.yaml",
    ("networking.istio.io", "VirtualService"): "istio/virtualservices.networking.istio.io.crd.yaml",
    ("gateway.envoyproxy.io", "EnvoyExtensionPolicy"): "envoy-gateway/gateway.envoyproxy.io_envoyextensionpolicies.yaml",
    ("gateway.envoyproxy.io", "EnvoyProxy"): "envoy-gateway/gateway.envoyproxy.io_envoyproxies.yaml",
    ("gateway.envoyproxy.io", "SecurityPolicy"): "envoy-gateway/gateway.envoyproxy.io_securitypolicies.yaml",
    ("gateway.networking.k8s.io", "HTTPRoute"): "gateway-api/gateway.networking.k8s.io_httproutes.yaml",
}


def known(manifest: dict) -> bool:
    """True when `manifest` is of a kind this module has a CRD for."""
    group = str(manifest.get("apiVersion", "")).rpartition("/")[0]
    return (group, manifest.get("kind")) in CRD_FILES


@functools.lru_cache(maxsize=None)
def crd_schema(group: str, kind: str, version: str) -> dict:
    """The openAPIV3Schema of `kind` at `version` (which the CRD must serve)."""
    path = SHARED / CRD_FILES[(group, kind)]
    crd = yaml.safe_load(path.read_text())
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind, path
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    if version not in served:
        raise ValueError(f"{kind}: version {version} is not served by {path.name} (served: {sorted(served)})")
    return served[version]["schema"]["openAPIV3Schema"]


@functools.lru_cache(maxsize=None)
def _validator(group: str, kind: str, version: str) -> jsonschema.Draft202012Validator:
    root = wasmplugin_schema.with_object_fields(
        wasmplugin_schema.to_json_schema(crd_schema(group, kind, version)), f"{group}/{version}", kind
    )
    return jsonschema.Draft202012Validator(root)


# ---- the Kubernetes CEL library functions these CRDs call ------------------------------------

class _URL(ct.MapType):
    """What `url(s)` returns; only getScheme() is called by the CRDs here."""


def _is_url(s) -> ct.BoolType:
    return ct.BoolType(wasmplugin_schema.cel_is_url(str(s)))


def _url(s):
    return ct.StringType(wasmplugin_schema.cel_url_scheme(str(s)))


def _is_ip(s) -> ct.BoolType:
    try:
        ipaddress.ip_address(str(s))
        return ct.BoolType(True)
    except ValueError:
        return ct.BoolType(False)


def _is_cidr(s) -> ct.BoolType:
    try:
        ipaddress.ip_network(str(s), strict=False)
        return ct.BoolType("/" in str(s))
    except ValueError:
        return ct.BoolType(False)


CEL_FUNCTIONS = {"isURL": _is_url, "isIP": _is_ip, "isCIDR": _is_cidr}


def _prepare(rule: str) -> str:
    # `url(x).getScheme()` is the one use of url() in these CRDs: evaluate it as a function of x.
    return rule.replace(").getScheme()", ")").replace("url(", "urlScheme(")


@functools.lru_cache(maxsize=None)
def _program(rule: str):
    env = celpy.Environment()
    ast = env.compile(_prepare(rule))
    return env.program(ast, functions={**CEL_FUNCTIONS, "urlScheme": _url})


CEL_RESERVED = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
                "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}


def escape(name: str) -> str:
    """How Kubernetes names a declared property inside CEL (`namespace` -> `__namespace__`)."""
    if name in CEL_RESERVED:
        return f"__{name}__"
    out = name.replace("__", "__underscores__")
    for char, word in ((".", "dot"), ("-", "dash"), ("/", "slash")):
        out = out.replace(char, f"__{word}__")
    return out


def with_defaults(node: dict, value):
    """`value` with the schema's `default`s filled in, as the API server does before validating."""
    if isinstance(value, dict):
        out = {}
        props = node.get("properties", {})
        for k, child in props.items():
            if k not in value and "default" in child:
                out[k] = child["default"]
        for k, v in value.items():
            if k in props:
                out[k] = with_defaults(props[k], v)
            elif isinstance(node.get("additionalProperties"), dict):
                out[k] = with_defaults(node["additionalProperties"], v)
            else:
                out[k] = v
        return out
    if isinstance(value, list) and "items" in node:
        return [with_defaults(node["items"], v) for v in value]
    return value


def cel_value(node: dict, value):
    """`value` as CEL sees it: declared property names escaped, map keys as they are."""
    if isinstance(value, dict):
        props = node.get("properties", {})
        extra = node.get("additionalProperties") if isinstance(node.get("additionalProperties"), dict) else {}
        return {(escape(k) if k in props else k): cel_value(props.get(k, extra), v) for k, v in value.items()}
    if isinstance(value, list):
        return [cel_value(node.get("items", {}), v) for v in value]
    return value


def cel_errors(node: dict, value, path: str = "") -> list[str]:
    """Evaluate every CEL rule of the schema nodes present in `value`, walking both together."""
    errors = []
    for v in node.get("x-kubernetes-validations", []):
        rule = v["rule"]
        if "oldSelf" in rule:
            continue  # transition rules run on update only
        where = path or "$"
        try:
            ok = _program(rule).evaluate({"self": celpy.json_to_cel(cel_value(node, value))})
        except Exception as e:  # noqa: BLE001 - any failure to evaluate is reported, never passed
            errors.append(f"{where}: CEL rule could not be evaluated ({type(e).__name__}: {e}): {rule}")
            continue
        if isinstance(ok, Exception) or not bool(ok):
            errors.append(f"{where}: {v.get('message') or v.get('messageExpression') or rule}")
    if isinstance(value, dict):
        for k, child in value.items():
            if k in node.get("properties", {}):
                errors += cel_errors(node["properties"][k], child, f"{path}.{k}" if path else k)
            elif isinstance(node.get("additionalProperties"), dict):
                errors += cel_errors(node["additionalProperties"], child, f"{path}.{k}" if path else k)
    elif isinstance(value, list) and "items" in node:
        for i, child in enumerate(value):
            errors += cel_errors(node["items"], child, f"{path}[{i}]")
    return errors


def validate(manifest: dict) -> list[str]:
    """Every problem the API server would report when creating `manifest` (schema, then CEL)."""
    api_version = str(manifest.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    kind = manifest.get("kind")
    if (group, kind) not in CRD_FILES:
        return [f"no CRD for {api_version} {kind} in {sorted(CRD_FILES)}"]
    try:
        validator = _validator(group, kind, version)
    except ValueError as e:
        return [str(e)]
    errors = [
        f"{'.'.join(str(p) for p in e.absolute_path) or '$'}: {e.message}"
        for e in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if not errors:  # the API server runs CEL on schema-valid objects only
        schema = crd_schema(group, kind, version)
        errors += cel_errors(schema, with_defaults(schema, manifest))
    return errors


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
