"""Validate WasmPlugin manifests offline, as the Kubernetes API server would.

The schema is the `openAPIV3Schema` of the vendored Istio 1.30 WasmPlugin CRD
(tests/istio/wasmplugins.extensions.istio.io.crd.yaml, see tests/istio/SOURCE.md), turned into
a JSON Schema:
- objects with declared `properties` get `additionalProperties: false` unless the CRD says
  `x-kubernetes-preserve-unknown-fields` (the API server prunes, and `kubectl apply` with its
  default strict field validation refuses, fields the schema does not declare);
- `nullable: true` admits null; `format: int32` gets its range;
- the root gets `apiVersion`, `kind` and a `metadata` of the usual four fields, which the API
  server validates outside the CRD schema.

The CRD's CEL rules (`x-kubernetes-validations`) cannot be expressed in JSON Schema; each one is
implemented below and matched to the CRD by its rule text, so a CRD carrying a rule this module
does not implement is reported instead of silently skipped.
"""
from __future__ import annotations

import copy
import string
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
CRD_FILE = HERE / "wasmplugins.extensions.istio.io.crd.yaml"
API_VERSION = "extensions.istio.io/v1alpha1"

INT32 = (-(2**31), 2**31 - 1)
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def load_crd_schema() -> dict:
    crd = yaml.safe_load(CRD_FILE.read_text())
    assert crd["kind"] == "CustomResourceDefinition" and crd["spec"]["names"]["kind"] == "WasmPlugin"
    versions = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    assert len(versions) == 1
    return versions[0]["schema"]["openAPIV3Schema"]


