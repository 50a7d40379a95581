//! JSON bytes -> [`RawConfig`]: the configuration as written, typed, unknown fields refused,
//! before semantic validation. Every structural error is recorded with its path, and whatever
//! could be read is kept, so one run reports an unknown field and a bad origin together.

use serde_json::Value;

use super::error::{render_value, ConfigErrors, IssueKind};
use super::identity::valid_version;
use super::json::{Entries, Fields};
use super::limits::{MAX_CONFIG_BYTES, MAX_TOKEN_LEN, MIN_TOKEN_LEN};
use super::registry::{read_source, RegistrySource};
use super::settings::{DecisionHeader, Mode, RejectDisallowed};
use crate::rules::token::is_token;

/// The configuration as written, typed, before semantic validation.
#[derive(Debug, Default)]
pub(crate) struct RawConfig {
    pub(crate) policies: Vec<RawPolicy>,
    pub(crate) preflight_success_status: Option<Quoted>,
    /// Top-level `mode`, the default of every policy's.
    pub(crate) mode: Option<Mode>,
    pub(crate) decision_header: Option<DecisionHeader>,
    pub(crate) rejection_log_interval_seconds: Option<u64>,
    /// Top-level `version`, part of the configuration's identity.
    pub(crate) version: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct RawPolicy {
    /// JSON path of this policy, e.g. `policies[0]`.
    pub(crate) path: String,
    pub(crate) name: Option<String>,
    pub(crate) match_hosts: Entries,
    pub(crate) match_path_prefixes: Entries,
    pub(crate) match_route_names: Entries,
    pub(crate) allow_origins: Option<Entries>,
    pub(crate) allow_origin_regexes: Entries,
    /// `allow_origins_from`, when present and valid.
    pub(crate) allow_origins_from: Option<RegistrySource>,
    /// `allow_origins_from` is present (valid or not).
    pub(crate) has_source: bool,
    pub(crate) allow_methods: Entries,
    pub(crate) allow_headers: Entries,
    pub(crate) expose_headers: Entries,
    pub(crate) allow_credentials: bool,
    pub(crate) max_age: Option<Quoted>,
    pub(crate) allow_private_network_access: bool,
    pub(crate) mode: Option<Mode>,
    pub(crate) enforce_percent: Option<u8>,
    pub(crate) reject_disallowed: RejectDisallowed,
}

/// A number field the compiler checks later, kept as what the check and its error need: the
/// number when it is a whole one, and the value as errors quote it. The JSON value itself is
/// not cloned out of the document (a hostile one may be a list of a million entries).
#[derive(Debug)]
pub(crate) struct Quoted {
    /// The value, when it is a whole number from 0 up.
    pub(crate) whole: Option<u64>,
    /// The value is a whole number below 0.
    pub(crate) negative: bool,
    /// The value as compact JSON, cut as every quoted value is.
    pub(crate) text: String,
}

impl Quoted {
    fn of(v: &Value) -> Quoted {
        Quoted {
            whole: v.as_u64(),
            negative: v.as_i64().is_some_and(|n| n < 0),
            text: render_value(v),
        }
    }
}

/// Read the raw, typed configuration and every structural error. The raw configuration is
/// `None` only when there is nothing to read (not JSON, empty, too large); otherwise it holds
/// every field that could be read, even when errors were found.
pub(crate) fn read_raw(bytes: &[u8]) -> (Option<RawConfig>, ConfigErrors) {
    let mut errors = ConfigErrors::default();
    if bytes.len() > MAX_CONFIG_BYTES {
        errors.push("$", None, IssueKind::TooLarge { bytes: bytes.len() });
        return (None, errors);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        errors.push("$", None, IssueKind::Empty);
        return (None, errors);
    }
    let root: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            errors.push("$", None, IssueKind::InvalidJson { error: e.to_string() });
            return (None, errors);
        }
    };
    let mut raw = RawConfig::default();
    if let Some(mut top) = Fields::new(&root, "", &mut errors) {
        raw.preflight_success_status = top.value("preflight_success_status").map(Quoted::of);
        let mode = top.value("mode");
        raw.mode = parse_mode("mode", mode, top.errors);
        if let Some(v) = top.value("rejection_log_interval_seconds") {
            match v.as_u64() {
                Some(n @ 1..=3600) => raw.rejection_log_interval_seconds = Some(n),
                _ => top.errors.push(
                    "rejection_log_interval_seconds",
                    Some(v),
                    IssueKind::RejectionLogInterval,
                ),
            }
        }
        if let Some(v) = top.value("decision_header") {
            raw.decision_header = read_decision_header(v, "decision_header", top.errors);
        }
        if let Some(v) = top.string("version", false) {
            if valid_version(&v) {
                raw.version = Some(v);
            } else {
                top.errors.push_str("version", &v, IssueKind::Version);
            }
        }
        match top.array("policies", true) {
            Some(list) if list.is_empty() => top.errors.push("policies", None, IssueKind::NoPolicies),
            Some(list) => {
                for (i, v) in list.iter().enumerate() {
                    let path = format!("policies[{i}]");
                    if let Some(rp) = read_policy(v, &path, top.errors) {
                        raw.policies.push(rp);
                    }
                }
            }
            None => {}
        }
        top.finish();
    }
    (Some(raw), errors)
}

