//! JSON bytes -> [`RawConfig`] -> compiled [`Config`], in one step: each policy's CORS rules
//! (`rules::policy::Policy`) and its operations settings ([`PolicySettings`]) are built
//! together, complete, never patched afterwards. Nothing is compiled half-way: any error means
//! no [`Config`], and the host makes Envoy refuse the filter.

use std::sync::Arc;

use serde_json::Value;

use super::error::{ConfigErrors, ConfigIssue, IssueKind};
use super::identity::ConfigIdentity;
use super::limits::DEFAULT_REJECTION_LOG_INTERVAL_SECONDS;
use super::raw::{read_raw, Quoted, RawConfig, RawPolicy};
use super::registry::RegistrySource;
use super::settings::{DecisionHeader, Mode, PolicySettings};
use crate::rules::allow_headers::AllowHeaders;
use crate::rules::allow_methods::AllowMethods;
use crate::rules::expose_headers::ExposeHeaders;
use crate::rules::max_age::{MaxAge, MAX_MAX_AGE};
use crate::rules::origin_matcher::OriginMatcher;
use crate::rules::policy::{Policies, Policy};
use crate::rules::route_match::{MatchEntries, RouteMatch};

/// Policy names appear in metric names and logs: keep them short and plain.
const MAX_NAME_LEN: usize = 64;

/// The compiled configuration: built once, then shared read-only by every request (and, in a
/// multi-threaded host, by every worker: it is `Send + Sync`).
#[derive(Debug)]
pub struct Config {
    /// The CORS rules of every policy, in configuration order.
    pub(crate) cors: Policies,
    /// The operations settings of each policy, at the same index as its rules.
    pub(crate) settings: Vec<PolicySettings>,
    /// Each policy's `allow_origins_from`, at the same index as its rules.
    pub(crate) sources: Vec<Option<RegistrySource>>,
    /// The debug aid's token header, when configured (read on every request then).
    pub(crate) decision_header: Option<DecisionHeader>,
    /// Each origin's rejections are logged at most once per this many seconds; suppressed
    /// lines are summarised at the same period.
    pub(crate) rejection_log_interval_seconds: u64,
    /// What validation found questionable but not wrong.
    pub(crate) warnings: Vec<ConfigIssue>,
    /// The SHA-256 of the bytes and the `version`.
    pub(crate) identity: ConfigIdentity,
}

impl Config {
    /// What validation found questionable but not wrong; the filter logs each at load and the
    /// checker prints them.
    pub fn warnings(&self) -> &[ConfigIssue] {
        &self.warnings
    }

    /// The number of policies.
    pub fn policy_count(&self) -> usize {
        self.cors.list.len()
    }

    /// The name of the policy at `index` (a [`crate::Decision`]'s `policy`).
    pub fn policy_name(&self, index: usize) -> Option<&str> {
        self.cors.list.get(index).map(|p| &*p.name)
    }

    /// What the policy at `index` was compiled to.
    pub fn policy(&self, index: usize) -> Option<PolicyInfo<'_>> {
        let rules = self.cors.list.get(index)?;
        let settings = self.settings.get(index)?;
        Some(PolicyInfo {
            name: &rules.name,
            origin_entries: rules.origin_entries(),
            any_origin: rules.allows_any_origin(),
            credentials: rules.credentials,
            mode: settings.mode,
            enforce_percent: settings.enforce_percent,
            reject_unsafe_methods: settings.reject_disallowed.unsafe_methods,
            reject_websocket: settings.reject_disallowed.websocket,
        })
    }

    /// The registry source of the policy at `index`, if it has one.
    pub fn registry_source(&self, index: usize) -> Option<&RegistrySource> {
        self.sources.get(index).and_then(Option::as_ref)
    }

    /// Whether the policy at `index` allows credentials (a registry list is checked with it).
    pub fn policy_credentials(&self, index: usize) -> bool {
        self.cors.list.get(index).is_some_and(|p| p.credentials)
    }

    /// Each policy's rejections are logged at most once per this many seconds and origin.
    pub fn rejection_log_interval_seconds(&self) -> u64 {
        self.rejection_log_interval_seconds
    }

    /// Which configuration this is: the SHA-256 of the bytes it was compiled from, and its
    /// `version`.
    pub fn identity(&self) -> &ConfigIdentity {
        &self.identity
    }
}

