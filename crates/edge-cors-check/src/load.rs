//! Finding edge-cors configurations in a file: a policy JSON, an Istio `WasmPlugin`, or an
//! Envoy config, and the bytes the filter would receive from each:
//! - policy JSON: the file's bytes, verbatim;
//! - `WasmPlugin`: `spec.pluginConfig` serialized as JSON (Istio hands it to the plugin as a
//!   `google.protobuf.StringValue` holding JSON); an absent `pluginConfig` is an empty config;
//! - Envoy Gateway `EnvoyExtensionPolicy`: `spec.wasm[i].config` of every entry whose name, root
//!   id or code URL says edge-cors, serialized as JSON (Envoy Gateway passes it to the plugin as a
//!   `StringValue` holding JSON, `""` when absent); a code URL or sha256 still holding a `<...>`
//!   placeholder of the shipped manifests is refused, so they cannot be applied unedited;
//! - Envoy: the `value` of the `google.protobuf.StringValue` in `configuration` of every
//!   `envoy.extensions.filters.http.wasm.v3.Wasm` whose name, root id, VM id or code path says
//!   edge-cors (static listeners, ECDS resources, anywhere in the document).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

const WASM_FILTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const STRING_VALUE_TYPE: &str = "type.googleapis.com/google.protobuf.StringValue";
const STRUCT_TYPE: &str = "type.googleapis.com/google.protobuf.Struct";

/// One configuration found in a file: where it is, and the bytes the filter would receive (or
/// why it would receive something it cannot read).
pub(crate) struct Found {
    pub(crate) location: String,
    pub(crate) bytes: Result<Vec<u8>, String>,
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
                return Ok(vec![Found {
                    location: "policy".to_string(),
                    bytes: Ok(bytes.to_vec()),
                }]);
            }
        } else if file != "-" || !looks_like_yaml(bytes) {
            // Not JSON at all: the filter's own parser reports it (with its position).
            return Ok(vec![Found {
                location: "policy".to_string(),
                bytes: Ok(bytes.to_vec()),
            }]);
        }
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut found = Vec::new();
    for (index, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| format!("document {}: not valid YAML: {e}", index + 1))?;
        let doc_name = format!("document {}", index + 1);
        find_in_document(&value, &doc_name, &mut found);
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

