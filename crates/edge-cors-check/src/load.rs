//! Finding edge-cors configurations in a file: a policy JSON, an Istio `WasmPlugin`, or an
//! Envoy config, and the bytes the filter would receive from each:
//! - policy JSON: the file's bytes, verbatim;
//! - `WasmPlugin`: `spec.pluginConfig` serialized as JSON (Istio hands it to the plugin as a
//!   `google.protobuf.StringValue` holding JSON); an absent `pluginConfig` is an empty config;
//! - Envoy Gateway `EnvoyExtensionPolicy`: `spec.wasm[i].config` of every entry whose name, root
//!   id or code URL says edge-cors, serialized as JSON (Envoy Gateway passes it to the plugin as a
//!   `StringValue` holding JSON, `""` when absent);
//! - Envoy Gateway `EnvoyExtensionPolicy`: `spec.dynamicModule[i].config` of every entry whose
//!   `filterName` is `edge-cors` (or whose module name says edge-cors, which then must name that
//!   filter), serialized as JSON (the native module's configuration);
//! - Envoy: the `value` of the `google.protobuf.StringValue` in `configuration` of every
//!   `envoy.extensions.filters.http.wasm.v3.Wasm` whose name, root id, VM id or code path says
//!   edge-cors, and the `filter_config` of every
//!   `envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter` whose `filter_name`
//!   is `edge-cors` (the native module; a `google.protobuf.Struct` arrives there as JSON) (static
//!   listeners, ECDS resources, anywhere in the document).
//!
//! Each configuration also records where it is (document and YAML path), so findings can name
//! their line ([`crate::lines`]), and the image it names, so that a manifest still carrying the
//! placeholders of the shipped examples is refused ([`image_problems`]).

use std::path::Path;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::Value;

use crate::lines::{parse_json_path, Lines, Seg};

const WASM_FILTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const DYNAMIC_MODULE_FILTER_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter";
/// The one filter of the native module (crates/edge-cors-native), which refuses any other name.
const NATIVE_FILTER_NAME: &str = "edge-cors";
const STRING_VALUE_TYPE: &str = "type.googleapis.com/google.protobuf.StringValue";
const STRUCT_TYPE: &str = "type.googleapis.com/google.protobuf.Struct";

/// One configuration found in a file: where it is, and the bytes the filter would receive (or
/// why it would receive something it cannot read).
pub(crate) struct Found {
    pub(crate) location: String,
    pub(crate) bytes: Result<Vec<u8>, String>,
    /// The document (from 0) and the YAML path of the node holding the configuration.
    pub(crate) doc: usize,
    pub(crate) node: Vec<Seg>,
    /// True when the node is a string holding JSON text (an Envoy `StringValue`), false when
    /// it is the configuration itself as a YAML/JSON tree.
    pub(crate) in_string: bool,
    /// Why the manifest cannot deploy as written, whatever its policy (a placeholder image).
    pub(crate) deploy_problems: Vec<Problem>,
}

/// A manifest field that cannot deploy as written: `field: value: why`.
pub(crate) struct Problem {
    pub(crate) field: String,
    pub(crate) value: String,
    pub(crate) why: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {:?}: {}", self.field, self.value, self.why)
    }
}

impl Found {
    fn new(location: String, bytes: Result<Vec<u8>, String>, doc: usize, node: Vec<Seg>) -> Found {
        Found {
            location,
            bytes,
            doc,
            node,
            in_string: false,
            deploy_problems: Vec::new(),
        }
    }

    /// The line of the finding at `json_path` inside this configuration.
    pub(crate) fn line_of(&self, lines: &Lines, json_path: &str) -> Option<usize> {
        let inner = parse_json_path(json_path);
        if self.in_string {
            lines.line_in_string(self.doc, &self.node, &inner)
        } else {
            lines.line_below(self.doc, &self.node, &inner)
        }
    }
}

