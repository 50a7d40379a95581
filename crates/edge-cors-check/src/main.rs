//! edge-cors-check: the filter's own configuration validation as a command, for CI pipelines.
//!
//! It reads a policy JSON, an Istio `WasmPlugin` manifest or an Envoy config (YAML or JSON, one
//! or several documents), finds every edge-cors configuration in it and runs
//! [`edge_cors::core::config::compile`] on exactly the bytes the filter would receive:
//! - policy JSON: the file's bytes, verbatim;
//! - `WasmPlugin`: `spec.pluginConfig` serialized as JSON (Istio hands it to the plugin as a
//!   `google.protobuf.StringValue` holding JSON); an absent `pluginConfig` is an empty config;
//! - Envoy: the `value` of the `google.protobuf.StringValue` in `configuration` of every
//!   `envoy.extensions.filters.http.wasm.v3.Wasm` whose name, root id, VM id or code path says
//!   edge-cors (static listeners, ECDS resources, anywhere in the document).
//!
//! Exit status: 0 every configuration is valid (a summary of each compiled policy is printed),
//! 1 at least one is invalid (every error is printed with its JSON path), 2 the command could
//! not check (unreadable file, not YAML/JSON, no edge-cors configuration found, bad usage).
//!
//! Built only with the `checker` feature (`cargo build --features checker --bin
//! edge-cors-check`) so the YAML parser is never linked into the wasm filter.

// Same rule as the library: a checker that panics on a hostile file is no CI gate.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use edge_cors::core::config::{compile, read_raw, Config};
use edge_cors::core::ConfigErrors;
use serde::Deserialize;
use serde_json::Value;

const USAGE: &str = "\
usage: edge-cors-check [--quiet] FILE...

Checks every edge-cors configuration in each FILE with the filter's own validation.
FILE is a policy JSON (*.json without `kind` or `static_resources`), an Istio WasmPlugin
manifest, or an Envoy config (YAML or JSON; several YAML documents allowed). `-` reads stdin.

  --quiet   print only errors, not the summary of valid policies

exit status: 0 all valid, 1 some configuration is invalid, 2 could not check";

const WASM_FILTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const STRING_VALUE_TYPE: &str = "type.googleapis.com/google.protobuf.StringValue";
const STRUCT_TYPE: &str = "type.googleapis.com/google.protobuf.Struct";

/// One configuration found in a file: where it is, and the bytes the filter would receive (or
/// why it would receive something it cannot read).
struct Found {
    location: String,
    bytes: Result<Vec<u8>, String>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Status {
    Valid = 0,
    Invalid = 1,
    CannotCheck = 2,
}

fn main() -> ExitCode {
    let mut quiet = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--quiet" | "-q" => quiet = true,
            s if s.starts_with("--") => {
                eprintln!("edge-cors-check: unknown option {s}\n{USAGE}");
                return ExitCode::from(Status::CannotCheck as u8);
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(Status::CannotCheck as u8);
    }
    let mut worst = Status::Valid;
    for file in &files {
        let status = check_file(file, quiet);
        worst = worst.max(status);
    }
    ExitCode::from(worst as u8)
}

fn check_file(file: &str, quiet: bool) -> Status {
    let bytes = match read_input(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{file}: cannot read: {e}");
            return Status::CannotCheck;
        }
    };
    let found = match find_configs(file, &bytes) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("{file}: {e}");
            return Status::CannotCheck;
        }
    };
    if found.is_empty() {
        eprintln!(
            "{file}: no edge-cors configuration found (expected a policy JSON, a WasmPlugin, or an Envoy \
             Wasm filter whose name, root_id, vm_id or code path contains edge-cors)"
        );
        return Status::CannotCheck;
    }
    let mut worst = Status::Valid;
    for f in found {
        let status = match f.bytes {
            Err(why) => {
                println!("{file}: {}: invalid: {why}", f.location);
                Status::Invalid
            }
            Ok(config) => match compile(&config) {
                Ok(compiled) => {
                    if !quiet {
                        print!("{}", summary(file, &f.location, &compiled, &config));
                    }
                    print!("{}", warning_report(file, &f.location, &compiled.warnings));
                    Status::Valid
                }
                Err(errors) => {
                    print!("{}", error_report(file, &f.location, &errors));
                    Status::Invalid
                }
            },
        };
        worst = worst.max(status);
    }
    worst
}

fn read_input(file: &str) -> std::io::Result<Vec<u8>> {
    if file == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file)
    }
}

/// Every edge-cors configuration in the file, in document order.
fn find_configs(file: &str, bytes: &[u8]) -> Result<Vec<Found>, String> {
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

fn error_report(file: &str, location: &str, errors: &ConfigErrors) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{file}: {location}: invalid ({} error{}):",
        errors.total,
        if errors.total == 1 { "" } else { "s" }
    );
    for e in &errors.errors {
        let _ = writeln!(out, "  - {e}");
    }
    if errors.total > errors.errors.len() {
        let _ = writeln!(out, "  ... and {} more", errors.total - errors.errors.len());
    }
    out.push_str(&warning_report(file, location, &errors.warnings));
    out
}

/// One line per warning, in the form the filter logs them at load (`warning: path: value: message`).
fn warning_report(file: &str, location: &str, warnings: &[edge_cors::core::ConfigError]) -> String {
    let mut out = String::new();
    for w in warnings {
        let _ = writeln!(out, "{file}: {location}: warning: {w}");
    }
    out
}

/// A short account of the compiled policy: what the filter will do, policy by policy. The
/// compiled [`Config`] says what was accepted; the lists are shown as written.
fn summary(file: &str, location: &str, config: &Config, bytes: &[u8]) -> String {
    let raw = read_raw(bytes).0.unwrap_or_default();
    let mut out = String::new();
    let n = config.policies.len();
    let _ = writeln!(
        out,
        "{file}: {location}: valid: {n} polic{}, preflight status {}",
        if n == 1 { "y" } else { "ies" },
        config.preflight_status
    );
    for (policy, rp) in config.policies.iter().zip(raw.policies.iter()) {
        let origins = match policy.origin_entries() {
            _ if policy.allows_any_origin() => "origins any (*)".to_string(),
            1 => "origins 1 entry".to_string(),
            n => format!("origins {n} entries"),
        };
        let mut parts = vec![
            format!("hosts {}", or_any(&rp.match_hosts)),
            format!("paths {}", or_any(&rp.match_path_prefixes)),
            origins,
            format!("credentials {}", if policy.allows_credentials() { "yes" } else { "no" }),
        ];
        for (label, list) in [
            ("methods", &rp.allow_methods),
            ("headers", &rp.allow_headers),
            ("expose", &rp.expose_headers),
        ] {
            if !list.is_empty() {
                parts.push(format!("{label} {}", join(list)));
            }
        }
        if let Some(max_age) = &rp.max_age {
            parts.push(format!("max-age {max_age}"));
        }
        if rp.allow_private_network_access {
            parts.push("private network access".to_string());
        }
        let _ = writeln!(out, "  - {}: {}", policy.name, parts.join("; "));
    }
    out
}

fn or_any(entries: &[(String, String)]) -> String {
    if entries.is_empty() {
        "any".to_string()
    } else {
        join(entries)
    }
}

fn join(entries: &[(String, String)]) -> String {
    entries.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(",")
}