fn find_in_document(doc: &Value, doc_name: &str, found: &mut Vec<Found>) {
    if doc.is_null() {
        return; // an empty document (a trailing `---`)
    }
    if doc.get("kind").and_then(Value::as_str) == Some("WasmPlugin") {
        if is_edge_cors_plugin(doc) {
            found.push(wasm_plugin_config(doc, doc_name));
        }
        return;
    }
    if doc.get("kind").and_then(Value::as_str) == Some("EnvoyExtensionPolicy") {
        extension_policy_configs(doc, doc_name, found);
        return;
    }
    if doc.get("policies").is_some() && !is_manifest_or_envoy(doc) {
        // A policy written as YAML: the filter receives it as JSON.
        found.push(Found {
            location: format!("{doc_name}: policy"),
            bytes: serde_json::to_vec(doc).map_err(|e| e.to_string()),
        });
        return;
    }
    walk_envoy(doc, String::new(), None, doc_name, found);
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

fn wasm_plugin_config(doc: &Value, doc_name: &str) -> Found {
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
    Found { location, bytes }
}

/// The code locations of an `EnvoyExtensionPolicy` Wasm entry, by JSON pointer.
const EXTENSION_CODE_FIELDS: [&str; 3] = ["/code/image/url", "/code/http/url", "/code/http/sha256"];

/// Every edge-cors entry of an Envoy Gateway `EnvoyExtensionPolicy`'s `spec.wasm`.
fn extension_policy_configs(doc: &Value, doc_name: &str, found: &mut Vec<Found>) {
    let name = str_at(doc, "/metadata/name").unwrap_or("(unnamed)");
    let policy = match str_at(doc, "/metadata/namespace") {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    };
    let Some(entries) = doc.pointer("/spec/wasm").and_then(Value::as_array) else {
        return;
    };
    for (i, entry) in entries.iter().enumerate() {
        let mentions = ["/name", "/rootID"]
            .iter()
            .chain(EXTENSION_CODE_FIELDS[..2].iter())
            .filter_map(|p| str_at(entry, p))
            .any(mentions_edge_cors);
        if !mentions {
            continue;
        }
        let placeholder = EXTENSION_CODE_FIELDS
            .iter()
            .find_map(|p| str_at(entry, p).filter(|v| v.contains('<')).map(|v| (p, v)));
        let bytes = match (placeholder, entry.get("config")) {
            (Some((pointer, value)), _) => Err(format!(
                "spec.wasm[{i}]{}: {value:?} is a placeholder; set the module's real {}",
                pointer.replace('/', "."),
                if pointer.ends_with("sha256") {
                    "sha256"
                } else {
                    "location"
                }
            )),
            // Envoy Gateway passes an empty string when `config` is absent; the filter refuses it.
            (None, None | Some(Value::Null)) => Ok(Vec::new()),
            (None, Some(config)) => serde_json::to_vec(config).map_err(|e| e.to_string()),
        };
        found.push(Found {
            location: format!("{doc_name}: EnvoyExtensionPolicy {policy}: spec.wasm[{i}].config"),
            bytes,
        });
    }
}

/// Walk an Envoy document, remembering the JSON path and the name of the enclosing filter,
/// and collect every edge-cors Wasm filter configuration.
fn walk_envoy(v: &Value, path: String, filter_name: Option<&str>, doc_name: &str, found: &mut Vec<Found>) {
    match v {
        Value::Object(map) => {
            if map.get("@type").and_then(Value::as_str) == Some(WASM_FILTER_TYPE) {
                let config = map.get("config").unwrap_or(&Value::Null);
                if is_edge_cors_filter(config, filter_name) {
                    let where_ = if path.is_empty() { "$".to_string() } else { path };
                    let label = filter_name.map(|n| format!(" ({n})")).unwrap_or_default();
                    found.push(Found {
                        location: format!("{doc_name}: {where_}{label}"),
                        bytes: envoy_configuration(config),
                    });
                }
                return;
            }
            let name_here = map.get("name").and_then(Value::as_str).or(filter_name);
            for (k, child) in map {
                let child_path = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk_envoy(child, child_path, name_here, doc_name, found);
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                walk_envoy(child, format!("{path}[{i}]"), filter_name, doc_name, found);
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

/// One YAML (or JSON) document of a file: its value, and the line of every node in it.
pub(crate) struct Document {
    pub(crate) value: Value,
    pub(crate) lines: Lines,
}

/// Every document of a file, in order, each with the line of every node (for messages that
/// point at the source: `file:line`).
pub(crate) fn read_documents(bytes: &[u8]) -> Result<Vec<Document>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut lines = line_index(text)?.into_iter();
    let mut out = Vec::new();
    for (index, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| format!("document {}: not valid YAML: {e}", index + 1))?;
        out.push(Document {
            value,
            lines: lines.next().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The 1-based line of each node of one document, by JSON pointer (`/spec/http/0/corsPolicy`):
/// the line of its key in a mapping, of the item itself in a sequence.
#[derive(Debug, Default)]
pub(crate) struct Lines(std::collections::HashMap<String, usize>);

impl Lines {
    /// The line of the node at `pointer`, or of its nearest ancestor that has one.
    pub(crate) fn at(&self, pointer: &str) -> usize {
        let mut p = pointer;
        loop {
            if let Some(line) = self.0.get(p) {
                return *line;
            }
            match p.rfind('/') {
                Some(cut) => p = p.get(..cut).unwrap_or(""),
                None => return 1,
            }
        }
    }
}

/// A JSON pointer segment: `~` and `/` escaped (RFC 6901).
pub(crate) fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Where the YAML event parser is inside a document.
enum Frame {
    /// A mapping, and the key whose value comes next (`None`: a key comes next).
    Map(Option<String>),
    /// A sequence, and the index of the next item.
    Seq(usize),
}

fn frame_pointer(stack: &[Frame]) -> String {
    let mut p = String::new();
    for f in stack {
        p.push('/');
        match f {
            Frame::Map(key) => p.push_str(&pointer_segment(key.as_deref().unwrap_or(""))),
            Frame::Seq(i) => p.push_str(&i.to_string()),
        }
    }
    p
}

/// A value ended: the enclosing mapping expects a key again, the sequence its next item.
fn value_done(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Map(key)) => *key = None,
        Some(Frame::Seq(i)) => *i += 1,
        None => {}
    }
}

/// The line index of every document of `text`, read with a YAML event parser that keeps
/// positions (serde's `Value` keeps none).
fn line_index(text: &str) -> Result<Vec<Lines>, String> {
    use saphyr_parser::{Event, Parser};
    let mut docs = Vec::new();
    let mut current: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| format!("not valid YAML: {e}"))?;
        let line = span.start.line();
        match event {
            Event::DocumentStart(_) => {
                current.clear();
                stack.clear();
            }
            Event::DocumentEnd => docs.push(Lines(std::mem::take(&mut current))),
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map(key @ None)) = stack.last_mut() {
                    *key = Some(value.into_owned());
                    current.entry(frame_pointer(&stack)).or_insert(line);
                } else {
                    current.entry(frame_pointer(&stack)).or_insert(line);
                    value_done(&mut stack);
                }
            }
            Event::Alias(_) => {
                current.entry(frame_pointer(&stack)).or_insert(line);
                value_done(&mut stack);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                current.entry(frame_pointer(&stack)).or_insert(line);
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map(None)
                } else {
                    Frame::Seq(0)
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                value_done(&mut stack);
            }
            _ => {}
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_of_every_document_has_the_line_it_starts_on() {
        let text = "a: 1\nb:\n  - x\n  - {c: 2,\n     d: 3}\n  - name: n\n    v: w\n---\n# c\nkind: K\nspec:\n  http:\n  - corsPolicy:\n      allowOrigins:\n      - exact: https://a\n---\n";
        let docs = read_documents(text.as_bytes()).unwrap();
        assert_eq!(docs.len(), 3);
        let l = &docs[0].lines;
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
            assert_eq!(l.at(pointer), line, "{pointer}");
        }
        let l = &docs[1].lines;
        assert_eq!(l.at("/kind"), 10);
        assert_eq!(l.at("/spec/http/0/corsPolicy"), 13);
        assert_eq!(l.at("/spec/http/0/corsPolicy/allowOrigins/0/exact"), 15);
        assert!(docs[2].value.is_null());
    }

    #[test]
    fn keys_with_a_slash_or_tilde_are_escaped_as_json_pointers_do() {
        let docs = read_documents(b"m:\n  a/b: 1\n  c~d: 2\n").unwrap();
        assert_eq!(docs[0].lines.at("/m/a~1b"), 2);
        assert_eq!(docs[0].lines.at("/m/c~0d"), 3);
    }
}