/// The registry and digest the shipped example manifests carry instead of real ones
/// (`oci://REGISTRY/edge-cors:VERSION`, `sha256: DIGEST`, or a `<...>` in a URL or digest): the
/// checker refuses them, and the Kubernetes API server refuses `DIGEST` as a WasmPlugin
/// `sha256`, so an example applied as is never reaches a gateway.
pub(crate) const PLACEHOLDER_REGISTRY: &str = "REGISTRY";
pub(crate) const PLACEHOLDER_DIGEST: &str = "DIGEST";

/// What is wrong with an image reference and digest a manifest would deploy: a placeholder
/// left in, or a digest that is not one. Empty when they can be deployed.
pub(crate) fn image_problems(url_field: &str, url: &str, sha_field: &str, sha256: Option<&str>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, value: &str, why: String| {
        problems.push(Problem {
            field: field.to_string(),
            value: value.to_string(),
            why,
        })
    };
    let reference = url.split_once("://").map_or(url, |(_, rest)| rest);
    let registry = reference.split('/').next().unwrap_or("");
    if registry == PLACEHOLDER_REGISTRY {
        problem(
            url_field,
            url,
            format!(
                "names the placeholder registry {PLACEHOLDER_REGISTRY}: push the release image to your registry \
                 and render this manifest for it (edge-cors-check render ... --image YOUR-REGISTRY/edge-cors; \
                 docs/releases.md)"
            ),
        );
    }
    if url.contains('<') {
        problem(url_field, url, PLACEHOLDER_FIX.to_string());
    }
    if let Some((_, digest)) = reference.split_once("@sha256:") {
        if let Some(why) = digest_problem(digest) {
            problem(url_field, url, why);
        }
    }
    if let Some(sha) = sha256 {
        if let Some(why) = digest_problem(sha) {
            problem(sha_field, sha, why);
        }
    }
    // `REGISTRY/edge-cors@sha256:<digest>` is one placeholder, reported once.
    problems.dedup_by(|a, b| a.field == b.field && a.why == b.why);
    problems
}

const PLACEHOLDER_FIX: &str =
    "is a placeholder: render the manifest from a release (edge-cors-check render ...; docs/releases.md)";

/// Why `hex` is not a real sha256 digest (64 lower-case hex digits, not one digit repeated),
/// or None.
pub(crate) fn digest_problem(hex: &str) -> Option<String> {
    if hex == PLACEHOLDER_DIGEST || hex.contains('<') {
        return Some(PLACEHOLDER_FIX.to_string());
    }
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Some("not a sha256 digest: expected 64 lower-case hex digits".to_string());
    }
    if hex.bytes().all(|b| Some(b) == hex.bytes().next()) {
        return Some("one digit repeated: a placeholder, not the digest of an image".to_string());
    }
    None
}

pub(crate) fn read_input(file: &str) -> std::io::Result<Vec<u8>> {
    if file == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file)
    }
}

/// Every edge-cors configuration in the file, in document order.
pub(crate) fn find_configs(file: &str, bytes: &[u8]) -> Result<Vec<Found>, String> {
    let is_json = Path::new(file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || file == "-";
    if is_json {
        // A policy JSON goes to the filter verbatim: parse only to tell it from a manifest.
        if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
            if !is_manifest_or_envoy(&v) {
                return Ok(vec![Found::new(
                    "policy".to_string(),
                    Ok(bytes.to_vec()),
                    0,
                    Vec::new(),
                )]);
            }
        } else if file != "-" || !looks_like_yaml(bytes) {
            // Not JSON at all: the filter's own parser reports it (with its position).
            return Ok(vec![Found::new(
                "policy".to_string(),
                Ok(bytes.to_vec()),
                0,
                Vec::new(),
            )]);
        }
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut found = Vec::new();
    for (index, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| format!("document {}: not valid YAML: {e}", index + 1))?;
        let doc_name = format!("document {}", index + 1);
        find_in_document(&value, index, &doc_name, &mut found);
    }
    Ok(found)
}

fn looks_like_yaml(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
}

