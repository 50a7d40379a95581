//! Configuration: JSON bytes -> [`RawConfig`] (typed, unknown fields refused) -> [`Config`].
//!
//! serde's derived deserializers stop at the first problem and lose the JSON path, so the raw
//! configuration is read from a `serde_json::Value` by [`Fields`], which records every missing,
//! mistyped and unknown field with its path and carries on. Compilation then validates the
//! semantics of each field and records those errors too. Nothing is compiled half-way: any
//! error means no [`Config`], and the glue makes Envoy refuse the filter.

use std::rc::Rc;

use serde_json::{Map, Value};

use super::decision_header::DecisionHeader;
use super::error::ConfigErrors;
use super::policy::Policy;
use super::rollout::{self, Mode, RejectDisallowed};
use super::route_match::RouteMatch;

/// Config files larger than this are refused before parsing.
pub const MAX_CONFIG_BYTES: usize = 16 << 20;

/// Successful preflight status codes (Fetch §4.8 step 7 accepts any ok status; 204 carries no
/// body and is the default, 200 is for old clients that mishandle 204).
pub const PREFLIGHT_STATUSES: [u64; 2] = [200, 204];

/// Default of `rejection_log_interval_seconds`.
pub const DEFAULT_REJECTION_LOG_INTERVAL_SECONDS: u64 = 60;

/// A `(json path, value)` pair for each element of a string list.
pub type Entries = Vec<(String, String)>;

/// The configuration as written, typed, before semantic validation.
#[derive(Debug, Default)]
pub struct RawConfig {
    pub policies: Vec<RawPolicy>,
    pub preflight_success_status: Option<Value>,
    /// Top-level `mode`, the default of every policy's.
    pub mode: Option<Mode>,
    pub decision_header: Option<DecisionHeader>,
    pub rejection_log_interval_seconds: Option<u64>,
}

#[derive(Debug, Default)]
pub struct RawPolicy {
    /// JSON path of this policy, e.g. `policies[0]`.
    pub path: String,
    pub name: Option<String>,
    pub match_hosts: Entries,
    pub match_path_prefixes: Entries,
    pub allow_origins: Option<Entries>,
    pub allow_origin_regexes: Entries,
    pub allow_methods: Entries,
    pub allow_headers: Entries,
    pub expose_headers: Entries,
    pub allow_credentials: bool,
    pub max_age: Option<Value>,
    pub allow_private_network_access: bool,
    pub mode: Option<Mode>,
    pub enforce_percent: Option<u8>,
    pub reject_disallowed: RejectDisallowed,
}

/// The compiled configuration held by the root context and shared by every request.
#[derive(Debug)]
pub struct Config {
    pub policies: Vec<Rc<Policy>>,
    /// Status of an allowed preflight answer.
    pub preflight_status: u16,
    /// The debug aid's token header, when configured (read on every request then).
    pub decision_header: Option<DecisionHeader>,
    /// Each origin's rejections are logged at most once per this many seconds; suppressed
    /// lines are summarised at the same period.
    pub rejection_log_interval_seconds: u64,
    /// Whether policy selection needs `:authority` / `:path` (read only when some policy
    /// before the first catch-all constrains them).
    pub(crate) reads_authority: bool,
    pub(crate) reads_path: bool,
    /// What validation found questionable but not wrong; the filter logs each line at load
    /// and the checker prints them.
    pub warnings: Vec<super::error::ConfigError>,
}

