//! The checker's reports. Text: the core renders every error, warning and summary exactly as
//! the filter logs them; this prefixes each with the file, the line (YAML inputs) and the
//! location in it. JSON (`--format json`): the same findings as data for CI, each with its
//! path, kind, value, message and line.

use edge_cors_core::{render_warnings, summary, Config, ConfigErrors, ConfigIssue};
use serde_json::{json, Value};

use crate::Status;

/// The release this checker belongs to: its version (Cargo.toml `[workspace.package]`) and,
/// in a release build (scripts/release.sh), the sha256 of the wasm module built with it.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");
pub(crate) const WASM_SHA256: Option<&str> = option_env!("EDGE_CORS_WASM_SHA256");

/// `edge-cors-check --version`.
pub(crate) fn version_text() -> String {
    let wasm = match WASM_SHA256 {
        Some(sha) => format!("edge_cors.wasm sha256:{sha}"),
        None => "edge_cors.wasm sha256 unknown: not a release build (scripts/release.sh builds both)".to_string(),
    };
    format!("edge-cors-check {VERSION}\n{wasm}\n")
}

/// Where a configuration is: `file: location` or, when its line is known, `file:line: location`.
pub(crate) struct Where<'a> {
    pub(crate) file: &'a str,
    pub(crate) line: Option<usize>,
    pub(crate) location: &'a str,
}

impl std::fmt::Display for Where<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.location),
            None => write!(f, "{}: {}", self.file, self.location),
        }
    }
}

/// Every error, then every warning, of an invalid configuration.
pub(crate) fn error_report(at: &Where<'_>, errors: &ConfigErrors) -> String {
    let mut out = errors.render(&format!("{at}: invalid"));
    out.push_str(&warning_report(at, &errors.warnings));
    out
}

/// One line per warning, in the form the filter logs them at load (`warning: path: value: message`).
pub(crate) fn warning_report(at: &Where<'_>, warnings: &[ConfigIssue]) -> String {
    render_warnings(&format!("{at}: "), warnings)
}

/// A short account of a valid configuration, policy by policy.
pub(crate) fn valid_report(at: &Where<'_>, config: &Config, bytes: &[u8]) -> String {
    summary::valid_report(&format!("{at}: "), config, bytes)
}

/// The status name of the JSON report.
pub(crate) fn status_name(status: Status) -> &'static str {
    match status {
        Status::Valid => "valid",
        Status::Invalid => "invalid",
        Status::CannotCheck => "cannot_check",
    }
}

/// One finding as data: `severity` error or warning, the JSON `path` inside the configuration,
/// the stable `kind` ([`edge_cors_core::IssueKind::code`]), the offending `value` as the JSON
/// text the message quotes (or null), the `message` in the filter's words, and the `line` of
/// the file it comes from (null when unknown).
pub(crate) fn finding(severity: &str, issue: &ConfigIssue, line: Option<usize>) -> Value {
    json!({
        "severity": severity,
        "path": issue.path,
        "kind": issue.kind.code(),
        "value": issue.value,
        "message": issue.kind.to_string(),
        "line": line,
    })
}

/// A finding that is not about the policy (a configuration the filter cannot read, a
/// placeholder image): `kind` names it, `path` is the manifest field or `$`.
pub(crate) fn other_finding(kind: &str, path: &str, message: &str, line: Option<usize>) -> Value {
    json!({
        "severity": "error",
        "path": path,
        "kind": kind,
        "value": null,
        "message": message,
        "line": line,
    })
}

/// The JSON document `--format json` prints: the checker's version, the worst status, and per
/// file its status and configurations (or the reason it could not be checked).
pub(crate) fn json_report(status: Status, files: Vec<Value>) -> Value {
    json!({
        "edge_cors_check": VERSION,
        "status": status_name(status),
        "files": files,
    })
}