fn is_manifest_or_envoy(v: &Value) -> bool {
    ["kind", "static_resources", "dynamic_resources", "resources"]
        .iter()
        .any(|k| v.get(k).is_some())
}

fn find_in_document(doc: &Value, index: usize, doc_name: &str, found: &mut Vec<Found>) {
    if doc.is_null() {
        return; // an empty document (a trailing `---`)
    }
    if doc.get("kind").and_then(Value::as_str) == Some("WasmPlugin") {
        if is_edge_cors_plugin(doc) {
            found.push(wasm_plugin_config(doc, index, doc_name));
        }
        return;
    }
    if doc.get("kind").and_then(Value::as_str) == Some("EnvoyExtensionPolicy") {
        extension_policy_configs(doc, index, doc_name, found);
        dynamic_module_policy_configs(doc, index, doc_name, found);
        return;
    }
    if doc.get("policies").is_some() && !is_manifest_or_envoy(doc) {
        // A policy written as YAML: the filter receives it as JSON.
        found.push(Found::new(
            format!("{doc_name}: policy"),
            serde_json::to_vec(doc).map_err(|e| e.to_string()),
            index,
            Vec::new(),
        ));
        return;
    }
    let at = Walk {
        path: String::new(),
        segs: Vec::new(),
        filter_name: None,
    };
    walk_envoy(doc, &at, index, doc_name, found);
}

fn mentions_edge_cors(s: &str) -> bool {
    s.contains("edge-cors") || s.contains("edge_cors")
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn is_edge_cors_plugin(doc: &Value) -> bool {
    ["/metadata/name", "/spec/pluginName", "/spec/url"]
        .iter()
        .filter_map(|p| str_at(doc, p))
        .any(mentions_edge_cors)
}

fn wasm_plugin_config(doc: &Value, index: usize, doc_name: &str) -> Found {
    let name = str_at(doc, "/metadata/name").unwrap_or("(unnamed)");
    let location = match str_at(doc, "/metadata/namespace") {
        Some(ns) => format!("{doc_name}: WasmPlugin {ns}/{name}: spec.pluginConfig"),
        None => format!("{doc_name}: WasmPlugin {name}: spec.pluginConfig"),
    };
    let bytes = match doc.pointer("/spec/pluginConfig") {
        // Istio sends no configuration at all; the filter then refuses an empty one.
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(config) => serde_json::to_vec(config).map_err(|e| e.to_string()),
    };
    let node = vec![Seg::Key("spec".to_string()), Seg::Key("pluginConfig".to_string())];
    let mut found = Found::new(location, bytes, index, node);
    if let Some(url) = str_at(doc, "/spec/url") {
        found.deploy_problems = image_problems("spec.url", url, "spec.sha256", str_at(doc, "/spec/sha256"));
    }
    found
}

/// Where the walk through an Envoy document is: the JSON path (for the location), the YAML
/// path (for line numbers) and the name of the enclosing filter.
struct Walk<'v> {
    path: String,
    segs: Vec<Seg>,
    filter_name: Option<&'v str>,
}