/// Parse and validate a configuration. Every problem is reported, not just the first.
pub fn compile(bytes: &[u8]) -> Result<Config, ConfigErrors> {
    // Structural errors do not stop here: whatever could be read is validated too, so one
    // run reports an unknown field and a bad origin in the same list.
    let (raw, mut errors) = read_raw(bytes);
    if raw.is_none() {
        return Err(errors);
    }
    let raw = raw.unwrap_or_default();
    let preflight_status = match &raw.preflight_success_status {
        None => 204,
        Some(v) => match v.as_u64() {
            Some(n @ (200 | 204)) => n as u16,
            _ => {
                errors.push("preflight_success_status", Some(v), "must be 200 or 204");
                204
            }
        },
    };
    let mut policies: Vec<Rc<Policy>> = Vec::with_capacity(raw.policies.len());
    for (index, rp) in raw.policies.iter().enumerate() {
        let mut policy = Policy::compile(rp, &mut errors);
        policy.index = index;
        policy.mode = rp.mode.or(raw.mode).unwrap_or_default();
        policy.enforce_percent = match policy.mode {
            Mode::ReportOnly => 0,
            Mode::Enforce => rp.enforce_percent.unwrap_or(100),
        };
        policy.reject_disallowed = rp.reject_disallowed;
        refuse_contradictions(rp, &policy, &mut errors);
        if policies.iter().any(|p| p.name == policy.name) {
            let name = Value::String(policy.name.to_string());
            errors.push(&format!("{}.name", rp.path), Some(&name), "duplicate policy name");
        }
        policies.push(Rc::new(policy));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    warn_shadowed(&policies, &mut errors);
    // Requests stop at the first catch-all policy, so only the policies before it decide
    // whether `:authority` or `:path` must be read at all.
    let mut reads_authority = false;
    let mut reads_path = false;
    for p in &policies {
        reads_authority |= p.route.constrains_host();
        reads_path |= p.route.constrains_path();
        if !p.route.constrains_host() && !p.route.constrains_path() {
            break;
        }
    }
    Ok(Config {
        policies,
        preflight_status,
        decision_header: raw.decision_header,
        rejection_log_interval_seconds: raw
            .rejection_log_interval_seconds
            .unwrap_or(DEFAULT_REJECTION_LOG_INTERVAL_SECONDS),
        reads_authority,
        reads_path,
        warnings: errors.warnings,
    })
}

/// Settings that are each valid but together mean nothing, or not what they say: refused, so
/// an operator never believes a protection is on when it is not.
fn refuse_contradictions(rp: &RawPolicy, policy: &Policy, errors: &mut ConfigErrors) {
    let percent_path = format!("{}.enforce_percent", rp.path);
    match (policy.mode, rp.enforce_percent) {
        (Mode::ReportOnly, Some(p)) if rp.mode == Some(Mode::ReportOnly) => errors.push(
            &percent_path,
            Some(&Value::from(p)),
            "has no effect in report_only mode; remove it, or set mode to \"enforce\"",
        ),
        (Mode::ReportOnly, Some(p)) => errors.push(
            &percent_path,
            Some(&Value::from(p)),
            "has no effect: the top-level mode is \"report_only\" and this policy sets no mode of its own; \
             remove it, or set this policy's mode to \"enforce\"",
        ),
        (Mode::Enforce, Some(0)) => errors.push(
            &percent_path,
            Some(&Value::from(0)),
            "enforces nothing; write \"mode\": \"report_only\" instead",
        ),
        _ => {}
    }
    if policy.allows_any_origin() {
        let reject = rp.reject_disallowed;
        for (flag, on) in [
            ("unsafe_methods", reject.unsafe_methods),
            ("websocket", reject.websocket),
        ] {
            if on {
                errors.push(
                    &format!("{}.reject_disallowed.{flag}", rp.path),
                    Some(&Value::Bool(true)),
                    "never blocks anything: no origin is rejected under allow_origins [\"*\"]; list the \
                     trusted origins in allow_origins to block the others, or remove it",
                );
            }
        }
    }
}

/// A policy an earlier one (or several together) covers can never be selected: a warning,
/// since it is most likely a policy placed after a broader one by mistake.
fn warn_shadowed(policies: &[Rc<Policy>], errors: &mut ConfigErrors) {
    let routes: Vec<&RouteMatch> = policies.iter().map(|p| &p.route).collect();
    for (j, policy) in policies.iter().enumerate() {
        let Some(by) = policy.route.shadowed_by(routes.get(..j).unwrap_or_default()) else {
            continue;
        };
        let mut message = String::from("never selected: ");
        for (n, p) in by.iter().filter_map(|&i| policies.get(i)).enumerate() {
            if n > 0 {
                message.push_str(" and ");
            }
            message.push_str(&format!("policies[{}] (\"{}\")", p.index(), p.name));
        }
        message.push_str(if by.len() == 1 {
            " matches every request it matches"
        } else {
            " together match every request it matches"
        });
        errors.warn(&format!("policies[{j}]"), None, message);
    }
}

/// Read the raw, typed configuration and every structural error. The raw configuration is
/// `None` only when there is nothing to read (not JSON, empty, too large); otherwise it holds
/// every field that could be read, even when errors were found.
pub fn read_raw(bytes: &[u8]) -> (Option<RawConfig>, ConfigErrors) {
    let mut errors = ConfigErrors::default();
    if bytes.len() > MAX_CONFIG_BYTES {
        errors.push(
            "$",
            None,
            format!(
                "configuration is {} bytes; the limit is {MAX_CONFIG_BYTES}",
                bytes.len()
            ),
        );
        return (None, errors);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        errors.push(
            "$",
            None,
            "configuration is empty; expected a JSON object with `policies`",
        );
        return (None, errors);
    }
    let root: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            errors.push("$", None, format!("invalid JSON: {e}"));
            return (None, errors);
        }
    };
    let mut raw = RawConfig::default();
    if let Some(mut top) = Fields::new(&root, "", &mut errors) {
        raw.preflight_success_status = top.value("preflight_success_status").cloned();
        let mode = top.value("mode");
        raw.mode = Mode::parse("mode", mode, top.errors);
        if let Some(v) = top.value("rejection_log_interval_seconds") {
            match v.as_u64() {
                Some(n @ 1..=3600) => raw.rejection_log_interval_seconds = Some(n),
                _ => top.errors.push(
                    "rejection_log_interval_seconds",
                    Some(v),
                    "must be a whole number of seconds from 1 to 3600",
                ),
            }
        }
        if let Some(v) = top.value("decision_header") {
            raw.decision_header = DecisionHeader::read(v, "decision_header", top.errors);
        }
        match top.array("policies", true) {
            Some(list) if list.is_empty() => top.errors.push("policies", None, "at least one policy is required"),
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
            // Omitting a constraint means "any"; an empty list reads as "none" but would mean
            // "any" too: refused, so a template that rendered nothing cannot widen a policy.
            for key in ["hosts", "path_prefixes"] {
                if m.get(key).and_then(Value::as_array).is_some_and(Vec::is_empty) {
                    mf.errors.push(
                        &format!("{mpath}.{key}"),
                        Some(&Value::Array(Vec::new())),
                        format!("empty: it would match every request; omit `{key}` to match any, or list at least one"),
                    );
                }
            }
            mf.finish();
        }
    }
    rp.allow_origins = f.strings("allow_origins");
    rp.allow_origin_regexes = f.strings("allow_origin_regexes").unwrap_or_default();
    rp.allow_methods = f.strings("allow_methods").unwrap_or_default();
    rp.allow_headers = f.strings("allow_headers").unwrap_or_default();
    rp.expose_headers = f.strings("expose_headers").unwrap_or_default();
    rp.allow_credentials = f.bool("allow_credentials").unwrap_or(false);
    rp.max_age = f.value("max_age").cloned();
    rp.allow_private_network_access = f.bool("allow_private_network_access").unwrap_or(false);
    let mode_path = f.child("mode");
    let mode = f.value("mode");
    rp.mode = Mode::parse(&mode_path, mode, f.errors);
    let percent_path = f.child("enforce_percent");
    let percent = f.value("enforce_percent");
    rp.enforce_percent = rollout::parse_percent(&percent_path, percent, f.errors);
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