/// What one policy of a compiled [`Config`] is: for summaries, tools and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyInfo<'c> {
    /// Its name.
    pub name: &'c str,
    /// Configured origin entries (exact, wildcard and regex).
    pub origin_entries: usize,
    /// `allow_origins: ["*"]`.
    pub any_origin: bool,
    /// `allow_credentials: true`.
    pub credentials: bool,
    /// Its own mode, or the top-level one.
    pub mode: Mode,
    /// Share of requests enforced, 0 to 100 (0 in report-only mode).
    pub enforce_percent: u8,
    /// `reject_disallowed.unsafe_methods`.
    pub reject_unsafe_methods: bool,
    /// `reject_disallowed.websocket`.
    pub reject_websocket: bool,
}

/// Parse and validate a configuration. Every problem is reported, not just the first.
pub fn compile(bytes: &[u8]) -> Result<Config, ConfigErrors> {
    // Structural errors do not stop here: whatever could be read is validated too, so one
    // run reports an unknown field and a bad origin in the same list.
    let (raw, mut errors) = read_raw(bytes);
    let Some(raw) = raw else {
        return Err(errors);
    };
    let preflight_status = match &raw.preflight_success_status {
        None => 204,
        Some(q) => match q.whole {
            Some(200) => 200,
            Some(204) => 204,
            _ => {
                errors.push_quoted("preflight_success_status", &q.text, IssueKind::PreflightStatus);
                204
            }
        },
    };
    let mut policies: Vec<Policy> = Vec::with_capacity(raw.policies.len());
    let mut settings: Vec<PolicySettings> = Vec::with_capacity(raw.policies.len());
    let mut sources: Vec<Option<RegistrySource>> = Vec::with_capacity(raw.policies.len());
    for rp in &raw.policies {
        let policy = compile_policy(rp, &mut errors);
        let policy_settings = compile_settings(rp, &raw, &policy, &mut errors);
        if rp.has_source && policy.allows_any_origin() {
            errors.push(
                &format!("{}.allow_origins_from", rp.path),
                None,
                IssueKind::RegistryWithAnyOrigin,
            );
        }
        sources.push(rp.allow_origins_from.clone());
        if policies.iter().any(|p| p.name == policy.name) {
            let name = Value::String(policy.name.to_string());
            errors.push(
                &format!("{}.name", rp.path),
                Some(&name),
                IssueKind::DuplicatePolicyName,
            );
        }
        policies.push(policy);
        settings.push(policy_settings);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    warn_shadowed(&policies, &mut errors);
    let RawConfig {
        decision_header,
        rejection_log_interval_seconds,
        version,
        ..
    } = raw;
    Ok(Config {
        cors: Policies::new(policies, preflight_status),
        settings,
        sources,
        decision_header,
        rejection_log_interval_seconds: rejection_log_interval_seconds
            .unwrap_or(DEFAULT_REJECTION_LOG_INTERVAL_SECONDS),
        warnings: errors.warnings,
        identity: ConfigIdentity::of(bytes, version),
    })
}

/// The CORS rules of one policy, every piece validated (errors recorded at their paths).
fn compile_policy(raw: &RawPolicy, errors: &mut ConfigErrors) -> Policy {
    let path = &raw.path;
    let name = raw.name.clone().unwrap_or_default();
    if raw.name.is_some() && !valid_name(&name) {
        errors.push_str(&format!("{path}.name"), &name, IssueKind::PolicyName);
    }
    let origins_path = format!("{path}.allow_origins");
    let origins = match &raw.allow_origins {
        Some(list) if list.is_empty() => {
            errors.push(&origins_path, Some(&Value::Array(Vec::new())), IssueKind::OriginsEmpty);
            &[][..]
        }
        Some(list) => list.as_slice(),
        None if raw.allow_origin_regexes.is_empty() && !raw.has_source => {
            errors.push(&origins_path, None, IssueKind::OriginsRequired);
            &[][..]
        }
        None => &[][..],
    };
    let credentials = raw.allow_credentials;
    Policy {
        name: name.into(),
        origins: OriginMatcher::build(origins, &raw.allow_origin_regexes, credentials, errors),
        methods: AllowMethods::build(&raw.allow_methods, errors),
        headers: AllowHeaders::build(&raw.allow_headers, errors),
        expose: ExposeHeaders::build(&raw.expose_headers, credentials, errors),
        max_age: MaxAge::new(max_age_seconds(
            &format!("{path}.max_age"),
            raw.max_age.as_ref(),
            errors,
        )),
        route: RouteMatch::build(
            &MatchEntries {
                hosts: &raw.match_hosts,
                path_prefixes: &raw.match_path_prefixes,
                route_names: &raw.match_route_names,
            },
            errors,
        ),
        credentials,
        private_network: raw.allow_private_network_access,
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= MAX_NAME_LEN && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `max_age`: whole seconds from 0 to a day; `None` when absent or refused.
fn max_age_seconds(path: &str, value: Option<&Quoted>, errors: &mut ConfigErrors) -> Option<u64> {
    let value = value?;
    let kind = match value.whole {
        Some(n) if n <= MAX_MAX_AGE => return Some(n),
        Some(_) => IssueKind::MaxAgeTooLarge,
        None if value.negative => IssueKind::MaxAgeNegative,
        None => IssueKind::MaxAgeNotWhole,
    };
    errors.push_quoted(path, &value.text, kind);
    None
}

/// The operations settings of one policy: its own mode or the top-level one, the share it
/// enforces, what it refuses itself. Settings that are each valid but together mean nothing,
/// or not what they say, are refused, so an operator never believes a protection is on when it
/// is not.
fn compile_settings(rp: &RawPolicy, raw: &RawConfig, policy: &Policy, errors: &mut ConfigErrors) -> PolicySettings {
    let mode = rp.mode.or(raw.mode).unwrap_or_default();
    let percent_path = format!("{}.enforce_percent", rp.path);
    match (mode, rp.enforce_percent) {
        (Mode::ReportOnly, Some(p)) if rp.mode == Some(Mode::ReportOnly) => {
            errors.push(&percent_path, Some(&Value::from(p)), IssueKind::PercentInReportOnly)
        }
        (Mode::ReportOnly, Some(p)) => errors.push(
            &percent_path,
            Some(&Value::from(p)),
            IssueKind::PercentUnderReportOnlyDefault,
        ),
        (Mode::Enforce, Some(0)) => errors.push(&percent_path, Some(&Value::from(0)), IssueKind::PercentZero),
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
                    IssueKind::RejectNeverBlocks,
                );
            }
        }
    }
    PolicySettings {
        mode,
        enforce_percent: match mode {
            Mode::ReportOnly => 0,
            Mode::Enforce => rp.enforce_percent.unwrap_or(100),
        },
        reject_disallowed: rp.reject_disallowed,
    }
}

/// A policy an earlier one (or several together) covers can never be selected: a warning,
/// since it is most likely a policy placed after a broader one by mistake.
fn warn_shadowed(policies: &[Policy], errors: &mut ConfigErrors) {
    let routes: Vec<&RouteMatch> = policies.iter().map(|p| &p.route).collect();
    for (j, policy) in policies.iter().enumerate() {
        let Some(by) = policy.route.shadowed_by(routes.get(..j).unwrap_or_default()) else {
            continue;
        };
        let by = by
            .iter()
            .filter_map(|&i| policies.get(i).map(|p| (i, p.name.to_string())))
            .collect();
        errors.warn(&format!("policies[{j}]"), None, IssueKind::Shadowed { by });
    }
}

/// Shared by every worker of a multi-threaded host.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Config>();
    send_and_sync::<Arc<Config>>();
};
