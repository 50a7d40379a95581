//! One compiled CORS policy: every header value it can send is computed here, once.

use std::rc::Rc;

use super::allow_headers::AllowHeaders;
use super::allow_methods::AllowMethods;
use super::config::RawPolicy;
use super::error::ConfigErrors;
use super::expose_headers::ExposeHeaders;
use super::max_age::MaxAge;
use super::origin_matcher::OriginMatcher;
use super::rollout::{Mode, RejectDisallowed};
use super::route_match::RouteMatch;
use super::vary;

/// Policy names appear in metric names and logs: keep them short and plain.
const MAX_NAME_LEN: usize = 64;

#[derive(Debug)]
pub struct Policy {
    pub name: Rc<str>,
    pub(crate) route: RouteMatch,
    pub(crate) origins: OriginMatcher,
    pub(crate) methods: AllowMethods,
    pub(crate) headers: AllowHeaders,
    pub(crate) expose: ExposeHeaders,
    pub(crate) max_age: MaxAge,
    pub(crate) credentials: bool,
    pub(crate) private_network: bool,
    /// `Vary` for responses to actual and non-CORS requests; `None` for an any-origin
    /// policy, whose answer is the same for every origin.
    pub(crate) vary_actual: Option<&'static str>,
    pub(crate) vary_preflight: &'static str,
    /// Position in the configuration (metric ids are stored per policy in this order).
    pub(crate) index: usize,
    pub(crate) mode: Mode,
    /// Share of requests enforced: 0 in report-only mode, else `enforce_percent` (100).
    pub(crate) enforce_percent: u8,
    pub(crate) reject_disallowed: RejectDisallowed,
}

impl Policy {
    pub fn compile(raw: &RawPolicy, errors: &mut ConfigErrors) -> Policy {
        let path = &raw.path;
        let name = raw.name.clone().unwrap_or_default();
        if raw.name.is_some() && !valid_name(&name) {
            errors.push_str(
                &format!("{path}.name"),
                &name,
                "policy names are 1 to 64 characters of a-z, A-Z, 0-9, `_` and `-` (they appear in metric names)",
            );
        }
        let origins_path = format!("{path}.allow_origins");
        let origins = match &raw.allow_origins {
            Some(list) if list.is_empty() => {
                errors.push(
                    &origins_path,
                    Some(&serde_json::json!([])),
                    "empty: a policy must allow at least one origin",
                );
                &[][..]
            }
            Some(list) => list.as_slice(),
            None if raw.allow_origin_regexes.is_empty() => {
                errors.push(
                    &origins_path,
                    None,
                    "required: list the trusted origins (or give allow_origin_regexes)",
                );
                &[][..]
            }
            None => &[][..],
        };
        let credentials = raw.allow_credentials;
        let origins = OriginMatcher::build(origins, &raw.allow_origin_regexes, credentials, errors);
        let methods = AllowMethods::build(&raw.allow_methods, errors);
        let headers = AllowHeaders::build(&raw.allow_headers, errors);
        let expose = ExposeHeaders::build(&raw.expose_headers, credentials, errors);
        let max_age = MaxAge::build(&format!("{path}.max_age"), raw.max_age.as_ref(), errors);
        let route = RouteMatch::build(&raw.match_hosts, &raw.match_path_prefixes, errors);
        let varies = !origins.is_any();
        Policy {
            name: name.into(),
            route,
            credentials,
            private_network: raw.allow_private_network_access,
            vary_actual: varies.then_some(vary::ORIGIN),
            vary_preflight: vary::preflight(varies, raw.allow_private_network_access),
            origins,
            methods,
            headers,
            expose,
            max_age,
            // Set by `config::compile`, which knows the position and the top-level mode.
            index: 0,
            mode: Mode::Enforce,
            enforce_percent: 100,
            reject_disallowed: RejectDisallowed::default(),
        }
    }

    pub fn index(&self) -> usize {
        self.index
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Share of requests enforced, 0 to 100 (0 in report-only mode).
    pub fn enforce_percent(&self) -> u8 {
        self.enforce_percent
    }

    pub fn reject_disallowed(&self) -> RejectDisallowed {
        self.reject_disallowed
    }

    /// Number of configured origin entries (exact, wildcard and regex).
    pub fn origin_entries(&self) -> usize {
        self.origins.entries()
    }

    pub fn allows_any_origin(&self) -> bool {
        self.origins.is_any()
    }

    pub fn allows_credentials(&self) -> bool {
        self.credentials
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= MAX_NAME_LEN && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