impl<'v> Walk<'v> {
    fn child(&self, seg: Seg, filter_name: Option<&'v str>) -> Walk<'v> {
        let path = match &seg {
            Seg::Key(k) if self.path.is_empty() => k.clone(),
            Seg::Key(k) => format!("{}.{k}", self.path),
            Seg::Index(i) => format!("{}[{i}]", self.path),
        };
        let mut segs = self.segs.clone();
        segs.push(seg);
        Walk {
            path,
            segs,
            filter_name,
        }
    }
}

/// Every edge-cors entry of an Envoy Gateway `EnvoyExtensionPolicy`'s `spec.wasm`.
fn extension_policy_configs(doc: &Value, index: usize, doc_name: &str, found: &mut Vec<Found>) {
    let name = str_at(doc, "/metadata/name").unwrap_or("(unnamed)");
    let policy = match str_at(doc, "/metadata/namespace") {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    };
    let Some(entries) = doc.pointer("/spec/wasm").and_then(Value::as_array) else {
        return;
    };
    for (i, entry) in entries.iter().enumerate() {
        let mentions = ["/name", "/rootID", "/code/image/url", "/code/http/url"]
            .iter()
            .filter_map(|p| str_at(entry, p))
            .any(mentions_edge_cors);
        if !mentions {
            continue;
        }
        let bytes = match entry.get("config") {
            // Envoy Gateway passes an empty string when `config` is absent; the filter refuses it.
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(config) => serde_json::to_vec(config).map_err(|e| e.to_string()),
        };
        let node = vec![
            Seg::Key("spec".to_string()),
            Seg::Key("wasm".to_string()),
            Seg::Index(i),
            Seg::Key("config".to_string()),
        ];
        let location = format!("{doc_name}: EnvoyExtensionPolicy {policy}: spec.wasm[{i}].config");
        let mut f = Found::new(location, bytes, index, node);
        for source in ["image", "http"] {
            if let Some(url) = str_at(entry, &format!("/code/{source}/url")) {
                f.deploy_problems.extend(image_problems(
                    &format!("spec.wasm[{i}].code.{source}.url"),
                    url,
                    &format!("spec.wasm[{i}].code.{source}.sha256"),
                    str_at(entry, &format!("/code/{source}/sha256")),
                ));
            }
        }
        found.push(f);
    }
}

/// Every edge-cors entry of an Envoy Gateway `EnvoyExtensionPolicy`'s `spec.dynamicModule` (the
/// native module).
fn dynamic_module_policy_configs(doc: &Value, index: usize, doc_name: &str, found: &mut Vec<Found>) {
    let name = str_at(doc, "/metadata/name").unwrap_or("(unnamed)");
    let policy = match str_at(doc, "/metadata/namespace") {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    };
    let Some(entries) = doc.pointer("/spec/dynamicModule").and_then(Value::as_array) else {
        return;
    };
    for (i, entry) in entries.iter().enumerate() {
        let filter = str_at(entry, "/filterName");
        if filter != Some(NATIVE_FILTER_NAME) && !str_at(entry, "/name").is_some_and(mentions_edge_cors) {
            continue;
        }
        let bytes = if filter == Some(NATIVE_FILTER_NAME) {
            match entry.get("config") {
                // Envoy Gateway then passes no filter_config; the module refuses an empty one.
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(config) => serde_json::to_vec(config).map_err(|e| e.to_string()),
            }
        } else {
            Err(format!(
                "spec.dynamicModule[{i}].filterName: {:?}: the edge-cors module has one filter, \"{NATIVE_FILTER_NAME}\"",
                filter.unwrap_or("")
            ))
        };
        let node = vec![
            Seg::Key("spec".to_string()),
            Seg::Key("dynamicModule".to_string()),
            Seg::Index(i),
            Seg::Key("config".to_string()),
        ];
        let location = format!("{doc_name}: EnvoyExtensionPolicy {policy}: spec.dynamicModule[{i}].config");
        found.push(Found::new(location, bytes, index, node));
    }
}

/// Walk an Envoy document, remembering the JSON path and the name of the enclosing filter,
/// and collect every edge-cors Wasm filter configuration.
fn walk_envoy<'v>(v: &'v Value, at: &Walk<'v>, index: usize, doc_name: &str, found: &mut Vec<Found>) {
    match v {
        Value::Object(map) => {
            if map.get("@type").and_then(Value::as_str) == Some(DYNAMIC_MODULE_FILTER_TYPE)
                && map.get("filter_name").and_then(Value::as_str) == Some(NATIVE_FILTER_NAME)
            {
                let where_ = if at.path.is_empty() { "$" } else { at.path.as_str() };
                let label = at.filter_name.map(|n| format!(" ({n})")).unwrap_or_default();
                let config = map.get("filter_config").unwrap_or(&Value::Null);
                let mut node = at.segs.clone();
                node.push(Seg::Key("filter_config".to_string()));
                node.push(Seg::Key("value".to_string()));
                let mut f = Found::new(
                    format!("{doc_name}: {where_}{label}"),
                    module_filter_config(config),
                    index,
                    node,
                );
                f.in_string = config.get("@type").and_then(Value::as_str) == Some(STRING_VALUE_TYPE);
                found.push(f);
                return;
            }
            if map.get("@type").and_then(Value::as_str) == Some(WASM_FILTER_TYPE) {
                let config = map.get("config").unwrap_or(&Value::Null);
                if is_edge_cors_filter(config, at.filter_name) {
                    let where_ = if at.path.is_empty() { "$" } else { at.path.as_str() };
                    let label = at.filter_name.map(|n| format!(" ({n})")).unwrap_or_default();
                    let mut node = at.segs.clone();
                    node.extend(["config", "configuration", "value"].map(|k| Seg::Key(k.to_string())));
                    let mut f = Found::new(
                        format!("{doc_name}: {where_}{label}"),
                        envoy_configuration(config),
                        index,
                        node,
                    );
                    f.in_string = true;
                    if let Some(sha) = str_at(config, "/vm_config/code/remote/sha256") {
                        let uri = str_at(config, "/vm_config/code/remote/http_uri/uri").unwrap_or("");
                        f.deploy_problems = image_problems(
                            "vm_config.code.remote.http_uri.uri",
                            uri,
                            "vm_config.code.remote.sha256",
                            Some(sha),
                        );
                    }
                    found.push(f);
                }
                return;
            }
            let name_here = map.get("name").and_then(Value::as_str).or(at.filter_name);
            for (k, child) in map {
                walk_envoy(child, &at.child(Seg::Key(k.clone()), name_here), index, doc_name, found);
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                walk_envoy(child, &at.child(Seg::Index(i), at.filter_name), index, doc_name, found);
            }
        }
        _ => {}
    }
}

