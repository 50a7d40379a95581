//! One compiled CORS policy: every header value it can send is computed once, when the
//! configuration layer builds and validates its pieces.

use std::sync::Arc;

use super::allow_headers::AllowHeaders;
use super::allow_methods::AllowMethods;
use super::expose_headers::ExposeHeaders;
use super::max_age::MaxAge;
use super::origin_matcher::OriginMatcher;
use super::route_match::RouteMatch;
use super::vary;

/// Built by the configuration, every piece validated; nothing is filled in afterwards.
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
}

impl Policy {
    /// `Vary` for responses to actual and non-CORS requests; `None` for an any-origin policy,
    /// whose answer is the same for every origin.
    pub(crate) fn vary_actual(&self) -> Option<&'static str> {
        (!self.origins.is_any()).then_some(vary::ORIGIN)
    }

    /// `Vary` for preflight answers.
    pub(crate) fn vary_preflight(&self) -> &'static str {
        vary::preflight(!self.origins.is_any(), self.private_network)
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
    /// Whether policy selection needs `:authority` / `:path` / the matched route's name (read
    /// only when some policy before the first catch-all constrains them).
    pub(crate) reads_authority: bool,
    pub(crate) reads_path: bool,
    pub(crate) reads_route_name: bool,
}

impl Policies {
    /// `list` in configuration order, answering allowed preflights with `preflight_status`.
    pub(crate) fn new(list: Vec<Policy>, preflight_status: u16) -> Policies {
        // Requests stop at the first catch-all policy, so only the policies before it decide
        // whether `:authority` or `:path` must be read at all.
        let mut reads_authority = false;
        let mut reads_path = false;
        let mut reads_route_name = false;
        for p in &list {
            reads_authority |= p.route.constrains_host();
            reads_path |= p.route.constrains_path();
            reads_route_name |= p.route.constrains_route_name();
            if !p.route.constrains_host() && !p.route.constrains_path() && !p.route.constrains_route_name() {
                break;
            }
        }
        Policies {
            list,
            preflight_status,
            reads_authority,
            reads_path,
            reads_route_name,
        }
    }
}