/// Reads the fields of one JSON object, recording type errors and, at [`Fields::finish`],
/// every field that was never asked for (unknown fields are errors, never ignored).
pub struct Fields<'v, 'e> {
    map: &'v Map<String, Value>,
    path: String,
    known: Vec<&'static str>,
    pub errors: &'e mut ConfigErrors,
}

impl<'v, 'e> Fields<'v, 'e> {
    pub fn new(v: &'v Value, path: &str, errors: &'e mut ConfigErrors) -> Option<Fields<'v, 'e>> {
        match v.as_object() {
            Some(map) => Some(Fields {
                map,
                path: path.to_string(),
                known: Vec::new(),
                errors,
            }),
            None => {
                errors.push(
                    display_path(path),
                    Some(v),
                    format!("expected a JSON object, found {}", kind(v)),
                );
                None
            }
        }
    }

    pub fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn value(&mut self, key: &'static str) -> Option<&'v Value> {
        self.known.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The field `key` if it holds the JSON type `pick` accepts; a value of another type is an
    /// error naming `expected`, and so is a missing field when `required`.
    fn typed<T>(
        &mut self,
        key: &'static str,
        required: bool,
        expected: &str,
        pick: impl Fn(&'v Value) -> Option<T>,
    ) -> Option<T> {
        let path = self.child(key);
        let Some(v) = self.value(key) else {
            if required {
                self.errors.push(&path, None, "required field is missing");
            }
            return None;
        };
        let picked = pick(v);
        if picked.is_none() {
            self.errors
                .push(&path, Some(v), format!("expected {expected}, found {}", kind(v)));
        }
        picked
    }

    pub fn string(&mut self, key: &'static str, required: bool) -> Option<String> {
        self.typed(key, required, "a string", |v| v.as_str().map(str::to_string))
    }

    pub fn bool(&mut self, key: &'static str) -> Option<bool> {
        self.typed(key, false, "true or false", Value::as_bool)
    }

    pub fn array(&mut self, key: &'static str, required: bool) -> Option<&'v Vec<Value>> {
        self.typed(key, required, "a list", Value::as_array)
    }

    /// A list of strings, each paired with its JSON path; non-strings are errors.
    pub fn strings(&mut self, key: &'static str) -> Option<Entries> {
        let path = self.child(key);
        let list = self.array(key, false)?;
        let mut out = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let p = format!("{path}[{i}]");
            match v {
                Value::String(s) => out.push((p, s.clone())),
                other => self
                    .errors
                    .push(&p, Some(other), format!("expected a string, found {}", kind(other))),
            }
        }
        Some(out)
    }

    /// Report every field that was not read.
    pub fn finish(self) {
        for (k, v) in self.map {
            if !self.known.contains(&k.as_str()) {
                let expected = self.known.join(", ");
                self.errors.push(
                    &self.child(k),
                    Some(v),
                    format!("unknown field; expected one of: {expected}"),
                );
            }
        }
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "$"
    } else {
        path
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