fn is_edge_cors_filter(config: &Value, filter_name: Option<&str>) -> bool {
    filter_name.is_some_and(mentions_edge_cors)
        || [
            "/name",
            "/root_id",
            "/vm_config/vm_id",
            "/vm_config/code/local/filename",
            "/vm_config/code/remote/http_uri/uri",
        ]
        .iter()
        .filter_map(|p| str_at(config, p))
        .any(mentions_edge_cors)
}

/// The bytes Envoy hands the native module for a DynamicModuleFilter's `filter_config`: a
/// `StringValue`'s string, or a `Struct` serialized as JSON.
fn module_filter_config(config: &Value) -> Result<Vec<u8>, String> {
    match config.get("@type").and_then(Value::as_str) {
        _ if config.is_null() => Ok(Vec::new()),
        Some(STRING_VALUE_TYPE) => match config.get("value") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(s.clone().into_bytes()),
            Some(_) => Err("filter_config.value: a google.protobuf.StringValue holds a string".to_string()),
        },
        Some(STRUCT_TYPE) => match config.get("value") {
            None | Some(Value::Null) => Ok(b"{}".to_vec()),
            Some(value) => serde_json::to_vec(value).map_err(|e| e.to_string()),
        },
        Some(other) => Err(format!(
            "filter_config has type {other}; edge-cors reads a google.protobuf.StringValue holding JSON"
        )),
        None => Err("filter_config has no @type; use google.protobuf.StringValue holding JSON".to_string()),
    }
}

/// The bytes Envoy hands to the plugin's on_configure for this `PluginConfig`.
fn envoy_configuration(config: &Value) -> Result<Vec<u8>, String> {
    let Some(configuration) = config.get("configuration").filter(|c| !c.is_null()) else {
        return Ok(Vec::new());
    };
    match configuration.get("@type").and_then(Value::as_str) {
        Some(STRING_VALUE_TYPE) => match configuration.get("value") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(s.clone().into_bytes()),
            Some(_) => Err("configuration.value: a google.protobuf.StringValue holds a string".to_string()),
        },
        Some(STRUCT_TYPE) => Err(
            "configuration is a google.protobuf.Struct, which Envoy passes to the plugin as \
             binary protobuf; edge-cors reads JSON: use google.protobuf.StringValue with the policy JSON in `value`"
                .to_string(),
        ),
        Some(other) => Err(format!(
            "configuration has type {other}; edge-cors reads a google.protobuf.StringValue holding JSON"
        )),
        None => Err("configuration has no @type; use google.protobuf.StringValue holding JSON".to_string()),
    }
}

