//! edge-cors-core: the CORS engine of edge-cors, for any host. It has no proxy-wasm, getrandom
//! or log dependency; a host implements [`host::RootHost`] and [`host::StreamHost`] and drives
//! [`host::Root`] and [`host::Stream`].
//!
//! Four layers, each depending only on the ones before it:
//! - `rules`: the CORS rules (origin parsing and matching, the per-header rules, which policy
//!   applies, the pure CORS decision). No JSON, metrics, rollout or debug header.
//! - `config`: JSON bytes -> raw configuration -> compiled [`Config`] in one step, with typed
//!   errors ([`ConfigErrors`] of [`IssueKind`]) rendered in one place, and the summaries the
//!   filter logs and the checker prints ([`summary`]).
//! - `ops`: what the filter does around a CORS decision: report-only mode, the rollout,
//!   `reject_disallowed`, the debug header, the metric layout, the rejection log ([`decide`]).
//! - [`host`]: the filter logic over the host traits: what it reads, counts, logs, strips and
//!   replies.
//!
//! Data flows one way: JSON bytes -> [`compile`] -> [`Config`] (shared by every request,
//! `Send + Sync`) -> [`decide`] -> [`Decision`] -> the host applies it.
//!
//! Acronyms used throughout (defined once, here):
//! - ACAO: `Access-Control-Allow-Origin`
//! - ACAC: `Access-Control-Allow-Credentials`
//! - ACAM: `Access-Control-Allow-Methods`
//! - ACAH: `Access-Control-Allow-Headers`
//! - ACEH: `Access-Control-Expose-Headers`
//! - ACMA: `Access-Control-Max-Age`
//! - ACAPN: `Access-Control-Allow-Private-Network`
//! - ACRM: `Access-Control-Request-Method`
//! - ACRH: `Access-Control-Request-Headers`
//! - ACRPN: `Access-Control-Request-Private-Network`
//! - PNA: Private Network Access (the WICG draft behind ACRPN/ACAPN)
//!
//! "Fetch" refers to the WHATWG Fetch standard, <https://fetch.spec.whatwg.org/>; section
//! numbers are cited where a rule is implemented.

#![warn(missing_docs)]

pub(crate) mod config;
pub mod host;
pub(crate) mod ops;
pub(crate) mod rules;
#[cfg(feature = "test-support")]
pub mod testing;

pub use config::compile::{compile, Config, PolicyInfo};
pub use config::error::{render_warnings, ConfigErrors, ConfigIssue, IssueKind};
pub use config::identity::ConfigIdentity;
pub use config::registry::{compile_document, BeforeFirstLoad, DocumentFailure, FetchedList, RegistrySource};
pub use config::settings::Mode;
pub use ops::decide::{decide, Action, Decision, ResponseEdit};
pub use ops::rollout::Blocked;
pub use rules::allow_headers::AllowHeaderIssue;
pub use rules::allow_methods::MethodIssue;
pub use rules::decide::{HeaderOp, HeaderValue, LocalReply, Outcome, Reason, RequestHeaders, ResponsePlan};
pub use rules::expose_headers::ExposeHeaderIssue;
pub use rules::headers::CORS_RESPONSE_HEADERS;
pub use rules::origin::OriginError;
pub use rules::origin_matcher::{OriginIssue, RegexIssue};
pub use rules::origin_regex::Why;
pub use rules::route_match::{HostIssue, PathPrefixIssue, RouteNameIssue, MAX_ROUTE_NAME_LEN};

/// The metric families and their labels: what every host defines, and the name form of a host
/// whose metrics have no labels.
pub mod metrics {
    pub use crate::ops::metrics::{
        tagged_name, Family, MetricType, CONFIG_LOADED, CONFIG_SHA256, CONFIG_VERSION, CREDENTIALED_REQUESTS, FAMILIES,
        KIND, LABELS, MODE, OUTCOME, POLICY, REASON, REGISTRY_AGE_SECONDS, REGISTRY_ENTRIES, REGISTRY_LOADED,
        REGISTRY_UPDATES, REGISTRY_VERSION, REQUESTS, UNMATCHED_REQUESTS, UPSTREAM_CORS_REPLACED, VM_MEMORY_BYTES,
    };
}

/// What a configuration does, in words: the policy list the filter logs at load, the account
/// the checker prints.
pub mod summary {
    pub use crate::config::summary::{policy_list, valid_report};
}