def to_json_schema(node: dict) -> dict:
    """One OpenAPI v3 (structural) schema node -> JSON Schema, strict where the server prunes."""
    out: dict = {}
    for key in ("type", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum",
                "minItems", "maxItems", "minProperties", "maxProperties", "required"):
        if key in node:
            out[key] = copy.deepcopy(node[key])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if node.get("format") == "int32":
        out["minimum"], out["maximum"] = INT32
    if "properties" in node:
        out["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
    if "items" in node:
        out["items"] = to_json_schema(node["items"])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in node:
            out[key] = [to_json_schema(n) for n in node[key]]
    if "not" in node:
        out["not"] = to_json_schema(node["not"])
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = to_json_schema(node["additionalProperties"])
    elif node.get("type") == "object" and "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def with_object_fields(root: dict, api_version: str, kind: str) -> dict:
    """`root` (a converted CRD schema) with the `apiVersion`, `kind` and `metadata` the API server
    validates outside the CRD schema, strict at the top level; checked as a JSON Schema."""
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    root.setdefault("properties", {}).update(
        apiVersion={"const": api_version},
        kind={"const": kind},
        metadata={
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": DNS1123_SUBDOMAIN, "maxLength": 253},
                "namespace": {"type": "string", "pattern": DNS1123_LABEL, "maxLength": 63},
                "labels": string_map,
                "annotations": string_map,
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    )
    root["required"] = sorted(set(root.get("required", [])) | {"apiVersion", "kind", "metadata"})
    root["additionalProperties"] = False
    jsonschema.Draft202012Validator.check_schema(root)
    return root


def manifest_schema() -> dict:
    return with_object_fields(to_json_schema(load_crd_schema()), API_VERSION, "WasmPlugin")


# A digest as a release gives one (any 64 hex digits that are not one digit repeated).
A_DIGEST = "676e5e4bdfd83e38f6e3197b634d862bfa8fda1791eaa1d569924f7cf8fc9593"


def with_a_digest(manifest: dict) -> dict:
    """A shipped example WasmPlugin (envoy/istio/) as `edge-cors-check render` writes it from a
    release: its placeholders `oci://REGISTRY/` and `sha256: DIGEST`, which the API server and the
    checker refuse on purpose, replaced by a registry and a digest."""
    manifest = copy.deepcopy(manifest)
    spec = manifest.get("spec", {})
    if spec.get("sha256") == "DIGEST":
        spec["sha256"] = A_DIGEST
    if str(spec.get("url", "")).startswith("oci://REGISTRY/"):
        spec["url"] = spec["url"].replace("oci://REGISTRY/", "oci://registry.example.com/", 1)
    return manifest


# ---- CEL rules -------------------------------------------------------------------------------

def go_scheme(raw: str):
    """Go's net/url getScheme: (scheme, rest), or None for "missing protocol scheme"."""
    for i, c in enumerate(raw):
        if c in string.ascii_letters:
            continue
        if c in string.digits + "+-.":
            if i == 0:
                return "", raw
            continue
        if c == ":":
            if i == 0:
                return None
            return raw[:i], raw[i + 1:]
        return "", raw
    return "", raw


def cel_is_url(raw: str) -> bool:
    """CEL `isURL` of Kubernetes: Go's url.ParseRequestURI succeeds (absolute URL or path)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return False
    parsed = go_scheme(raw)
    if parsed is None:
        return False
    scheme, rest = parsed
    if scheme == "" and not rest.startswith("/"):
        return False
    if rest.startswith("//"):
        host = rest[2:].split("/", 1)[0]
        if " " in host:
            return False
    return True


def cel_url_scheme(raw: str) -> str:
    parsed = go_scheme(raw)
    return parsed[0].lower() if parsed else ""


URL_SCHEMES = {"", "http", "https", "oci", "file"}


def url_rule(url: str) -> bool:
    if cel_is_url(url):
        return cel_url_scheme(url) in URL_SCHEMES
    return cel_is_url("http://" + url) and cel_url_scheme("http://" + url) in URL_SCHEMES


def one_attachment(spec: dict) -> bool:
    return sum(key in spec for key in ("selector", "targetRef", "targetRefs")) <= 1


def env_value_only_inline(env: dict) -> bool:
    return env.get("valueFrom", "") != "HOST" or "value" not in env


def squash(rule: str) -> str:
    return " ".join(rule.split())


# Each CEL rule of the CRD (whitespace-normalized text) -> a Python predicate on the value.
CEL_RULES = {
    squash('!self.contains("*")'): lambda v: "*" not in v,
    squash('self.all(key, !key.contains("*"))'): lambda v: all("*" not in k for k in v),
    squash("self.all(key, key.size() != 0)"): lambda v: all(len(k) != 0 for k in v),
    squash("self.size() == 0"): lambda v: len(v) == 0,
    squash(
        'isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : '
        '(isURL("http://" + self) && url("http://" + self).getScheme() in ["", "http", "https", "oci", "file"])'
    ): url_rule,
    squash('(has(self.valueFrom) ? self.valueFrom : "") != "HOST" || !has(self.value)'): env_value_only_inline,
    squash("(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1"):
        one_attachment,
}


def crd_cel_rules(node: dict | None = None, path: str = "") -> list[tuple[str, str, str]]:
    """Every (schema path, rule, message) in the CRD."""
    node = load_crd_schema() if node is None else node
    found = [(path or "$", squash(v["rule"]), v["message"]) for v in node.get("x-kubernetes-validations", [])]
    for k, child in node.get("properties", {}).items():
        found += crd_cel_rules(child, f"{path}.{k}" if path else k)
    if "items" in node:
        found += crd_cel_rules(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        found += crd_cel_rules(node["additionalProperties"], f"{path}.*")
    return found


def cel_errors(node: dict, value, path: str = "") -> list[str]:
    """Evaluate the CRD's CEL rules on a manifest, walking schema and value together."""
    errors = []
    for v in node.get("x-kubernetes-validations", []):
        rule = squash(v["rule"])
        if rule not in CEL_RULES:
            errors.append(f"{path or '$'}: CEL rule not implemented by this validator: {rule}")
        elif not CEL_RULES[rule](value):
            errors.append(f"{path or '$'}: {v['message']}")
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


_VALIDATOR = None


def validate(manifest) -> list[str]:
    """Every problem the API server would report for this manifest (schema, then CEL)."""
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = jsonschema.Draft202012Validator(manifest_schema())
    errors = [
        f"{'.'.join(str(p) for p in e.absolute_path) or '$'}: {e.message}"
        for e in sorted(_VALIDATOR.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if not errors:  # CEL runs on schema-valid objects only, as in the API server
        errors += cel_errors(load_crd_schema(), manifest)
    return errors