/// One YAML (or JSON) document of a file: its value, and the lines of the file's nodes.
pub(crate) struct Document {
    pub(crate) value: Value,
    lines: Rc<Lines>,
    /// The document's index in the file, counted from 0.
    index: usize,
}

/// Every document of a file, in order, each able to name the line of any of its nodes (for
/// messages that point at the source: `file:line`).
pub(crate) fn read_documents(bytes: &[u8]) -> Result<Vec<Document>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let lines = Rc::new(Lines::of(text));
    let mut out = Vec::new();
    for (index, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| format!("document {}: not valid YAML: {e}", index + 1))?;
        out.push(Document {
            value,
            lines: Rc::clone(&lines),
            index,
        });
    }
    Ok(out)
}

impl Document {
    /// The 1-based line of the node at the JSON pointer `pointer` (`/spec/http/0/corsPolicy`),
    /// or of its nearest ancestor in the file ([`crate::lines`]).
    pub(crate) fn line(&self, pointer: &str) -> usize {
        let mut node = Some(&self.value);
        let mut segs = Vec::new();
        for raw in pointer.split('/').skip(1) {
            let key = raw.replace("~1", "/").replace("~0", "~");
            let seg = match (node, key.parse::<usize>()) {
                (Some(Value::Array(_)), Ok(i)) => Seg::Index(i),
                _ => Seg::Key(key),
            };
            node = node.and_then(|n| match &seg {
                Seg::Index(i) => n.get(*i),
                Seg::Key(k) => n.get(k.as_str()),
            });
            segs.push(seg);
        }
        self.lines.node_line(self.index, &segs).unwrap_or(1)
    }
}

/// A JSON pointer segment: `~` and `/` escaped (RFC 6901).
pub(crate) fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod document_tests {
    use super::*;

    #[test]
    fn every_node_of_every_document_has_the_line_it_starts_on() {
        let text = "a: 1\nb:\n  - x\n  - {c: 2,\n     d: 3}\n  - name: n\n    v: w\n---\n# c\nkind: K\nspec:\n  http:\n  - corsPolicy:\n      allowOrigins:\n      - exact: https://a\n      0: zero\n---\n";
        let docs = read_documents(text.as_bytes()).unwrap();
        assert_eq!(docs.len(), 3);
        for (pointer, line) in [
            ("/a", 1),
            ("/b", 2),
            ("/b/0", 3),
            ("/b/1", 4),
            ("/b/1/c", 4),
            ("/b/1/d", 5),
            ("/b/2", 6),
            ("/b/2/v", 7),
            ("/b/2/v/nothing/below", 7),
        ] {
            assert_eq!(docs[0].line(pointer), line, "{pointer}");
        }
        assert_eq!(docs[1].line("/kind"), 10);
        assert_eq!(docs[1].line("/spec/http/0/corsPolicy"), 13);
        assert_eq!(docs[1].line("/spec/http/0/corsPolicy/allowOrigins/0/exact"), 15);
        // A mapping key that reads as a number is a key, not an index.
        assert_eq!(docs[1].line("/spec/http/0/corsPolicy/0"), 16);
        assert!(docs[2].value.is_null());
    }

    #[test]
    fn keys_with_a_slash_or_tilde_are_escaped_as_json_pointers_do() {
        let docs = read_documents(b"m:\n  a/b: 1\n  c~d: 2\n").unwrap();
        assert_eq!(docs[0].line(&format!("/m/{}", pointer_segment("a/b"))), 2);
        assert_eq!(docs[0].line(&format!("/m/{}", pointer_segment("c~d"))), 3);
    }
}