fn read_policy(v: &Value, path: &str, errors: &mut ConfigErrors) -> Option<RawPolicy> {
    let mut f = Fields::new(v, path, errors)?;
    let mut rp = RawPolicy {
        path: path.to_string(),
        ..RawPolicy::default()
    };
    rp.name = f.string("name", true);
    if let Some(m) = f.value("match") {
        let mpath = f.child("match");
        if let Some(mut mf) = Fields::new(m, &mpath, f.errors) {
            rp.match_hosts = mf.strings("hosts").unwrap_or_default();
            rp.match_path_prefixes = mf.strings("path_prefixes").unwrap_or_default();
            rp.match_route_names = mf.strings("route_names").unwrap_or_default();
            // Omitting a constraint means "any"; an empty list reads as "none" but would mean
            // "any" too: refused, so a template that rendered nothing cannot widen a policy.
            for key in ["hosts", "path_prefixes", "route_names"] {
                if m.get(key).and_then(Value::as_array).is_some_and(Vec::is_empty) {
                    mf.errors.push(
                        &format!("{mpath}.{key}"),
                        Some(&Value::Array(Vec::new())),
                        IssueKind::EmptyMatchList { key },
                    );
                }
            }
            mf.finish();
        }
    }
    rp.allow_origins = f.strings("allow_origins");
    rp.allow_origin_regexes = f.strings("allow_origin_regexes").unwrap_or_default();
    let source_path = f.child("allow_origins_from");
    if let Some(v) = f.value("allow_origins_from") {
        rp.has_source = true;
        rp.allow_origins_from = read_source(v, &source_path, f.errors);
    }
    rp.allow_methods = f.strings("allow_methods").unwrap_or_default();
    rp.allow_headers = f.strings("allow_headers").unwrap_or_default();
    rp.expose_headers = f.strings("expose_headers").unwrap_or_default();
    rp.allow_credentials = f.bool("allow_credentials").unwrap_or(false);
    rp.max_age = f.value("max_age").map(Quoted::of);
    rp.allow_private_network_access = f.bool("allow_private_network_access").unwrap_or(false);
    let mode_path = f.child("mode");
    let mode = f.value("mode");
    rp.mode = parse_mode(&mode_path, mode, f.errors);
    let percent_path = f.child("enforce_percent");
    let percent = f.value("enforce_percent");
    rp.enforce_percent = parse_percent(&percent_path, percent, f.errors);
    if let Some(v) = f.value("reject_disallowed") {
        let rpath = f.child("reject_disallowed");
        if let Some(mut rf) = Fields::new(v, &rpath, f.errors) {
            rp.reject_disallowed = RejectDisallowed {
                unsafe_methods: rf.bool("unsafe_methods").unwrap_or(false),
                websocket: rf.bool("websocket").unwrap_or(false),
            };
            rf.finish();
        }
    }
    f.finish();
    Some(rp)
}

/// Parse a `mode` field; unknown values are recorded as errors at `path`.
fn parse_mode(path: &str, value: Option<&Value>, errors: &mut ConfigErrors) -> Option<Mode> {
    match value? {
        Value::String(s) if s == "enforce" => Some(Mode::Enforce),
        Value::String(s) if s == "report_only" => Some(Mode::ReportOnly),
        other => {
            errors.push(path, Some(other), IssueKind::Mode);
            None
        }
    }
}

/// Parse `enforce_percent`: a whole number from 0 to 100.
fn parse_percent(path: &str, value: Option<&Value>, errors: &mut ConfigErrors) -> Option<u8> {
    let v = value?;
    match v.as_u64() {
        Some(n) if n <= 100 => u8::try_from(n).ok(),
        _ => {
            errors.push(path, Some(v), IssueKind::EnforcePercent);
            None
        }
    }
}

/// Read and validate the `decision_header` object at `path`.
fn read_decision_header(v: &Value, path: &str, errors: &mut ConfigErrors) -> Option<DecisionHeader> {
    let mut f = Fields::new(v, path, errors)?;
    let header = f.string("token_header", true);
    let token = f.string("token", true);
    let header_path = f.child("token_header");
    let token_path = f.child("token");
    f.finish();
    let mut ok = true;
    if let Some(h) = &header {
        let lower = h.to_ascii_lowercase();
        if !is_token(h) || lower != *h {
            errors.push_str(&header_path, h, IssueKind::TokenHeaderNotLowerCase);
            ok = false;
        } else if !lower.starts_with("x-") {
            errors.push_str(&header_path, h, IssueKind::TokenHeaderNotPrivate);
            ok = false;
        }
    }
    if let Some(t) = &token {
        let visible = t.bytes().all(|b| b.is_ascii_graphic());
        if t.len() < MIN_TOKEN_LEN || t.len() > MAX_TOKEN_LEN || !visible {
            // The value is a secret: never echo it in an error.
            errors.push(&token_path, None, IssueKind::TokenLength);
            ok = false;
        }
    }
    match (header, token) {
        (Some(token_header), Some(token)) if ok => Some(DecisionHeader { token_header, token }),
        _ => None,
    }
}
