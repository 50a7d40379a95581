//! Finding edge-cors configurations in a file: a policy JSON, an Istio `WasmPlugin`, or an
//! Envoy config, and the bytes the filter would receive from each:
//! - policy JSON: the file's bytes, verbatim;
//! - `WasmPlugin`: `spec.pluginConfig` serialized as JSON (Istio hands it to the plugin as a
//!   `google.protobuf.StringValue` holding JSON); an absent `pluginConfig` is an empty config;
//! - Envoy Gateway `EnvoyExtensionPolicy`: `spec.wasm[i].config` of every entry whose name, root
//!   id or code URL says edge-cors, serialized as JSON (Envoy Gateway passes it to the plugin as a
//!   `StringValue` holding JSON, `""` when absent); a code URL or sha256 still holding a `<...>`
//!   placeholder of the shipped manifests is refused, so they cannot be applied unedited;
//! - Envoy Gateway `EnvoyExtensionPolicy`: `spec.dynamicModule[i].config` of every entry whose
//!   `filterName` is `edge-cors` (or whose module name says edge-cors, which then must name that
//!   filter), serialized as JSON (the native module's configuration);
//! - Envoy: the `value` of the `google.protobuf.StringValue` in `configuration` of every
//!   `envoy.extensions.filters.http.wasm.v3.Wasm` whose name, root id, VM id or code path says
//!   edge-cors, and the `filter_config` of every
//!   `envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter` whose `filter_name`
//!   is `edge-cors` (the native module; a `google.protobuf.Struct` arrives there as JSON) (static
//!   listeners, ECDS resources, anywhere in the document).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

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
        dynamic_module_policy_configs(doc, doc_name, found);
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

/// Every edge-cors entry of an Envoy Gateway `EnvoyExtensionPolicy`'s `spec.dynamicModule` (the
/// native module).
fn dynamic_module_policy_configs(doc: &Value, doc_name: &str, found: &mut Vec<Found>) {
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
        found.push(Found {
            location: format!("{doc_name}: EnvoyExtensionPolicy {policy}: spec.dynamicModule[{i}].config"),
            bytes,
        });
    }
}

/// Walk an Envoy document, remembering the JSON path and the name of the enclosing filter,
/// and collect every edge-cors Wasm filter configuration.
fn walk_envoy(v: &Value, path: String, filter_name: Option<&str>, doc_name: &str, found: &mut Vec<Found>) {
    match v {
        Value::Object(map) => {
            if map.get("@type").and_then(Value::as_str) == Some(DYNAMIC_MODULE_FILTER_TYPE)
                && map.get("filter_name").and_then(Value::as_str) == Some(NATIVE_FILTER_NAME)
            {
                let where_ = if path.is_empty() { "$".to_string() } else { path };
                let label = filter_name.map(|n| format!(" ({n})")).unwrap_or_default();
                found.push(Found {
                    location: format!("{doc_name}: {where_}{label}"),
                    bytes: module_filter_config(map.get("filter_config").unwrap_or(&Value::Null)),
                });
                return;
            }
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
