//! One compiled CORS policy: every header value it can send is computed here, once. The
//! configuration layer validates and builds each piece; [`Policy::new`] puts them together.

use std::sync::Arc;

use super::allow_headers::AllowHeaders;
use super::allow_methods::AllowMethods;
use super::expose_headers::ExposeHeaders;
use super::max_age::MaxAge;
use super::origin_matcher::OriginMatcher;
use super::route_match::RouteMatch;
use super::vary;

#[derive(Debug)]
pub(crate) struct Policy {
    pub(crate) name: Arc<str>,
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
}

/// The CORS pieces of one policy, each built and validated by the configuration.
pub(crate) struct Parts {
    pub(crate) name: Arc<str>,
    pub(crate) route: RouteMatch,
    pub(crate) origins: OriginMatcher,
    pub(crate) methods: AllowMethods,
    pub(crate) headers: AllowHeaders,
    pub(crate) expose: ExposeHeaders,
    pub(crate) max_age: MaxAge,
    pub(crate) credentials: bool,
    pub(crate) private_network: bool,
}

impl Policy {
    /// The policy of these pieces, with the `Vary` values its answers need.
    pub(crate) fn new(parts: Parts) -> Policy {
        let Parts {
            name,
            route,
            origins,
            methods,
            headers,
            expose,
            max_age,
            credentials,
            private_network,
        } = parts;
        let varies = !origins.is_any();
        Policy {
            name,
            route,
            credentials,
            private_network,
            vary_actual: varies.then_some(vary::ORIGIN),
            vary_preflight: vary::preflight(varies, private_network),
            origins,
            methods,
            headers,
            expose,
            max_age,
        }
    }

    /// Number of configured origin entries (exact, wildcard and regex).
    pub(crate) fn origin_entries(&self) -> usize {
        self.origins.entries()
    }

    pub(crate) fn allows_any_origin(&self) -> bool {
        self.origins.is_any()
    }
}

/// Every policy, in configuration order, and what deciding among them needs.
#[derive(Debug)]
pub(crate) struct Policies {
    pub(crate) list: Vec<Policy>,
    /// Status of an allowed preflight answer.
    pub(crate) preflight_status: u16,
    /// Whether policy selection needs `:authority` / `:path` (read only when some policy
    /// before the first catch-all constrains them).
    pub(crate) reads_authority: bool,
    pub(crate) reads_path: bool,
}

impl Policies {
    /// `list` in configuration order, answering allowed preflights with `preflight_status`.
    pub(crate) fn new(list: Vec<Policy>, preflight_status: u16) -> Policies {
        // Requests stop at the first catch-all policy, so only the policies before it decide
        // whether `:authority` or `:path` must be read at all.
        let mut reads_authority = false;
        let mut reads_path = false;
        for p in &list {
            reads_authority |= p.route.constrains_host();
            reads_path |= p.route.constrains_path();
            if !p.route.constrains_host() && !p.route.constrains_path() {
                break;
            }
        }
        Policies {
            list,
            preflight_status,
            reads_authority,
            reads_path,
        }
    }
}
